"""Match review through the real `xinyong` command: train, run, review, decide, undo, on SQLite and
PostgreSQL, with their audit events; bad arguments are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select

from builders import cli_events, ok, xy
from linking_store_world import NAMESAKE, at, build, namesake_rows
from xinyong.domain.catalog import Catalog
from xinyong.domain.identifiers import IdentifierVault
from xinyong.store.tables import records


def test_link_commands_train_propose_review_decide_and_undo(
    engine: Engine, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    world = build(engine, catalog, vault, tmp_path)
    world.ingest(namesake_rows(), at(1))  # no model kept yet: stored unresolved, nothing proposed
    none = xy(db_env, "link", "run", cwd=tmp_path)
    assert none.returncode == 1 and "no linking model is kept: run `xinyong link train` first" in none.stderr

    trained = json.loads(ok(xy(db_env, "link", "train", "--seed", "3", "--json", cwd=tmp_path)).stdout)
    assert trained["new"] is True and trained["subjects"] == 162 and len(trained["version"]) == 64
    ran = json.loads(ok(xy(db_env, "link", "run", "--json", cwd=tmp_path)).stdout)
    assert ran["records"] == 2 and ran["proposals"] >= 4 and ran["model_version"] == trained["version"]

    page = json.loads(ok(xy(db_env, "link", "review", "--limit", "5", "--json", cwd=tmp_path)).stdout)
    first = page["items"][0]
    assert first["record_name"] == NAMESAKE and first["other_candidates"], first
    shown = ok(xy(db_env, "link", "review", cwd=tmp_path)).stdout
    assert "Open match proposals" in shown and NAMESAKE in shown

    bad = xy(
        db_env, "link", "decide", str(first["id"]), "maybe", "--reviewer", "li", "--reason", "x" * 10, cwd=tmp_path
    )
    assert bad.returncode == 1 and "outcome 'maybe': expected confirm, reject or unsure" in bad.stderr
    engine_bad = xy(db_env, "link", "run", "--engine", "pandas", cwd=tmp_path)
    assert engine_bad.returncode == 1 and "engine 'pandas'" in engine_bad.stderr

    why = "the judgment names the district where he lives"
    decided = ok(
        xy(
            db_env,
            "link",
            "decide",
            str(first["id"]),
            "confirm",
            "--reviewer",
            "li",
            "--reason",
            why,
            "--json",
            cwd=tmp_path,
        )
    )
    judgement = json.loads(decided.stdout)["judgement"]
    with engine.connect() as conn:
        method = conn.scalar(
            select(records.c.link_method).where(
                records.c.source_ref == first["source_ref"], records.c.superseded_at.is_(None)
            )
        )
    assert method == "confirmed"
    undone = ok(xy(db_env, "link", "undo", str(judgement), "--reviewer", "li", "--reason", "wrong twin", cwd=tmp_path))
    assert f"reverses judgement {judgement}" in undone.stdout
    with engine.connect() as conn:
        actions = [e.action for e in cli_events(conn)]
    assert {"train_link_model", "propose_links", "review_links", "judge_link", "undo_link_judgement"} <= set(actions)
