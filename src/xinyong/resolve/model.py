"""A trained linking model: its parameters per comparison level, its thresholds, and its version.

The model is the definition (`definition.py`, code) plus what training learnt from the store's own
data: for each level, m (how often true pairs fall in it) and u (how often random pairs do), and
per subject kind the prior that a record and a subject match. It is saved as JSON whose version is
the SHA-256 of its content, so every proposal can name the exact model that made it, and a file
altered after training is refused when loaded. Parameters are kept by level id, not as Splink
settings, so one file renders for DuckDB and for Spark alike.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from xinyong.domain.clock import CLOCK
from xinyong.resolve.definition import Dialect, Kind, comparisons, settings_creator

FORMAT = "xinyong.linking-model"
FORMAT_VERSION = 1
KIND_NAMES: tuple[Kind, ...] = ("person", "organisation")
# Used for a level that EM cannot estimate (the store holds too few unresolved records yet, or no true
# pair fell in it): shares of true pairs in each level. A mistyped number is nearly always one edit
# away; a name departments never wrote differently still gets a small share, so that one stray
# spelling weighs heavily against a candidate without ruling it out.
PRIOR_M: dict[str, dict[str, float]] = {
    "name": {
        "same_characters": 0.85, "same_pinyin": 0.1, "same_pinyin_tones": 0.005, "similar_pinyin": 0.01,
        "same_surname": 0.005, "different": 0.001, "same_name": 0.5, "same_core": 0.3, "similar_core": 0.02,
    },
    "identifier": {
        "exact": 0.01, "one_edit": 0.9, "birth_seq": 0.02, "region_birth": 0.02, "region_seq": 0.02,
        "birth": 0.01, "org_code": 0.04, "region": 0.02, "different": 0.02,
    },
    "document": {"shared": 0.05, "different": 0.95},
    "source": {"shared": 0.5, "different": 0.5},
}  # fmt: skip
DEFAULT_HIGH_THRESHOLD = 0.99
DEFAULT_MIN_PROBABILITY = 0.001


class ModelError(ValueError):
    """A model file that cannot be used, with the reason."""


@dataclass(frozen=True)
class LevelParameters:
    """m and u of one comparison level (None: the null level, which carries no weight)."""

    m: float | None
    u: float | None

    def weight(self) -> float:
        """The level's match weight, log2(m / u): what agreeing at this level says, in bits."""
        if self.m is None or self.u is None:
            return 0.0
        return math.log2(self.m / self.u)


@dataclass(frozen=True)
class KindParameters:
    """Everything training learnt for one subject kind."""

    prior: float  # probability that a random (record, subject) pair matches
    levels: dict[str, dict[str, LevelParameters]]  # comparison -> level id -> parameters
    training: dict[str, Any] = field(default_factory=dict)  # counts and sources of each estimate


@dataclass(frozen=True)
class LinkModel:
    """A trained model: parameters per kind and the thresholds proposals are graded by.

    Attributes:
        kinds: parameters per subject kind.
        high_threshold: a proposal at or above this match probability, with identifier evidence, is high priority.
        min_probability: candidates below this match probability are not proposed at all.
        trained_at: when training finished (UTC).
    """

    kinds: dict[str, KindParameters]
    high_threshold: float = DEFAULT_HIGH_THRESHOLD
    min_probability: float = DEFAULT_MIN_PROBABILITY
    trained_at: datetime = field(default_factory=CLOCK.now)  # the platform's clock

    def __post_init__(self) -> None:
        if not 0.0 < self.min_probability < self.high_threshold < 1.0:
            raise ModelError(
                f"thresholds must satisfy 0 < min_probability ({self.min_probability}) "
                f"< high_threshold ({self.high_threshold}) < 1"
            )
        for kind in self.kinds:
            if kind not in KIND_NAMES:
                raise ModelError(f"unknown subject kind {kind!r}; expected one of {', '.join(KIND_NAMES)}")

    def payload(self) -> dict[str, Any]:
        """The model's content, everything the version covers."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "definition": definition_fingerprint(),
            "trained_at": self.trained_at.isoformat(),
            "high_threshold": self.high_threshold,
            "min_probability": self.min_probability,
            "kinds": {
                kind: {
                    "prior": p.prior,
                    "levels": {
                        comp: {lid: {"m": lp.m, "u": lp.u} for lid, lp in levels.items()}
                        for comp, levels in p.levels.items()
                    },
                    "training": p.training,
                }
                for kind, p in sorted(self.kinds.items())
            },
        }

    @property
    def version(self) -> str:
        """SHA-256 of the canonical JSON of the payload: names this model in every proposal."""
        return _digest(self.payload())

    def with_thresholds(self, high_threshold: float, min_probability: float | None = None) -> LinkModel:
        """The same parameters under other thresholds (a new version)."""
        return LinkModel(
            self.kinds,
            high_threshold,
            self.min_probability if min_probability is None else min_probability,
            self.trained_at,
        )

    def save(self, path: Path) -> str:
        """Write the model as JSON (with its version) and return the version."""
        document = {**self.payload(), "version": self.version}
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return str(document["version"])

    def splink_settings(self, kind: Kind, dialect: Dialect) -> dict[str, Any]:
        """The model for `kind` as a Splink settings dictionary in `dialect`, parameters filled in."""
        params = self.kinds.get(kind)
        if params is None:
            raise ModelError(f"the model has no parameters for {kind}s; train it on {kind}s first")
        settings = settings_creator(kind, params.prior).create_settings_dict(dialect)
        for spec, comp in zip(comparisons(kind), settings["comparisons"], strict=True):
            for level, rendered in zip(spec.levels, comp["comparison_levels"], strict=True):
                if level.null:
                    continue
                lp = params.levels[spec.name][level.id]
                rendered["m_probability"], rendered["u_probability"] = lp.m, lp.u
        return settings


def _digest(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def definition_fingerprint() -> str:
    """SHA-256 of the definition (comparisons, levels, blocking) as DuckDB renders it, untrained.

    A model trained under another definition is refused rather than silently mis-applied.
    """
    rendered: dict[str, Any] = {kind: settings_creator(kind).create_settings_dict("duckdb") for kind in KIND_NAMES}
    for settings in rendered.values():
        settings.pop("linker_uid", None)
    return _digest(rendered)


def load_model(path: Path) -> LinkModel:
    """Read a model file written by `LinkModel.save`.

    Raises:
        ModelError: not a model file, another format version or definition, or altered after training.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a readable model file ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelError(f"{path}: not a linking model (format {FORMAT!r} expected)")
    if document.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path}: model format version {document.get('format_version')}, expected {FORMAT_VERSION}")
    if document.get("definition") != definition_fingerprint():
        raise ModelError(f"{path}: trained under another model definition; train the model again")
    claimed = document.pop("version", None)
    if claimed != _digest(document):
        raise ModelError(f"{path}: content does not match its version {claimed!r}: the file was altered")
    try:
        kinds = {
            kind: KindParameters(
                prior=float(p["prior"]),
                levels={
                    comp: {lid: LevelParameters(v["m"], v["u"]) for lid, v in levels.items()}
                    for comp, levels in p["levels"].items()
                },
                training=p.get("training", {}),
            )
            for kind, p in document["kinds"].items()
        }
        model = LinkModel(
            kinds,
            float(document["high_threshold"]),
            float(document["min_probability"]),
            datetime.fromisoformat(document["trained_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: malformed model ({exc})") from exc
    if model.version != claimed:
        raise ModelError(f"{path}: content does not match its version {claimed!r}: the file was altered")
    return model
