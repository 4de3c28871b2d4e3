"""A subject's own file, and their objections and repair requests. Every read is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from xinyong.api import errors
from xinyong.api.deps import Ctx, guard
from xinyong.api.models.me import MyFile, ObjectionFiled, ObjectionRequest, RepairFiled, RepairRequest
from xinyong.services.keys import Principal
from xinyong.services.objections import file_objection
from xinyong.services.portal import my_file
from xinyong.services.repairs import file_repair
from xinyong.store.unit_of_work import AuditEvent, AuditNote, record

router = APIRouter(tags=["subjects"], responses=errors.RESPONSES)


def _subject(who: Principal) -> int:
    if who.subject_id is None:  # a subject token always names its subject (see keys.create_key)
        raise ValueError("subject token without a subject")
    return who.subject_id


@router.get("/v1/me", name="my_file", response_model=MyFile)
def me(ctx: Ctx, who: Annotated[Principal, Depends(guard("my_file"))]) -> dict[str, Any]:
    """Your whole file: records, score with explanation, list entries, notices, and every check made about you."""
    sid = _subject(who)
    data = my_file(ctx.engine, ctx.catalog, sid)
    record(
        ctx.engine,
        AuditEvent(actor=who.actor, action="read_own_file", target=f"subject:{sid}", purpose="subject access"),
    )
    return data


@router.post(
    "/v1/me/objections",
    name="my_objection",
    response_model=ObjectionFiled,
    status_code=201,
)
def object_(
    body: ObjectionRequest, ctx: Ctx, who: Annotated[Principal, Depends(guard("my_objection"))]
) -> dict[str, Any]:
    """Object to a record, a list entry, a subject link or a score; it is marked disputed at once."""
    from datetime import UTC, datetime

    sid = _subject(who)
    result = file_objection(
        ctx.engine,
        ctx.catalog,
        subject_id=sid,
        target=body.target,
        grounds=body.grounds,
        actor=f"subject:{sid}",
        now=datetime.now(UTC),
        audit=AuditNote(actor=who.actor, action="file_objection"),
    )
    return result


@router.post(
    "/v1/me/repairs",
    name="my_repair",
    response_model=RepairFiled,
    status_code=201,
)
def repair(body: RepairRequest, ctx: Ctx, who: Annotated[Principal, Depends(guard("my_repair"))]) -> dict[str, Any]:
    """Ask for credit repair of one of your records."""
    from datetime import UTC, datetime

    sid = _subject(who)
    result = file_repair(
        ctx.engine,
        ctx.catalog,
        subject_id=sid,
        record=body.record,
        evidence_ref=body.evidence_ref,
        commitment=body.commitment,
        actor=f"subject:{sid}",
        now=datetime.now(UTC),
        audit=AuditNote(actor=who.actor, action="file_repair"),
    )
    return result
