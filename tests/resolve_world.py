"""A small synthetic population for the linking tests, built from the demo city's generators.

Residents and companies with valid identifiers, identified records naming them (in characters,
pinyin or a company-name variant), unresolved records with a mistyped or a missing identifier, and
two namesakes: residents with the same name and birth date in different districts. Everything
follows from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

import pyarrow as pa
from stdnum.cn import ric, uscc

from xinyong.demo.names import org_variant, person_variant
from xinyong.demo.population import Org, Person, make_orgs, make_persons, make_ric, mistype
from xinyong.domain.identifiers import IdentifierVault
from xinyong.resolve.fragment_tables import fragments_table
from xinyong.resolve.model import LinkModel
from xinyong.resolve.training import train

ANCHOR = date(2026, 6, 30)
NAMESAKE_BIRTH = date(1985, 3, 12)


@dataclass(frozen=True)
class World:
    subjects: pa.Table
    identified: pa.Table
    unresolved: pa.Table
    truth: dict[str, str]  # unresolved record key -> true subject id
    namesakes: tuple[str, str]  # subject ids of the two namesakes
    namesake_records: tuple[str, ...]  # unresolved records naming them without an identifier
    persons: list[Person]
    orgs: list[Org]


def _table(rows: list[dict[str, object]], columns: dict[str, pa.DataType], vault: IdentifierVault) -> pa.Table:
    base = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in rows], schema=pa.schema(columns))
    frags = fragments_table(vault, [str(r["scheme"]) for r in rows], [r.get("number") for r in rows])  # type: ignore[misc]
    return pa.Table.from_arrays(base.columns + frags.columns, names=base.column_names + frags.column_names)


SUBJECT_TYPES = {
    "subject_id": pa.int64(),
    "kind": pa.string(),
    "name": pa.string(),
    "document_nos": pa.list_(pa.string()),
    "sources": pa.list_(pa.string()),
}
RECORD_TYPES = {
    "record_key": pa.string(),
    "kind": pa.string(),
    "name": pa.string(),
    "document_nos": pa.list_(pa.string()),
    "source": pa.string(),
}


def build_world(vault: IdentifierVault, persons: int = 400, orgs: int = 150, seed: int = 7) -> World:
    rng = random.Random(seed)
    people = make_persons(random.Random(seed + 1), persons, ANCHOR)
    companies = make_orgs(random.Random(seed + 2), orgs, ANCHOR)
    # Two namesakes: same name, same birth date, different districts (so different numbers).
    used = {p.ric for p in people}
    twins = [
        Person(
            f"P9{i:05d}",
            "王",
            "建国",
            True,
            NAMESAKE_BIRTH,
            district,
            make_ric(rng, district, NAMESAKE_BIRTH, True, used),
        )
        for i, district in enumerate(("330106", "330109"))
    ]
    people += twins
    subjects, identified, unresolved = [], [], []
    truth: dict[str, str] = {}
    sources = ("court", "tax", "samr", "env")
    for sid, subject in enumerate([*people, *companies], start=1):
        person = isinstance(subject, Person)
        number = subject.ric if isinstance(subject, Person) else subject.uscc
        kind, scheme = ("person", "cn.ric") if person else ("organisation", "cn.uscc")
        subjects.append({"subject_id": sid, "kind": kind, "name": subject.name, "scheme": scheme, "number": number,
                         "document_nos": [f"DOC-{sid}-0"], "sources": [sources[sid % 4]]})  # fmt: skip
        identified.append({"record_key": f"id-{sid}", "kind": kind, "name": subject.name, "scheme": scheme,
                           "number": number, "document_nos": [f"DOC-{sid}-0"], "source": sources[sid % 4]})  # fmt: skip
        if subject in twins or rng.random() > 0.35:
            continue
        if isinstance(subject, Person):
            name, _ = person_variant(rng, subject.surname, subject.given, 0.3)
        else:
            name, _ = org_variant(rng, subject.name, 0.3)
        written = None if rng.random() < 0.35 else mistype(rng, number, ric.is_valid if person else uscc.is_valid)
        key = f"un-{sid}"
        unresolved.append({"record_key": key, "kind": kind, "name": name, "scheme": scheme, "number": written,
                           "document_nos": [f"DOC-{sid}-9"], "source": sources[(sid + 1) % 4]})  # fmt: skip
        truth[key] = str(sid)
    namesake_ids = (str(len(people) - 1), str(len(people)))
    namesake_records = ("un-twin-1", "un-twin-2")
    for key in namesake_records:
        unresolved.append({"record_key": key, "kind": "person", "name": "王建国", "scheme": "cn.ric", "number": None,
                           "document_nos": None, "source": "court"})  # fmt: skip
    return World(
        subjects=_table(subjects, SUBJECT_TYPES, vault),
        identified=_table(identified, RECORD_TYPES, vault),
        unresolved=_table(unresolved, RECORD_TYPES, vault),
        truth=truth,
        namesakes=namesake_ids,
        namesake_records=namesake_records,
        persons=people,
        orgs=companies,
    )


_CACHE: dict[str, object] = {}


def trained_world(vault: IdentifierVault) -> tuple[World, LinkModel]:
    """The default world and a model trained on it, built once per test session (training takes seconds)."""
    if "world" not in _CACHE:
        world = build_world(vault)
        _CACHE["world"] = world
        _CACHE["model"] = train(world.subjects, world.identified, world.unresolved, seed=3, u_max_pairs=2e5)
    return _CACHE["world"], _CACHE["model"]  # type: ignore[return-value]
