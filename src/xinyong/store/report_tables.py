"""Tables of issued credit reports and of open-data publications (migration 0008).

Defined on the store's one `metadata` (imported at the end of `tables.py`), so migrations,
the schema comparison and the test store's clean-up see them like every other table.
Both are append-only: a report row is written once, when the report is issued; a publication
appends its row and the changes it published, and the state of the open data as of any
publication is the fold of the changes up to it.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text

from xinyong.store.metadata import metadata
from xinyong.store.types import BigId, Json, UTCDateTime

# One row per report issued: what `GET /v1/reports/{code}/verify` answers from, and what a
# subject's file lists ("who received a report about me"). No personal data beyond the mask.
reports = Table(
    "reports",
    metadata,
    Column("code", String(19), primary_key=True),  # random, unguessable: printed on every page
    Column("subject_id", BigId, ForeignKey("subjects.id"), nullable=False, index=True),
    Column("subject_kind", String(16), nullable=False),
    Column("subject_masked", String(300), nullable=False),  # name and identifier as the report shows them
    Column("requester", String(100), nullable=False),  # actor: subject:12, public:anonymous, cli:li...
    Column("by_subject", Integer, nullable=False),  # 1 when the subject asked about themselves
    Column("purpose", String(64)),
    Column("period_from", Date, nullable=False),
    Column("period_to", Date, nullable=False),
    Column("lang", String(8), nullable=False),
    Column("format", String(8), nullable=False),  # json | pdf | html: what was handed out
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("json_sha256", String(64), nullable=False),
    Column("pdf_sha256", String(64)),
    Column("catalog_version", String(64), nullable=False),
    Column("known_at", UTCDateTime(), nullable=False),
)

publications = Table(
    "publications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("known_at", UTCDateTime(), nullable=False),
    Column("catalog_version", String(64), nullable=False),
    Column("since_id", BigId),  # the publication its changes feed is relative to (None: the first)
    Column("directory", String(1000), nullable=False),  # where its files were written
    Column("manifest", Text, nullable=False),  # manifest.json, byte for byte
    Column("signature", Text, nullable=False),  # manifest.sig, byte for byte
    Column("counts", Json, nullable=False),
)

# What each publication changed relative to the state before it; the fold gives any state.
publication_changes = Table(
    "publication_changes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("publication_id", BigId, ForeignKey("publications.id"), nullable=False),
    Column("item", String(120), nullable=False),  # record:<source>/<source_ref> | entry:<id>
    Column("change", String(8), nullable=False),  # added | changed | removed
    Column("content_hash", String(64)),  # of the published row; None when removed
    Column("reason", String(200)),  # why a removed item left the open data
    Index("ix_publication_changes_item_id", "item", "id"),
)
