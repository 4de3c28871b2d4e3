"""Attribute values, document numbers, corrections and deliberate defects for demo records.

Values are derived from each record type's attribute specs in the catalog, so every value fits
(enum members, bounds, lengths). The tables here only make them plausible: amounts per type,
the usual mix of enum values, the industries that usually get a given kind of record.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import date

from xinyong.domain.catalog.models import AttributeSpec, RecordType

Value = str | int | float | bool | date | None

# (record type, attribute) -> (lowest, highest, median for organisations, median for persons), in CNY.
_AMOUNTS: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("tax.arrears", "amount_cny"): (1_000, 2_000_000, 25_000, 8_000),
    ("tax.major_violation", "amount_cny"): (100_000, 50_000_000, 900_000, 300_000),
    ("court.defaulter", "amount_cny"): (5_000, 20_000_000, 150_000, 60_000),
    ("market.penalty_general", "fine_cny"): (500, 500_000, 12_000, 3_000),
    ("market.penalty_serious", "fine_cny"): (50_000, 5_000_000, 300_000, 100_000),
    ("env.violation", "fine_cny"): (10_000, 1_000_000, 100_000, 50_000),
    ("labour.wage_arrears", "amount_cny"): (20_000, 3_000_000, 250_000, 100_000),
    ("safety.violation", "fine_cny"): (5_000, 500_000, 30_000, 10_000),
    ("customs.violation", "fine_cny"): (1_000, 300_000, 20_000, 5_000),
}
_DEFAULT_AMOUNT = (100.0, 1_000_000.0, 10_000.0, 5_000.0)

# (record type, attribute[, subject kind]) -> relative weight of each enum value.
_ENUM_WEIGHTS: dict[tuple[str, ...], dict[str, float]] = {
    ("court.defaulter", "circumstance"): {
        "has_ability_refuses": 60, "violates_declaration": 15, "violates_consumption_restriction": 10,
        "obstructs_enforcement": 8, "breaches_settlement": 5, "evades_by_false_litigation": 2,
    },
    ("court.defaulter", "performance"): {"none": 75, "partial": 22, "performed": 3},
    ("tax.arrears", "tax_kind", "person"): {"individual_income": 70, "property": 15, "other": 15},
    ("tax.arrears", "tax_kind", "organisation"): {
        "vat": 45, "corporate_income": 30, "stamp": 10, "property": 8, "other": 7,
    },
    ("tax.major_violation", "violation"): {
        "tax_evasion": 45, "false_invoicing": 35, "arrears_evasion": 12, "export_rebate_fraud": 6, "violent_refusal": 2,
    },
    ("market.penalty_general", "penalty_kind"): {"fine": 70, "warning": 20, "confiscation": 10},
    ("market.penalty_serious", "penalty_kind"): {"large_fine": 60, "suspension": 20, "confiscation": 12, "ban": 8},
    ("market.abnormal_operations", "reason"): {
        "annual_report_missing": 70, "unreachable_address": 25, "false_publicity": 3, "order_not_followed": 2,
    },
    ("quality.recall", "recall_class"): {"class_3": 60, "class_2": 30, "class_1": 10},
    ("env.violation", "violation"): {
        "excess_emission": 40, "unpermitted_discharge": 25, "impact_assessment_missing": 15,
        "hazardous_waste": 12, "falsified_monitoring": 8,
    },
    ("safety.violation", "violation"): {
        "hazard_unremedied": 40, "no_safety_training": 30, "equipment_uncertified": 15,
        "unlicensed_operation": 10, "accident_concealed": 5,
    },
    ("customs.violation", "violation"): {
        "misdeclaration": 45, "document_irregularity": 30, "late_declaration": 20, "minor_smuggling": 5,
    },
    ("customs.aeo_certified", "level"): {"general": 70, "advanced": 30},
    ("gov.commendation", "honour", "person"): {"model_worker": 30, "volunteer_service": 45, "civic_virtue": 25},
    ("gov.commendation", "honour", "organisation"): {"trustworthy_enterprise": 70, "innovation_award": 30},
    ("gov.commendation", "level"): {"city": 75, "province": 20, "national": 5},
    ("consent.scoring", "consent"): {"granted": 1},
    ("consent.scoring", "channel"): {"online": 70, "counter": 30},
}  # fmt: skip

# attribute -> industry -> the value usual for that industry (used most of the time).
_BY_INDUSTRY: dict[str, dict[str, str]] = {
    "licence_kind": {
        "catering": "food_operation", "food": "food_operation", "manufacturing": "industrial_production",
        "chemical": "industrial_production", "electronics": "industrial_production",
        "construction": "special_equipment",
    },
    "product_category": {
        "food": "food", "garment": "consumer_goods", "electronics": "electrical", "manufacturing": "vehicles",
        "trade": "toys", "tech": "electrical", "chemical": "other",
    },
}  # fmt: skip

_LAWS = (
    ("食品安全法", 160), ("产品质量法", 74), ("广告法", 74), ("反不正当竞争法", 33), ("价格法", 48),
    ("消费者权益保护法", 63), ("商标法", 73), ("计量法", 35), ("特种设备安全法", 101), ("电子商务法", 89),
)  # fmt: skip
_COURTS = ("01", "0102", "0105", "0106", "0108", "0109", "0110", "0111", "0112", "0113", "0114")

# Decision document prefixes per record type, in the style each department uses.
DOC_PREFIX = {
    "court.defaulter": "杭中法失", "tax.arrears": "杭税欠公", "tax.major_violation": "杭税稽罚",
    "tax.a_grade": "杭税信评", "market.penalty_general": "杭市监罚", "market.penalty_serious": "杭市监严罚",
    "market.licence_revoked": "杭市监吊", "market.abnormal_operations": "杭市监异", "quality.recall": "杭市监召",
    "env.violation": "杭环罚", "labour.wage_arrears": "杭人社失", "safety.violation": "杭应急罚",
    "customs.violation": "杭关缉违", "customs.aeo_certified": "杭关认", "gov.commendation": "杭政办发",
}  # fmt: skip


class Numbering:
    """Sequence numbers per (series, year), as registries number their documents."""

    def __init__(self) -> None:
        self._next: defaultdict[tuple[str, int], int] = defaultdict(int)

    def next(self, series: str, year: int) -> int:
        self._next[series, year] += 1
        return self._next[series, year]


def document_no(numbering: Numbering, rt: RecordType, year: int) -> str:
    prefix = DOC_PREFIX.get(rt.id, "杭" + rt.id.split(".", 1)[0])
    return f"{prefix}〔{year}〕{numbering.next(prefix, year)}号"  # noqa: RUF001 - the brackets official documents use


def _weighted_enum(rng: random.Random, rt: RecordType, name: str, spec: AttributeSpec, kind: str) -> str:
    enum = spec.enum or []
    table = _ENUM_WEIGHTS.get((rt.id, name, kind)) or _ENUM_WEIGHTS.get((rt.id, name)) or {}
    allowed = [v for v in enum if table.get(v, 0) > 0]
    if not allowed:
        return rng.choice(enum)
    return rng.choices(allowed, weights=[table[v] for v in allowed])[0]


def _amount(rng: random.Random, rt: RecordType, name: str, spec: AttributeSpec, kind: str) -> float:
    lo, hi, med_org, med_person = _AMOUNTS.get((rt.id, name), _DEFAULT_AMOUNT)
    x = math.exp(rng.gauss(math.log(med_person if kind == "person" else med_org), 1.1))
    x = min(max(x, lo), hi)
    x = round(x) if rng.random() < 0.6 else round(x, 2)  # most amounts are whole yuan
    return _bounded(float(x), spec)


def _bounded(x: float, spec: AttributeSpec) -> float:
    if spec.minimum is not None:
        x = max(x, spec.minimum)
    if spec.maximum is not None:
        x = min(x, spec.maximum)
    return x


def _integer(rng: random.Random, name: str, spec: AttributeSpec, decided: date) -> int:
    if name.endswith("year"):
        x = decided.year - 1  # ratings are published for the previous year
    elif name == "units":
        x = round(math.exp(rng.gauss(math.log(2_000), 1.5)))
    elif name.startswith("workers"):
        x = round(math.exp(rng.gauss(math.log(30), 1.0))) + 2
    else:
        lo = int(spec.minimum) if spec.minimum is not None else 0
        x = rng.randint(lo, int(spec.maximum) if spec.maximum is not None else lo + 100)
    return int(_bounded(x, spec))


def _text(rng: random.Random, name: str, spec: AttributeSpec, decided: date) -> str:
    if name == "case_no":
        year = decided.year - rng.randint(0, 2)
        s = f"（{year}）浙{rng.choice(_COURTS)}执{rng.randint(1, 9999)}号"
    elif name == "article_violated":
        law, last = rng.choice(_LAWS)
        s = f"《中华人民共和国{law}》第{rng.randint(1, last)}条"
    elif name == "certificate_no":
        s = f"AEOCN{rng.randrange(10**10):010d}"
    else:
        s = f"{name[:3].upper()}{rng.randrange(10**6):06d}"
    return s[: spec.max_length] if spec.max_length else s


def attribute_values(
    rng: random.Random, rt: RecordType, kind: str, industry: str | None, decided: date
) -> dict[str, Value]:
    """Values for every attribute of one record; optional ones are sometimes left empty."""
    values: dict[str, Value] = {}
    for name, spec in rt.attributes.items():
        v: Value
        if spec.type == "string" and spec.enum:
            usual = _BY_INDUSTRY.get(name, {}).get(industry or "")
            v = usual if usual in spec.enum and rng.random() < 0.7 else _weighted_enum(rng, rt, name, spec, kind)
        elif spec.type == "string":
            v = _text(rng, name, spec, decided)
        elif spec.type == "decimal":
            v = _amount(rng, rt, name, spec, kind)
        elif spec.type == "integer":
            v = _integer(rng, name, spec, decided)
        elif spec.type == "boolean":
            v = rng.random() < 0.5
        else:
            v = decided
        values[name] = v
    for name, spec in rt.attributes.items():
        if spec.required:
            continue
        # A warning carries no fine; other optional values are sometimes simply not reported.
        if (values.get("penalty_kind") == "warning" and spec.type == "decimal") or rng.random() < 0.1:
            values[name] = None
    return values


def correction(rng: random.Random, rt: RecordType, values: dict[str, Value]) -> tuple[dict[str, Value], str] | None:
    """A revised copy of a record's values and what changed, or None if the type has nothing to correct."""
    new = dict(values)
    if "consent" in rt.attributes:
        spec = rt.attributes["consent"]
        if values.get("consent") == "granted" and spec.enum and "withdrawn" in spec.enum:
            new["consent"] = "withdrawn"
            return new, "consent_withdrawn"
        return None
    perf = rt.attributes.get("performance")
    unperformed = perf and perf.enum and "performed" in perf.enum and values.get("performance") != "performed"
    if unperformed and rng.random() < 0.6:
        new["performance"] = "performed"
        return new, "performed"
    for name, spec in rt.attributes.items():
        v = values.get(name)
        if spec.type == "decimal" and isinstance(v, float) and v > 0:
            changed = _bounded(round(v * rng.choice((0.5, 0.8, 0.9, 1.1, 1.25)), 2), spec)
            if changed != v:
                new[name] = changed
                return new, "amount_changed"
    for name, spec in rt.attributes.items():
        v = values.get(name)
        if spec.enum and len(spec.enum) > 1 and v is not None:
            new[name] = rng.choice([e for e in spec.enum if e != v])
            return new, "reclassified"
    return None


