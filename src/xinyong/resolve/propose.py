"""Proposals: for each unresolved record, the subjects it may be about, with why, for a person to decide.

Nothing here links anything. `propose` returns candidates with a match probability and, for each
comparison, the level it reached, its weight in bits and a sentence saying what that means. A
proposal is high priority only when its probability reaches the model's high threshold *and* the
record's identifier agrees with the subject's in part (one edit away, or two of its three parts):
a name, however rare, never makes a proposal high priority (principle 4). The rule is
`priority_of`, applied to every proposal, whatever the model's parameters say.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from xinyong.resolve.definition import IDENTIFIER_EVIDENCE, Kind, comparisons
from xinyong.resolve.engines import Backend, DuckDBLimits, Engine
from xinyong.resolve.features import FEATURE_SCHEMA, InputError, prepare_records, prepare_subjects
from xinyong.resolve.model import KIND_NAMES, LinkModel

HIGH, NORMAL = "high", "normal"
COMPARISON_NAMES = ("name", "identifier", "document", "source")
_ENTRY = pa.struct(
    [
        pa.field("level", pa.string()),
        pa.field("weight", pa.float64()),
        pa.field("tf_adjustment", pa.float64()),
        pa.field("text", pa.string()),
    ]
)
PROPOSAL_SCHEMA = pa.schema(
    [
        pa.field("record_key", pa.string(), nullable=False),
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("rank", pa.int32(), nullable=False),
        pa.field("match_probability", pa.float64(), nullable=False),
        pa.field("match_weight", pa.float64(), nullable=False),
        pa.field("prior_weight", pa.float64(), nullable=False),
        pa.field("identifier_evidence", pa.bool_(), nullable=False),
        pa.field("priority", pa.string(), nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("explanation", pa.struct([pa.field(c, _ENTRY) for c in COMPARISON_NAMES]), nullable=False),
    ]
)


def priorities(kind: str, probabilities: pa.Array, identifier_levels: pa.Array, high_threshold: float) -> pa.Array:
    """The priority of each proposal: high only at or above the threshold *and* with identifier evidence.

    A record without an identifier (level "none"), or whose number disagrees with the subject's,
    is normal priority however similar the name: it needs a person reading more evidence. This
    is the only place priorities are decided.
    """
    evidence = pc.fill_null(
        pc.is_in(identifier_levels, value_set=pa.array(sorted(IDENTIFIER_EVIDENCE.get(kind, ())), pa.string())), False
    )
    high = pc.and_(evidence, pc.greater_equal(probabilities, high_threshold))
    return pc.if_else(high, HIGH, NORMAL)


def priority_of(kind: str, match_probability: float, identifier_level: str | None, high_threshold: float) -> str:
    """`priorities` for one proposal."""
    one = priorities(kind, pa.array([match_probability]), pa.array([identifier_level], pa.string()), high_threshold)
    return str(one[0].as_py())


def _features(table: pa.Table | Any, prepare: Any, what: str) -> pa.Table:
    if not isinstance(table, pa.Table):
        arrow = getattr(table, "to_arrow_table", None) or getattr(table, "arrow", None)
        if arrow is None:
            raise InputError(f"{what}: expected an Arrow table or a DuckDB relation, got {type(table).__name__}")
        table = arrow()
        if isinstance(table, pa.RecordBatchReader):
            table = table.read_all()
    if table.schema.names == FEATURE_SCHEMA.names:
        return table.cast(FEATURE_SCHEMA)
    return prepare(table)


def _gamma_lookup(kind: Kind, name: str) -> tuple[dict[int, str], dict[int, str]]:
    """Splink's comparison vector value of each level -> (level id, explanation); -1 is the null level."""
    spec = next(s for s in comparisons(kind) if s.name == name)
    rest = [lv for lv in spec.levels if not lv.null]
    ids = {len(rest) - 1 - i: lv.id for i, lv in enumerate(rest)}
    texts = {len(rest) - 1 - i: lv.explanation for i, lv in enumerate(rest)}
    null = next(lv for lv in spec.levels if lv.null)
    ids[-1], texts[-1] = null.id, null.explanation
    return ids, texts


def _entries(result: pa.Table, kind: Kind) -> pa.StructArray:
    fields = []
    for name in COMPARISON_NAMES:
        ids, texts = _gamma_lookup(kind, name)
        gamma = pc.cast(result[f"gamma_{name}"], pa.int64())
        keys = pa.array(sorted(ids), pa.int64())
        index = pc.index_in(gamma, value_set=keys)
        level = pc.take(pa.array([ids[k] for k in keys.to_pylist()], pa.string()), index)
        text = pc.take(pa.array([texts[k] for k in keys.to_pylist()], pa.string()), index)
        tf_col = f"mw_tf_adj_{name}"
        tf = result[tf_col] if tf_col in result.column_names else pa.nulls(len(result), pa.float64())
        weight = pc.cast(result[f"mw_{name}"], pa.float64())
        arrays = [a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in (level, weight, tf, text)]
        fields.append(pa.StructArray.from_arrays(arrays, fields=list(_ENTRY)))
    return pa.StructArray.from_arrays(fields, names=list(COMPARISON_NAMES))


def _rank(table: pa.Table) -> pa.Array:
    """1 for each record's most probable candidate, 2 for the next... (ties by subject id)."""
    import duckdb

    keys = pa.table(
        {
            "row": pa.array(range(len(table)), pa.int64()),
            "record_key": table["record_key"],
            "subject_id": table["subject_id"],
            "p": table["match_probability"],
        }
    )
    con = duckdb.connect()
    try:
        con.register("keys", keys)
        ranked = con.sql(
            "SELECT row_number() OVER (PARTITION BY record_key ORDER BY p DESC, subject_id) AS rank "
            "FROM keys ORDER BY row"
        ).to_arrow_table()
    finally:
        con.close()
    return pc.cast(ranked["rank"], pa.int32()).combine_chunks()


