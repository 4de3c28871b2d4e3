"""Kill drills: a real `xinyong` process killed with SIGKILL at a random moment, then the store
examined and the work run again.

One drill per kind of work (an ingestion, in kill_drill_ingest.py; a rescore, the daily
maintenance, a burst of checks against a real server). Each trial adds new work, starts the process, kills it after a delay drawn with a
seeded generator between the interpreter's start-up and a little past an uncut run's end, and then asks of
the store: nothing half-written, nothing doubled, the audit chain intact; and, after the same
command runs again to its end, nothing owed. The tests run a few trials (tests/test_kill_drills.py);
`bench/drills/kill.py` runs twenty of each.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select, text

from builders import make_ric, make_uscc
from kill_drill_ingest import ingest_drill
from kill_drill_support import (
    FAR,
    SPREAD,
    Drill,
    Timing,
    audited_targets,
    chain_intact,
    kill_tree,
    killed_after,
    startup,
    timed_run,
    xy,
)
from process_story import BLACK, Story, at, person_row
from servers import Serving, env_for
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import key_id, verify
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services.checks import certificate_of, replay
from xinyong.services.keys import create_key
from xinyong.services.scoring import changed_subjects
from xinyong.settings import Settings
from xinyong.store.tables import checks, list_entries, list_entry_state, list_transitions, score_runs


def resident_row(ref: str, n: int, **over: Any) -> dict[str, Any]:
    """A court defaulter record about resident n (distinct residents for n below 14,000; born after
    1983, when the region code came into use)."""
    return person_row(ref, n, id_number=make_ric(n % 1000, birth=f"19{85 + n // 1000 % 14}0101"), **over)


# -- rescore ---------------------------------------------------------------------------------------


def runs_whole(engine: Engine) -> list[int]:
    """Every score run holds one score per subject it counts, none twice; the runs' ids."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT r.id, r.subjects, count(s.id), count(DISTINCT s.subject_id) FROM score_runs r "
                "LEFT JOIN scores s ON s.run_id = r.id GROUP BY r.id, r.subjects ORDER BY r.id"
            )
        ).all()
    for run_id, counted, stored, distinct in rows:
        assert counted == stored == distinct, (
            f"score run {run_id}: counts {counted}, holds {stored} ({distinct} subjects)"
        )
    return [int(r[0]) for r in rows]


