"""The demo city generator: deterministic, valid by python-stdnum and the catalog, noisy as designed.

A small city (800 residents, 200 companies) is generated once per module for the checks that only
read it; the determinism and noise tests generate their own into `tmp_path`.
"""

from __future__ import annotations

import csv
import hashlib
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import ric, uscc

from xinyong.demo.city import generate_city
from xinyong.domain.catalog import load_catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.domain.records import RowValidator, ValidRow
from xinyong.ingest.readers import file_format, read_chunks

ANCHOR = date(2026, 11, 1)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate_city(out, 800, 200, 11, ANCHOR)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each row as ingestion reads it: in the file's encoding, below its title, through its mapping."""
    source = path.name.split(".", 1)[0]
    validator = RowValidator(load_catalog(), source, IdentifierVault(b"k" * 32), ANCHOR)
    for chunk in read_chunks(path, file_format(path), validator, 10_000, hashlib.sha256()):
        assert chunk.problems == [], (path.name, chunk.problems)
        for i, line in enumerate(chunk.lines):
            yield line, chunk.row(i)


def _truth(root: Path) -> dict[tuple[str, str, int], dict[str, str]]:
    with (root / "ground_truth" / "truth.csv").open(encoding="utf-8", newline="") as f:
        return {(r["source"], r["source_ref"], int(r["revision"])): r for r in csv.DictReader(f)}


def test_same_seed_and_anchor_give_the_same_bytes(tmp_path: Path) -> None:
    summary = generate_city(tmp_path / "a", 300, 80, 5, ANCHOR)
    generate_city(tmp_path / "b", 300, 80, 5, ANCHOR)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert len(a) == len(summary.files) >= 11  # nine departments, truth and population, some updates
    assert all(f.rows > 0 for f in summary.files)
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []


def test_a_different_seed_gives_a_different_city(tmp_path: Path) -> None:
    generate_city(tmp_path / "a", 300, 80, 5, ANCHOR)
    generate_city(tmp_path / "b", 300, 80, 6, ANCHOR)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    for name in ("ground_truth/population.csv", "departments/court.csv", "departments/samr.xlsx"):
        assert a[name] != b[name], name


def test_population_identifiers_are_valid_and_unique(city: Path) -> None:
    with (city / "ground_truth" / "population.csv").open(encoding="utf-8", newline="") as f:
        people = list(csv.DictReader(f))
    assert Counter(p["kind"] for p in people) == {"person": 800, "organisation": 200}
    for p in people:
        valid = ric.is_valid if p["kind"] == "person" else uscc.is_valid
        assert valid(p["identifier"]), p
        assert date.fromisoformat(p["born_or_registered"]) <= ANCHOR
    assert len({p["identifier"] for p in people}) == len(people)


def test_identifier_noise_is_about_two_per_cent_and_never_valid(tmp_path: Path) -> None:
    generate_city(tmp_path, 3000, 600, 3, ANCHOR)
    truth = _truth(tmp_path)
    firsts = [t for (_, _, rev), t in truth.items() if rev == 1]
    noisy = [t for t in firsts if t["identifier_noise"] != "none"]
    assert 0.01 <= len(noisy) / len(firsts) <= 0.03
    assert {t["identifier_noise"] for t in noisy} == {"missing", "mistyped"}
    written = {}
    for path in (tmp_path / "departments").iterdir():
        source = path.name.split(".", 1)[0]
        for _, row in _rows(path):
            written[source, row["source_ref"], int(row["revision"])] = row["id_number"] or None
    for key, t in truth.items():
        number = written[key] and unicodedata.normalize("NFKC", written[key])  # some are typed full-width
        if t["identifier_noise"] == "none":
            assert number == t["true_identifier"]
        elif t["identifier_noise"] == "missing":
            assert number is None
        else:
            valid = ric.is_valid if t["subject_kind"] == "person" else uscc.is_valid
            assert number != t["true_identifier"]
            assert not valid(number), key


def test_every_file_and_row_fits_the_catalog(city: Path) -> None:
    catalog = load_catalog()
    vault = IdentifierVault(b"k" * 32)
    truth = _truth(city)
    seen: Counter[str] = Counter()
    for path in sorted((city / "departments").iterdir()):
        source = path.name.split(".", 1)[0]
        validator = RowValidator(catalog, source, vault, ANCHOR)
        for line, row in _rows(path):
            t = truth[source, row["source_ref"], int(row["revision"])]
            assert t["file"] == path.name
            out = validator.validate(line, row)
            seen[t["expected"]] += 1
            if t["expected"] == "rejected":
                assert isinstance(out, list), (path.name, line, t)
                continue
            assert isinstance(out, ValidRow), (path.name, line, out)
            assert (out.unresolved is not None) == (t["expected"] == "unresolved"), (path.name, line)
            assert out.record_type == t["record_type"]
    assert sum(seen.values()) == len(truth)
    assert seen["accepted"] > 0
    assert seen["unresolved"] > 0
    assert seen["rejected"] > 0


def test_some_departments_send_their_own_exports(city: Path) -> None:
    """The environment bureau's CSV is GB18030 under its own headers; market regulation's a workbook
    under a title row; both type some identifiers in full-width digits."""
    env = (city / "departments" / "env.csv").read_bytes()
    header = env.split(b"\n", 1)[0].decode("gb18030")
    assert header.startswith("案件编号,版本号,当事人名称,决定日期") and "违法事实" in header
    with pytest.raises(UnicodeDecodeError):
        env.decode("utf-8")
    rows = list(_rows(city / "departments" / "samr.xlsx"))
    assert rows[0][0] == 3  # the title on row 1, the header on row 2
    wide = [r["id_number"] for _, r in rows if r["id_number"] and not r["id_number"].isascii()]
    assert 0 < len(wide) < len(rows) / 5


def test_broken_rows_only_in_court_and_tax_main_files(city: Path) -> None:
    rejected = [t for t in _truth(city).values() if t["expected"] == "rejected"]
    assert rejected
    assert {t["file"] for t in rejected} <= {"court.csv", "tax.jsonl"}
    assert all(t["defect"] and t["revision"] == "1" for t in rejected)


def test_corrections_are_second_revisions_of_records_in_the_main_file(city: Path) -> None:
    truth = _truth(city)
    updates = [key for key in truth if key[2] == 2]
    assert updates
    for source, ref, _ in updates:
        assert (source, ref, 1) in truth
        assert truth[source, ref, 1]["expected"] != "rejected"
        assert truth[source, ref, 2]["file"].startswith(f"{source}.update-1.")


def test_no_decision_after_the_anchor(city: Path) -> None:
    for path in (city / "departments").iterdir():
        for _, row in _rows(path):
            for field in ("decided_on", "valid_from"):
                value = row[field]
                if isinstance(value, str):
                    try:
                        value = date.fromisoformat(value)
                    except ValueError:
                        continue  # a row broken on purpose
                assert value <= ANCHOR, (path.name, row["source_ref"], field)
            until = row["valid_until"]
            if until:
                start = row["valid_from"]
                assert str(until) > str(start)
