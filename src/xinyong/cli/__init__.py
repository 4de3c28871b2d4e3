"""The `xinyong` command line. Each command translates its arguments into one service call."""

import xinyong.cli.report_commands  # noqa: F401 - importing registers the commands
from xinyong.cli import check_commands, dispute_commands, process_commands, scoring_commands, store_commands  # noqa: F401 - importing registers the commands
from xinyong.cli.common import app

__all__ = ["app"]
