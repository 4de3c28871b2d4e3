"""The `xinyong` command line. Each command translates its arguments into one service call."""

from xinyong.cli import (  # noqa: F401 - importing registers the commands
    check_commands,
    dispute_commands,
    link_commands,
    ops_commands,
    process_commands,
    report_commands,
    scoring_commands,
    store_commands,
)
from xinyong.cli.common import app

__all__ = ["app", "main"]


def main() -> None:
    """The `xinyong` command: the Typer app, with a full disk told in one line (ops.faults)."""
    from xinyong.cli.common import fail
    from xinyong.ops.faults import DISK_FULL, disk_full

    try:
        app(prog_name="xinyong")
    except Exception as exc:
        if not disk_full(exc):
            raise
        raise SystemExit(fail(DISK_FULL).exit_code) from None
