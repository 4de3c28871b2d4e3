"""Consuming departments ask, one subject or a tender's many; anyone can verify the answer."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from xinyong.api import errors
from xinyong.api.deps import CheckId, Ctx, guard, read
from xinyong.api.metrics import observe_check
from xinyong.api.models.checks import (
    BATCH_MAX,
    BatchRequest,
    BatchResponse,
    CheckRequest,
    CheckResponse,
    CheckSummary,
    PublicKey,
    Replay,
)
from xinyong.api.paging import Cursor, Limit, Page, page, position
from xinyong.api.ratelimit import RateLimited
from xinyong.domain.certificates import ALGORITHM, key_id, public_bytes
from xinyong.domain.errors import InvalidInput, Unauthorized, XinyongError
from xinyong.services.check_batches import Refused, decide_batch
from xinyong.services.check_purposes import key_allows
from xinyong.services.check_queries import checks_of
from xinyong.services.check_reads import read_certificate, read_replay, verify_held
from xinyong.services.checks import Decided, decide_check
from xinyong.services.keys import Principal

router = APIRouter(tags=["checks"], responses=errors.RESPONSES)
T = TypeVar("T")


def _answer_bytes(decided: Decided) -> bytes:
    """The payload as signed, its canonical JSON reused rather than serialised again, and the
    certificate's address."""
    url = f"/v1/checks/{decided.payload['check_id']}/certificate"
    return decided.payload_json[:-1] + b',"certificate_url":' + json.dumps(url).encode() + b"}"


async def _decide(ctx: Any, who: Principal, decide: Callable[..., T], **asked: Any) -> T:
    """Decide through `read`: it only reads, and readers of either store never wait for a lock
    (SQLite's write-ahead log, PostgreSQL's snapshots). The key may come from the server's cache:
    the same read confirms that it still stands, and a revoked one is refused and forgotten."""
    try:
        return await read(
            ctx, decide, ctx.engine, ctx.catalog, ctx.vault, ctx.signing_key, consumer=who.actor, key=who, **asked
        )
    except Unauthorized:
        ctx.keys.forget(who.key_id)
        raise


@router.post("/v1/checks", name="create_check", response_model=CheckResponse)
async def create_check(
    body: CheckRequest,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("create_check", key_confirmed_by_route=True))],
) -> Response:
    """Which measures apply to this subject in this context, and why: every measure answered, signed."""
    key_allows(who, body.context, body.purpose)
    decided = await _decide(
        ctx, who, decide_check, identifier=body.subject, context=body.context, purpose=body.purpose,
        reference=body.reference, as_of=body.as_of,
    )  # fmt: skip
    # Stored by the group committer, whose thread alone waits for the write lock; the answer
    # leaves only once the check and its audit event are committed.
    await ctx.check_writer.submit(decided)
    observe_check(body.context, decided.payload["decision"]["outcome"])  # ops: metrics
    # Returned as bytes: validated against CheckResponse once more, it would cost the hot path a
    # second serialisation; the schema still documents it, and the API schema test checks every
    # answer against it.
    return Response(_answer_bytes(decided), media_type="application/json")


@router.post(
    "/v1/checks/batch",
    name="create_checks",
    response_model=BatchResponse,
    description=f"A tender screens up to {BATCH_MAX} subjects in one call (more are refused with 422). Each is "
    "checked, stored, audited and signed exactly as by `POST /v1/checks`; an item that cannot be checked answers "
    "its own status and error, by index, and does not sink the others.",
)
async def create_checks(
    body: BatchRequest,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("create_checks", key_confirmed_by_route=True))],
) -> Response:
    """Check many subjects for one tender; see the description."""
    key_allows(who, body.context, body.purpose)
    results = await _decide(
        ctx, who, decide_batch, subjects=body.subjects, context=body.context, purpose=body.purpose,
        reference=body.reference, as_of=body.as_of,
    )  # fmt: skip
    stored = await _store_each(ctx, [r for r in results if isinstance(r, Decided)])
    results = [stored.get(id(r), r) if isinstance(r, Decided) else r for r in results]
    items, checked = [], 0
    for i, (subject, r) in enumerate(zip(body.subjects, results, strict=True)):
        if isinstance(r, Refused):
            items.append(b'{"index":%d,"subject":%s,"status":%d,"check":null,"error":%s}'
                         % (i, json.dumps(subject).encode(), r.status, json.dumps(r.detail).encode()))  # fmt: skip
        else:
            checked += 1
            observe_check(body.context, r.payload["decision"]["outcome"])
            items.append(b'{"index":%d,"subject":%s,"status":200,"check":%s,"error":null}'
                         % (i, json.dumps(subject).encode(), _answer_bytes(r)))  # fmt: skip
    head = b'{"checked":%d,"failed":%d,"items":[' % (checked, len(results) - checked)
    return Response(head + b",".join(items) + b"]}", media_type="application/json")


