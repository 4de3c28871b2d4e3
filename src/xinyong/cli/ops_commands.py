"""Commands of operations: deliver notices, back up and restore the store, run scheduled jobs.

Each is also what cron or a systemd timer calls where `xinyong serve --schedule` is not used
(docs/operations.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from xinyong.cli.common import app, audited, err, fail, out
from xinyong.cli.process_commands import emit, notices_app, service

Json = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _emit(data: Any, as_json: bool, text: str) -> None:
    emit(data, as_json, lambda _: out.print(text, highlight=False, markup=False, soft_wrap=True))


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
    from xinyong.store.deliveries import retry_dead

    with service() as ctx:
        n = retry_dead(ctx.migrated_engine(), notice_ids or None)
    if notice_ids and n != len(set(notice_ids)):
        raise fail(
            f"{n} of the {len(set(notice_ids))} notices named were dead and are queued again; the others were not dead"
        )
    _emit({"queued": n}, as_json, f"{n} dead notices queued again")


@app.command("backup")
def backup_cmd(
    file: Annotated[Path, typer.Argument(help="The backup file to write (never overwritten).")],
    as_json: Json = False,
) -> None:
    """Back up the store while it serves (SQLite's online backup; pg_dump's custom format)."""
    from xinyong.store.backup import backup, check_destination

    with service() as ctx:
        engine = ctx.migrated_engine()
        check_destination(file)
        # The backup holds every record: its reading is audited before a byte is written out.
        audited(ctx, "backup", "store", "backup", read=True)
        made = backup(engine, file)
    s = ctx.settings
    identifier = "XINYONG_IDENTIFIER_KEY" if s.identifier_key is not None else str(s.key_file)
    reminder = (
        f"Not in the backup; keep them apart, as secrets: the identifier key ({identifier}), without which no "
        f"new record links to a subject of this store, and the signing key ({s.signing_file})."
    )
    data = {
        "file": str(made.path),
        "backend": made.backend,
        "bytes": made.size,
        "sha256": made.sha256,
        "revision": made.revision,
        "not_included": ["identifier key", "signing key"],
    }
    _emit(
        data,
        as_json,
        f"backed up the {made.backend} store (revision {made.revision}) to {made.path}: {made.size} bytes, "
        f"sha256 {made.sha256}\n{reminder}",
    )
    if as_json:
        err.print(reminder, highlight=False, soft_wrap=True)


@app.command("restore")
def restore_cmd(
    file: Annotated[Path, typer.Argument(help="A file written by `xinyong backup`.")],
    as_json: Json = False,
) -> None:
    """Restore a backup into the configured store, which must be empty."""
    from xinyong.store.backup import restore
    from xinyong.store.migrate import head_revision

    with service() as ctx:
        revision = restore(ctx.engine, file)
        head = head_revision()
        if revision == head:
            audited(ctx, "restore", "store", f"restored from {file.name}")
    data = {"file": str(file), "revision": revision, "needs_upgrade": revision != head}
    note = "" if revision == head else f"; this version of xinyong needs {head}: run `xinyong db upgrade`"
    _emit(data, as_json, f"restored {file} (revision {revision}){note}")
