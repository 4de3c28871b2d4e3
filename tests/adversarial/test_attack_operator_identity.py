"""The command line under attack: an operator cannot act in a department's name.

A check is proof of who asked. `xinyong check --consumer api:ministry-of-finance` would write a
signed certificate and an audit event saying that the ministry asked, when an operator did; the
command refuses it (a department checks with its own key, through the API) and a check from the
command line is always made, signed and audited as `cli:<login>` of who ran it.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from sqlalchemy import Engine, func, select

from builders import make_uscc, ok, xy
from servers import env_for
from xinyong.store.tables import audit_events, checks

ASK = ("check", make_uscc(3), "--context", "procurement.tender", "--purpose", "bidder_screening")


def test_a_check_in_a_departments_name_is_refused_and_leaves_nothing(
    db_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    env = env_for(db_env)
    forged = xy(env, *ASK, "--consumer", "api:ministry-of-finance", cwd=tmp_path)
    assert forged.returncode == 1
    assert forged.stderr.strip().splitlines()[-1] == (
        f"error: --consumer 'api:ministry-of-finance': a check from the command line is made, signed and audited in "
        f"the name of the operator who runs it (cli:{getpass.getuser()}); a department checks with its own key "
        "through the API"
    )
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(checks)) == 0
        assert conn.scalar(select(func.count()).select_from(audit_events).where(audit_events.c.action == "check")) == 0


def test_a_check_from_the_command_line_is_the_operators(db_env: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    env = env_for(db_env)
    answer = json.loads(ok(xy(env, *ASK, "--json", cwd=tmp_path)).stdout)
    me = f"cli:{getpass.getuser()}"
    assert answer["consumer"] == me
    with engine.connect() as conn:
        assert conn.scalar(select(checks.c.consumer)) == me
        assert conn.scalar(select(audit_events.c.actor).where(audit_events.c.action == "check")) == me
