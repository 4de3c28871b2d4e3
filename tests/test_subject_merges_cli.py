"""Merges of subjects through the real `xinyong subjects` command, on SQLite and PostgreSQL: propose,
decide (by another reviewer), history, undo, with their audit events; mistakes refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from builders import cli_events, make_uscc, ok, xy
from linking_store_world import at, build, tax_record
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault

DOC = "市监变〔2027〕12号"


def test_subjects_merge_decide_history_and_undo(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    world = build(engine, catalog, vault, tmp_path)
    code_b = make_uscc(777003)
    world.ingest([tax_record("TX-B", world.orgs[3], code_b, 1)], at(1), source="tax")
    a, b = str(world.subject_of_number("cn.uscc", world.orgs[3].uscc)), str(world.subject_of_number("cn.uscc", code_b))
    why = f"the notice {DOC} says the two codes are one company"

    bare = xy(db_env, "subjects", "merge", a, b, "--reviewer", "li", "--reason", "same name", cwd=tmp_path)
    assert bare.returncode == 1 and bare.stderr.count("\n") == 1
    assert "each have their own cn.uscc identifier: a merge needs the document" in bare.stderr
    made = ok(xy(db_env, "subjects", "merge", a, b, "--reviewer", "li", "--reason", why, "--document", DOC, "--json",
                 cwd=tmp_path))  # fmt: skip
    pid = str(json.loads(made.stdout)["proposal"])
    own = xy(db_env, "subjects", "decide", pid, "confirm", "--reviewer", "li", "--reason", "I checked", cwd=tmp_path)
    assert own.returncode == 1 and "another reviewer decides it" in own.stderr
    done = ok(xy(db_env, "subjects", "decide", pid, "confirm", "--reviewer", "wang", "--reason", "checked it",
                 "--json", cwd=tmp_path))  # fmt: skip
    did = str(json.loads(done.stdout)["decision"])
    assert world.current("TX-B", "tax").subject_id == int(a)
    shown = ok(xy(db_env, "subjects", "history", b, cwd=tmp_path)).stdout
    assert f"subject {b} stands for subject {a} (merged)" in shown and "confirm by wang" in shown
    undone = ok(xy(db_env, "subjects", "undo", did, "--reviewer", "zhao", "--reason", "notice withdrawn", cwd=tmp_path))
    assert f"reverses decision {did}" in undone.stdout
    assert world.current("TX-B", "tax").subject_id == int(b)
    with engine.connect() as conn:
        actions = {e.action for e in cli_events(conn)}
    assert {"propose_subject_merge", "decide_subject_merge", "undo_subject_merge", "read_subject_merges"} <= actions
