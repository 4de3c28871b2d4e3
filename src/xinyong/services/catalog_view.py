"""The catalog as a consumer reads it before asking: contexts with their purpose codes, measures
with their legal basis, record types and lists. Only what the published catalog says; nothing
about any subject."""

from __future__ import annotations

from typing import Any

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import PROTECTED_SECTORS, LegalBasis
from xinyong.domain.notices import basis_text


def _basis(b: LegalBasis) -> dict[str, Any]:
    return {
        "instrument": b.instrument,
        "article": b.article,
        "document": b.document,
        "url": b.url,
        "text": basis_text(b),
    }


_BUILT: dict[str, dict[str, Any]] = {}


def catalog_view(catalog: Catalog) -> dict[str, Any]:
    """Built once per catalog version: a catalog is immutable."""
    if catalog.version not in _BUILT:
        _BUILT[catalog.version] = _view(catalog)
    return _BUILT[catalog.version]


def _view(catalog: Catalog) -> dict[str, Any]:
    contexts = [
        {
            "id": c.id,
            "name": c.name,
            "name_zh": c.name_zh,
            "sector": c.sector.value,
            "protected": c.sector in PROTECTED_SECTORS,
            "description": c.description,
            "purposes": [{"code": p.code, "name": p.name, "name_zh": p.name_zh} for p in catalog.purposes_of(c.id)],
            "measures": [m.id for m in catalog.measures.values() if c.id in m.contexts],
        }
        for c in catalog.contexts.values()
    ]
    measures = [
        {
            "id": m.id,
            "name": m.name,
            "name_zh": m.name_zh,
            "effect": m.effect.value,
            "kind": m.kind.value,
            "implementing_department": m.implementing_department,
            "contexts": list(m.contexts),
            "subject_kinds": [str(k) for k in m.subject_kinds],
            "legal_basis": _basis(m.legal_basis),
        }
        for m in catalog.measures.values()
    ]
    record_types = [
        {
            "id": t.id,
            "name": t.name,
            "name_zh": t.name_zh,
            "category": t.category,
            "polarity": t.polarity.value,
            "subject_kinds": [str(k) for k in t.subject_kinds],
            "public": t.public,
            "publication_months": t.publication_months,
            "sources": sorted(s.id for s in catalog.sources.values() if t.id in s.submits),
            "legal_basis": _basis(t.legal_basis),
        }
        for t in catalog.record_types.values()
    ]
    lists = [
        {
            "id": x.id,
            "kind": x.kind,
            "name": x.name,
            "name_zh": x.name_zh,
            "subject_kinds": [str(k) for k in x.subject_kinds],
            "public": x.public,
            "reviewer_required": x.reviewer_required,
            "notice_days": x.notice_days,
            "term_months": x.term_months,
            "legal_basis": _basis(x.legal_basis),
        }
        for x in catalog.lists.values()
    ]
    return {"version": catalog.version, "contexts": contexts, "measures": measures, "record_types": record_types,
            "lists": lists}  # fmt: skip
