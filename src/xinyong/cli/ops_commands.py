"""Commands of operations: deliver notices, back up and restore the store, run scheduled jobs.

Each is also what cron or a systemd timer calls where `xinyong serve --schedule` is not used
(docs/operations.md).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from xinyong.cli.common import fail, out
from xinyong.cli.process_commands import notices_app, service

Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _emit(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        out.print(text, highlight=False, markup=False, soft_wrap=True)


@notices_app.command("deliver")
def notices_deliver(as_json: Json = False) -> None:
    """Attempt every notice that is due once, through the configured channel; exit 1 if the channel is down."""
    from xinyong.services.delivery import RetryPolicy, channel_from, deliver_due

    with service() as ctx:
        channel = channel_from(ctx.settings)
        try:
            run = deliver_due(ctx.migrated_engine(), channel, RetryPolicy.of(ctx.settings))
        finally:
            channel.close()
    _emit(
        {"channel": channel.name, **run.as_dict()},
        as_json,
        f"{channel.name}: delivered {run.delivered}, failed {run.failed} (retried later), dead {run.dead}"
        + (" - the channel is down; the rest wait for the next run" if run.channel_down else ""),
    )
    if run.channel_down:
        raise typer.Exit(1)


@notices_app.command("dead")
def notices_dead(
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Json = False,
) -> None:
    """The notices set aside after their last failed attempt, with the last error."""
    from xinyong.store.deliveries import dead_letters

    with service() as ctx:
        rows = dead_letters(ctx.migrated_engine(), limit)
    lines = [
        f"[{r['notice_id']}] {r['kind']} to {r['recipient']} via {r['channel']}: {r['attempts']} attempts, "
        f"last {r['last_attempt_at']:%Y-%m-%d %H:%M} ({r['last_error']})"
        for r in rows
    ]
    _emit(rows, as_json, "\n".join(lines) if lines else "no dead notices")


@notices_app.command("retry")
def notices_retry(
    notice_ids: Annotated[
        list[int] | None, typer.Argument(help="Dead notices to send again; none: every dead one.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Put dead notices back in the queue, due at once, with their attempts counted afresh."""
    from datetime import UTC, datetime

    from xinyong.store.deliveries import retry_dead

    with service() as ctx:
        n = retry_dead(ctx.migrated_engine(), notice_ids or None, datetime.now(UTC))
    if notice_ids and n != len(set(notice_ids)):
        raise fail(
            f"{n} of the {len(set(notice_ids))} notices named were dead and are queued again; the others were not dead"
        )
    _emit({"queued": n}, as_json, f"{n} dead notices queued again")
