"""Migrations: the store's schema revision, and moving it to the one this code expects.

Alembic is imported only to migrate: it loads Mako and Pygments, a quarter of a second that
every command would pay at start-up (`ingest` among them) for the revision check each makes.
The check reads the store's revision with one query, and the code's from the migrations' file
names: they form one line numbered 0001, 0002..., so the newest number is the head (a test holds
both to Alembic's answers).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from xinyong.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config

VERSIONS = Path(__file__).parent / "migrations" / "versions"


def alembic_config(engine: Engine | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "xinyong.store:migrations")
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store to `revision` (default: the newest)."""
    from alembic import command

    cfg = alembic_config(engine)
    # SQLite changes a table's constraints by rebuilding it, which its foreign keys would refuse
    # while other tables point at the rows: they are off for the migration (the option a bulk load
    # uses, set before the transaction begins), and a migration that rebuilds checks them after.
    with engine.connect() as conn, conn.execution_options(xinyong_bulk=True).begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The store's revision (None: an empty store)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
        return None if revision is None else str(revision)


def head_revision() -> str | None:
    """The revision this code expects: the newest migration's number."""
    return max((p.name[:4] for p in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py")), default=None)


def require_current(engine: Engine) -> None:
    """Refuse to work on a store whose schema is not the one this code expects."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "is empty" if current is None else f"is at revision {current}"
        raise ConfigurationError(f"the store {state}; this version of xinyong needs {head}: run `xinyong db upgrade`")
