"""Kill drills in CI, the short variant: one or two trials each of an ingestion, a rescore, the
daily maintenance and a burst of checks against a real server, each killed with SIGKILL at a seeded
random moment (see kill_drill.py; `bench/drills/kill.py` runs twenty trials of each). On SQLite
and PostgreSQL."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import Engine

from kill_drill import checks_drill, ingest_drill, maintain_drill, rescore_drill
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault

TRIALS = 1  # of a rescore and of the maintenance: each trial is three runs of the command
SERVER_TRIALS = 2
INGEST_TRIALS = 2
SEED = 20261207
MIDDLE = (0.4, 0.9)  # kills land inside the run, between its start-up and its end


def test_a_killed_ingestion_leaves_its_batch_whole_or_absent_and_the_next_run_stores_it_once(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    # A smaller file than a department's (bench/drills/kill.py writes files past HELPER_MIN_BYTES),
    # still validated by the helper process: the threshold comes down with it, and chunks of 1,000
    # rows make several writes of one batch for a kill to land between.
    drill = ingest_drill(
        engine, catalog, vault, db_env, tmp_path, trials=INGEST_TRIALS, rows=6000, rng=random.Random(SEED),
        spread=MIDDLE, helper_min_bytes=512 << 10, chunk_rows=1000,
    )  # fmt: skip
    assert drill.killed + drill.finished == INGEST_TRIALS


def test_a_killed_rescore_leaves_whole_runs_and_the_next_completes_what_was_owed(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    drill = rescore_drill(
        engine, catalog, vault, db_env, tmp_path, trials=TRIALS, subjects=200, rng=random.Random(SEED), spread=MIDDLE
    )
    assert drill.killed + drill.finished == TRIALS


def test_a_killed_maintenance_leaves_whole_entries_and_the_next_lists_each_ground_once(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    drill = maintain_drill(
        engine, catalog, vault, db_env, tmp_path, trials=TRIALS, per_trial=5, rng=random.Random(SEED), spread=MIDDLE
    )
    assert drill.killed + drill.finished == TRIALS


def test_a_server_killed_in_a_burst_of_checks_kept_every_check_it_answered(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    drill = checks_drill(engine, catalog, vault, db_env, tmp_path, trials=SERVER_TRIALS, rng=random.Random(SEED))
    assert drill.killed == SERVER_TRIALS
