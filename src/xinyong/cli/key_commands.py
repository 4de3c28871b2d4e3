"""API keys and subject tokens from the command line: issue, list, revoke; the public keys of
certificates; the demo city's keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated

import typer

from xinyong.cli.common import app, context, demo_app, fail, operator, out, show
from xinyong.domain.errors import XinyongError


@app.command("keys-public", hidden=True)
def keys_public() -> None:
    """This platform's certificate public key in base64 (as /v1/keys gives it)."""
    from xinyong.domain.certificates import public_bytes

    try:
        key = context().settings.signing_key().public_key()
    except XinyongError as exc:
        raise fail(str(exc)) from None
    out.print(base64.b64encode(public_bytes(key)).decode(), highlight=False)


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
    show(key, as_json, f"{key['role']} key for {key['name']}: {key['key']}\n(shown once; keep it secret)")


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
    show(keys, as_json, "\n".join(lines) if lines else "no keys issued")


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
    show(key, as_json, f"revoked {key['role']} key {key['id']} ({key['name']}) at {key['revoked_at']}")


@demo_app.command("keys")
def demo_keys(
    output: Annotated[Path | None, typer.Option("--output", help="Also write the keys to this JSON file.")] = None,
) -> None:
    """Issue demo keys (one source, consumer, reviewer and admin) and tokens for two demo residents."""
    from xinyong.services.keys import issue_demo_keys

    ctx = context()
    try:
        issued = issue_demo_keys(ctx.migrated_engine(), ctx.catalog, actor=operator())
    except XinyongError as exc:
        raise fail(str(exc)) from None
    if output:
        output.write_text(json.dumps(issued, indent=2, ensure_ascii=False) + "\n")
        output.chmod(0o600)
    for k in issued:
        who = f"{k['role']:<9} {k['name']}" + (f" (subject {k['subject_id']})" if k["subject_id"] else "")
        out.print(f"{who:<42} Authorization: Bearer {k['key']}", highlight=False, markup=False)
