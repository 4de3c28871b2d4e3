"""What every kill drill does: run a real `xinyong` command, SIGKILL it and its children after a
delay drawn between its start-up and a little past its end, and ask the store whether its audit
chain held (see kill_drill.py for the drills themselves)."""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
from sqlalchemy import Engine, select

from xinyong.services import audit
from xinyong.store.tables import audit_events

FAR = datetime(2100, 1, 1, tzinfo=UTC)
# When a kill comes, as a share of an uncut run's time past the interpreter's start-up: from the
# start of the work to past its end, so that some runs end first (the tests narrow it to the
# middle, where their few trials count most).
SPREAD = (0.0, 1.2)


@dataclass
class Drill:
    """What the trials of one drill did: how many were killed, how many ran to their end first."""

    name: str
    killed: int = 0
    finished: int = 0
    delays: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what else a drill counts, for its line

    def line(self) -> str:
        span = f"{min(self.delays):.2f}-{max(self.delays):.2f} s" if self.delays else "-"
        extra = "".join(f"; {n}" for n in self.notes)
        return f"{self.name}: {self.killed} killed mid-run, {self.finished} finished first (delays {span}{extra}); all held"


@dataclass(frozen=True)
class Timing:
    """An uncut run's time, and how much of it the interpreter takes to start and import the CLI."""

    startup: float
    full: float

    def delay(self, rng: random.Random, spread: tuple[float, float]) -> float:
        """A kill's delay: the start-up, then a share (drawn from `spread`) of the work after it."""
        return self.startup + rng.uniform(*spread) * max(self.full - self.startup, 0.05)

    def ran(self, seconds: float) -> Timing:
        """The timing after a trial's run ended before its kill, in `seconds`: a machine whose load
        changes makes one uncut run a poor measure of the next, and a run that ended first says
        how long the trials' runs take now."""
        return Timing(self.startup, min(self.full, seconds))


def xy(env: dict[str, str], cwd: Path, *args: str, codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "xinyong", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert done.returncode in codes, f"xinyong {' '.join(args)} failed ({done.returncode}):\n{done.stderr}"
    return done


def timed_run(env: dict[str, str], cwd: Path, *args: str, codes: tuple[int, ...] = (0,)) -> float:
    started = time.monotonic()
    xy(env, cwd, *args, codes=codes)
    return time.monotonic() - started


def startup(env: dict[str, str], cwd: Path) -> float:
    """Seconds the interpreter takes to start and load the CLI (the shorter of two runs)."""
    return min(timed_run(env, cwd, "--help") for _ in range(2))


@dataclass(frozen=True)
class Outcome:
    """How a run met its kill: killed (with how many processes it had started), or ended first."""

    killed: bool
    children: int = 0
    seconds: float = 0.0  # of a run that ended first


def killed_after(env: dict[str, str], cwd: Path, delay: float, *args: str, codes: tuple[int, ...] = (0,)) -> Outcome:
    """Run `xinyong *args`, SIGKILL it (and its children) after `delay` s."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "xinyong", *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _, err = proc.communicate(timeout=delay)
    except subprocess.TimeoutExpired:
        children = kill_tree(proc.pid) - 1
        proc.communicate()
        return Outcome(True, children)
    assert proc.returncode in codes, f"xinyong {' '.join(args)} failed before it was killed:\n{err.decode()}"
    return Outcome(False, seconds=time.monotonic() - started)


def kill_tree(pid: int) -> int:
    """SIGKILL a process and every process it started, and wait until they are gone; how many."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return 0
    procs = [parent]
    with contextlib.suppress(psutil.NoSuchProcess):
        parent.suspend()  # stopped, it starts no helper between the listing and the kill
        procs.extend(parent.children(recursive=True))
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(procs, timeout=60)
    return len(procs)


def chain_intact(engine: Engine) -> None:
    report = audit.verify(engine)
    assert report.intact, f"the audit chain is broken: {report}"


def audited_targets(engine: Engine, action: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(audit_events.c.target).where(audit_events.c.action == action)))
