"""Consuming departments ask; anyone can verify the answer."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from xinyong.api import errors
from xinyong.api.deps import CheckId, Ctx, guard, read
from xinyong.api.metrics import observe_check
from xinyong.api.ratelimit import RateLimited
from xinyong.domain.certificates import ALGORITHM, key_id, public_bytes
from xinyong.domain.errors import Unauthorized
from xinyong.services.check_purposes import key_allows
from xinyong.services.check_reads import read_certificate, read_replay, verify_held
from xinyong.services.checks import decide_check
from xinyong.services.keys import Principal

router = APIRouter(tags=["checks"], responses=errors.RESPONSES)


class CheckRequest(BaseModel):
    subject: Annotated[str, Field(min_length=1, max_length=64, examples=["91330106MA2ABCDE1Y"])]
    context: Annotated[str, Field(min_length=1, max_length=64, examples=["procurement.tender"])]
    purpose: Annotated[str, Field(min_length=1, max_length=64, examples=["bidder_screening"])]
    reference: Annotated[str | None, Field(max_length=200, examples=["tender 2027-001"])] = None
    as_of: date | None = None


class CheckResponse(BaseModel):
    check_id: str
    issued_at: str
    consumer: str
    context: str
    purpose: str
    reference: str | None = None
    subject: dict[str, Any]
    data_version: dict[str, str]
    decision: dict[str, Any]
    audit: dict[str, Any]
    certificate_url: str


class Replay(BaseModel):
    check_id: str
    same: bool | None
    reason: str
    as_of: str | None = None
    known_at: str | None = None
    outcome_then: str | None = None
    outcome_replayed: str | None = None
    differences: list[Any] = []


class PublicKey(BaseModel):
    key_id: str
    algorithm: str
    public_key: str


@router.post("/v1/checks", name="create_check", response_model=CheckResponse)
async def create_check(
    body: CheckRequest,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("create_check", key_confirmed_by_route=True))],
) -> Response:
    """Which measures apply to this subject in this context, and why: every measure answered, signed."""
    key_allows(who, body.context, body.purpose)
    # Decided through `read`: it only reads, and readers of either store never wait for a lock
    # (SQLite's write-ahead log, PostgreSQL's snapshots). Stored by the group committer, whose
    # thread alone waits for the write lock; the answer leaves only once the check and its audit
    # event are committed. The key may come from the server's cache: the same read confirms that
    # it still stands, and a revoked one is refused and forgotten.
    try:
        decided = await read(
            ctx,
            decide_check,
            ctx.engine,
            ctx.catalog,
            ctx.vault,
            ctx.signing_key,
            identifier=body.subject,
            context=body.context,
            purpose=body.purpose,
            reference=body.reference,
            consumer=who.actor,
            as_of=body.as_of,
            key=who,
        )
    except Unauthorized:
        ctx.keys.forget(who.key_id)
        raise
    await ctx.check_writer.submit(decided)
    observe_check(body.context, decided.payload["decision"]["outcome"])  # ops: metrics
    # The answer is the payload as signed, its canonical JSON reused rather than serialised again
    # (returned as a dict, it would also be validated against CheckResponse once more; the schema
    # still documents it, and the API schema test checks every answer against it), and the
    # certificate's address.
    url = f"/v1/checks/{decided.payload['check_id']}/certificate"
    answer = decided.payload_json[:-1] + b',"certificate_url":' + json.dumps(url).encode() + b"}"
    return Response(answer, media_type="application/json")


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
    is unaltered. Anyone may ask; it reads nothing of the store and answers nothing of the payload."""
    return verify_held(await request.body(), ctx.signing_key.public_key())


@router.get("/v1/keys", name="public_keys", response_model=list[PublicKey])
def public_keys(
    __: RateLimited, ctx: Ctx, _: Annotated[Principal, Depends(guard("public_keys"))]
) -> list[dict[str, str]]:
    """The public keys that verify certificates."""
    key = ctx.signing_key.public_key()
    return [{"key_id": key_id(key), "algorithm": ALGORITHM, "public_key": base64.b64encode(public_bytes(key)).decode()}]
