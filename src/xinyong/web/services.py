"""Every call the portal makes into the services, in one module.

Pages never touch the store or a service directly: each read and each write is one function
here, so that a change of the services' signatures (a unit of work instead of an engine) is
made in this module alone. Reads of personal data append their audit event here, as the API's
routes do, under the API's action names where the API has the same read; writes append theirs
in the write's own transaction (the service's unit of work).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from shutil import copytree
from tempfile import TemporaryDirectory
from typing import Any

from xinyong.domain.catalog import Catalog, load_catalog
from xinyong.domain.catalog.loader import CatalogError
from xinyong.domain.disputes import objection_due, repair_due
from xinyong.domain.errors import InvalidInput, NotFound
from xinyong.reports.issue import issue_report
from xinyong.services import lists as lists_service
from xinyong.services.context import AppContext
from xinyong.services.dashboards import dashboards as dashboard_rows
from xinyong.services.decision_previews import preview_entry, preview_objection, preview_repair
from xinyong.services.keys import Principal
from xinyong.services.linking import decide as decide_match_service
from xinyong.services.linking import undo as undo_match_service
from xinyong.services.linking_views import PAGE_MAX
from xinyong.services.linking_views import open_proposals as open_matches
from xinyong.services.linking_views import proposal as match_detail
from xinyong.services.list_views import entries, entry_detail
from xinyong.services.merge_views import open_proposals as open_merges
from xinyong.services.merge_views import proposal as merge_detail
from xinyong.services.merge_views import proposal_of_decision
from xinyong.services.merges import decide as decide_merge_service
from xinyong.services.merges import history as merge_history_service
from xinyong.services.merges import undo as undo_merge_service
from xinyong.services.objection_rulings import decide_objection as decide_objection_service
from xinyong.services.objection_views import objection_detail, objection_rows
from xinyong.services.objections import file_objection as file_objection_service
from xinyong.services.portal import my_file as my_file_service
from xinyong.services.portal_views import file_links, find_public, public_entity
from xinyong.services.repairs import decide_repair as decide_repair_service
from xinyong.services.repairs import file_repair as file_repair_service
from xinyong.services.repairs import repair_detail, repair_rows
from xinyong.services.web_sessions import Session, close_session, find_session, open_session
from xinyong.services.whatif import ruleset_diff
from xinyong.store.unit_of_work import AuditEvent, AuditNote, record

DUE_PROCESS = "due process"


def _now() -> datetime:
    return datetime.now(UTC)


def _subject(who: Principal) -> int:
    if who.subject_id is None:  # a subject token always names its subject (see keys.create_key)
        raise ValueError("subject token without a subject")
    return who.subject_id


def _decision(who: Principal, action: str, target: str) -> AuditNote:
    """The audit event of a reviewer's decision, stored in the decision's own unit of work."""
    return AuditNote(actor=who.actor, action=action, target=target, purpose=DUE_PROCESS)


def audit_view(ctx: AppContext, who: Principal, action: str, target: str, purpose: str) -> None:
    """The event of a page view of personal data, appended before the page is answered."""
    record(ctx.engine, AuditEvent(actor=who.actor, action=action, target=target, purpose=purpose))


# -- sessions ------------------------------------------------------------------------------------


def sign_in(ctx: AppContext, token: str) -> tuple[str, Session]:
    session_id, session = open_session(ctx.engine, token)
    audit_view(ctx, session.principal, "web_sign_in", f"key:{session.principal.key_id}", "portal session")
    return session_id, session


def signed_in(ctx: AppContext, session_id: str) -> Session | None:
    return find_session(ctx.engine, session_id)


def sign_out(ctx: AppContext, session_id: str, who: Principal) -> None:
    if close_session(ctx.engine, session_id):
        audit_view(ctx, who, "web_sign_out", f"key:{who.key_id}", "portal session")


# -- the public ----------------------------------------------------------------------------------


def search(ctx: AppContext, q: str) -> list[dict[str, Any]]:
    return find_public(ctx.engine, ctx.catalog, ctx.vault, q)


def entity(ctx: AppContext, subject_id: int) -> dict[str, Any]:
    return public_entity(ctx.engine, ctx.catalog, subject_id)


# -- a subject's own file ------------------------------------------------------------------------


def my_file(ctx: AppContext, who: Principal) -> dict[str, Any]:
    sid = _subject(who)
    now = _now()
    data = my_file_service(ctx.engine, ctx.catalog, sid, now)
    score = data["score"]
    rules = {r.id: r for rs in ctx.catalog.rulesets.values() if rs.id == score.get("ruleset") for r in rs.rules}
    ids = [c["record_id"] for c in score.get("contributions", []) if c.get("record_id") is not None]
    links = file_links(ctx.engine, sid, ids)
    for c in score.get("contributions", []):
        c["rule_reason"] = rules[c["rule"]].reason if c["rule"] in rules else ""
        c["ref"] = links["refs"].get(c.get("record_id"))
    data["score_id"] = links["score_id"]
    data["timelines"] = {
        e["id"]: entry_detail(ctx.engine, ctx.catalog, e["id"], known_at=now)["transitions"]
        for e in data["list_entries"]
    }
    audit_view(ctx, who, "read_own_file", f"subject:{sid}", "subject access")
    return data


def my_report(ctx: AppContext, who: Principal, fmt: str, lang: str, base_url: str) -> tuple[bytes, str, str]:
    """The signed-in subject's own credit report (whole, as `GET /v1/me/report`): content, media type
    and file name. Issuing it is stored and audited by the report service."""
    issued = issue_report(
        ctx.engine,
        ctx.catalog,
        ctx.signing_key,
        subject_id=_subject(who),
        requester=who.actor,
        by_subject=True,
        public=False,
        lang="zh" if lang.startswith("zh") else "en",
        fmt=fmt,
        base_url=base_url,
    )
    return issued.content, issued.media_type, f"report-{issued.code}.{issued.format}"


def file_objection(ctx: AppContext, who: Principal, target: str, grounds: str) -> dict[str, Any]:
    sid = _subject(who)
    return file_objection_service(
        ctx.engine,
        ctx.catalog,
        subject_id=sid,
        target=target,
        grounds=grounds,
        actor=f"subject:{sid}",
        now=_now(),
        audit=AuditNote(actor=who.actor, action="file_objection"),
    )


def file_repair(
    ctx: AppContext, who: Principal, record: str, evidence_ref: str | None, commitment: bool
) -> dict[str, Any]:
    sid = _subject(who)
    return file_repair_service(
        ctx.engine,
        ctx.catalog,
        subject_id=sid,
        record=record,
        evidence_ref=evidence_ref,
        commitment=commitment,
        actor=f"subject:{sid}",
        now=_now(),
        audit=AuditNote(actor=who.actor, action="file_repair"),
    )


def deadlines(ctx: AppContext) -> dict[str, Any]:
    """The days by which the platform must answer an objection or a repair request filed today."""
    today = _now().date()
    return {
        "objection_due": objection_due(ctx.catalog.procedure, today),
        "repair_due": repair_due(ctx.catalog.procedure, today),
    }


# -- reviewers -----------------------------------------------------------------------------------


def queues(ctx: AppContext, who: Principal) -> dict[str, list[dict[str, Any]]]:
    """Proposals, open objections and open repair requests, each sorted by its deadline; match
    proposals, best first; merge and split proposals, oldest first."""
    today = _now().date()
    proposals = entries(ctx.engine, state="proposed", day=today, limit=500)
    objections = sorted(objection_rows(ctx.engine, state="open", limit=500), key=lambda o: (o["due_on"], o["id"]))
    repairs = sorted(repair_rows(ctx.engine, state="open", limit=500), key=lambda r: (r["due_on"], r["id"]))
    matches = open_matches(ctx.engine, limit=PAGE_MAX)["items"]
    merges = open_merges(ctx.engine)
    audit_view(ctx, who, "read_queues", "queues:*", DUE_PROCESS)
    return {"proposals": proposals, "objections": objections, "repairs": repairs, "matches": matches, "merges": merges}


def entry(ctx: AppContext, who: Principal, entry_id: int) -> dict[str, Any]:
    now = _now()
    data = entry_detail(ctx.engine, ctx.catalog, entry_id, known_at=now)
    data["preview"] = preview_entry(ctx.engine, ctx.catalog, entry_id, now)
    audit_view(ctx, who, "read_entry", f"entry:{entry_id}", DUE_PROCESS)
    return data


def objection(ctx: AppContext, who: Principal, objection_id: int) -> dict[str, Any]:
    data = objection_detail(ctx.engine, objection_id)
    data["preview"] = preview_objection(ctx.engine, ctx.catalog, objection_id, _now())
    audit_view(ctx, who, "read_objection", f"objection:{objection_id}", DUE_PROCESS)
    return data


def repair(ctx: AppContext, who: Principal, repair_id: int) -> dict[str, Any]:
    now = _now()
    data = repair_detail(ctx.engine, ctx.catalog, repair_id, now.date())
    data["preview"] = preview_repair(ctx.engine, ctx.catalog, repair_id, now)
    audit_view(ctx, who, "read_repair", f"repair:{repair_id}", DUE_PROCESS)
    return data


def decide_entry(ctx: AppContext, who: Principal, entry_id: int, approve: bool, reason: str) -> str:
    action = "approve" if approve else "reject"
    view = lists_service.decide(
        ctx.engine,
        ctx.catalog,
        entry_id,
        approve_it=approve,
        actor=who.actor,
        reason=reason,
        now=_now(),
        audit=_decision(who, f"entry_{action}", f"entry:{entry_id}"),
    )
    return view.state.value


def decide_objection(
    ctx: AppContext,
    who: Principal,
    objection_id: int,
    *,
    uphold: bool,
    reason: str,
    revoke: bool,
    set_attributes: dict[str, str] | None,
) -> dict[str, Any]:
    outcome = "uphold" if uphold else "dismiss"
    return decide_objection_service(
        ctx.engine,
        ctx.catalog,
        objection_id,
        uphold=uphold,
        actor=who.actor,
        reason=reason,
        now=_now(),
        revoke=revoke,
        set_attributes=set_attributes,
        audit=_decision(who, f"objection_{outcome}", f"objection:{objection_id}"),
    )


def decide_repair(
    ctx: AppContext, who: Principal, repair_id: int, *, approve: bool, reason: str, unmet: list[str] | None
) -> dict[str, Any]:
    outcome = "approve" if approve else "refuse"
    return decide_repair_service(
        ctx.engine,
        ctx.catalog,
        repair_id,
        approve=approve,
        actor=who.actor,
        reason=reason,
        now=_now(),
        unmet=unmet,
        audit=_decision(who, f"repair_{outcome}", f"repair:{repair_id}"),
    )


def match(ctx: AppContext, who: Principal, proposal_id: int) -> dict[str, Any]:
    data = match_detail(ctx.engine, proposal_id)
    audit_view(ctx, who, "read_match", f"match:{proposal_id}", DUE_PROCESS)
    return data


def decide_match(ctx: AppContext, who: Principal, proposal_id: int, outcome: str, reason: str) -> dict[str, Any]:
    note = _decision(who, f"match_{outcome}", f"match:{proposal_id}")
    return decide_match_service(
        ctx.engine, ctx.catalog, proposal_id, outcome, reviewer=who.actor, reason=reason, now=_now(), audit=note
    )


def undo_match(ctx: AppContext, who: Principal, judgement_id: int, reason: str) -> dict[str, Any]:
    note = _decision(who, "match_undo", f"match_judgement:{judgement_id}")
    return undo_match_service(
        ctx.engine, ctx.catalog, judgement_id, reviewer=who.actor, reason=reason, now=_now(), audit=note
    )


def merge(ctx: AppContext, who: Principal, proposal_id: int) -> dict[str, Any]:
    """A merge or split proposal with both subjects side by side: a read of two subjects' data."""
    data = merge_detail(ctx.engine, proposal_id, _now())
    audit_view(ctx, who, "read_subject_merge", f"subject_merge:{proposal_id}", DUE_PROCESS)
    return data