def rescore_drill(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, env: dict[str, str], tmp: Path,
    *, trials: int, subjects: int, rng: random.Random, spread: tuple[float, float] = SPREAD,
) -> Drill:  # fmt: skip
    """New records about a quarter of the residents, then `rescore --changed` killed at random;
    then run again: nothing owed.

    A kill's moment is drawn from an uncut `rescore --changed` of as much new work, less the
    interpreter's start-up (a rescore of every subject takes longer than a trial's run, and most
    kills drawn from it came after the run had ended)."""
    drill = Drill("rescore")
    story = Story(engine, catalog, vault, tmp)
    story.ingest([resident_row(f"RS-{i}", i) for i in range(subjects)], at(0))
    xy(env, tmp, "rescore", "--all")
    per_trial = max(subjects // 4, 5)

    def new_work(tag: str, day: int) -> None:
        picked = rng.sample(range(subjects * 2), per_trial)
        story.ingest([resident_row(f"RS-{tag}-{i}", n) for i, n in enumerate(picked)], at(day))

    new_work("calibrate", 1)
    timing = Timing(startup(env, tmp), timed_run(env, tmp, "rescore", "--changed"))
    for trial in range(trials):
        new_work(str(trial), trial + 2)
        delay = timing.delay(rng, spread)
        drill.delays.append(delay)
        run = killed_after(env, tmp, delay, "rescore", "--changed")
        drill.killed += run.killed
        drill.finished += not run.killed
        timing = timing if run.killed else timing.ran(run.seconds)
        runs_whole(engine)
        chain_intact(engine)
        xy(env, tmp, "rescore", "--changed")
        ids = runs_whole(engine)
        with engine.connect() as conn:
            as_of = conn.scalar(select(score_runs.c.as_of).order_by(score_runs.c.id.desc()).limit(1))
        owed, why = changed_subjects(engine, catalog, as_of, FAR)
        assert owed == [], f"trial {trial}: after the run again, {len(owed)} subjects still owed a score ({why})"
        audited = set(audited_targets(engine, "rescore"))
        assert {f"score_run:{i}" for i in ids} <= audited, f"trial {trial}: a stored score run has no audit event"
        chain_intact(engine)
    return drill


# -- maintain --------------------------------------------------------------------------------------


def entries_whole(engine: Engine) -> int:
    """Every entry's transitions are numbered 1..n without a gap and its state row is the last
    one's; the number of entries."""
    with engine.connect() as conn:
        steps = conn.execute(
            select(list_transitions.c.entry_id, func.count(), func.max(list_transitions.c.seq)).group_by(
                list_transitions.c.entry_id
            )
        ).all()
        states = {int(e): int(s) for e, s in conn.execute(select(list_entry_state.c.entry_id, list_entry_state.c.seq))}
        entries = int(conn.scalar(select(func.count()).select_from(list_entries)) or 0)
    for entry_id, n, last in steps:
        assert n == last, f"entry {entry_id}: {n} transitions numbered up to {last}"
        assert states.get(entry_id) == last, (
            f"entry {entry_id}: state row at {states.get(entry_id)}, transitions {last}"
        )
    assert len(steps) == entries, f"{entries} entries, {len(steps)} with transitions"
    return entries


def maintain_drill(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, env: dict[str, str], tmp: Path,
    *, trials: int, per_trial: int, rng: random.Random, spread: tuple[float, float] = SPREAD,
) -> Drill:  # fmt: skip
    """Court defaulters ingested, then `maintain` killed at random; then run again: every record
    that grounds a listing has its entry once, and a further run finds nothing to do."""
    drill = Drill("maintain")
    env = env_for(env)  # every maintain signs a checkpoint of the audit chain: a signing key
    # Told in the past: a command may act at a moment that has passed, never at one to come.
    start = datetime.now(UTC) - timedelta(days=14 * trials + 30)

    def at(days: float) -> datetime:
        return start + timedelta(days=days)

    decided = {"decided_on": (start - timedelta(days=9)).date().isoformat()}
    decided["valid_from"] = (start - timedelta(days=4)).date().isoformat()
    story = Story(engine, catalog, vault, tmp)
    story.ingest([resident_row(f"MT-base-{i}", 5000 + i, **decided) for i in range(per_trial)], at(0))
    timing = Timing(startup(env, tmp), timed_run(env, tmp, "maintain", "--now", at(1).isoformat()))
    grounds = per_trial
    for trial in range(trials):
        day = 2 + trial * 12  # each trial's run also publishes the proposals of earlier ones
        rows = [resident_row(f"MT-{trial}-{i}", 6000 + trial * per_trial + i, **decided) for i in range(per_trial)]
        story.ingest(rows, at(day - 1))
        grounds += per_trial
        delay = timing.delay(rng, spread)
        drill.delays.append(delay)
        run = killed_after(env, tmp, delay, "maintain", "--now", at(day).isoformat())
        drill.killed += run.killed
        drill.finished += not run.killed
        timing = timing if run.killed else timing.ran(run.seconds)
        entries_whole(engine)
        chain_intact(engine)
        xy(env, tmp, "maintain", "--now", at(day).isoformat())
        entries = entries_whole(engine)
        assert entries == grounds, f"trial {trial}: {entries} entries for {grounds} grounds"
        with engine.connect() as conn:
            black = int(
                conn.scalar(select(func.count()).select_from(list_entries).where(list_entries.c.list_id == BLACK)) or 0
            )
        assert black == grounds
        again = json.loads(xy(env, tmp, "maintain", "--now", at(day).isoformat(), "--json").stdout)
        done_twice = {k: v for k, v in again.items() if k in ("proposed", "published", "expired") and v}
        assert done_twice == {}, f"trial {trial}: a further run found work left: {done_twice}"
        chain_intact(engine)
    return drill


# -- a burst of checks -----------------------------------------------------------------------------


class Burst:
    """Client threads sending checks until told to stop or the server is gone; the answered ids."""

    def __init__(self, url: str, key: str, identifiers: list[str], threads: int, seed: int) -> None:
        self.url, self.key, self.identifiers = url, key, identifiers
        self.answered: list[str] = []
        self.refused: list[str] = []  # answers other than 200 (a client thread cannot fail the test)
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._send, args=(seed + i,)) for i in range(threads)]

    def __enter__(self) -> Burst:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join()

    def _send(self, seed: int) -> None:
        rng = random.Random(seed)
        headers = {"authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while not self.stop.is_set():
                body = {
                    "subject": rng.choice(self.identifiers),
                    "context": "procurement.tender",
                    "purpose": "bidder_screening",
                }
                try:
                    answer = client.post("/v1/checks", json=body)
                except httpx.HTTPError:
                    return  # the server is gone
                with self._lock:
                    if answer.status_code == 200:
                        self.answered.append(answer.json()["check_id"])
                    else:
                        self.refused.append(f"{answer.status_code} {answer.text[:200]}")


def checks_drill(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp: Path,
    *, trials: int, rng: random.Random,
) -> Drill:  # fmt: skip
    """A server answering checks from several clients, killed at random: every check it answered
    is stored once with a certificate that verifies and a replay that agrees; a new server on
    the same store answers."""
    drill = Drill("checks")
    env = env_for(db_env)
    story = Story(engine, catalog, vault, tmp)
    story.ingest([person_row(f"CK-{i}", 40 + i) for i in range(10)], at(0))
    story.maintain(at(0))
    identifiers = [make_ric(40 + i) for i in range(10)] + [make_uscc(i + 1) for i in range(5)]
    key = Settings(data_dir=Path(env["XINYONG_DATA_DIR"])).signing_key()
    public = {key_id(key.public_key()): key.public_key()}
    consumer = create_key(engine, catalog, role="consumer", name="drill", scopes={"contexts": ["procurement.tender"]})[
        "key"
    ]
    seen: set[str] = set()
    for trial in range(trials):
        with Serving(env, tmp, name=f"drill-{trial}") as server:
            assert server.proc is not None
            delay = rng.uniform(0.05, 2.0)
            drill.delays.append(delay)
            with Burst(server.url, consumer, identifiers, threads=6, seed=rng.randrange(10**6)) as burst:
                deadline = time.monotonic() + 120
                while not burst.answered and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(delay)
                kill_tree(server.proc.pid)
            drill.killed += 1
        answered = burst.answered
        assert burst.refused == [], f"trial {trial}: answers other than 200 before the kill: {burst.refused[:3]}"
        assert answered, f"trial {trial}: no check was answered before the kill"
        assert len(set(answered)) == len(answered), "a check id was answered twice"
        with engine.connect() as conn:
            stored = dict(
                conn.execute(
                    select(checks.c.id, func.count()).where(checks.c.id.in_(answered)).group_by(checks.c.id)
                ).all()
            )
        lost = [c for c in answered if stored.get(c) != 1]
        assert lost == [], f"trial {trial}: {len(lost)} answered checks are not stored once"
        for check_id in set(answered) - seen:
            verify(certificate_of(engine, check_id), public)
            assert replay(engine, catalog, check_id)["same"] is True
        seen.update(answered)
        chain_intact(engine)
    with Serving(env, tmp, name="drill-after") as server:
        again = server.call("POST", "/v1/checks", key=consumer,
                            json={"subject": identifiers[0], "context": "procurement.tender", "purpose": "contract_award"})  # fmt: skip
        assert again.status_code == 200, again.text
    chain_intact(engine)
    return drill


DRILLS: dict[str, Callable[..., Drill]] = {
    "ingest": ingest_drill,
    "rescore": rescore_drill,
    "maintain": maintain_drill,
    "checks": checks_drill,
}


def summary(drills: list[Drill]) -> dict[str, Any]:
    return {d.name: {"killed": d.killed, "finished_first": d.finished} for d in drills}
