"""The audit chain under attack by someone who can write its table.

The chain's own links catch an edit, but not a deleted tail, an event appended with a correctly
computed hash, or a rewrite that computes every hash again. Signed checkpoints of the head (kept
in the store, in every certificate, and exported to be kept outside it) catch each of them once
an anchor covers the events attacked; each refusal names the anchor and what was done.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, insert, select, update

from builders import make_uscc, ok, xy
from servers import env_for
from xinyong.services import audit
from xinyong.services.audit_checkpoints import anchor_from, checkpoint, verify_anchored
from xinyong.settings import Settings
from xinyong.store.tables import audit_events
from xinyong.store.unit_of_work import AuditEvent, record


@pytest.fixture
def signing(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data", signing_key_file=tmp_path / "signing.key")
    settings.create_signing_key_file()
    return settings.signing_key()


def _events(engine: Engine, n: int, start: datetime) -> None:
    for i in range(n):
        record(engine, AuditEvent("reviewer:li", "entry_approve", f"entry:{i}", at=start + timedelta(minutes=i)))


def _rechain(engine: Engine) -> None:
    """What an attacker with write access does after editing: compute every hash again."""
    with engine.begin() as conn:
        rows = conn.execute(select(audit_events).order_by(audit_events.c.id)).all()
        prev = audit.GENESIS
        for r in rows:
            digest = audit.event_hash(prev, r.at, r.actor, r.action, r.target, r.purpose)
            conn.execute(update(audit_events).where(audit_events.c.id == r.id).values(prev_hash=prev, hash=f"t{r.id}"))
            conn.execute(update(audit_events).where(audit_events.c.id == r.id).values(hash=digest))
            prev = digest


def _problems(engine: Engine, signing) -> list[str]:  # type: ignore[no-untyped-def]
    return verify_anchored(engine, signing.public_key()).problems


def test_a_deleted_tail_is_caught_by_the_checkpoint_that_covered_it(engine: Engine, signing) -> None:  # type: ignore[no-untyped-def]
    start = datetime.now(UTC) - timedelta(hours=3)
    _events(engine, 5, start)
    done = checkpoint(engine, signing, reason="daily")
    assert done["seq"] > 0 and _problems(engine, signing) == []
    with engine.begin() as conn:
        conn.execute(delete(audit_events).where(audit_events.c.id >= done["seq"] - 1))
    assert audit.verify(engine).intact, "the chain's own links cannot see a deleted tail"
    [problem] = _problems(engine, signing)
    assert problem.endswith(
        f": the head it holds, event {done['seq']}, is gone (the chain ends before it: events were deleted)"
    )
    assert problem.startswith("checkpoint 1 of ")


def test_a_forged_event_appended_with_a_correct_hash_is_caught(engine: Engine, signing) -> None:  # type: ignore[no-untyped-def]
    start = datetime.now(UTC) - timedelta(hours=3)
    _events(engine, 3, start)
    done = checkpoint(engine, signing, reason="maintain")
    # Computed as the platform computes it, and backdated to look as if it came before the checkpoint.
    with engine.begin() as conn:
        head = conn.scalar(select(audit_events.c.hash).order_by(audit_events.c.id.desc()).limit(1))
        rows, _ = audit.chained(head, [audit.Event("reviewer:li", "entry_remove", "entry:9", None, start)])
        conn.execute(insert(audit_events), rows)
    assert audit.verify(engine).intact, "the forged event's hash is correct"
    forged = done["seq"] + 1
    assert _problems(engine, signing) == [
        f"checkpoint 1 of {done['at']}: event {forged} comes after the head it holds but is dated before it was "
        "signed (it was appended later and backdated)"
    ]


def test_a_rewrite_re_chained_is_caught_by_a_checkpoint_an_exported_head_and_a_certificate(
    engine: Engine,
    signing,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    _events(engine, 4, datetime.now(UTC) - timedelta(hours=3))
    exported = checkpoint(engine, signing, reason="export")["document"]
    with engine.begin() as conn:
        conn.execute(update(audit_events).where(audit_events.c.id == 2).values(actor="reviewer:nobody"))
    _rechain(engine)
    assert audit.verify(engine).intact, "re-chained, the links hold"
    [stored] = _problems(engine, signing)
    assert "(the chain up to it was rewritten and re-chained)" in stored
    # The attacker also empties the checkpoints table: the head held outside the store still catches it.
    from xinyong.store.checkpoint_tables import audit_checkpoints

    with engine.begin() as conn:
        conn.execute(delete(audit_checkpoints))
    assert _problems(engine, signing) == []
    held = anchor_from(exported, signing.public_key(), "anchor head.json")
    [outside] = verify_anchored(engine, signing.public_key(), [held]).problems
    assert outside.startswith(f"anchor head.json: event {held.seq} has hash ")
    assert outside.endswith("(the chain up to it was rewritten and re-chained)")


def test_the_command_line_exports_a_head_and_verifies_against_it_and_certificates(
    db_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    env = env_for(db_env)
    ok(xy(env, "keys", "create", "--role", "reviewer", "--name", "li", cwd=tmp_path))
    asked = json.loads(ok(xy(env, "check", make_uscc(4), "--context", "procurement.tender", "--purpose",
                              "bidder_screening", "--json", cwd=tmp_path)).stdout)  # fmt: skip
    assert asked["audit"]["seq"] == 1  # the key's issue was the chain's head when the check was made
    ok(xy(env, "certificate", "get", asked["check_id"], "-o", str(tmp_path / "cert.json"), cwd=tmp_path))
    head = tmp_path / "head.json"
    ok(xy(env, "audit", "checkpoint", "--export", str(head), cwd=tmp_path))
    fine = xy(env, "audit", "verify", "--anchor", str(head), "--certificate", str(tmp_path / "cert.json"), cwd=tmp_path)
    assert fine.returncode == 0 and "intact" in fine.stdout
    with engine.begin() as conn:
        conn.execute(update(audit_events).where(audit_events.c.id == 1).values(target="key:0000000000000000"))
    _rechain(engine)
    from xinyong.store.checkpoint_tables import audit_checkpoints

    with engine.begin() as conn:
        conn.execute(delete(audit_checkpoints))
    caught = xy(
        env, "audit", "verify", "--anchor", str(head), "--certificate", str(tmp_path / "cert.json"), cwd=tmp_path
    )
    assert caught.returncode == 1
    lines = caught.stdout.splitlines()
    assert any(line.strip().startswith(f"anchor {head}: event ") for line in lines), caught.stdout
    assert any(line.strip().startswith(f"certificate {tmp_path / 'cert.json'}: event 1 has hash ") for line in lines)
    forged = tmp_path / "forged.json"
    forged.write_bytes(head.read_bytes().replace(b'"reason":"export"', b'"reason":"daily"'))
    bad = xy(env, "audit", "verify", "--anchor", str(forged), cwd=tmp_path)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == (
        "error: the signature does not match the payload: the certificate was altered"
    )
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(audit_events)) >= 2
