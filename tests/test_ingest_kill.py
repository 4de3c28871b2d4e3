"""A batch is atomic: kill a real ingesting process midway, find nothing of it, then complete it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from sqlalchemy import func, select

from builders import court_row, make_ric, write_csv
from xinyong.store.tables import batches, records, subjects

ROWS = 30_000


def _count(engine, table) -> int:
    with engine.connect() as c:
        return int(c.scalar(select(func.count()).select_from(table)))


@pytest.mark.parametrize("helper", ["0", "-1"], ids=["helper-process", "in-process"])
def test_killed_ingest_leaves_nothing_and_rerun_completes(engine, db_env, tmp_path, helper):
    births = [f"19{y:02d}0{m}1{d}" for y in range(84, 99) for m in range(1, 10) for d in range(10)]
    rows = [court_row(f"K-{i:06d}", make_ric(i % 1000, birth=births[i // 1000])) for i in range(ROWS)]
    path = write_csv(tmp_path / "court.csv", rows)
    env = {**db_env, "XINYONG_INGEST_CHUNK_ROWS": "1000", "XINYONG_INGEST_HELPER_MIN_BYTES": helper}
    cmd = [sys.executable, "-m", "xinyong", "--verbose", "ingest", str(path), "--json"]

    chunks_written = 0
    with subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "rows read" in line:
                chunks_written += 1
                if chunks_written == 3:  # three chunks are in the open transaction: kill now
                    children = psutil.Process(proc.pid).children(recursive=True)
                    proc.send_signal(signal.SIGKILL)
                    break
        proc.wait(timeout=60)
    # A validating helper notices that its parent is gone and exits on its own.
    assert bool(children) == (helper == "0")  # the helper (and multiprocessing's resource tracker)
    _, alive = psutil.wait_procs(children, timeout=60)
    assert alive == []
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert chunks_written == 3

    assert (_count(engine, records), _count(engine, batches), _count(engine, subjects)) == (0, 0, 0)

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert (result["accepted"], result["rejected"], result["rows_read"]) == (ROWS, 0, ROWS)
    assert _count(engine, records) == ROWS
    assert _count(engine, batches) == 1
    assert not list(Path(result["file"]).parent.glob("*.rejects.csv"))


def _scored_subjects_missing(engine) -> int:
    """Subjects with records but no score at all."""
    from xinyong.store.tables import scores

    with engine.connect() as c:
        with_records = set(c.scalars(select(records.c.subject_id).where(records.c.subject_id.is_not(None))))
        scored = set(c.scalars(select(scores.c.subject_id)))
    return len(with_records - scored)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_kill_at_a_random_point_never_leaves_work_half_done(engine, db_env, tmp_path, seed):
    """SIGKILL a real `xinyong ingest` at a random moment (seeded): whatever it had done, a batch
    is stored whole or not at all, the next run completes the records and the rescore it owed,
    and the audit chain verifies."""
    import random

    from xinyong.services import audit
    from xinyong.store.tables import owed_rescores

    rows = [court_row(f"R-{i:05d}", make_ric(i % 1000, birth=f"19{80 + i // 1000:02d}0101")) for i in range(3000)]
    path = write_csv(tmp_path / "court.csv", rows)
    env = {**db_env, "XINYONG_INGEST_CHUNK_ROWS": "500", "XINYONG_INGEST_HELPER_MIN_BYTES": "-1"}
    cmd = [sys.executable, "-m", "xinyong", "ingest", str(path), "--json"]
    delay = random.Random(seed).uniform(0.5, 6.0)  # noqa: S311 - a drill, not a secret: up to past the commit
    with subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
    stored = _count(engine, records)
    assert stored in (0, len(rows)), f"a batch half stored: {stored} of {len(rows)} records"
    assert _count(engine, batches) == (1 if stored else 0)
    assert audit.verify(engine).intact

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert (_count(engine, records), _count(engine, batches)) == (len(rows), 1)
    assert _count(engine, owed_rescores) == 0, "the rescore a batch owed is done"
    assert _scored_subjects_missing(engine) == 0
    report = audit.verify(engine)
    assert report.intact, report.problems


def test_a_batch_owes_its_rescore_until_rescore_changed_pays_it(engine, db_env, tmp_path):
    """A run that stores a batch but does not rescore (as one killed before it could) leaves the
    debt in the store; `rescore --changed` pays it."""
    from xinyong.store.tables import owed_rescores

    path = write_csv(tmp_path / "court.csv", [court_row(f"O-{i}", make_ric(i)) for i in range(20)])
    base = [sys.executable, "-m", "xinyong"]
    run = subprocess.run([*base, "ingest", str(path), "--no-rescore"], env=db_env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert _count(engine, owed_rescores) == 1 and _scored_subjects_missing(engine) == 20
    run = subprocess.run([*base, "rescore", "--changed"], env=db_env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert _count(engine, owed_rescores) == 0 and _scored_subjects_missing(engine) == 0


def test_an_unchanged_file_ingested_again_adds_no_batch_and_no_rejects(engine, db_env, tmp_path):
    """Three runs of the same file with one bad row: one batch, one reject, and every run exits
    with the code that says rows were rejected (3)."""
    from xinyong.store.tables import rejects

    rows = [court_row(f"U-{i}", make_ric(i)) for i in range(10)] + [
        court_row("U-bad", make_ric(11), decided_on="not a date")
    ]
    path = write_csv(tmp_path / "court.csv", rows)
    cmd = [sys.executable, "-m", "xinyong", "ingest", str(path), "--json"]
    runs = [subprocess.run(cmd, env=db_env, capture_output=True, text=True, timeout=300) for _ in range(3)]
    assert [r.returncode for r in runs] == [3, 0, 0], [r.stderr for r in runs]
    first, again = json.loads(runs[0].stdout)[0], json.loads(runs[2].stdout)[0]
    assert (first["rejected"], first["same_as"]) == (1, None)
    assert (again["same_as"], again["batch_id"], again["rejected"]) == (first["batch_id"], first["batch_id"], 0)
    assert (_count(engine, batches), _count(engine, rejects)) == (1, 1)
