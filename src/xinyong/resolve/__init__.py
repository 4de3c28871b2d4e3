"""Probabilistic linking: proposals of candidate subjects for records without a valid identifier.

A proposal is never a link (principle 4): a person confirms it. See docs/linking.md. Splink and
Spark are imported only when a model is trained or run.

The names below load their module on first use: ingestion reads only `fragments`, and importing
the rest (pypinyin's dictionaries, Arrow) would cost it a second of start-up, and Arrow's
background threads would keep it from forking its validating helper (`ingest/chunks.py`).
The functions named like their module (`fragments`, `propose`) are imported from the module.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "DuckDBLimits": "xinyong.resolve.engines",
    "FEATURE_SCHEMA": "xinyong.resolve.features",
    "FRAGMENTS_SCHEMA": "xinyong.resolve.fragment_tables",
    "Fragments": "xinyong.resolve.fragments",
    "InputError": "xinyong.resolve.features",
    "LinkModel": "xinyong.resolve.model",
    "MissingEngine": "xinyong.resolve.engines",
    "ModelError": "xinyong.resolve.model",
    "OrgName": "xinyong.resolve.names",
    "PROPOSAL_SCHEMA": "xinyong.resolve.propose",
    "PersonName": "xinyong.resolve.names",
    "RECORD_COLUMNS": "xinyong.resolve.features",
    "SUBJECT_COLUMNS": "xinyong.resolve.features",
    "describe": "xinyong.resolve.propose",
    "fragments_table": "xinyong.resolve.fragment_tables",
    "load_model": "xinyong.resolve.model",
    "local_spark_session": "xinyong.resolve.engines",
    "one_edit_corrections": "xinyong.resolve.fragments",
    "org_name": "xinyong.resolve.names",
    "person_name": "xinyong.resolve.names",
    "prepare_records": "xinyong.resolve.features",
    "prepare_subjects": "xinyong.resolve.features",
    "priorities": "xinyong.resolve.propose",
    "priority_of": "xinyong.resolve.propose",
    "train": "xinyong.resolve.training",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'xinyong.resolve' has no attribute '{name}'")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(_HOMES)
