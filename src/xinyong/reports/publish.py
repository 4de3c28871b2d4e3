"""Publish the open data: CSV, JSON Lines and FollowTheMoney files, a signed manifest, and the
changes since the last publication (or since a given one).

The files are written into a staging folder inside DIR first; the publication (its manifest,
signature and changes, with its audit event) is stored next, in one transaction; only then do
the files replace those in DIR. A publication that fails leaves DIR and the store as they were.
Publishing twice with nothing changed writes an empty changes feed.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import ALGORITHM, key_id
from xinyong.domain.clock import CLOCK
from xinyong.domain.errors import ConfigurationError, InvalidInput, NotFound
from xinyong.reports.audit import store_publication
from xinyong.reports.ftm import entities
from xinyong.reports.opendata import LIST_COLUMNS, RECORD_COLUMNS, OpenData, gather_open_data, removal_reasons
from xinyong.store import report_repo as repo

DATA_FILES = ("records.csv", "records.jsonl", "lists.csv", "lists.jsonl", "entities.ftm.json", "changes.jsonl")
FILES = (*DATA_FILES, "manifest.json", "manifest.sig")
MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".jsonl": "application/x-ndjson",
    ".json": "application/json",
    ".sig": "application/json",
}


@dataclass(frozen=True)
class Published:
    publication_id: int
    since: int | None
    directory: Path
    counts: dict[str, Any]


def _csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
            n += 1
    return n


def _jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


def _file_facts(path: Path, rows: int) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "bytes": path.stat().st_size, "rows": rows}


def _changes(before: dict[str, str], now: dict[str, str], reasons: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in sorted(now.keys() - before.keys()):
        out.append({"item": item, "change": "added", "content_hash": now[item], "reason": None})
    for item in sorted(k for k in now.keys() & before.keys() if now[k] != before[k]):
        out.append({"item": item, "change": "changed", "content_hash": now[item], "reason": None})
    for item in sorted(before.keys() - now.keys()):
        out.append({"item": item, "change": "removed", "content_hash": None, "reason": reasons.get(item)})
    return out


def _write(
    staging: Path, data: OpenData, feed: list[dict[str, Any]], base: int | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the data files into `staging`; (counts, each file's size, rows and SHA-256)."""
    counts: dict[str, Any] = {
        "records": _csv(staging / "records.csv", RECORD_COLUMNS, data.records),
        "list_entries": _csv(staging / "lists.csv", LIST_COLUMNS, data.entries),
        "entities": _jsonl(staging / "entities.ftm.json", entities(data)),
        "changes": {c: sum(1 for f in feed if f["change"] == c) for c in ("added", "changed", "removed")},
    }
    _jsonl(staging / "records.jsonl", data.records)
    _jsonl(staging / "lists.jsonl", data.entries)
    _jsonl(staging / "changes.jsonl", ({"since": base, **f} for f in feed))
    rows = {
        "records.csv": counts["records"],
        "records.jsonl": counts["records"],
        "lists.csv": counts["list_entries"],
        "lists.jsonl": counts["list_entries"],
        "entities.ftm.json": counts["entities"],
        "changes.jsonl": len(feed),
    }
    return counts, {name: _file_facts(staging / name, rows[name]) for name in DATA_FILES}


def sign_manifest(key: Ed25519PrivateKey, manifest: bytes) -> bytes:
    """manifest.sig: the Ed25519 signature of manifest.json's exact bytes, with the key's id."""
    doc = {"algorithm": ALGORITHM, "key_id": key_id(key.public_key()), "signed_file": "manifest.json"}
    doc["signature"] = base64.b64encode(key.sign(manifest)).decode()
    return (json.dumps(doc, sort_keys=True) + "\n").encode()