def _kind_proposals(backend: Backend, model: LinkModel, kind: Kind, records: pa.Table, subjects: pa.Table) -> pa.Table:
    from splink import Linker

    settings = model.splink_settings(kind, backend.dialect)
    frames = [backend.register(records, f"records_{kind}"), backend.register(subjects, f"subjects_{kind}")]
    linker = Linker(frames, settings, log_level=None)
    predictions = linker.inference.predict(threshold_match_probability=model.min_probability, warning_mode="never")
    result = backend.to_arrow(predictions)
    record_left = pc.equal(result["source_dataset_l"], f"records_{kind}")
    record_key = pc.if_else(record_left, result["unique_id_l"], result["unique_id_r"])
    subject_id = pc.if_else(record_left, result["unique_id_r"], result["unique_id_l"])
    entries = _entries(result, kind)
    probability = pc.cast(result["match_probability"], pa.float64())
    id_levels = entries.field("identifier").field("level")
    evidence = pc.is_in(id_levels, value_set=pa.array(sorted(IDENTIFIER_EVIDENCE[kind]), pa.string()))
    prior = model.kinds[kind].prior
    n = len(result)
    table = pa.table(
        {
            "record_key": pc.cast(record_key, pa.string()),
            "subject_id": pc.cast(subject_id, pa.string()),
            "kind": pa.array([kind] * n, pa.string()),
            "rank": pa.array([0] * n, pa.int32()),
            "match_probability": probability,
            "match_weight": pc.cast(result["match_weight"], pa.float64()),
            "prior_weight": pa.array([math.log2(prior / (1 - prior))] * n, pa.float64()),
            "identifier_evidence": evidence,
            "priority": priorities(kind, probability, id_levels, model.high_threshold),
            "model_version": pa.array([model.version] * n, pa.string()),
            "explanation": entries,
        }
    )
    return table


def propose(
    unresolved: pa.Table | Any,
    candidates: pa.Table | Any,
    model: LinkModel,
    engine: Engine = "duckdb",
    *,
    max_candidates: int | None = 20,
    limits: DuckDBLimits | None = None,
    spark: Any = None,
) -> pa.Table:
    """Candidate subjects for each unresolved record, with probabilities and explanations.

    Args:
        unresolved: unresolved records (`features.RECORD_COLUMNS`), or their features, as an Arrow
            table or a DuckDB relation.
        candidates: subjects to link against (`features.SUBJECT_COLUMNS`), or their features.
        model: the trained model; its version is written into every proposal.
        engine: "duckdb" (in process, memory bounded by `limits`) or "spark" (needs `spark`).
        max_candidates: at most this many candidates per record, the most probable first (None: all
            above the model's minimum probability).
        limits: memory limit, threads and spill directory of the DuckDB engine.
        spark: the SparkSession of the Spark engine.

    Returns:
        One row per (record, candidate) in `PROPOSAL_SCHEMA`, ordered by record key and rank.
        Subject ids and record keys come back as strings.

    Raises:
        InputError: an input table lacks a column, repeats a key or names an unknown kind.
    """
    records = _features(unresolved, prepare_records, "unresolved records")
    subjects = _features(candidates, prepare_subjects, "candidate subjects")
    parts: list[pa.Table] = []
    with Backend(engine, limits=limits, spark=spark) as backend:
        for kind in KIND_NAMES:
            r = records.filter(pc.equal(records["kind"], kind))
            s = subjects.filter(pc.equal(subjects["kind"], kind))
            if len(r) == 0 or len(s) == 0:
                continue
            if kind not in model.kinds:
                raise InputError(f"the model was not trained on {kind}s; {len(r)} unresolved {kind} record(s) given")
            parts.append(_kind_proposals(backend, model, kind, r, s))
    if not parts:
        return PROPOSAL_SCHEMA.empty_table()
    table = pa.concat_tables(parts)
    table = table.set_column(table.schema.get_field_index("rank"), "rank", _rank(table))
    if max_candidates is not None:
        table = table.filter(pc.less_equal(table["rank"], max_candidates))
    order = pc.sort_indices(table, sort_keys=[("record_key", "ascending"), ("rank", "ascending")])
    return table.take(order).cast(PROPOSAL_SCHEMA)


def describe(proposal: dict[str, Any]) -> str:
    """One proposal (a row of `propose`'s result as a dict) in plain language, for the reviewer."""
    lines = [
        f"Record {proposal['record_key']} may be about subject {proposal['subject_id']}: "
        f"match probability {proposal['match_probability']:.4f} ({proposal['priority']} priority, "
        f"model {str(proposal['model_version'])[:12]}).",
        f"- starting odds for one {proposal['kind']} among all: {proposal['prior_weight']:+.1f} bits",
    ]
    for name in COMPARISON_NAMES:
        entry = proposal["explanation"][name]
        tf = entry.get("tf_adjustment")
        extra = f", {tf:+.1f} for how common the value is" if tf else ""
        lines.append(f"- {name}: {entry['text']} ({entry['weight']:+.1f} bits{extra})")
    if proposal["priority"] != HIGH and not proposal["identifier_evidence"]:
        lines.append("No identifier evidence: a person must read the record before any link is made.")
    return "\n".join(lines)
