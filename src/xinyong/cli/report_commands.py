"""Commands for credit reports and open data: issue a report, verify one offline, publish."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from xinyong.cli.common import app, context, fail, operator, out, parse_day
from xinyong.domain.errors import XinyongError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SERVE_URL = "http://127.0.0.1:8000"  # where `xinyong serve` answers by default


def _keys(public_key: list[str] | None) -> dict[str, Ed25519PublicKey]:
    from xinyong.domain.certificates import key_id, load_public

    try:
        keys = [load_public(k) for k in public_key or []]
    except ValueError as exc:
        raise fail(f"--public-key: not an Ed25519 public key in base64 ({exc})") from None
    if not keys:
        try:
            keys = [context().settings.signing_key().public_key()]
        except XinyongError as exc:
            raise fail(f"{exc}; or give the platform's key with --public-key (from GET /v1/keys)") from None
    return {key_id(k): k for k in keys}


def _verify(file: Path, public_key: list[str] | None) -> None:
    from xinyong.reports.verify import verify_report

    keys = _keys(public_key)
    try:
        verified = verify_report(file.read_bytes(), keys)
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror}") from None
    except XinyongError as exc:
        raise fail(f"{file}: {exc}") from None
    p = verified.payload
    out.print(
        f"valid {verified.kind} report {p['code']} of {p['issued_at']} about subject {p['subject']['id']} "
        f"({p['subject']['name']}), period {p['period']['from']} to {p['period']['to']}; "
        f"signed by key {verified.key_id}",
        highlight=False,
        markup=False,
    )


@app.command("report")
def report(
    subject: Annotated[
        str, typer.Argument(help="The subject (internal id or identifier); or `verify` to verify FILE.")
    ],
    file: Annotated[Path | None, typer.Argument(help="With `verify`: the report file (PDF, JSON or HTML).")] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="First day of the period; default 36 months back.")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day of the period; default today.")] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="What the report is for: a context id.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="pdf, json or html.")] = "pdf",
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")] = None,
    for_subject: Annotated[
        bool,
        typer.Option("--for-subject", help="Hand it to the subject in person (identity checked): the full report."),
    ] = False,
    base_url: Annotated[str, typer.Option("--base-url", help="The API's address for the QR code.")] = SERVE_URL,
    public_key: Annotated[
        list[str] | None, typer.Option("--public-key", help="With `verify`: a trusted public key (base64).")
    ] = None,
) -> None:
    """Issue a signed credit report (stored and audited), or `report verify FILE` offline.

    An organisation's report is its public report unless --for-subject; a person's report is
    issued only with --for-subject, to that person.
    """
    if subject == "verify":
        if file is None:
            raise fail("report verify: give the FILE to verify")
        _verify(file, public_key)
        return
    if file is not None:
        raise fail(f"unexpected argument '{file}': write the file with -o")
    from xinyong.reports.issue import issue_report
    from xinyong.services.subjects import resolve_subject

    ctx = context()
    try:
        engine = ctx.migrated_engine()
        sid = resolve_subject(engine, ctx.catalog, ctx.vault, subject)[0]
        issued = issue_report(
            engine,
            ctx.catalog,
            ctx.signing_key,
            subject_id=sid,
            requester=operator(),
            by_subject=for_subject,
            public=not for_subject,
            first=parse_day(first, "--from") if first else None,
            last=parse_day(last, "--to") if last else None,
            purpose=purpose,
            lang=lang,
            fmt=fmt,
            base_url=base_url,
        )
    except XinyongError as exc:
        hint = "; add --for-subject once their identity is checked" if "goes only to that person" in str(exc) else ""
        raise fail(f"{exc}{hint}") from None
    if output is None:
        sys.stdout.buffer.write(issued.content)
        return
    output.write_bytes(issued.content)
    out.print(f"report {issued.code} written to {output}", highlight=False, markup=False)


@app.command("publish")
def publish_cmd(
    directory: Annotated[
        Path, typer.Argument(help="Where to write the open-data files; or `verify` to verify the publication in DIR.")
    ],
    verify_dir: Annotated[Path | None, typer.Argument(help="With `verify`: a publication's directory.")] = None,
    public_key: Annotated[
        list[str] | None, typer.Option("--public-key", help="With `verify`: a trusted public key (base64).")
    ] = None,
    since: Annotated[
        int | None, typer.Option("--since", help="Write the changes since this publication (default: the last).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Publish the open data: public records and lists (CSV, JSON Lines, FollowTheMoney), a signed
    manifest and the changes since the last publication; or `publish verify DIR` offline."""
    from xinyong.reports.publish import publish, verify_publication

    if verify_dir is not None:
        if str(directory) != "verify":
            raise fail(f"unexpected argument '{verify_dir}': `publish DIR` takes one directory")
        try:
            doc = verify_publication(verify_dir, _keys(public_key))
        except XinyongError as exc:
            raise fail(f"{verify_dir}: {exc}") from None
        out.print(
            f"valid publication {doc['publication']} of {doc['created_at']}: {len(doc['files'])} files as signed",
            highlight=False,
            markup=False,
        )
        return

    ctx = context()
    try:
        done = publish(ctx.migrated_engine(), ctx.catalog, ctx.signing_key, directory, since=since, actor=operator())
    except XinyongError as exc:
        raise fail(str(exc)) from None
    result = {"publication": done.publication_id, "since": done.since, "directory": str(directory), **done.counts}
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    c = done.counts
    out.print(
        f"publication {done.publication_id} in {directory}: {c['records']} records, {c['list_entries']} list entries, "
        f"{c['entities']} entities; changes since {done.since or 'the start'}: {c['changes']['added']} added, "
        f"{c['changes']['changed']} changed, {c['changes']['removed']} removed",
        highlight=False,
        markup=False,
    )