def publish(
    engine: Engine,
    catalog: Catalog,
    key: Ed25519PrivateKey,
    directory: Path,
    *,
    since: int | None = None,
    actor: str,
    now: datetime | None = None,
) -> Published:
    """Write a publication into `directory` and store it.

    Raises:
        InvalidInput: `directory` cannot be written to, or exists as a file.
        NotFound: `since` names no publication.
    """
    now = CLOCK.as_of(now, "now").astimezone(UTC)  # the day the data is published as of
    created = CLOCK.now()  # when: the clock's, never a caller's moment
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"{directory}: exists and is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".publishing-", dir=directory))
    except OSError as exc:
        raise InvalidInput(f"{directory}: cannot write there ({exc.strerror})") from None
    try:
        with engine.connect() as conn:
            last = repo.publication_row(conn)
            if since is not None and repo.publication_row(conn, since) is None:
                raise NotFound(f"--since {since}: no such publication" + (f" (the last is {last.id})" if last else ""))
            last_state = repo.published_state(conn, last.id) if last is not None else {}
            since_state = repo.published_state(conn, since) if since is not None else last_state
        data = gather_open_data(engine, catalog, now.date())
        items = data.items()
        gone = sorted((last_state.keys() | since_state.keys()) - items.keys())
        reasons = removal_reasons(engine, catalog, gone, now.date())
        stored_changes = _changes(last_state, items, reasons)
        feed = _changes(since_state, items, reasons)
        base = since if since is not None else (last.id if last is not None else None)
        counts, files = _write(staging, data, feed, base)

        def manifest_of(publication_id: int) -> tuple[bytes, bytes]:
            doc = {
                "publication": publication_id,
                "since": base,
                "created_at": created.isoformat(),
                "as_of": data.as_of.isoformat(),
                "known_at": data.known_at.isoformat(),
                "catalog_version": catalog.version,
                "counts": counts,
                "files": files,
                "signature": "manifest.sig",
            }
            manifest = (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
            return manifest, sign_manifest(key, manifest)

        row = {
            "created_at": created,
            "as_of": data.as_of,
            "known_at": data.known_at,
            "catalog_version": catalog.version,
            "since_id": base,
            "directory": str(directory.resolve()),
            "counts": counts,
        }
        publication_id, manifest, signature = store_publication(engine, row, stored_changes, manifest_of, actor=actor)
        (staging / "manifest.json").write_bytes(manifest)
        (staging / "manifest.sig").write_bytes(signature)
        for name in FILES:
            (staging / name).replace(directory / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Published(publication_id, base, directory, counts)


def verify_publication(directory: Path, keys: dict[str, Ed25519PublicKey]) -> dict[str, Any]:
    """Check manifest.sig over manifest.json, and every file's size and SHA-256; the manifest.

    Raises:
        InvalidInput: saying which file or signature does not hold.
    """
    from xinyong.domain.certificates import CertificateInvalid

    try:
        manifest = (directory / "manifest.json").read_bytes()
        sig = json.loads((directory / "manifest.sig").read_bytes())
        key = keys.get(str(sig["key_id"]))
        signature = base64.b64decode(sig["signature"], validate=True)
    except Exception as exc:  # noqa: BLE001 - a missing file or bad JSON both mean "not valid"
        raise CertificateInvalid(f"manifest.json and manifest.sig cannot be read: {type(exc).__name__} {exc}") from None
    if key is None:
        raise CertificateInvalid(f"manifest.sig: signed by key {sig['key_id']}, not a key of this platform")
    try:
        key.verify(signature, manifest)
    except InvalidSignature:
        raise CertificateInvalid("manifest.sig does not verify manifest.json: the manifest was altered") from None
    doc: dict[str, Any] = json.loads(manifest)
    for name, facts in doc["files"].items():
        path = directory / name
        if not path.is_file() or _file_facts(path, facts["rows"]) != facts:
            raise CertificateInvalid(f"{name}: its size or SHA-256 differs from the signed manifest")
    return doc


def published_file(engine: Engine, name: str) -> tuple[Path, str]:
    """(path, media type) of a file of the latest publication, after checking it is the one the
    manifest names (a file changed or gone at the server is refused, never served).

    Raises:
        NotFound: nothing published yet, or no such file.
        ConfigurationError: the file at the server differs from what was published.
    """
    if name not in FILES:
        raise NotFound(f"no open-data file '{name[:60]}': the files are {', '.join(FILES)}")
    with engine.connect() as conn:
        last = repo.publication_row(conn)
    if last is None:
        raise NotFound("nothing has been published yet: run `xinyong publish DIR`")
    path = Path(last.directory) / name
    expected: bytes | None = None
    if name == "manifest.json":
        expected = last.manifest.encode()
    elif name == "manifest.sig":
        expected = last.signature.encode()
    try:
        if expected is not None:
            ok = path.read_bytes() == expected
        else:
            facts = json.loads(last.manifest)["files"][name]
            ok = _file_facts(path, facts["rows"]) == facts
    except OSError:
        ok = False
    if not ok:
        raise ConfigurationError(
            f"the published file {name} of publication {last.id} is missing or changed at {last.directory}"
        )
    return path, MEDIA_TYPES[path.suffix]