async def _store_each(ctx: Ctx, decided: list[Decided]) -> dict[int, Refused]:
    """Store every decided check by the group committer (together, when they fit one commit); the
    ones it could not store (503 Busy, the audit chain away), by `id`, as refused items."""
    outcomes = await asyncio.gather(*(ctx.check_writer.submit(d) for d in decided), return_exceptions=True)
    refused = {}
    for d, outcome in zip(decided, outcomes, strict=True):
        if isinstance(outcome, XinyongError):
            refused[id(d)] = Refused(outcome.status, f"nothing was stored for this subject: {outcome}")
        elif isinstance(outcome, BaseException):
            raise outcome
    return refused


@router.get("/v1/checks", name="list_checks", response_model=Page[CheckSummary])
def list_checks(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("list_checks"))],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Your own checks (the key's department), newest first; never another department's."""
    start = position(cursor)
    rows, total = checks_of(ctx.engine, who.actor, start=start, limit=limit)
    return page(rows, start, limit, total=total)


@router.get(
    "/v1/checks/{check_id}/certificate",
    name="check_certificate",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "The certificate, as signed."}},
)
def check_certificate(
    __: RateLimited, check_id: CheckId, ctx: Ctx, who: Annotated[Principal, Depends(guard("check_certificate"))]
) -> Response:
    """The signed proof of a decision, byte for byte as signed, for the consumer that made the check,
    its subject, or staff (audited); anyone else is answered as for a check that does not exist."""
    body = read_certificate(ctx.engine, check_id, reader=who, actor=who.actor)
    return Response(body, media_type="application/json")


@router.get("/v1/checks/{check_id}/replay", name="check_replay", response_model=Replay)
def check_replay(
    __: RateLimited, check_id: CheckId, ctx: Ctx, who: Annotated[Principal, Depends(guard("check_replay"))]
) -> dict[str, Any]:
    """Evaluate the check again as known at its moment and say whether the outcome is the same
    (for the parties to the check, audited, as the certificate)."""
    return read_replay(ctx.engine, ctx.catalog, check_id, reader=who, actor=who.actor)


class CertificateVerdict(BaseModel):
    valid: bool
    reason: str
    key_id: str | None = None


@router.post(
    "/v1/certificates/verify",
    name="verify_certificate",
    response_model=CertificateVerdict,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def verify_certificate(
    __: RateLimited, request: Request, ctx: Ctx, _: Annotated[Principal, Depends(guard("verify_certificate"))]
) -> dict[str, Any]:
    """Whether a certificate (the file, byte for byte, as the body) was signed by this platform and
    is unaltered. Anyone may ask; it reads nothing of the store and answers nothing of the payload.
    A body that is not a JSON object is refused (422): it cannot be a certificate at all."""
    body = await request.body()
    try:
        held = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        held = None
    if not isinstance(held, dict):
        raise InvalidInput("the body must be a certificate: the JSON object `xinyong certificate get` writes")
    return verify_held(body, ctx.signing_key.public_key())


@router.get("/v1/keys", name="public_keys", response_model=list[PublicKey])
def public_keys(
    __: RateLimited, ctx: Ctx, _: Annotated[Principal, Depends(guard("public_keys"))]
) -> list[dict[str, str]]:
    """The public keys that verify certificates."""
    key = ctx.signing_key.public_key()
    return [{"key_id": key_id(key), "algorithm": ALGORITHM, "public_key": base64.b64encode(public_bytes(key)).decode()}]
