"""Real `xinyong serve` processes for the operations tests: started on a free loopback port,
read through their JSON log lines, stopped with SIGINT as an operator would.

Waiting is for events (the port answers, a worker logs its start), each bounded by a limit
past which the test fails with the server's log; no figure of time is asserted.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from xinyong.settings import Settings

STARTUP_LIMIT_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Serving:
    """`xinyong serve` with the given environment and options, as a context manager."""

    def __init__(self, env: dict[str, str], tmp: Path, *args: str, workers: int = 1, name: str = "server") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = tmp / f"{name}-{self.port}.log"
        self.out_path = tmp / f"{name}-{self.port}.out"
        self.args = ["serve", "--port", str(self.port), "--workers", str(workers), *args]
        self.env, self.cwd = env, tmp
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Serving:
        with self.log_path.open("wb") as err, self.out_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "xinyong", *self.args], env=self.env, cwd=self.cwd, stdout=out, stderr=err
            )
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while len(self.started_pids()) < self.workers:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start (exit {self.proc.poll()}):\n{self.text()}")
            time.sleep(0.1)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def text(self) -> str:
        return self.log_path.read_text(errors="replace") + self.out_path.read_text(errors="replace")

    def lines(self) -> list[dict[str, Any]]:
        """Every JSON line the server has logged (a line that is not JSON fails the test)."""
        found = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            if raw.strip():
                try:
                    found.append(json.loads(raw))
                except json.JSONDecodeError:
                    raise AssertionError(f"a log line is not JSON: {raw!r}") from None
        return found

    def started_pids(self) -> set[int]:
        """Worker processes that have finished their startup."""
        return {int(line["pid"]) for line in self.lines() if line.get("message") == "Application startup complete."}

    def access(self, request_id: str) -> dict[str, Any] | None:
        """The access line of a request, by the id it was sent with."""
        return next(
            (x for x in self.lines() if x.get("logger") == "xinyong.access" and x.get("request_id") == request_id), None
        )

    def call(self, method: str, path: str, key: str | None = None, rid: str | None = None, **kw: Any) -> httpx.Response:
        """One request on a connection of its own (so that any worker may take it)."""
        headers = dict(kw.pop("headers", {}))
        if key:
            headers["authorization"] = f"Bearer {key}"
        if rid:
            headers["x-request-id"] = rid
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def served_by(self, rid: str) -> int:
        """The pid of the worker that answered the request `rid` (its access line is written
        once the answer is sent, so it is waited for)."""
        deadline = time.monotonic() + 30
        while (line := self.access(rid)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no access line for {rid}:\n{self.text()[-3000:]}")
            time.sleep(0.02)
        return int(line["pid"])


@contextmanager
def in_thread(settings: Settings) -> Iterator[str]:
    """The app of `settings` served by uvicorn in a thread of the test, on a free port: its URL."""
    from xinyong.api.app import create_app

    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=30)


def env_for(db_env: dict[str, str], **settings: str) -> dict[str, str]:
    """A server's environment: the test store's, with a signing key in its data directory."""
    env = {**db_env, **{f"XINYONG_{k.upper()}": v for k, v in settings.items()}}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    data = Path(env["XINYONG_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    if not (data / "signing.key").exists():
        done = subprocess.run(
            [sys.executable, "-m", "xinyong", "init"], env=env, cwd=data, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"xinyong init failed:\n{done.stderr}"
    return env
