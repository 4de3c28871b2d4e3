"""The demo's history: two to three years of the platform's life, replayed into the demo store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from xinyong.cli.common import context, demo_app, fail, out
from xinyong.domain.errors import XinyongError


@demo_app.command("replay")
def demo_replay(
    city: Annotated[Path, typer.Option("--city", help="The city `demo generate --history-months N` wrote.")],
    seed: Annotated[int, typer.Option(help="Seed of every choice the platform's people make.")] = 20261129,
    as_json: Annotated[bool, typer.Option("--json", help="Print what happened as JSON.")] = False,
    output: Annotated[Path | None, typer.Option("--output", help="Also write what happened to this JSON file.")] = None,
) -> None:
    """Replay the city's history through the platform's services, the clock held in the past.

    Ingests what the departments decided before the history begins, then walks month by month to
    today: the month's files ingested, rescored and maintained; reviewers decide proposals,
    objections and repairs; residents object and appeal; companies ask for credit repair;
    consumers check in every context. Into an empty store only.
    """
    from xinyong.demo.history import replay

    ctx = context()
    helper = ctx.settings.ingest_helper_min_bytes
    try:
        counts = replay(
            ctx.migrated_engine(), ctx.catalog, ctx.vault, ctx.signing_key, city, seed=seed,
            report_dir=ctx.settings.rejects, helper_min_bytes=helper if helper >= 0 else None,
        )  # fmt: skip
    except XinyongError as exc:
        raise fail(str(exc)) from None
    if output:
        output.write_text(json.dumps(counts, indent=2) + "\n", encoding="utf-8")
    if as_json:
        sys.stdout.write(json.dumps(counts) + "\n")
        return
    table = Table(title="The demo's history")
    table.add_column("what")
    table.add_column("count", justify="right")
    for k, v in counts.items():
        table.add_row(k.replace("_", " "), str(v))
    out.print(table)
