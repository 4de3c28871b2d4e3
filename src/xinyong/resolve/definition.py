"""The model definition: what is compared, at which levels, and which pairs are compared at all.

One definition per subject kind (residents and organisations differ in what their names and
numbers carry), written once with Splink's creators and rendered for DuckDB or Spark. Each level
has an id that explanations and tests use, and a plain-language sentence a reviewer reads.

Levels run from the most to the least specific; Splink takes the first that holds. Term-frequency
adjustments are on the exact-name levels: 王伟 agreeing says far less than 欧阳娜娜 agreeing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from splink import SettingsCreator

Kind = Literal["person", "organisation"]
Dialect = Literal["duckdb", "spark"]


@dataclass(frozen=True, slots=True)
class Level:
    """One comparison level: its id, the SQL that defines it (DuckDB dialect) and what it means."""

    id: str
    sql: str | None  # None: the null level (no evidence either way) or the else level (what is left)
    explanation: str
    tf_column: str | None = None
    null: bool = False


@dataclass(frozen=True, slots=True)
class ComparisonSpec:
    """One comparison: its output name, what it compares, and its levels in order."""

    name: str
    description: str
    levels: tuple[Level, ...]


def _jw(column: str, threshold: float) -> str:
    # Rendered per dialect by Splink's JaroWinklerLevel (DuckDB has it built in, Spark as a UDF).
    return f"@jw:{column}:{threshold}"


def _intersect(column: str) -> str:
    # Rendered per dialect by Splink's ArrayIntersectLevel; this text is only its id in explanations.
    return f"@intersect:{column}"


IDENTIFIER_NULL = Level(
    "none", "id_whole_l IS NULL OR id_whole_r IS NULL", "the record carries no identifier", null=True
)
IDENTIFIER_EXACT = Level("exact", "id_whole_l = id_whole_r", "the identifier is the same")
IDENTIFIER_ONE_EDIT = Level(
    "one_edit", _intersect("id_keys"), "the identifier differs by one mistyped or swapped character (checksum-valid)"
)
IDENTIFIER_ELSE = Level("different", None, "the identifier differs")

PERSON: tuple[ComparisonSpec, ...] = (
    ComparisonSpec(
        "name",
        "the name: characters, pinyin with and without tones, either order",
        (
            Level("none", "name_pinyin_l IS NULL OR name_pinyin_r IS NULL", "a name is missing", null=True),
            Level("same_characters", "name_hanzi_l = name_hanzi_r", "the name is the same in characters", "name_hanzi"),
            Level(
                "same_pinyin_tones",
                "name_pinyin_tone_l = name_pinyin_tone_r",
                "the name sounds the same with the same tones (different characters)",
            ),
            Level(
                "same_pinyin",
                "name_pinyin_key_l = name_pinyin_key_r",
                "the name is the same in pinyin (in either order, tones aside)",
                "name_pinyin_key",
            ),
            Level("similar_pinyin", _jw("name_pinyin", 0.9), "the name is similar in pinyin"),
            Level("same_surname", "name_surname_l = name_surname_r", "only the family name agrees"),
            Level("different", None, "the name differs"),
        ),
    ),
    ComparisonSpec(
        "identifier",
        "the resident identity number, compared by its parts as keyed hashes",
        (
            IDENTIFIER_NULL,
            IDENTIFIER_EXACT,
            IDENTIFIER_ONE_EDIT,
            Level("birth_seq", "id_birth_seq_l = id_birth_seq_r", "birth date and sequence agree; the region differs"),
            Level(
                "region_birth",
                "id_region_birth_l = id_region_birth_r",
                "region and birth date agree; the sequence differs",
            ),
            Level(
                "region_seq", "id_region_seq_l = id_region_seq_r", "region and sequence agree; the birth date differs"
            ),
            Level("birth", "id_birth_l = id_birth_r", "only the birth date in the number agrees"),
            IDENTIFIER_ELSE,
        ),
    ),
)
ORGANISATION: tuple[ComparisonSpec, ...] = (
    ComparisonSpec(
        "name",
        "the name: folded, legal form made canonical, place and brackets set aside",
        (
            Level("none", "org_full_l IS NULL OR org_full_r IS NULL", "a name is missing", null=True),
            Level("same_name", "org_full_l = org_full_r", "the name is the same (legal form made canonical)"),
            Level(
                "same_core", "org_core_l = org_core_r", "the name is the same without place and legal form", "org_core"
            ),
            Level("similar_core", _jw("org_core", 0.9), "the name is similar without place and legal form"),
            Level("different", None, "the name differs"),
        ),
    ),
    ComparisonSpec(
        "identifier",
        "the unified social credit code, compared by its parts",
        (
            IDENTIFIER_NULL,
            IDENTIFIER_EXACT,
            IDENTIFIER_ONE_EDIT,
            Level("org_code", "id_org_code_l = id_org_code_r", "the organisation code agrees; the rest differs"),
            Level("region", "id_region_l = id_region_r", "only the registration region agrees"),
            IDENTIFIER_ELSE,
        ),
    ),
)
SHARED: tuple[ComparisonSpec, ...] = (
    ComparisonSpec(
        "document",
        "the decision document or case number against those of the subject's records",
        (
            Level("none", "docs_l IS NULL OR docs_r IS NULL", "no document number to compare", null=True),
            Level("shared", _intersect("docs"), "a record of this subject has the same document number"),
            Level("different", None, "no record of this subject has this document number"),
        ),
    ),
    ComparisonSpec(
        "source",
        "the submitting department against those that sent the subject's records",
        (
            Level("none", "sources_l IS NULL OR sources_r IS NULL", "no department to compare", null=True),
            Level("shared", _intersect("sources"), "the same department has sent records on this subject"),
            Level("different", None, "this department has sent no record on this subject"),
        ),
    ),
)
# The identifier levels that count as identifier evidence: a proposal is high priority only with one.
IDENTIFIER_EVIDENCE: dict[str, frozenset[str]] = {
    "person": frozenset({"exact", "one_edit", "birth_seq", "region_birth", "region_seq"}),
    "organisation": frozenset({"exact", "one_edit", "org_code"}),
}


def comparisons(kind: Kind) -> tuple[ComparisonSpec, ...]:
    """The comparisons of the model for one subject kind, in the order Splink evaluates them."""
    if kind == "person":
        return PERSON + SHARED
    if kind == "organisation":
        return ORGANISATION + SHARED
    raise ValueError(f"no linking model for subject kind {kind!r}; expected 'person' or 'organisation'")


def blocking_rules(kind: Kind) -> list[Any]:
    """Which pairs are compared: those sharing a corrected identifier, a pair of its parts, or a name.

    Each rule is an equi-join, so a million subjects cost a hash join, not a cross product. Names
    alone block only records without an identifier (or with one under the same region): a record
    whose number is readable is found through it, and name blocks of common names are large.
    """
    from splink import block_on
    from splink.blocking_rule_library import CustomRule

    by_correction = block_on("id_keys", arrays_to_explode=["id_keys"])
    if kind == "person":
        return [
            by_correction,
            block_on("id_birth_seq"),
            block_on("id_region_birth"),
            block_on("id_region_seq"),
            block_on("name_pinyin_key", "id_region"),
            CustomRule(
                "l.name_pinyin_key = r.name_pinyin_key AND (l.id_region IS NULL OR r.id_region IS NULL)",
                sql_dialect="duckdb",
            ),
        ]
    return [by_correction, block_on("id_org_code"), block_on("org_core")]


def training_blocks(kind: Kind) -> tuple[str, str]:
    """The columns that EM blocks on: the whole identifier (identified records), the name (unresolved ones)."""
    return "id_whole", "name_pinyin_key" if kind == "person" else "org_core"


def _level_creator(level: Level) -> Any:
    import splink.comparison_level_library as cll

    if level.null:
        null = cll.CustomLevel(str(level.sql), label_for_charts=level.id, base_dialect_str="duckdb")
        return null.configure(is_null_level=True)
    if level.sql is None:
        return cll.ElseLevel().configure(label_for_charts=level.id)
    if level.sql.startswith("@jw:"):
        _, column, threshold = level.sql.split(":")
        return cll.JaroWinklerLevel(column, float(threshold)).configure(label_for_charts=level.id)
    if level.sql.startswith("@intersect:"):
        return cll.ArrayIntersectLevel(level.sql.removeprefix("@intersect:"), 1).configure(label_for_charts=level.id)
    creator: Any = cll.CustomLevel(level.sql, label_for_charts=level.id, base_dialect_str="duckdb")
    if level.tf_column is not None:
        creator = creator.configure(tf_adjustment_column=level.tf_column, tf_adjustment_weight=1.0)
    return creator


def settings_creator(kind: Kind, probability_two_random_records_match: float = 1e-4) -> SettingsCreator:
    """The Splink settings of the model for `kind`, untrained, for any dialect."""
    from splink import SettingsCreator
    from splink.comparison_library import CustomComparison

    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            CustomComparison(
                [_level_creator(level) for level in spec.levels],
                output_column_name=spec.name,
                comparison_description=spec.description,
            )
            for spec in comparisons(kind)
        ],
        blocking_rules_to_generate_predictions=blocking_rules(kind),
        probability_two_random_records_match=probability_two_random_records_match,
        retain_matching_columns=True,  # the gamma (level) columns come only with them
        retain_intermediate_calculation_columns=True,
        max_iterations=50,
        em_convergence=1e-5,
    )
