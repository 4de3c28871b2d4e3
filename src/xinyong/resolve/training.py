"""Training on the store's own data: u by random sampling, m by expectation maximisation.

Three estimates per subject kind, each from the data that can give it without bias:

1. u of every level, from random (record, subject) pairs, which are nearly all non-matches.
2. m of the name levels, by EM over identified records paired with subjects on the same whole
   identifier: these pairs are true matches, so their names show how departments really write a
   subject's name (pinyin, traditional characters, legal forms dropped).
3. m of the identifier, document and source levels, by EM over unresolved records paired with
   subjects of the same name: only unresolved records carry mistyped numbers, and a subject's
   document numbers and departments include those of its identified records, so identified
   records would teach that every record shares them.

Levels that step 3 cannot see (too few unresolved records yet) take the documented priors of
`model.PRIOR_M`. The prior match probability of a pair is one over the number of subjects of the
kind: an unresolved record is about exactly one subject. All of it is deterministic for a seed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from xinyong.domain.clock import CLOCK
from xinyong.resolve.definition import Kind, comparisons, settings_creator, training_blocks
from xinyong.resolve.engines import Backend, DuckDBLimits
from xinyong.resolve.features import prepare_records, prepare_subjects
from xinyong.resolve.model import KIND_NAMES, PRIOR_M, KindParameters, LevelParameters, LinkModel, ModelError

MIN_UNRESOLVED_FOR_EM = 50  # fewer unresolved records of a kind: their levels keep the priors
_NOT_OBSERVED = "level not observed in training dataset"


@contextmanager
def _quiet() -> Iterator[None]:
    """Splink logs every EM iteration at INFO; training reports its own summary instead."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _levels(settings: dict[str, Any], kind: Kind) -> dict[str, dict[str, tuple[Any, Any]]]:
    """(m, u) per comparison and level id from a Splink settings dictionary."""
    out: dict[str, dict[str, tuple[Any, Any]]] = {}
    for spec, comp in zip(comparisons(kind), settings["comparisons"], strict=True):
        out[spec.name] = {
            level.id: (rendered.get("m_probability"), rendered.get("u_probability"))
            for level, rendered in zip(spec.levels, comp["comparison_levels"], strict=True)
            if not level.null
        }
    return out


def _observed(value: Any) -> float | None:
    return None if value is None or value == _NOT_OBSERVED else float(value)


def _linker(backend: Backend, kind: Kind, prior: float, subjects: pa.Table, records: pa.Table, tag: str) -> Any:
    from splink import Linker

    settings = settings_creator(kind, prior)
    frames = [backend.register(records, f"records_{tag}"), backend.register(subjects, f"subjects_{tag}")]
    return Linker(frames, settings, log_level=None)


def _train_kind(
    backend: Backend,
    kind: Kind,
    subjects: pa.Table,
    identified: pa.Table,
    unresolved: pa.Table,
    *,
    seed: int,
    u_max_pairs: float,
) -> KindParameters:
    if len(subjects) < 2 or len(identified) < 2:
        raise ModelError(f"training needs at least two {kind} subjects and two identified records of them")
    prior = 1.0 / len(subjects)
    whole, name_block = training_blocks(kind)
    from splink import block_on

    everything = pa.concat_tables([identified, unresolved]) if len(unresolved) else identified
    with _quiet():
        linker = _linker(backend, kind, prior, subjects, everything, f"{kind}_u")
        linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
        u_levels = _levels(linker.misc.save_model_to_json(), kind)

        linker = _linker(backend, kind, prior, subjects, identified, f"{kind}_m1")
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(whole))
        names = _levels(linker.misc.save_model_to_json(), kind)["name"]

        rest: dict[str, dict[str, tuple[Any, Any]]] = {}
        if len(unresolved) >= MIN_UNRESOLVED_FOR_EM:
            linker = _linker(backend, kind, prior, subjects, unresolved, f"{kind}_m2")
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(name_block))
            rest = _levels(linker.misc.save_model_to_json(), kind)

    levels: dict[str, dict[str, LevelParameters]] = {}
    estimated: dict[str, list[str]] = {"em": [], "prior": [], "u_floor": []}
    for spec in comparisons(kind):
        levels[spec.name] = {}
        for level in spec.levels:
            if level.null:
                continue
            source = names if spec.name == "name" else rest.get(spec.name, {})
            m = _observed(source.get(level.id, (None, None))[0])
            if m is None:
                m = PRIOR_M.get(spec.name, {}).get(level.id, 1e-6)
                estimated["prior"].append(f"{spec.name}.{level.id}")
            else:
                estimated["em"].append(f"{spec.name}.{level.id}")
            u = _observed(u_levels[spec.name][level.id][1])
            if u is None:
                u = 1e-6  # Splink's floor for a level no random pair fell in
                estimated["u_floor"].append(f"{spec.name}.{level.id}")
            levels[spec.name][level.id] = LevelParameters(m, u)
    training = {
        "subjects": len(subjects),
        "identified_records": len(identified),
        "unresolved_records": len(unresolved),
        "u_max_pairs": u_max_pairs,
        "seed": seed,
        **estimated,
    }
    return KindParameters(prior, levels, training)


def train(
    subjects: pa.Table,
    identified: pa.Table,
    unresolved: pa.Table | None = None,
    *,
    seed: int = 1,
    u_max_pairs: float = 1e7,
    limits: DuckDBLimits | None = None,
    high_threshold: float | None = None,
    min_probability: float | None = None,
) -> LinkModel:
    """Train the model on the store's subjects and records (tables as `features` describes them).

    Args:
        subjects: every subject (`SUBJECT_COLUMNS`).
        identified: records linked to their subject by a valid identifier (`RECORD_COLUMNS`).
        unresolved: records without a valid identifier (`RECORD_COLUMNS`); optional.
        seed: seed of the random sampling for u.
        u_max_pairs: random pairs drawn for u.
        limits: memory bound of the DuckDB engine training runs on.
        high_threshold, min_probability: thresholds to save with the model (defaults otherwise).

    Raises:
        ModelError: a kind present in the data has too few subjects or identified records to train on.
    """
    feats = {"subjects": prepare_subjects(subjects), "identified": prepare_records(identified)}
    feats["unresolved"] = prepare_records(unresolved) if unresolved is not None else feats["identified"].slice(0, 0)
    kinds: dict[str, KindParameters] = {}
    with Backend("duckdb", limits=limits) as backend:
        for kind in KIND_NAMES:
            part = {k: t.filter(pc.equal(t["kind"], kind)) for k, t in feats.items()}
            if len(part["subjects"]) == 0:
                continue
            kinds[kind] = _train_kind(
                backend,
                kind,
                part["subjects"],
                part["identified"],
                part["unresolved"],
                seed=seed,
                u_max_pairs=u_max_pairs,
            )
    if not kinds:
        raise ModelError("no subjects to train on")
    thresholds: dict[str, float] = {}
    if high_threshold is not None:
        thresholds["high_threshold"] = high_threshold
    if min_probability is not None:
        thresholds["min_probability"] = min_probability
    return LinkModel(kinds, trained_at=CLOCK.now(), **thresholds)
