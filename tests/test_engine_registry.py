"""The scoring engines are named in one registry: every `--engine` option and `ruleset diff` use it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from xinyong.domain.errors import InvalidInput
from xinyong.engines.registry import NAMES, batch_engine_named, engine_named


def test_the_registry_knows_the_three_engines_and_refuses_any_other_name() -> None:
    assert set(NAMES) == {"embedded", "online", "spark"}
    assert all(engine_named(n).name == n for n in NAMES)
    with pytest.raises(InvalidInput, match=r"unknown engine 'sparkle': use one of embedded, online, spark"):
        engine_named("sparkle")
    with pytest.raises(InvalidInput, match="scores subject by subject"):
        batch_engine_named("online")


@pytest.mark.parametrize(
    "args",
    [["rescore", "--all", "--engine", "dukdb"], ["ruleset", "diff", "a", "b", "--engine", "dukdb"]],
    ids=["rescore", "ruleset-diff"],
)
def test_an_unknown_engine_on_the_command_line_is_one_line_naming_the_known_ones(args, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env["XINYONG_DATA_DIR"] = str(tmp_path / "data")
    init = subprocess.run([sys.executable, "-m", "xinyong", "init"], env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    done = subprocess.run([sys.executable, "-m", "xinyong", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip() == "error: unknown engine 'dukdb': use one of embedded, online, spark"
    assert "Traceback" not in done.stderr
