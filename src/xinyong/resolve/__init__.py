"""Probabilistic linking: proposals of candidate subjects for records without a valid identifier.

A proposal is never a link (principle 4): a person confirms it. See docs/linking.md. Splink and
Spark are imported only when a model is trained or run.
"""

from xinyong.resolve.engines import DuckDBLimits, MissingEngine, local_spark_session
from xinyong.resolve.features import (
    FEATURE_SCHEMA,
    RECORD_COLUMNS,
    SUBJECT_COLUMNS,
    InputError,
    prepare_records,
    prepare_subjects,
)
from xinyong.resolve.fragments import FRAGMENTS_SCHEMA, Fragments, fragments, fragments_table, one_edit_corrections
from xinyong.resolve.model import LinkModel, ModelError, load_model
from xinyong.resolve.names import OrgName, PersonName, org_name, person_name
from xinyong.resolve.propose import PROPOSAL_SCHEMA, describe, priorities, priority_of, propose
from xinyong.resolve.training import train

__all__ = [
    "FEATURE_SCHEMA",
    "FRAGMENTS_SCHEMA",
    "PROPOSAL_SCHEMA",
    "RECORD_COLUMNS",
    "SUBJECT_COLUMNS",
    "DuckDBLimits",
    "Fragments",
    "InputError",
    "LinkModel",
    "MissingEngine",
    "ModelError",
    "OrgName",
    "PersonName",
    "describe",
    "fragments",
    "fragments_table",
    "load_model",
    "local_spark_session",
    "one_edit_corrections",
    "org_name",
    "person_name",
    "prepare_records",
    "prepare_subjects",
    "priorities",
    "priority_of",
    "propose",
    "train",
]