def spoil(rng: random.Random, rt: RecordType, row: dict[str, Value]) -> str:
    """Make a row invalid on purpose, the way real submissions go wrong; return what was done."""
    kind = rng.choice(("invalid_date", "bad_enum", "negative_amount"))
    enums = [n for n, s in rt.attributes.items() if s.enum and row.get(n) is not None]
    amounts = [
        n
        for n, s in rt.attributes.items()
        if s.type == "decimal" and s.minimum is not None and s.minimum >= 0 and isinstance(row.get(n), float)
    ]
    if kind == "bad_enum" and enums:
        name = rng.choice(enums)
        allowed = rt.attributes[name].enum or []
        row[name] = next(w for w in ("unknown", "pending", "n/a", "其他") if w not in allowed)
        return f"bad_enum:{name}"
    if kind == "negative_amount" and amounts:
        name = rng.choice(amounts)
        value = row[name]
        row[name] = -max(value if isinstance(value, float) else 0.0, 1.0)
        return f"negative_amount:{name}"
    decided = row["decided_on"]
    year = decided.year if isinstance(decided, date) else 2023
    row["decided_on"] = rng.choice((f"{year}-02-30", f"{year}-04-31", f"{year}-13-05", f"{year}-06-31"))
    return "invalid_date:decided_on"
