"""The hash-chained audit log from the command line: verify it, against signed checkpoints, exported
heads and certificates; sign and export a checkpoint of its head."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xinyong.cli.common import app, context, fail, show
from xinyong.domain.errors import XinyongError

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    certificate: Annotated[
        list[Path] | None,
        typer.Option("--certificate", help="A check's certificate: the chain must still hold the head it carries."),
    ] = None,
    anchor: Annotated[
        list[Path] | None,
        typer.Option("--anchor", help="A head exported with `audit checkpoint --export`, kept outside the store."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Walk the audit chain and hold it to every signed checkpoint, certificate and anchor; exit 1
    and name each problem if any event was altered, removed, added, moved or backdated."""
    from xinyong.services.audit_checkpoints import Anchor, anchor_from, verify_anchored

    ctx = context()
    try:
        held: list[Anchor] = []
        public = None  # without the signing key at hand, the store's checkpoints are held as stored
        if certificate or anchor or ctx.settings.signing_file.exists():
            key = ctx.settings.signing_key().public_key()
            held = [anchor_from(_read(f), key, f"certificate {f}") for f in certificate or []]
            held += [anchor_from(_read(f), key, f"anchor {f}") for f in anchor or []]
            public = key
        report = verify_anchored(ctx.migrated_engine(), public, held)
    except XinyongError as exc:
        raise fail(str(exc)) from None
    data = {"events": report.events, "intact": report.intact, "problems": report.problems}
    text = f"audit chain of {report.events} events: " + ("intact" if report.intact else "BROKEN\n  ")
    show(data, as_json, text + "\n  ".join(report.problems))
    if not report.intact:
        raise typer.Exit(1)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror}") from None


@audit_app.command("checkpoint")
def audit_checkpoint(
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Also write the signed head to FILE, to keep elsewhere."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Sign and keep the audit chain's head now; with --export, hand it over to keep elsewhere."""
    from xinyong.services.audit_checkpoints import checkpoint

    ctx = context()
    try:
        done = checkpoint(ctx.migrated_engine(), ctx.settings.signing_key(), reason="export" if export else "manual")
    except XinyongError as exc:
        raise fail(str(exc)) from None
    if export:
        try:
            export.write_bytes(done["document"])
        except OSError as exc:
            raise fail(f"--export {export}: {exc.strerror}") from None
    data = {k: v for k, v in done.items() if k != "document"}
    show(data, as_json, f"checkpoint of event {done['seq']} ({done['head'][:12]}) signed at {done['at']}")
