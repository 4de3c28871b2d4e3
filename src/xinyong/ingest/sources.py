"""Which department a file comes from: given, or named by the file; a directory's files in order."""

from __future__ import annotations

from pathlib import Path

from xinyong.domain.catalog import Catalog
from xinyong.domain.errors import FileRefused
from xinyong.ingest.readers import FORMATS


def _submitting(catalog: Catalog) -> list[str]:
    """The departments that may submit records, by id."""
    return sorted(s for s, v in catalog.sources.items() if v.submits)


def _named_source(path: Path) -> str:
    """The source a file's name gives: `<source>.<ext>` or `<source>.<anything>.<ext>`."""
    return path.name.split(".", 1)[0]


def source_of(path: Path, catalog: Catalog, source: str | None) -> str:
    """The department a file comes from: given explicitly, or the first part of its name."""
    return submitting_source(
        catalog, source or _named_source(path), "--source" if source else f"the file name '{path.name}'"
    )


def submitting_source(catalog: Catalog, sid: str, how: str) -> str:
    """`sid`, a department that submits records; FileRefused naming `how` it was given otherwise."""
    if sid not in catalog.sources:
        known = ", ".join(_submitting(catalog))
        raise FileRefused(f"unknown source '{sid}' (from {how}); known sources: {known}")
    if not catalog.sources[sid].submits:
        raise FileRefused(f"source '{sid}' submits no record types")
    return sid


def plan_directory(directory: Path, catalog: Catalog) -> list[tuple[Path, str]]:
    """The files of a directory to ingest, with their sources; refuses unknown names up front."""
    # A source's own file (<source>.<ext>) before its others (<source>.update-1.<ext>), whatever the extension.
    files = sorted(
        (p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")),
        key=lambda p: (_named_source(p), p.name.count(".") > 1, p.name),
    )
    if not files:
        raise FileRefused(f"{directory}: the directory holds no files")
    planned: list[tuple[Path, str]] = []
    bad: list[str] = []
    for p in files:
        if p.suffix.lower() not in FORMATS:
            bad.append(f"{p.name} (unsupported type; use {', '.join(FORMATS)})")
            continue
        sid = _named_source(p)
        if sid not in _submitting(catalog):
            bad.append(f"{p.name} (unknown source '{sid}')")
            continue
        planned.append((p, sid))
    if bad:
        known = ", ".join(_submitting(catalog))
        raise FileRefused(
            f"{directory}: nothing ingested; name each file <source>.<ext> with a known source "
            f"({known}). Not accepted: {'; '.join(bad)}"
        )
    return planned
