"""How a file reaches the store: one read, the same chunks in a helper process or in this one.

A file is read once: its SHA-256 is taken from the bytes as they are parsed. A large file is read
and validated by a helper process while this one writes; the helper is an implementation detail,
so both paths must give the same chunks, problems and digest. The staging table that the store
loads chunks into must mirror the validated row, field by field.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from builders import court_row, make_ric, make_uscc, mistype, write_csv, write_jsonl, write_parquet
from xinyong.domain.records import RowValidator, ValidRow
from xinyong.ingest.chunks import Chunk, Job, helper_chunks, local_chunks
from xinyong.ingest.pipeline import ingest_file
from xinyong.store.tables import batches

TODAY = date(2026, 11, 29)


def tricky_csv(path: Path) -> Path:
    """Good rows, bad rows, awkward forms, blank and malformed lines, a quoted line break."""
    rows = []
    for i in range(1200):
        row = court_row(f"T-{i % 1100}", make_ric(i % 400) if i % 3 else make_uscc(i), revision=1 + i % 2)
        if i % 3 == 0:
            row["id_scheme"] = "cn.uscc"
        if i % 37 == 0:
            row["id_number"] = mistype(make_ric(i % 400))
        if i % 41 == 0:
            row["decided_on"] = "2024/03/01"
        if i % 43 == 0:
            row["amount_cny"] = "a lot"
        if i % 47 == 0:
            row["valid_until"] = ""
        if i % 53 == 0:
            row["subject_name"] = "张\n伟"
        rows.append(row)
    write_csv(path, rows)
    with path.open("a", encoding="utf-8") as f:
        f.write("\nM-1,1,court.defaulter\n\n")
    return path


def chunks_of(gen) -> list[Chunk]:
    return list(gen)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_helper_and_this_process_give_the_same_chunks(catalog, vault, tmp_path, fmt):
    path = tricky_csv(tmp_path / "court.csv")
    if fmt == "jsonl":
        import csv

        with path.open(encoding="utf-8", newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get("record_type")]
        path = write_jsonl(tmp_path / "court.jsonl", rows)
    here: list[str] = []
    there: list[str] = []
    validator = RowValidator(catalog, "court", vault, TODAY)
    local = chunks_of(local_chunks(path, fmt, validator, 250, here.append))
    job = Job(path, fmt, catalog, "court", vault, TODAY, 250)
    helper = chunks_of(helper_chunks(job, there.append, start_method="spawn"))  # this process runs threads
    assert [c.rows_read for c in local] == [c.rows_read for c in helper]
    assert [c.valid for c in local] == [c.valid for c in helper]
    assert [c.problems for c in local] == [c.problems for c in helper]
    assert here == there == [hashlib.sha256(path.read_bytes()).hexdigest()]
    assert sum(c.rows_read for c in local) == 1201
    assert all(isinstance(r, ValidRow) for c in helper for r in c.valid)
    problems = [p for c in local for p in c.problems]
    assert [p.line for p in problems] == sorted(p.line for p in problems)
    assert any(p.code == "malformed" for p in problems) == (fmt == "csv")
    assert any("control characters" in p.message for p in problems)


def test_a_forked_helper_gives_the_same_chunks(tmp_path):
    """Forked from a process of one thread, as the command line is (this test process is not)."""
    path = tricky_csv(tmp_path / "court.csv")
    script = (
        "import sys\n"
        "from datetime import date\n"
        "from pathlib import Path\n"
        "from xinyong.domain.catalog import load_catalog\n"
        "from xinyong.domain.identifiers import IdentifierVault\n"
        "from xinyong.domain.records import RowValidator\n"
        "from xinyong.ingest.chunks import Job, _start_method, helper_chunks, local_chunks\n"
        "catalog, vault, path = load_catalog(), IdentifierVault(b'k' * 32), Path(sys.argv[1])\n"
        "method = _start_method()\n"
        "today = date(2026, 11, 29)\n"
        "here, there = [], []\n"
        "local = list(local_chunks(path, 'csv', RowValidator(catalog, 'court', vault, today), 250, here.append))\n"
        "job = Job(path, 'csv', catalog, 'court', vault, today, 250)\n"
        "forked = list(helper_chunks(job, there.append))\n"
        "same = [(c.rows_read, c.valid, c.problems) for c in local] == [(c.rows_read, c.valid, c.problems) for c in forked]\n"
        "print(method, same and here == there, sum(c.rows_read for c in forked), sum(len(c.problems) for c in forked))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True, timeout=120
    )
    method, same, rows, problems = done.stdout.split()
    assert (method, same, rows) == ("fork", "True", "1201")
    assert int(problems) > 0


def test_the_helper_is_forked_only_from_a_process_of_one_thread():
    """A copy of a process made while another of its threads holds a lock would hold it for ever.
    Asked in a new process: this one runs threads of the libraries other tests used."""
    script = (
        "import threading\n"
        "from xinyong.ingest.chunks import _start_method\n"
        "alone = _start_method()\n"
        "release = threading.Event()\n"
        "other = threading.Thread(target=release.wait)\n"
        "other.start()\n"
        "print(alone, _start_method())\n"
        "release.set()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["fork", "spawn"]


def test_the_ingest_command_loads_nothing_that_keeps_its_helper_from_forking():
    """Arrow starts background threads when it is imported, and the linking model imports Arrow
    and pypinyin's dictionaries: a command that loaded them before ingesting would spawn its helper
    (a new interpreter importing xinyong again) and spend a second on imports. Everything the ingest
    command and the chunks' fragments need is loaded here; none of them may be."""
    script = (
        "import sys\n"
        "import xinyong.cli, xinyong.cli.store_commands, xinyong.ingest.pipeline, xinyong.resolve.fragments\n"
        "from xinyong.ingest.chunks import _start_method\n"
        "heavy = sorted(m for m in ('pyarrow', 'pypinyin', 'splink', 'duckdb', 'pyspark') if m in sys.modules)\n"
        "print(_start_method(), ','.join(heavy) or 'none')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["fork", "none"]


@pytest.mark.parametrize("helper", [0, None], ids=["helper-process", "in-process"])
@pytest.mark.parametrize("writer", [write_csv, write_jsonl, write_parquet], ids=["csv", "jsonl", "parquet"])
def test_the_batch_records_the_file_digest(engine, catalog, vault, tmp_path, writer, helper):
    suffix = {write_csv: "csv", write_jsonl: "jsonl", write_parquet: "parquet"}[writer]
    path = writer(tmp_path / f"court.{suffix}", [court_row(f"D-{i}", make_ric(i)) for i in range(30)])
    result = ingest_file(engine, catalog, vault, path, report_dir=tmp_path / "rejects", helper_min_bytes=helper)
    with engine.connect() as c:
        stored = c.scalar(select(batches.c.file_sha256).where(batches.c.id == result.batch_id))
    assert stored == hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.accepted == 30
