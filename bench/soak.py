"""Soak: mixed traffic at a fixed rate for a bounded time, on loopback, against `xinyong serve`.

Builds a demo city (fixed seed) in an SQLite store of its own, serves it, and sends for
`--minutes` a fixed rate of requests (`--rate` a second, open loop: a request is sent at its
moment whether or not the ones before it were answered), mixed as an agency's day would mix them:
checks by a consuming department (50%), public searches (30%), record batches of five new court
decisions by a source department (5%), and reviewers' decisions on proposed list entries (15%;
a listing of the proposals when none is waiting), with the daily maintenance asked for once a
minute so that the new records are proposed and decided in turn.

Figures: errors (5xx or no answer; goal 0), p50 and p99 per route, and the server's resident
memory after the warm-up (the first fifth of the run) against its end (goal: under 10% growth).
The baseline is the goal itself: the rate asked for, against the rate achieved. Cleans up after
itself. Last line: one JSON object (BENCH.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import psutil

KEY_HEX = "5a" * 32


def xy(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "xinyong", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0 and not (args[0] == "ingest" and done.returncode == 3):  # 3: rows rejected
        raise SystemExit(f"xinyong {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


class Traffic:
    """What the soak sends, and every answer: route -> [(latency s, status)]."""

    def __init__(
        self, url: str, keys: dict[str, str], residents: list[str], orgs: list[str], seed: int, batches: bool
    ) -> None:
        self.url, self.keys, self.residents, self.orgs, self.with_batches = url, keys, residents, orgs, batches
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.answers: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.proposed: list[int] = []
        self.batches = 0
        self.local = threading.local()

    def client(self) -> httpx.Client:
        if not hasattr(self.local, "client"):
            self.local.client = httpx.Client(base_url=self.url, timeout=60)
        return self.local.client  # type: ignore[no-any-return]

    def send(self, route: str, method: str, path: str, role: str | None = None, **kw: Any) -> Any:
        headers = {"authorization": f"Bearer {self.keys[role]}"} if role else {}
        started = time.perf_counter()
        try:
            answer = self.client().request(method, path, headers=headers, **kw)
            status = answer.status_code
        except httpx.HTTPError:
            answer, status = None, 0
        with self.lock:
            self.answers[route].append((time.perf_counter() - started, status))
        return answer

    def one(self) -> None:
        with self.lock:
            draw = self.rng.random()
            if not self.with_batches and 0.80 <= draw < 0.85:
                draw = 0.0  # a check instead
            subject = self.rng.choice(self.orgs if self.rng.random() < 0.6 else self.residents)
            self.batches += draw >= 0.80 and draw < 0.85
            batch_no = self.batches
        if draw < 0.50:
            body = {
                "subject": subject,
                "context": "procurement.tender",
                "purpose": "bidder_screening",
                "reference": "soak",
            }
            self.send("POST /v1/checks", "POST", "/v1/checks", "consumer", json=body)
        elif draw < 0.80:
            self.send("GET /v1/public/subjects", "GET", "/v1/public/subjects", params={"q": subject[:8]})
        elif draw < 0.85:
            self.send("POST /v1/records", "POST", "/v1/records", "source", json={"records": self.rows(batch_no)})
        else:
            self.decide()

    def rows(self, batch_no: int) -> list[dict[str, Any]]:
        day = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
        with self.lock:
            people = [self.rng.choice(self.residents) for _ in range(5)]
        return [
            {
                "source_ref": f"SOAK-{batch_no:06d}-{i}",
                "record_type": "court.defaulter",
                "id_scheme": "cn.ric",
                "id_number": ric,
                "decided_on": day,
                "valid_from": day,
                "document_no": f"(2026)浙01执{batch_no}{i}号",
                "case_no": f"(2026)浙01执{batch_no}{i}号",
                "amount_cny": "20000.00",
                "circumstance": "has_ability_refuses",
                "performance": "none",
            }
            for i, ric in enumerate(people)
        ]

    def decide(self) -> None:
        with self.lock:
            entry = self.proposed.pop() if self.proposed else None
        if entry is None:
            listing = self.send(
                "GET /v1/lists/entries", "GET", "/v1/lists/entries", "reviewer", params={"state": "proposed"}
            )
            if listing is not None and listing.status_code == 200:
                with self.lock:
                    self.proposed = [int(e["id"]) for e in listing.json()["items"]]
            return
        verdict = "approve" if entry % 2 else "reject"
        body = {"decision": verdict, "reason": "the court's decision and the notice period stand"}
        self.send(
            "POST /v1/lists/entries/{id}/decision", "POST", f"/v1/lists/entries/{entry}/decision", "reviewer", json=body
        )

    def maintain(self) -> None:
        self.send("POST /v1/maintenance", "POST", "/v1/maintenance", "admin")


def build(work: Path, persons: int, orgs: int) -> tuple[dict[str, str], dict[str, str], list[str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(
        XINYONG_DATA_DIR=str(work / "data"), XINYONG_IDENTIFIER_KEY=KEY_HEX, XINYONG_PUBLIC_RATE_PER_MINUTE="100000"
    )
    xy(env, "init")
    xy(
        env,
        "demo",
        "generate",
        "--persons",
        str(persons),
        "--orgs",
        str(orgs),
        "--seed",
        "20261129",
        "--out",
        str(work / "city"),
    )
    xy(env, "ingest", "--no-rescore", str(work / "city" / "departments"))
    xy(env, "rescore", "--all")
    xy(env, "maintain")
    xy(env, "demo", "keys", "--output", str(work / "keys.json"))
    keys = {k["role"]: k["key"] for k in json.loads((work / "keys.json").read_text())}
    with (work / "city" / "ground_truth" / "population.csv").open(encoding="utf-8") as f:
        people = list(csv.DictReader(f))
    return (
        env,
        keys,
        [p["identifier"] for p in people if p["kind"] == "person"],
        [p["identifier"] for p in people if p["kind"] == "organisation"],
    )


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    env, keys, residents, orgs = build(work, args.persons, args.orgs)
    port = 19_000 + os.getpid() % 1000
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "xinyong", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        traffic = Traffic(url, keys, residents, orgs, args.seed, not args.no_record_batches)
        memory: list[tuple[float, int]] = []
        proc = psutil.Process(server.pid)
        total = args.minutes * 60.0
        start = time.monotonic()
        sent = 0
        with ThreadPoolExecutor(args.clients) as pool:
            next_sample = next_maintain = start
            while (now := time.monotonic()) < start + total:
                if now >= next_sample:
                    memory.append((now - start, proc.memory_info().rss))
                    next_sample += 5
                if now >= next_maintain:
                    pool.submit(traffic.maintain)
                    next_maintain += 60
                pool.submit(traffic.one)
                sent += 1
                time.sleep(max(0.0, start + sent / args.rate - time.monotonic()))
        elapsed = time.monotonic() - start
        memory.append((elapsed, proc.memory_info().rss))
        if args.memory_log:
            args.memory_log.write_text("".join(f"{t:.0f} {rss / 2**20:.1f}\n" for t, rss in memory))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    return figures(traffic, memory, sent, elapsed, args)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def figures(
    traffic: Traffic, memory: list[tuple[float, int]], sent: int, elapsed: float, args: argparse.Namespace
) -> dict[str, Any]:
    routes = {}
    errors = 0
    for route, answers in sorted(traffic.answers.items()):
        statuses: dict[int, int] = defaultdict(int)
        for _, s in answers:
            statuses[s] += 1
        errors += sum(n for s, n in statuses.items() if s == 0 or s >= 500)
        latencies = [t for t, _ in answers]
        routes[route] = {"n": len(answers), "statuses": dict(statuses), "p50_ms": round(_pct(latencies, 0.5), 1),
                         "p99_ms": round(_pct(latencies, 0.99), 1)}  # fmt: skip
    warm = max(30.0, elapsed / 5)
    after_warmup = [rss for t, rss in memory if warm <= t < warm + max(30.0, elapsed / 10)]
    at_end = [rss for t, rss in memory if t >= elapsed - max(30.0, elapsed / 10)]
    base = median(after_warmup) if after_warmup else memory[0][1]
    end = median(at_end)
    return {
        "sent": sent,
        "seconds": round(elapsed, 1),
        "rate": round(sent / elapsed, 2),  # answered over the whole run, the drain of late answers included
        "errors": errors,
        "routes": routes,
        "rss_mb_after_warmup": round(base / 2**20, 1),
        "rss_mb_end": round(end / 2**20, 1),
        "rss_growth_pct": round(100 * (end - base) / base, 2),
        "record_batches": traffic.batches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the traffic runs (default 10)")
    parser.add_argument("--rate", type=float, default=8.0, help="requests a second, all routes together")
    parser.add_argument("--clients", type=int, default=16, help="client threads sending the requests")
    parser.add_argument("--persons", type=int, default=3000, help="residents of the demo city")
    parser.add_argument("--orgs", type=int, default=1000, help="companies of the demo city")
    parser.add_argument("--seed", type=int, default=7, help="seed of the traffic's draws")
    parser.add_argument(
        "--no-record-batches", action="store_true", help="checks instead of record batches (to tell their memory apart)"
    )
    parser.add_argument("--memory-log", type=Path, help="write the server's memory samples (s, MB) to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xinyong-soak-") as tmp:
        f = run(args, Path(tmp))
    done = f"{f['sent']} requests in {f['seconds']} s ({f['rate']}/s of {args.rate}/s asked)"
    print(f"{done}; errors {f['errors']} (goal 0)")
    for route, r in f["routes"].items():
        print(f"  {route:<42} {r['n']:>6}  p50 {r['p50_ms']:>7} ms  p99 {r['p99_ms']:>8} ms  {r['statuses']}")
    print(f"server memory {f['rss_mb_after_warmup']} MB after warm-up, {f['rss_mb_end']} MB at the end: "
          f"{f['rss_growth_pct']}% (goal under 10%)")  # fmt: skip
    p99 = {route: r["p99_ms"] for route, r in f["routes"].items()}
    print(json.dumps({"bench": "soak", "unit": "requests/s", "value": f["rate"], "baseline": args.rate,
                      "ratio": round(f["rate"] / args.rate, 3), "errors": f["errors"], "p99_ms": p99,
                      "rss_growth_pct": f["rss_growth_pct"], "minutes": args.minutes}))  # fmt: skip


if __name__ == "__main__":
    main()
