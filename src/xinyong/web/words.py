"""The portal's words for the platform's codes (states, outcomes, effects), marked for translation.

Codes come from the services; the pages show these labels through the viewer's catalog. Marked
with `N_` so that the extractor finds them (docs/portal.md), and translated when shown.
"""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - the conventional name of a marker the extractor knows
    """Mark a string for the catalog without translating it here."""
    return text


KINDS = {"person": N_("person"), "organisation": N_("organisation")}

STATES = {
    "proposed": N_("proposed"),
    "notified": N_("notified, in notice period"),
    "objected": N_("objected, publication held"),
    "listed": N_("listed"),
    "expired": N_("expired"),
    "removed": N_("removed"),
    "repaired": N_("repaired"),
    "withdrawn": N_("withdrawn"),
}

ACTIONS = {
    "propose": N_("proposed by the platform"),
    "approve": N_("approved, subject notified"),
    "reject": N_("rejected"),
    "object": N_("objected to by the subject"),
    "uphold": N_("objection upheld"),
    "dismiss": N_("objection dismissed"),
    "publish": N_("published after the notice period"),
    "extend": N_("term extended"),
    "expire": N_("term ended"),
    "remove": N_("removed"),
    "repair": N_("ended by credit repair"),
    "withdraw": N_("withdrawn"),
}

RECORD_STATUS = {"active": N_("active"), "revoked": N_("revoked"), "repaired": N_("repaired")}

LIST_KINDS = {"black": N_("black list"), "red": N_("red list"), "watch": N_("watch list")}

EFFECTS = {
    "deny": N_("deny"),
    "review": N_("strict review"),
    "fast_track": N_("fast track"),
    "waive_deposit": N_("deposit waived"),
    "inspect_more": N_("more inspections"),
    "inspect_less": N_("fewer inspections"),
}

TARGETS = {"record": N_("record"), "entry": N_("list entry"), "link": N_("subject link"), "score": N_("score")}

OUTCOMES = {
    "upheld": N_("upheld"),
    "dismissed": N_("dismissed"),
    "owner_resolved": N_("resolved by the list's owner"),
    "entry_ended": N_("closed: the entry ended before the list's owner decided"),
    "owner_maintained": N_("answered by the list's owner: its record stands"),
    "approved": N_("approved"),
    "refused": N_("refused"),
    None: N_("open"),
}

UNMET = {
    "not_repairable": N_("the record or its list cannot be repaired"),
    "not_counting": N_("the record no longer counts"),
    "period_not_served": N_("the minimum period is not yet served"),
    "obligation_not_met": N_("the obligation is not shown to be met"),
    "no_commitment": N_("no credit commitment was filed"),
}

COMPLIANCE = {
    "decided_in_time": N_("decided in time"),
    "decided_late": N_("decided late"),
    "open_in_time": N_("open, in time"),
    "open_overdue": N_("open, overdue"),
    "objections": N_("objections"),
    "repairs": N_("repair requests"),
}

SCORE_STATUS = {"scored": N_("scored"), "not_opted_in": N_("not scored: no consent"), "no_ruleset": N_("not scored")}

# What a decision will change (services.decision_previews), worded for the reviewer.
EFFECT_TEXT = {
    "notify": N_("The subject is notified and has %(days)s days to respond or object."),
    "list_after_notice": N_(
        "Unless an objection holds it, the entry is listed for %(months)s months after the notice."
    ),
    "withdraw": N_("The proposal is withdrawn: the subject is not listed."),
    "revoke_or_correct": N_("Record %(record)s is revoked or corrected as a new version (the old one is kept)."),
    "unlink": N_("Record %(record)s is unlinked from the subject and queued for review."),
    "end_entry": N_("List entry %(entry)s (%(list)s) resting on it ends."),
    "tell_source": N_("The source department %(source)s is told to correct its data."),
    "rescore": N_("The subject's score is recomputed."),
    "tell_subject": N_("The subject is told the outcome and the reasons."),
    "back_to_notice": N_("List entry %(entry)s goes back to its notice period."),
    "appeal_until": N_("The subject may appeal once, to a different reviewer, until %(until)s."),
    "no_appeal": N_("This is an appeal: the decision is final on the platform."),
    "repaired": N_("Record %(record)s is marked repaired and stops counting."),
    "reapply": N_("The subject may apply again from %(on)s."),
}

NOTICE_PAGES = {
    "role": N_("Your role may not open this page."),
    "csrf_token": N_("The form expired or did not come from this portal. Go back, reload the page and send it again."),
    "csrf_origin": N_("This form was sent from another site and was refused."),
}

MATCH_OUTCOMES = {
    "confirm": N_("confirmed"),
    "reject": N_("rejected"),
    "unsure": N_("unsure"),
    "undo": N_("undone"),
}

PRIORITIES = {"high": N_("high"), "normal": N_("normal")}

COMPARISONS = {
    "name": N_("Name"),
    "identifier": N_("Identifier"),
    "document": N_("Document number"),
    "source": N_("Department"),
}

MERGE_ACTIONS = {"merge": N_("merge"), "split": N_("split")}

# The state of a merge or split proposal (services.merges.history): the decision that stands on it.
MERGE_STATES = {"open": N_("open"), "confirmed": N_("confirmed"), "rejected": N_("rejected")}
