"""Consuming departments ask; anyone can verify the answer."""

from __future__ import annotations

import base64
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field

from xinyong.api import errors
from xinyong.api.deps import CheckId, Ctx, guard
from xinyong.domain.certificates import ALGORITHM, key_id, public_bytes
from xinyong.services.checks import certificate_of, replay, run_check
from xinyong.services.keys import Principal

router = APIRouter(tags=["checks"], responses=errors.RESPONSES)


class CheckRequest(BaseModel):
    subject: Annotated[str, Field(min_length=1, max_length=64, examples=["91330106MA2ABCDE1Y"])]
    context: Annotated[str, Field(min_length=1, max_length=64, examples=["procurement.tender"])]
    purpose: Annotated[str, Field(min_length=3, max_length=200, examples=["tender 2027-001, bidder screening"])]
    as_of: date | None = None


class CheckResponse(BaseModel):
    check_id: str
    issued_at: str
    consumer: str
    context: str
    purpose: str
    subject: dict[str, Any]
    data_version: dict[str, str]
    decision: dict[str, Any]
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
def create_check(
    body: CheckRequest, ctx: Ctx, who: Annotated[Principal, Depends(guard("create_check"))]
) -> dict[str, Any]:
    """Which measures apply to this subject in this context, and why: every measure answered, signed."""
    contexts, purposes = who.scopes.get("contexts"), who.scopes.get("purposes")
    if contexts and body.context not in contexts:
        raise HTTPException(403, f"this key may check only in: {', '.join(contexts)}")
    if purposes and not any(body.purpose.startswith(p) for p in purposes):
        raise HTTPException(403, f"this key may check only for the purposes: {', '.join(purposes)}")
    result = run_check(
        ctx.engine,
        ctx.catalog,
        ctx.vault,
        ctx.signing_key,
        identifier=body.subject,
        context=body.context,
        purpose=body.purpose,
        consumer=who.actor,
        as_of=body.as_of,
    )
    return {**result, "certificate_url": f"/v1/checks/{result['check_id']}/certificate"}


@router.get(
    "/v1/checks/{check_id}/certificate",
    name="check_certificate",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "The certificate, as signed."}},
)
def check_certificate(
    check_id: CheckId, ctx: Ctx, _: Annotated[Principal, Depends(guard("check_certificate"))]
) -> Response:
    """The signed proof of a decision, byte for byte as signed (verify with `xinyong certificate verify`)."""
    return Response(certificate_of(ctx.engine, check_id), media_type="application/json")


@router.get("/v1/checks/{check_id}/replay", name="check_replay", response_model=Replay)
def check_replay(
    check_id: CheckId, ctx: Ctx, _: Annotated[Principal, Depends(guard("check_replay"))]
) -> dict[str, Any]:
    """Evaluate the check again as known at its moment and say whether the outcome is the same."""
    return replay(ctx.engine, ctx.catalog, check_id)


@router.get("/v1/keys", name="public_keys", response_model=list[PublicKey])
def public_keys(ctx: Ctx, _: Annotated[Principal, Depends(guard("public_keys"))]) -> list[dict[str, str]]:
    """The public keys that verify certificates."""
    key = ctx.signing_key.public_key()
    return [{"key_id": key_id(key), "algorithm": ALGORITHM, "public_key": base64.b64encode(public_bytes(key)).decode()}]
