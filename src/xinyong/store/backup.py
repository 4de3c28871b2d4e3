"""Backups taken while the store serves, and restores into an empty store.

SQLite: the online backup API copies the database in one step, inside one read transaction, so
the copy is the store as of one moment while writers go on (in WAL mode a reader blocks no
writer). PostgreSQL: `pg_dump` in its custom format (one snapshot, by design), of the store's
schema; `pg_restore` in a single transaction, so a restore is whole or nothing. Either way the
copy is written beside its destination and renamed into place once complete and checked, with
mode 0600: it holds every record. Keys are not in a backup: the identifier key and the signing
key are secrets kept apart (see docs/operations.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from xinyong.domain.errors import ConfigurationError, InvalidInput
from xinyong.store.migrate import current_revision

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class Backup:
    path: Path
    backend: str
    size: int
    sha256: str
    revision: str | None


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise ConfigurationError("an in-memory SQLite store cannot be backed up or restored: name a file")
    return Path(database)


def _libpq(engine: Engine) -> tuple[str, dict[str, str]]:
    """The store's URL for libpq's tools, and their environment (the password never in argv)."""
    url = engine.url
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _schema(engine: Engine) -> str:
    with engine.connect() as conn:
        schema = conn.scalar(text("SELECT current_schema()"))
    if not schema:
        raise ConfigurationError("the store's search_path names no schema that exists")
    return str(schema)


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    tool = shutil.which(args[0])
    if tool is None:
        raise ConfigurationError(f"{args[0]} is not installed: install PostgreSQL's client tools (postgresql-client)")
    done = subprocess.run([tool, *args[1:]], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise InvalidInput(f"{what} failed: {done.stderr.strip()[-1000:]}")
    return done.stdout


def check_destination(dest: Path) -> None:
    """Refuse a destination a backup cannot be written to, before anything is read or audited."""
    if dest.exists():
        raise InvalidInput(f"{dest} exists: a backup never overwrites a file; give a new name")
    if not dest.parent.is_dir():
        raise InvalidInput(f"{dest.parent} is not a directory")


def backup(engine: Engine, dest: Path) -> Backup:
    """Copy the store into the new file `dest`, while it serves."""
    check_destination(dest)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if engine.dialect.name == "sqlite":
            _sqlite_copy(_sqlite_path(engine), partial, source_uri=False)
        else:
            uri, env = _libpq(engine)
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    "-n",
                    _schema(engine),
                    "-f",
                    str(partial),
                    uri,
                ],
                env,
                "pg_dump",
            )
        partial.chmod(0o600)
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        partial.rename(dest)
    finally:
        partial.unlink(missing_ok=True)
    return Backup(dest, engine.dialect.name, dest.stat().st_size, _digest(dest), current_revision(engine))


def _sqlite_copy(source: Path, target: Path, *, source_uri: bool) -> None:
    """Copy one SQLite database into a new file with the backup API, in one step, and check it."""
    src = sqlite3.connect(f"file:{source}?mode=ro" if source_uri else str(source), uri=source_uri, timeout=60)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)  # all pages in one step: one read transaction, one moment of the store
        problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise InvalidInput(f"the copy does not pass SQLite's integrity check: {'; '.join(problems[:5])}")
    finally:
        dst.close()
        src.close()


def kind_of(path: Path) -> str:
    """`sqlite` or `pg_dump`, from the file's first bytes; refuses anything else."""
    if path.is_dir():
        raise InvalidInput(f"{path} is a directory: name the backup file")
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "pg_dump"
    raise InvalidInput(f"{path} is not a backup of xinyong: neither an SQLite database nor a pg_dump custom archive")


def restore(engine: Engine, source: Path) -> str | None:
    """Restore the backup `source` into the store, which must hold no table; its revision."""
    kind = kind_of(source)
    want = "sqlite" if engine.dialect.name == "sqlite" else "pg_dump"
    if kind != want:
        made, store = ("SQLite", "PostgreSQL") if kind == "sqlite" else ("PostgreSQL", "SQLite")
        raise InvalidInput(
            f"{source} is a backup of a {made} store and the store configured is {store}: restore it into a "
            f"{made} store (XINYONG_DATABASE_URL)"
        )
    if kind == "sqlite":
        _restore_sqlite(engine, source)
    else:
        _restore_postgres(engine, source)
    engine.dispose()
    return current_revision(engine)


def _refuse_unless_empty(engine: Engine, schema: str | None = None) -> None:
    tables = inspect(engine).get_table_names(schema=schema)
    if tables:
        where = make_url(engine.url).render_as_string(hide_password=True)
        raise InvalidInput(
            f"the store at {where} is not empty ({len(tables)} tables, e.g. {sorted(tables)[0]}): "
            "a backup is restored only into an empty store; name a new one with XINYONG_DATABASE_URL"
        )


def _restore_sqlite(engine: Engine, source: Path) -> None:
    target = _sqlite_path(engine)
    if target.exists():
        _refuse_unless_empty(engine)
    engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=target.name + ".", suffix=".restoring", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        partial.unlink()
        _sqlite_copy(source, partial, source_uri=True)
        partial.chmod(0o600)
        # The empty store's log and index belong to the file being replaced: never to the copy.
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm"), Path(f"{target}-journal")):
            leftover.unlink(missing_ok=True)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _dumped_schema(toc: str) -> str:
    """The schema a pg_dump archive holds, from its table of contents (`pg_restore -l`): its
    entry reads `<id>; <oids> SCHEMA - <name> <owner>`."""
    schemas = {
        line.split(" SCHEMA - ", 1)[1].split()[0]
        for line in toc.splitlines()
        if not line.startswith(";") and " SCHEMA - " in line
    }
    if len(schemas) != 1:
        raise InvalidInput(f"the archive holds {len(schemas)} schemas, not the one schema of a xinyong store")
    return schemas.pop()


def _restore_postgres(engine: Engine, source: Path) -> None:
    uri, env = _libpq(engine)
    toc = _run(["pg_restore", "-l", str(source)], env, "reading the archive")
    schema = _dumped_schema(toc)
    with engine.connect() as conn:
        path = [
            p.strip().strip('"') for p in str(conn.scalar(text("SELECT current_setting('search_path')"))).split(",")
        ]
        exists = conn.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema})
    if schema not in path:
        raise InvalidInput(
            f"the backup holds the schema '{schema}', which the store's search_path ({', '.join(path)}) does not "
            f"name: restore into a database whose URL looks there (options=-csearch_path={schema})"
        )
    if exists:
        _refuse_unless_empty(engine, schema)
    # An existing (empty) schema is not created again: its entry is left out of the restore.
    own = (f" SCHEMA - {schema} ", f" COMMENT - SCHEMA {schema} ")
    keep = [line for line in toc.splitlines() if not (exists and any(o in f"{line} " for o in own))]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
        f.write("\n".join(keep) + "\n")
        listing = Path(f.name)
    try:
        whole = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        _run(["pg_restore", *whole, "-L", str(listing), "-d", uri, str(source)], env, "pg_restore")
    finally:
        listing.unlink(missing_ok=True)
