"""Every `xinyong` command tried with wrong, empty and huge arguments: each mistake answers one
line on stderr that says what to fix, with exit code 2, and never a traceback.

The commands are found by walking the Typer tree the command line is built from, so a command
added later is tried too. The mistakes are the parser's to find (an unknown option, a missing
argument, a value of the wrong type, empty, thousands of characters long, or a number past 64
bits): the command itself never runs, so no store is needed. The real entry point, run as a subprocess, answers the same,
as do a setting out of range and two `--scope source=` options.
"""

from __future__ import annotations

import enum
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer._click.core import Command, Context
from typer.core import TyperGroup

from xinyong.cli import app
from xinyong.cli.entry import USAGE, run

HUGE = "9" * 5000
PAST_64_BITS = "9" * 20  # a number Python reads, and no store can hold


def commands() -> Iterator[tuple[list[str], Command]]:
    def walk(cmd: Command, path: list[str]) -> Iterator[tuple[list[str], Command]]:
        if isinstance(cmd, TyperGroup):
            ctx = Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    yield from walk(typer.main.get_command(app), [])


def _annotation(param: Any) -> Any:
    return getattr(getattr(param, "type_descriptor", None), "annotation", None)


def mistakes(path: list[str], cmd: Command) -> Iterator[tuple[list[str], str]]:
    """(argv, what the line must name) for every mistake the parser must catch in `cmd`."""
    args = [p for p in cmd.params if not getattr(p, "opts", [""])[0].startswith("-")]
    required = ["x"] * sum(1 for p in args if p.required)
    yield [*path, *required, "--no-such-option"], "--no-such-option"
    if required:
        yield list(path), "Missing argument"
    for p in args:
        if _annotation(p) is int:
            yield [*path, *(PAST_64_BITS if a is p else "1" for a in args if a.required)], f"'{p.name}'"
    for p in cmd.params:
        opts = [o for o in getattr(p, "opts", []) if o.startswith("--")]
        kind = _annotation(p)
        if not opts or getattr(p, "is_flag", False):
            continue
        if kind in (int, float) or (isinstance(kind, type) and issubclass(kind, enum.Enum)):
            for value in ("", "wrong", HUGE, PAST_64_BITS if kind is int else HUGE):
                yield [*path, *required, opts[0], value], opts[0]
        yield [*path, *required, opts[0]], opts[0]  # an option without its value


ALL = [(path, argv, what) for path, cmd in commands() for argv, what in mistakes(path, cmd)]


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(path) for path, _ in commands()}
    assert {"check", "ingest", "keys create", "lists decide", "objections file", "serve", "demo generate"} <= names
    assert len(ALL) > 3 * len(names)


@pytest.mark.parametrize(
    ("argv", "what"), [(argv, what) for _, argv, what in ALL], ids=[" ".join(a)[:60] for _, a, _ in ALL]
)
def test_each_mistake_answers_one_line_and_exit_code_2(
    argv: list[str], what: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(argv)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == USAGE, (argv, code, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert what in lines[0] and "--help" in lines[0], lines[0]
    assert "Traceback" not in err and len(lines[0]) <= 400


def _xinyong(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    clean |= {"XINYONG_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run([sys.executable, "-m", "xinyong", *argv], env=clean, capture_output=True, text=True)


def test_the_real_command_answers_the_same(tmp_path: Path) -> None:
    for argv, what in (
        (["lists", "list", "--limit", "many"], "--limit"),
        (["score"], "Missing argument"),
        ([], "name a command"),
    ):
        done = _xinyong(tmp_path, *argv)
        assert done.returncode == USAGE, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith("error: ") and what in line


def test_a_setting_out_of_range_names_its_variable(tmp_path: Path) -> None:
    for name, value in (
        ("XINYONG_INGEST_CHUNK_ROWS", "5"),
        ("XINYONG_MAX_BODY_BYTES", HUGE),
        ("XINYONG_PUBLIC_RATE_PER_MINUTE", ""),
    ):
        done = _xinyong(tmp_path, "status", **{name: value})
        assert done.returncode == USAGE, done.stderr
        [line] = done.stderr.splitlines()
        assert line.startswith(f"error: setting {name}=") and "xinyong settings" in line, line


def test_two_sources_for_one_key_answer_one_line(tmp_path: Path) -> None:
    done = _xinyong(tmp_path, "keys", "create", "--role", "source", "--name", "court",
                    "--scope", "source=court", "--scope", "source=tax")  # fmt: skip
    assert done.returncode == USAGE, done.stderr
    [line] = done.stderr.splitlines()
    assert "--scope source= given 2 times: a source key speaks for one source" in line
