"""the platform's own versions of a record apart from the department's revisions

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:00:00.000000

A version the platform wrote (a correction by an upheld objection, a confirmed link, a move by a
merge or split, an undo, a link carried to a later revision) took the next revision number, so a
department's own next revision was refused as a conflict. From here on such a version keeps the
department's revision and takes the next `version` (0 is the department's own row).

The platform's versions are those of its own batches (`file_format` 'decision', the batch
`corrections.relink` opens for every one). Each was numbered one above the version it replaced,
so the k-th platform version after a department's revision d holds revision d + k: it becomes
(d, k). A platform version with no department's revision below it (there is none such) stays.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

OLD_KEY = "uq_records_source_id_source_ref_revision"
NEW_KEY = "uq_records_source_id_source_ref_revision_version"

_records = sa.table(
    "records",
    sa.column("id", sa.Integer),
    sa.column("source_id", sa.String),
    sa.column("source_ref", sa.String),
    sa.column("revision", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("batch_id", sa.Integer),
)
_batches = sa.table("batches", sa.column("id", sa.Integer), sa.column("file_format", sa.String))


def upgrade() -> None:
    # On SQLite the table is rebuilt (a unique constraint cannot be dropped otherwise); the
    # store's foreign keys are checked once it is (see _keys_hold).
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint(OLD_KEY, type_="unique")
        batch.create_unique_constraint(NEW_KEY, ["source_id", "source_ref", "revision", "version"])
    platform = sa.select(_batches.c.id).where(_batches.c.file_format == "decision")
    dept = _records.alias("dept")
    # The department's revision each platform version followed: the highest of its own below it.
    # It reads department rows only, which the statement does not change (SQLite's subqueries
    # see the rows it has updated already).
    followed = (
        sa.select(sa.func.max(dept.c.revision))
        .where(
            dept.c.source_id == _records.c.source_id,
            dept.c.source_ref == _records.c.source_ref,
            dept.c.revision < _records.c.revision,
            dept.c.batch_id.not_in(platform),
        )
        .scalar_subquery()
    )
    op.get_bind().execute(
        sa.update(_records)
        .where(_records.c.batch_id.in_(platform), followed.isnot(None))
        .values(revision=followed, version=_records.c.revision - followed)
    )
    _keys_hold()


def downgrade() -> None:
    """Back to one number per version: the platform's version k of revision d takes d + k again.
    Refused while a department's revision stored since holds such a number (it would be lost)."""
    bind = op.get_bind()
    mapped = (_records.c.revision + _records.c.version).label("old_revision")
    clash = bind.execute(
        sa.select(_records.c.source_id, _records.c.source_ref, mapped)
        .group_by(_records.c.source_id, _records.c.source_ref, mapped)
        .having(sa.func.count() > 1)
        .order_by(_records.c.source_id, _records.c.source_ref)
        .limit(5)
    ).all()
    if clash:
        named = ", ".join(f"{s}/{r} revision {n}" for s, r, n in clash)
        raise RuntimeError(
            f"cannot go back below 0017: a department's revision and a platform version would both be {named}"
        )
    bind.execute(
        sa.update(_records).where(_records.c.version > 0).values(revision=_records.c.revision + _records.c.version)
    )
    with op.batch_alter_table("records") as batch:
        batch.drop_constraint(NEW_KEY, type_="unique")
        batch.create_unique_constraint(OLD_KEY, ["source_id", "source_ref", "revision"])
        batch.drop_column("version")
    _keys_hold()


def _keys_hold() -> None:
    """On SQLite, every foreign key still finds its row after the rebuild (migrations run with
    SQLite's enforcement off: `store.migrate.upgrade`)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
    if broken:
        raise RuntimeError(f"the rebuilt records table breaks foreign keys (table, rowid, parent): {broken}")
