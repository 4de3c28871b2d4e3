"""Reviewers and admins: the list, objection and repair operations of due process, over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from xinyong.api import errors
from xinyong.api.deps import Ctx, RowId, decision_note, guard
from xinyong.api.models.review import (
    AuditReport,
    EntryDecision,
    EntryDetail,
    EntryRow,
    EntryState,
    Extension,
    MaintenanceRun,
    ObjectionDecision,
    ObjectionOutcome,
    ObjectionRow,
    Removal,
    RepairDecision,
    RepairOutcome,
    RepairRow,
)
from xinyong.api.paging import Cursor, Limit, Page, page, position
from xinyong.domain.lists import State
from xinyong.services import audit
from xinyong.services import lists as lists_service
from xinyong.services.audit_checkpoints import checkpoint
from xinyong.services.keys import Principal
from xinyong.services.list_views import entries, entry_detail
from xinyong.services.maintain import maintain
from xinyong.services.objection_rulings import decide_objection
from xinyong.services.objection_views import objection_rows
from xinyong.services.repairs import decide_repair, repair_rows
from xinyong.store.unit_of_work import AuditEvent, record

router = APIRouter(tags=["review"], responses=errors.RESPONSES)
# The rows a list route reads before it pages: due process keeps far fewer entries, objections and
# repairs than this, and the page's `total` counts them all.
SCAN = 1_000_000


def _audit(ctx: Ctx, who: Principal, action: str, target: str) -> None:
    """The event of a read, appended before anything is answered."""
    record(ctx.engine, AuditEvent(actor=who.actor, action=action, target=target, purpose="due process"))


@router.get("/v1/lists/entries", name="list_entries", response_model=Page[EntryRow])
def list_entries_(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("list_entries"))],
    list_id: Annotated[str | None, Query(alias="list", max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")] = None,
    state: Annotated[State | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Entries with their state today, by id."""
    start = position(cursor)
    rows = entries(ctx.engine, list_id=list_id, state=state, day=datetime.now(UTC).date(), limit=SCAN)
    _audit(ctx, who, "read_entries", f"list:{list_id or '*'}")
    return page(rows, start, limit)


@router.get("/v1/lists/entries/{entry_id}", name="show_entry", response_model=EntryDetail)
def show_entry(entry_id: RowId, ctx: Ctx, who: Annotated[Principal, Depends(guard("show_entry"))]) -> dict[str, Any]:
    """One entry: ground, legal basis, disputes, every transition."""
    data = entry_detail(ctx.engine, ctx.catalog, entry_id, known_at=datetime.now(UTC))
    _audit(ctx, who, "read_entry", f"entry:{entry_id}")
    return data


@router.post(
    "/v1/lists/entries/{entry_id}/decision",
    name="decide_entry",
    response_model=EntryState,
)
def decide_entry(
    entry_id: RowId, body: EntryDecision, ctx: Ctx, who: Annotated[Principal, Depends(guard("decide_entry"))]
) -> dict[str, Any]:
    """Approve (the subject is notified) or reject a proposal; a conflict if someone decided first."""
    view = lists_service.decide(
        ctx.engine,
        ctx.catalog,
        entry_id,
        approve_it=body.decision == "approve",
        actor=who.actor,
        reason=body.reason,
        now=datetime.now(UTC),
        audit=decision_note(who, f"entry_{body.decision}", f"entry:{entry_id}"),
    )
    return {"id": entry_id, "state": view.state.value}


@router.post("/v1/lists/entries/{entry_id}/extension", name="extend_entry", response_model=EntryState)
def extend_entry(
    entry_id: RowId, body: Extension, ctx: Ctx, who: Annotated[Principal, Depends(guard("extend_entry"))]
) -> dict[str, Any]:
    """Extend a listing in force by a new reasoned decision, within the list's bounds."""
    view = lists_service.extend(
        ctx.engine,
        ctx.catalog,
        entry_id,
        months=body.months,
        actor=who.actor,
        reason=body.reason,
        now=datetime.now(UTC),
        audit=decision_note(who, "entry_extend", f"entry:{entry_id}"),
    )
    return {"id": entry_id, "state": view.state.value, "ends_on": view.ends_on}


