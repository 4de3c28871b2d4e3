"""Drill: PostgreSQL restarted under load. The server answers 503 while it is down, and once it is
back answers again without a restart of its own, with no 5xx after.

Makes a database of its own on the local cluster (`--pg-url`, default XINYONG_TEST_POSTGRES_URL;
`--cluster` and `--port` for another cluster than `main` on 5432, such as one made for the drill
with `pg_createcluster 15 drill --port 5440 --start`, which restarts nobody else's),
serves it with `xinyong serve --workers 2`, drives checks and public searches from a few threads
on loopback at a fixed rate, and after a warm-up restarts the cluster with
`pg_ctlcluster --skip-systemctl-redirect VERSION main restart`. Every answer is recorded with the
moment its request was sent; the figures are the answers while the cluster was down (503s
expected), and the 5xx among the requests sent after it was back (goal 0).

It restarts the machine's PostgreSQL: every other client of it loses its connections for a
moment. It leaves the cluster running (starts it if the restart left it down), stops its server
and drops its database, whatever happens. Last line: one JSON object (BENCH.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from stdnum.cn import uscc

from xinyong.domain.catalog import load_catalog
from xinyong.services.keys import create_key
from xinyong.store.db import make_engine, upgrade

KEY_HEX = "5a" * 32


CLUSTER = {"name": "main", "port": 5432}  # the cluster restarted: `--cluster`, `--port`


def pg_ready() -> bool:
    port = str(CLUSTER["port"])
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", port, "-q"], check=False).returncode == 0


def cluster() -> str:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir())
    if not versions:
        raise SystemExit("no PostgreSQL cluster under /etc/postgresql")
    return versions[-1]


def pg_ctl(action: str) -> subprocess.CompletedProcess[str]:
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", cluster(), str(CLUSTER["name"]), action]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def ensure_running() -> None:
    if not pg_ready():
        pg_ctl("start")
    for _ in range(60):
        if pg_ready():
            return
        time.sleep(1)
    raise SystemExit("PostgreSQL did not come back: start it with pg_ctlcluster")


def org(n: int) -> str:
    body = f"91330106{n:09d}"[:17]
    return body + uscc.calc_check_digit(body)


class Load:
    """Threads sending requests at a fixed rate each; every answer kept as (sent_at, route, status)."""

    def __init__(self, url: str, key: str, threads: int, rate: float) -> None:
        self.url, self.key, self.threads, self.period = url, key, threads, 1.0 / rate
        self.stop = threading.Event()
        self.answers: list[tuple[float, str, int]] = []
        self.lock = threading.Lock()

    def run(self, n: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            i = 0
            next_at = time.monotonic()
            while not self.stop.is_set():
                i += 1
                sent = time.monotonic()
                if i % 3:
                    route = "/v1/checks"
                    body = {
                        "subject": org(n * 10_000 + i % 500 + 1),
                        "context": "procurement.tender",
                        "purpose": "bidder_screening",
                    }
                    call = lambda: client.post(route, json=body, headers={"authorization": f"Bearer {self.key}"})  # noqa: E731, B023
                else:
                    route = "/v1/public/subjects"
                    call = lambda: client.get(route, params={"q": "drill"})  # noqa: E731, B023
                try:
                    status = call().status_code
                except httpx.HTTPError:
                    status = 0  # no answer at all
                with self.lock:
                    self.answers.append((sent, route, status))
                next_at += self.period
                self.stop.wait(max(0.0, next_at - time.monotonic()))

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(self.threads)]
        for t in threads:
            t.start()
        return threads


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "xinyong", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=out,
        stderr=out,
    )
    for _ in range(240):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the server did not start; see {log}")


def drill(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    base = make_url(args.pg_url)
    name = f"xy_drill_{uuid.uuid4().hex[:10]}"
    admin = make_engine(args.pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    key = str(
        create_key(engine, load_catalog(), role="consumer", name="drill", scopes={"contexts": ["procurement.tender"]})[
            "key"
        ]
    )
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(XINYONG_DATABASE_URL=url, XINYONG_DATA_DIR=str(work), XINYONG_IDENTIFIER_KEY=KEY_HEX)
    env["XINYONG_PUBLIC_RATE_PER_MINUTE"] = "100000"  # the drill is one client: it is not the limit under test
    subprocess.run([sys.executable, "-m", "xinyong", "init"], env=env, check=True, capture_output=True)
    port = 18_000 + os.getpid() % 1000
    server = serve(env, port, work / "server.log")
    load = Load(f"http://127.0.0.1:{port}", key, args.threads, args.rate)
    try:
        threads = load.start()
        time.sleep(args.warmup)
        down_at = time.monotonic()
        restart = pg_ctl("restart")
        while not pg_ready():
            time.sleep(0.05)
        back_at = time.monotonic()
        time.sleep(args.after)
        load.stop.set()
        for t in threads:
            t.join()
    finally:
        ensure_running()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
    before = Counter(s for t, _, s in load.answers if t < down_at)
    during = Counter(s for t, _, s in load.answers if down_at <= t < back_at)
    after = Counter(s for t, _, s in load.answers if t >= back_at)
    first_ok = min((t for t, _, s in load.answers if t >= back_at and s == 200), default=None)
    return {
        "restart_exit": restart.returncode,
        "down_s": round(back_at - down_at, 2),
        "before": dict(before),
        "while_down": dict(during),
        "after_back": dict(after),
        "first_200_after_back_s": None if first_ok is None else round(first_ok - back_at, 3),
        "5xx_after_back": sum(n for s, n in after.items() if s >= 500 or s == 0),
        "5xx_after_back_500": after.get(500, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--pg-url", default=os.environ.get("XINYONG_TEST_POSTGRES_URL"), help="an admin URL of the cluster"
    )
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--rate", type=float, default=25.0, help="requests a second per thread")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of load before the restart")
    parser.add_argument("--after", type=float, default=20.0, help="seconds of load after the cluster is back")
    parser.add_argument(
        "--cluster", default="main", help="the cluster to restart (e.g. one made for the drill with pg_createcluster)"
    )
    parser.add_argument("--port", type=int, default=5432, help="its port (the URL must name the same)")
    args = parser.parse_args()
    CLUSTER.update(name=args.cluster, port=args.port)
    if not args.pg_url:
        raise SystemExit("give --pg-url or set XINYONG_TEST_POSTGRES_URL")
    with tempfile.TemporaryDirectory(prefix="xinyong-drill-") as tmp:
        figures = drill(args, Path(tmp))
    print(f"PostgreSQL down for {figures['down_s']} s (restart exit {figures['restart_exit']})")
    print(f"answers before: {figures['before']}")
    print(f"answers while down (503 expected): {figures['while_down']}")
    print(f"answers after it was back: {figures['after_back']}; first 200 after {figures['first_200_after_back_s']} s")
    print(f"5xx (or no answer) after it was back: {figures['5xx_after_back']} (goal 0)")
    print(
        json.dumps(
            {
                "bench": "pg_restart",
                "unit": "5xx after recovery",
                "value": figures["5xx_after_back"],
                "baseline": 0,
                "ratio": None,
                **figures,
            }
        )
    )


if __name__ == "__main__":
    main()
