"""What-if: how grades would change if another ruleset were in force, before it takes effect."""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.ruleset_models import Ruleset
from xinyong.domain.errors import InvalidInput
from xinyong.domain.explain import explain_score
from xinyong.domain.scoring import score_subject
from xinyong.engines.embedded import decoded
from xinyong.engines.registry import batch_engine_named
from xinyong.engines.scoring_sql import ScoringPipeline, merge_inputs
from xinyong.services.exports import export_inputs
from xinyong.services.scoring import facts_of
from xinyong.store.merges_repo import marks


@dataclass
class RulesetDiff:
    kind: str
    old: str
    new: str
    as_of: date
    subjects: int
    unchanged: int
    transitions: dict[str, int]
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _find(catalog: Catalog, ref: str) -> Ruleset:
    rid, _, version = ref.partition("@")
    rs = catalog.rulesets.get(rid)
    if rs is None or (version and rs.version != version):
        known = ", ".join(f"{r.id}@{r.version}" for r in catalog.rulesets.values())
        raise InvalidInput(f"unknown ruleset '{ref}' in {catalog.directory} (known: {known})")
    return rs


def ruleset_diff(
    engine: Engine,
    old_catalog: Catalog,
    new_catalog: Catalog,
    old_ref: str,
    new_ref: str,
    *,
    as_of: date,
    known_at: datetime,
    examples: int = 3,
    engine_name: str = "embedded",
) -> RulesetDiff:
    """Score every subject of the rulesets' kind under both, on a batch engine, and compare grades."""
    runner = batch_engine_named(engine_name)
    old, new = _find(old_catalog, old_ref), _find(new_catalog, new_ref)
    if old.subject_kind != new.subject_kind:
        raise InvalidInput(
            f"'{old_ref}' scores {old.subject_kind}s and '{new_ref}' {new.subject_kind}s: compare like with like"
        )
    kind = old.subject_kind
    with engine.connect() as conn, tempfile.TemporaryDirectory(prefix="xinyong-whatif-") as tmp:
        then, now = ScoringPipeline(old_catalog, as_of, {kind: old}), ScoringPipeline(new_catalog, as_of, {kind: new})
        try:  # one export, read by both sides
            exports = [merge_inputs(then, now)]
        except ValueError:  # an attribute typed differently by the two catalogs: an export for each
            exports = [then.inputs, now.inputs]
        paths = []
        for i, inputs in enumerate(exports):
            (Path(tmp) / str(i)).mkdir()
            paths.append(export_inputs(conn, known_at, None, Path(tmp) / str(i), inputs))
        (rec0, sub0), (rec1, sub1) = paths[0], paths[-1]
        before = decoded(runner.run_files(then, Path(rec0), Path(sub0), Path(tmp) / "then")[0])
        after = decoded(runner.run_files(now, Path(rec1), Path(sub1), Path(tmp) / "now")[0])
        grade_before = {
            r["subject_id"]: r["grade"] or r["status"] for r in before.to_pylist() if r["subject_kind"] == kind
        }
        grade_after = {
            r["subject_id"]: r["grade"] or r["status"] for r in after.to_pylist() if r["subject_kind"] == kind
        }
        moves: Counter[str] = Counter()
        chosen: dict[str, list[int]] = defaultdict(list)
        for sid in sorted(grade_before):
            a, b = grade_before[sid], grade_after[sid]
            if a != b:
                key = f"{a} -> {b}"
                moves[key] += 1
                if len(chosen[key]) < examples:
                    chosen[key].append(sid)
        explained: dict[str, list[dict[str, Any]]] = {}
        for key, ids in chosen.items():
            explained[key] = []
            for sid in ids:
                facts = facts_of(conn, sid, known_at)
                by_id = {f.record_id: f for f in facts}
                linked = marks(conn, by_id)
                explained[key].append(
                    {
                        "subject_id": sid,
                        "old": explain_score(
                            score_subject(old_catalog, kind, facts, as_of, old),
                            by_id,
                            old_catalog,
                            known_at.isoformat(),
                            link_marks=linked,
                        ),
                        "new": explain_score(
                            score_subject(new_catalog, kind, facts, as_of, new),
                            by_id,
                            new_catalog,
                            known_at.isoformat(),
                            link_marks=linked,
                        ),
                    }
                )
    total = len(grade_before)
    return RulesetDiff(
        kind, f"{old.id}@{old.version}", f"{new.id}@{new.version}", as_of, total, total - sum(moves.values()),
        dict(moves.most_common()), explained,
    )  # fmt: skip
