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