def decide_merge(ctx: AppContext, who: Principal, proposal_id: int, outcome: str, reason: str) -> dict[str, Any]:
    note = _decision(who, f"merge_{outcome}", f"subject_merge:{proposal_id}")
    return decide_merge_service(
        ctx.engine, ctx.catalog, proposal_id, outcome, reviewer=who.actor, reason=reason, now=_now(), audit=note
    )


def undo_merge(ctx: AppContext, who: Principal, proposal_id: int, decision_id: int, reason: str) -> dict[str, Any]:
    """Undo a decision named under its proposal's page: a decision on another proposal is not found
    there (the address says which proposal the reviewer was looking at)."""
    if proposal_of_decision(ctx.engine, decision_id) != proposal_id:
        raise NotFound(f"no decision {decision_id} on merge or split proposal {proposal_id}")
    note = _decision(who, "merge_undo", f"subject_merge_decision:{decision_id}")
    return undo_merge_service(
        ctx.engine, ctx.catalog, decision_id, reviewer=who.actor, reason=reason, now=_now(), audit=note
    )


def merge_history(ctx: AppContext, who: Principal, subject_id: int) -> dict[str, Any]:
    """Every merge and split proposal about a subject, as `GET /v1/subjects/{id}/merges` reads it."""
    data = merge_history_service(ctx.engine, subject_id, _now())
    audit_view(ctx, who, "read_subject_merges", f"subject:{subject_id}", DUE_PROCESS)
    return data


