"""The `xinyong` command line. Each command translates its arguments into one service call."""

from xinyong.cli import (  # noqa: F401 - importing registers the commands
    audit_commands,
    check_commands,
    dispute_commands,
    history_commands,
    key_commands,
    link_commands,
    merge_commands,
    ops_commands,
    process_commands,
    report_commands,
    scoring_commands,
    store_commands,
)
from xinyong.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """The `xinyong` command: the Typer app, each mistake told in one line (`cli.entry`)."""
    from xinyong.cli.entry import run

    raise SystemExit(run())
