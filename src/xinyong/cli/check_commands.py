"""Commands for checks: ask one, replay one, fetch and verify certificates, verify the audit chain."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from xinyong.cli.common import app, context, demo_app, fail, operator, out, parse_day, write_moment
from xinyong.domain.errors import XinyongError

checks_app = typer.Typer(help="Checks made by consuming departments.", no_args_is_help=True)
certificate_app = typer.Typer(help="Signed proofs of checks.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")
app.add_typer(certificate_app, name="certificate")
app.add_typer(audit_app, name="audit")


def _print(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    else:
        out.print(text, highlight=False, markup=False, soft_wrap=True)


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
    now: Annotated[str | None, typer.Option("--now", help="The moment of the check; default now.")] = None,
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
    lines = [f"check {result['check_id']}: {d['summary']}"]
    lines += [f"  + {m['name']} ({m['effect']}, {m['implementing_department']}): {m['reason']}" for m in d["applied"]]
    lines += [f"  - {m['name']}: {m['reason']}" for m in d["not_applied"]]
    _print(result, as_json, "\n".join(lines))


@checks_app.command("replay")
def replay_cmd(check_id: str, as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Evaluate a check again as known at its moment (audited); exit 1 when the outcome differs."""
    from xinyong.services.check_reads import read_replay

    ctx = context()
    try:
        result = read_replay(ctx.migrated_engine(), ctx.catalog, check_id, reader=None, actor=operator())
    except XinyongError as exc:
        raise fail(str(exc)) from None
    _print(result, as_json, f"check {check_id}: {'same' if result['same'] else 'DIFFERENT'}: {result['reason']}")
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


@app.command("keys-public", hidden=True)
def keys_public() -> None:
    """This platform's certificate public key in base64 (as /v1/keys gives it)."""
    from xinyong.domain.certificates import public_bytes

    try:
        key = context().settings.signing_key().public_key()
    except XinyongError as exc:
        raise fail(str(exc)) from None
    out.print(base64.b64encode(public_bytes(key)).decode(), highlight=False)


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
    _print(data, as_json, text + "\n  ".join(report.problems))
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
    _print(data, as_json, f"checkpoint of event {done['seq']} ({done['head'][:12]}) signed at {done['at']}")


keys_app = typer.Typer(help="API keys and subject tokens.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help="source, consumer, reviewer, admin or subject.")],
    name: Annotated[str, typer.Option("--name", help="Who holds the key (a source's id for a source key).")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="KEY=VALUE, repeatable: source=ID; contexts=ID; purposes=CODE."),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", help="Subject tokens: the subject (id or identifier).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Issue a key. It is shown once; only its hash is stored."""
    from xinyong.services.keys import create_key
    from xinyong.services.subjects import resolve_subject

    scopes: dict[str, list[str]] = {}
    for item in scope or []:
        k, sep, v = item.partition("=")
        if not sep or not v:
            raise fail(f"--scope '{item}': write KEY=VALUE")
        scopes.setdefault(k.strip(), []).append(v.strip())
    if len(scopes.get("source", [])) > 1:
        raise fail(f"--scope source= given {len(scopes['source'])} times: a source key speaks for one source", 2)
    ctx = context()
    try:
        engine = ctx.migrated_engine()
        sid = resolve_subject(engine, ctx.catalog, ctx.vault, subject)[0] if subject else None
        key = create_key(engine, ctx.catalog, role=role, name=name, scopes=scopes, subject_id=sid, actor=operator())
    except XinyongError as exc:
        raise fail(str(exc)) from None
    _print(key, as_json, f"{key['role']} key for {key['name']}: {key['key']}\n(shown once; keep it secret)")


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Every key issued (never its secret), oldest first, with when it was revoked if it was."""
    from xinyong.services.keys import list_keys

    ctx = context()
    keys = list_keys(ctx.migrated_engine())
    lines = [
        f"{k['id']}  {k['role']:<9} {k['name']}  created {k['created_at'][:19]}"
        + (f"  REVOKED {k['revoked_at'][:19]}" if k["revoked_at"] else "")
        + (f"  scopes {json.dumps(k['scopes'], ensure_ascii=False)}" if k["scopes"] else "")
        + (f"  subject {k['subject_id']}" if k["subject_id"] is not None else "")
        for k in keys
    ]
    _print(keys, as_json, "\n".join(lines) if lines else "no keys issued")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id: the 16 characters after 'xy_' (see `keys list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Revoke a key: every server refuses it from the moment this commits."""
    from xinyong.services.keys import revoke_key

    ctx = context()
    try:
        key = revoke_key(ctx.migrated_engine(), key_id, actor=operator())
    except XinyongError as exc:
        raise fail(str(exc)) from None
    _print(key, as_json, f"revoked {key['role']} key {key['id']} ({key['name']}) at {key['revoked_at']}")


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


@demo_app.command("keys")
def demo_keys(
    output: Annotated[Path | None, typer.Option("--output", help="Also write the keys to this JSON file.")] = None,
) -> None:
    """Issue demo keys (one source, consumer, reviewer and admin) and tokens for two demo residents."""
    from sqlalchemy import select

    from xinyong.services.keys import create_key
    from xinyong.store.tables import list_entries, records, subjects

    ctx = context()
    try:
        engine = ctx.migrated_engine()
        with engine.connect() as conn:
            listed = conn.scalar(
                select(list_entries.c.subject_id)
                .where(list_entries.c.subject_kind == "person")
                .order_by(list_entries.c.id)
                .limit(1)
            )
            consenting = conn.scalar(
                select(records.c.subject_id)
                .join(subjects, subjects.c.id == records.c.subject_id)
                .where(records.c.record_type == "consent.scoring", records.c.subject_id != listed)
                .order_by(records.c.id)
                .limit(1)
            )
        actor = operator()
        issued = [
            create_key(engine, ctx.catalog, role="source", name="court", actor=actor),
            create_key(
                engine,
                ctx.catalog,
                role="consumer",
                name="finance-bureau",
                scopes={"contexts": sorted(ctx.catalog.contexts)},
                actor=actor,
            ),
            create_key(engine, ctx.catalog, role="reviewer", name="demo-reviewer", actor=actor),
            create_key(engine, ctx.catalog, role="admin", name="demo-admin", actor=actor),
        ]
        for sid in (listed, consenting):
            if sid is not None:
                issued.append(
                    create_key(engine, ctx.catalog, role="subject", name=f"resident-{sid}", subject_id=sid, actor=actor)
                )
    except XinyongError as exc:
        raise fail(str(exc)) from None
    if output:
        output.write_text(json.dumps(issued, indent=2, ensure_ascii=False) + "\n")
        output.chmod(0o600)
    for k in issued:
        who = f"{k['role']:<9} {k['name']}" + (f" (subject {k['subject_id']})" if k["subject_id"] else "")
        out.print(f"{who:<42} Authorization: Bearer {k['key']}", highlight=False, markup=False)