# -- administrators ------------------------------------------------------------------------------


def catalog(ctx: AppContext) -> Catalog:
    return ctx.catalog


def dashboards(ctx: AppContext, who: Principal) -> dict[str, list[dict[str, Any]]]:
    """Aggregates only: no subject is named, so no subject's read is audited."""
    return dashboard_rows(ctx.engine, _now().date())


RULESETS_FILE = "rulesets.yaml"
WHATIF_MAX_BYTES = 200_000


def whatif(
    ctx: AppContext, who: Principal, old_ref: str, new_ref: str, rulesets_yaml: str, as_of: date
) -> dict[str, Any]:
    """`ruleset diff` in the browser: the catalog as it is, against the same catalog with its
    rulesets file replaced by the text given (validated by the loader like any catalog; its
    problems name the file and line). Audited as the command is: it reads every subject's grade."""
    current = ctx.catalog
    if len(rulesets_yaml.encode()) > WHATIF_MAX_BYTES:
        raise InvalidInput(f"rulesets: at most {WHATIF_MAX_BYTES} bytes")
    with TemporaryDirectory(prefix="xinyong-web-whatif-") as tmp:
        folder = Path(tmp) / "catalog"
        copytree(current.directory, folder)
        if rulesets_yaml.strip():
            (folder / RULESETS_FILE).write_text(rulesets_yaml)
        try:
            new_catalog = load_catalog(folder)
        except CatalogError as exc:  # name the file as the administrator knows it, not the copy
            raise InvalidInput(str(exc).replace(f"{folder}/", "")) from None
        diff = ruleset_diff(
            ctx.engine, current, new_catalog, old_ref, new_ref, as_of=as_of, known_at=_now(), examples=3
        )
    audit_view(ctx, who, "ruleset_diff", f"rulesets:{old_ref}..{new_ref}"[:200], "what-if with explained examples")
    return asdict(diff)