@router.post("/v1/lists/entries/{entry_id}/removal", name="remove_entry", response_model=EntryState)
def remove_entry(
    entry_id: RowId, body: Removal, ctx: Ctx, who: Annotated[Principal, Depends(guard("remove_entry"))]
) -> dict[str, Any]:
    """End an entry early: removed when listed, withdrawn before publication."""
    view = lists_service.remove(
        ctx.engine,
        ctx.catalog,
        entry_id,
        actor=who.actor,
        reason=body.reason,
        now=datetime.now(UTC),
        audit=decision_note(who, "entry_remove", f"entry:{entry_id}"),
    )
    return {"id": entry_id, "state": view.state.value}


@router.get("/v1/objections", name="list_objections", response_model=Page[ObjectionRow])
def list_objections(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("list_objections"))],
    state: Annotated[Literal["open", "overdue", "decided"] | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Objections with their deadlines and outcomes, by id."""
    start = position(cursor)
    rows = objection_rows(ctx.engine, state=state, today=datetime.now(UTC).date(), limit=SCAN)
    _audit(ctx, who, "read_objections", f"objections:{state or '*'}")
    return page(rows, start, limit)


@router.post(
    "/v1/objections/{objection_id}/decision",
    name="decide_objection",
    response_model=ObjectionOutcome,
)
def decide_objection_(
    objection_id: RowId,
    body: ObjectionDecision,
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("decide_objection"))],
) -> dict[str, Any]:
    """Uphold (remedied at once) or dismiss (with the right to one appeal)."""
    result = decide_objection(
        ctx.engine,
        ctx.catalog,
        objection_id,
        uphold=body.decision == "uphold",
        actor=who.actor,
        reason=body.reason,
        now=datetime.now(UTC),
        revoke=body.revoke,
        set_attributes=body.set,
        audit=decision_note(who, f"objection_{body.decision}", f"objection:{objection_id}"),
    )
    return result


@router.get("/v1/repairs", name="list_repairs", response_model=Page[RepairRow])
def list_repairs(
    ctx: Ctx,
    who: Annotated[Principal, Depends(guard("list_repairs"))],
    state: Annotated[Literal["open", "overdue", "decided"] | None, Query()] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Repair requests with their deadlines and outcomes, by id."""
    start = position(cursor)
    rows = repair_rows(ctx.engine, state=state, today=datetime.now(UTC).date(), limit=SCAN)
    _audit(ctx, who, "read_repairs", f"repairs:{state or '*'}")
    return page(rows, start, limit)


@router.post(
    "/v1/repairs/{repair_id}/decision",
    name="decide_repair",
    response_model=RepairOutcome,
)
def decide_repair_(
    repair_id: RowId, body: RepairDecision, ctx: Ctx, who: Annotated[Principal, Depends(guard("decide_repair"))]
) -> dict[str, Any]:
    """Approve (the record stops counting) or refuse (naming what is unmet and when to apply again)."""
    result = decide_repair(
        ctx.engine,
        ctx.catalog,
        repair_id,
        approve=body.decision == "approve",
        actor=who.actor,
        reason=body.reason,
        now=datetime.now(UTC),
        unmet=body.unmet,
        audit=decision_note(who, f"repair_{body.decision}", f"repair:{repair_id}"),
    )
    return result


@router.post("/v1/maintenance", name="run_maintenance", response_model=MaintenanceRun)
def run_maintenance(ctx: Ctx, who: Annotated[Principal, Depends(guard("run_maintenance"))]) -> dict[str, Any]:
    """Run the daily maintenance now."""
    counts = maintain(ctx.engine, ctx.catalog, audit=decision_note(who, "maintain", "lists"))
    checkpoint(ctx.engine, ctx.signing_key, reason="maintain")  # every maintain anchors the audit chain
    return counts


@router.get("/v1/audit/verify", name="audit_verify", response_model=AuditReport)
def audit_verify(ctx: Ctx, _: Annotated[Principal, Depends(guard("audit_verify"))]) -> dict[str, Any]:
    """Walk the audit chain."""
    report = audit.verify(ctx.engine)
    return {"events": report.events, "intact": report.intact, "problems": report.problems}
