"""Commands for checks: ask one, replay one, fetch and verify certificates; and serving the API and portal."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from xinyong.cli.common import app, context, fail, operator, out, parse_day, show, write_moment
from xinyong.domain.errors import XinyongError

checks_app = typer.Typer(help="Checks made by consuming departments.", no_args_is_help=True)
certificate_app = typer.Typer(help="Signed proofs of checks.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")
app.add_typer(certificate_app, name="certificate")


@app.command("check")
def check(
    identifier: Annotated[str, typer.Argument(help="The subject's identifier (USCC, resident number...).")],
    context_id: Annotated[str, typer.Option("--context", help="A context of the catalog, e.g. procurement.tender.")],
    purpose: Annotated[str, typer.Option("--purpose", help="A purpose code of the context (see the catalog).")],
    consumer: Annotated[
        str | None,
        typer.Option("--consumer", hidden=True, help="Refused: a check is recorded in the name of who runs it."),
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Your own reference (tender or file number); no identifiers.")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day of the decision; default today.")] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="The moment the check is evaluated at (not ahead of the clock); it is issued now. Default now.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Which measures apply to a subject in a context, and why; stored, signed and audited in the
    name of the operator who runs it (`cli:` and the login name)."""
    from xinyong.services.checks import run_check

    if consumer is not None:
        raise fail(
            f"--consumer '{consumer}': a check from the command line is made, signed and audited in the name of the "
            f"operator who runs it ({operator()}); a department checks with its own key through the API"
        )
    ctx = context()
    try:
        result = run_check(
            ctx.migrated_engine(),
            ctx.catalog,
            ctx.vault,
            ctx.settings.signing_key(),
            identifier=identifier,
            context=context_id,
            purpose=purpose,
            consumer=operator(),
            reference=reference,
            as_of=parse_day(as_of, "--as-of") if as_of else None,
            now=write_moment(now) if now else None,
        )
    except XinyongError as exc:
        raise fail(str(exc)) from None
    d = result["decision"]
    v = result["data_version"]
    lines = [f"check {result['check_id']}: {d['summary']}"]
    if now:  # the two moments differ: say both
        lines.append(
            f"  issued at {result['issued_at']}, evaluated as of {v['evaluated_at']} (known at {v['known_at']})"
        )
    lines += [f"  + {m['name']} ({m['effect']}, {m['implementing_department']}): {m['reason']}" for m in d["applied"]]
    lines += [f"  - {m['name']}: {m['reason']}" for m in d["not_applied"]]
    show(result, as_json, "\n".join(lines))


@checks_app.command("replay")
def replay_cmd(check_id: str, as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Evaluate a check again as known at its moment (audited); exit 1 when the outcome differs."""
    from xinyong.services.check_reads import read_replay

    ctx = context()
    try:
        result = read_replay(ctx.migrated_engine(), ctx.catalog, check_id, reader=None, actor=operator())
    except XinyongError as exc:
        raise fail(str(exc)) from None
    show(result, as_json, f"check {check_id}: {'same' if result['same'] else 'DIFFERENT'}: {result['reason']}")
    if result["same"] is not True:
        raise typer.Exit(1)


@certificate_app.command("get")
def certificate_get(
    check_id: str, output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None
) -> None:
    """Write a check's certificate, byte for byte as signed (the read is audited)."""
    from xinyong.services.check_reads import read_certificate

    ctx = context()
    try:
        data = read_certificate(ctx.migrated_engine(), check_id, reader=None, actor=operator())
    except XinyongError as exc:
        raise fail(str(exc)) from None
    if output:
        output.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)


@certificate_app.command("verify")
def certificate_verify(
    file: Annotated[Path, typer.Argument(help="A certificate file.")],
    public_key: Annotated[
        list[str] | None,
        typer.Option(
            "--public-key",
            help="A trusted public key (base64, as /v1/keys gives it). Default: this platform's own signing key.",
        ),
    ] = None,
) -> None:
    """Verify a certificate offline; exit 1 on any altered byte or unknown key."""
    from xinyong.domain.certificates import key_id, load_public, verify

    try:
        keys = [load_public(k) for k in public_key or []]
    except ValueError as exc:
        raise fail(f"--public-key: not an Ed25519 public key in base64 ({exc})") from None
    try:
        if not keys:
            keys = [context().settings.signing_key().public_key()]
        verified = verify(file.read_bytes(), {key_id(k): k for k in keys})
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    except XinyongError as exc:
        raise fail(f"{file}: {exc}") from None
    p = verified.payload
    out.print(
        f"valid: check {p['check_id']} of {p['issued_at']} by {p['consumer']}, context {p['context']}, outcome "
        f"{p['decision']['outcome']}; signed by key {verified.key_id}",
        highlight=False,
        markup=False,
    )


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Server processes sharing the port.")] = 1,
    schedule: Annotated[
        bool, typer.Option("--schedule", help="Also run the daily maintenance and notice delivery at their times.")
    ] = False,
) -> None:
    """Serve the API (OpenAPI docs at /docs) and the web portal (at /); JSON log lines on stderr."""
    from xinyong.ops.serving import serve as run  # ops: workers, logs, metrics, scheduler

    try:
        run(context().settings, host=host, port=port, workers=workers, schedule=schedule)
    except XinyongError as exc:
        raise fail(str(exc)) from None
