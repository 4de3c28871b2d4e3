"""Benchmark: the portal's public entity page against the JSON public subject endpoint.

Builds the demo city with a fixed seed (`xinyong demo generate`, ingest, rescore, maintain) in a
fresh SQLite store, serves the app with one uvicorn worker, and drives, for the same subjects
(the city's organisations, in a fixed random order), in the same run:

- value: `GET /entities/{id}`, the HTML page a person opens;
- baseline: `GET /v1/public/subjects/{id}`, the JSON the API answers for the same subject;

with `wrk` at 1 connection (rate and p99) and at 16 connections (rate), value and baseline in
alternated rounds (each round in the other order); medians are reported, the ratio as the median
of the rounds' ratios. Prints both, and as its last line one JSON object (see BENCH.md). Cleans up
after itself. Needs `wrk` (`make bench` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

XY = [sys.executable, "-m", "xinyong"]


def run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([*XY, *args], env=env, check=False, stdout=subprocess.DEVNULL)
    if done.returncode != 0 and not (args[0] == "ingest" and done.returncode == 3):  # 3: rows rejected
        raise subprocess.CalledProcessError(done.returncode, [*XY, *args])


def build(tmp: Path, persons: int, orgs: int, seed: int) -> dict[str, str]:
    env = {**os.environ, "XINYONG_DATA_DIR": str(tmp / "data"), "XINYONG_PUBLIC_RATE_PER_MINUTE": "100000"}
    env.pop("XINYONG_DATABASE_URL", None)
    run(env, "init")
    run(
        env,
        "demo",
        "generate",
        "--persons",
        str(persons),
        "--orgs",
        str(orgs),
        "--seed",
        str(seed),
        "--out",
        str(tmp / "city"),
    )
    run(env, "ingest", "--no-rescore", str(tmp / "city" / "departments"))
    run(env, "rescore", "--all")
    run(env, "maintain")
    return env


def organisations(tmp: Path, n: int, seed: int) -> list[int]:
    with sqlite3.connect(tmp / "data" / "xinyong.db") as db:
        ids = [r[0] for r in db.execute("SELECT id FROM subjects WHERE kind = 'organisation' ORDER BY id")]
    random.Random(seed).shuffle(ids)
    return ids[:n]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "xinyong.api.app:create_app", "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env)
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the app did not start")


def script(tmp: Path, name: str, paths: list[str]) -> Path:
    """A wrk script that walks the paths in order, round and round."""
    lua = tmp / f"{name}.lua"
    listed = ",".join(f'"{p}"' for p in paths)
    lua.write_text(
        f"local paths = {{{listed}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n"
    )
    return lua


def wrk(url: str, lua: Path, connections: int, seconds: int) -> dict[str, float]:
    threads = 1 if connections == 1 else 2
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", str(lua), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} answers were not 2xx: {out}")
    return {"rps": rps, "p99_ms": float(p99.group(1)) * unit[p99.group(2)] if p99 else float("nan")}  # type: ignore[union-attr]


def measure(url: str, ids: list[int], tmp: Path, seconds: int, rounds: int) -> dict[str, Any]:
    pages = script(tmp, "pages", [f"/entities/{i}" for i in ids])
    json_ = script(tmp, "json", [f"/v1/public/subjects/{i}" for i in ids])
    # Warm both on every subject before measuring: the store's pages of these subjects (else
    # whichever side runs first pays for reading them from disk, and the other gets them cached),
    # pools, and the first compile of each template.
    for i in ids:
        for path in (f"/entities/{i}", f"/v1/public/subjects/{i}"):
            with urllib.request.urlopen(url + path) as answer:  # noqa: S310 - our own server on loopback
                answer.read()
    results: dict[str, list[dict[str, float]]] = {"page1": [], "json1": [], "page16": [], "json16": []}
    for r in range(rounds):
        order = [("page", pages), ("json", json_)] if r % 2 == 0 else [("json", json_), ("page", pages)]
        for connections in (1, 16):
            for name, lua in order:
                results[f"{name}{connections}"].append(wrk(url, lua, connections, seconds))
    ratio1 = statistics.median(p["rps"] / j["rps"] for p, j in zip(results["page1"], results["json1"], strict=True))
    ratio16 = statistics.median(p["rps"] / j["rps"] for p, j in zip(results["page16"], results["json16"], strict=True))
    med = {k: {m: statistics.median(x[m] for x in v) for m in ("rps", "p99_ms")} for k, v in results.items()}
    return {"median": med, "ratio_1": ratio1, "ratio_16": ratio16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=50_000, help="Residents of the demo city.")
    parser.add_argument("--orgs", type=int, default=10_000, help="Organisations of the demo city.")
    parser.add_argument("--subjects", type=int, default=2_000, help="Organisations whose pages are fetched.")
    parser.add_argument("--seconds", type=int, default=5, help="Duration of each load run.")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds of value and baseline runs, alternated.")
    parser.add_argument("--seed", type=int, default=20261129)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/portal.py needs wrk: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="xinyong-bench-portal-"))
    try:
        started = time.perf_counter()
        env = build(tmp, args.persons, args.orgs, args.seed)
        ids = organisations(tmp, args.subjects, args.seed)
        took = time.perf_counter() - started
        print(f"demo city of {args.persons} residents and {args.orgs} organisations built in {took:.0f} s")
        proc, url = serve(env)
        try:
            found = measure(url, ids, tmp, args.seconds, args.rounds)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    m = found["median"]
    print(f"1 connection:   entity pages {m['page1']['rps']:8.0f}/s  p99 {m['page1']['p99_ms']:6.2f} ms")
    print(f"                JSON subject {m['json1']['rps']:8.0f}/s  p99 {m['json1']['p99_ms']:6.2f} ms")
    print(f"                ratio {found['ratio_1']:.2f}")
    print(f"16 connections: entity pages {m['page16']['rps']:8.0f}/s  JSON subject {m['json16']['rps']:8.0f}/s")
    print(f"                ratio {found['ratio_16']:.2f}")
    print(
        json.dumps(
            {
                "bench": "portal",
                "unit": "pages/s",
                "value": round(m["page1"]["rps"]),
                "baseline": round(m["json1"]["rps"]),
                "ratio": round(found["ratio_1"], 3),
                "p99_ms": round(m["page1"]["p99_ms"], 2),
                "baseline_p99_ms": round(m["json1"]["p99_ms"], 2),
                "value_16": round(m["page16"]["rps"]),
                "baseline_16": round(m["json16"]["rps"]),
                "ratio_16": round(found["ratio_16"], 3),
                "subjects": len(ids),
            }
        )
    )


if __name__ == "__main__":
    main()
