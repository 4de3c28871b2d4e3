"""List entries: the state machine, the as-of view, and the entry criteria.

An entry moves only by appended transitions (action, actor, time, reason, legal basis); its state
is the fold of those rows. The table `TRANSITIONS` is the whole machine: any (state, action) pair
not in it is refused. Time needs no job: an entry listed until a day is simply not in force from
that day on (`EntryView.state_on`), whether or not `maintain` has written its expiry yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from xinyong.domain.catalog import Catalog
from xinyong.domain.catalog.models import ListDefinition
from xinyong.domain.errors import Conflict, InvalidInput
from xinyong.domain.scoring import RecordFact, add_months, condition_holds, with_publication_end


class State(StrEnum):
    PROPOSED = "proposed"
    NOTIFIED = "notified"
    OBJECTED = "objected"
    LISTED = "listed"
    EXPIRED = "expired"
    REMOVED = "removed"
    REPAIRED = "repaired"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    PROPOSE = "propose"  # system: a record meets the entry criteria
    APPROVE = "approve"  # reviewer (or system where no reviewer is required): notify the subject
    REJECT = "reject"  # reviewer: the proposal is not pursued
    OBJECT = "object"  # subject: objection during the notice period, holds publication
    UPHOLD = "uphold"  # reviewer: the objection is right, the entry is withdrawn
    DISMISS = "dismiss"  # reviewer: the objection fails, the notice period runs on
    PUBLISH = "publish"  # system: notice period over, nothing pending
    EXTEND = "extend"  # reviewer: a new reasoned decision lengthens the term
    EXPIRE = "expire"  # system: the term ended
    REMOVE = "remove"  # system or reviewer: obligation met, record revoked, objection upheld
    REPAIR = "repair"  # system: credit repair approved
    WITHDRAW = "withdraw"  # system or reviewer: the ground fell away before publication


TERMINAL = frozenset({State.EXPIRED, State.REMOVED, State.REPAIRED, State.WITHDRAWN})
PENDING = frozenset({State.PROPOSED, State.NOTIFIED, State.OBJECTED})

TRANSITIONS: dict[tuple[State | None, Action], State] = {
    (None, Action.PROPOSE): State.PROPOSED,
    (State.PROPOSED, Action.APPROVE): State.NOTIFIED,
    (State.PROPOSED, Action.REJECT): State.WITHDRAWN,
    (State.PROPOSED, Action.WITHDRAW): State.WITHDRAWN,
    (State.NOTIFIED, Action.OBJECT): State.OBJECTED,
    (State.NOTIFIED, Action.PUBLISH): State.LISTED,
    (State.NOTIFIED, Action.WITHDRAW): State.WITHDRAWN,
    (State.OBJECTED, Action.UPHOLD): State.WITHDRAWN,
    (State.OBJECTED, Action.DISMISS): State.NOTIFIED,
    (State.OBJECTED, Action.WITHDRAW): State.WITHDRAWN,
    (State.LISTED, Action.EXTEND): State.LISTED,
    (State.LISTED, Action.EXPIRE): State.EXPIRED,
    (State.LISTED, Action.REMOVE): State.REMOVED,
    (State.LISTED, Action.REPAIR): State.REPAIRED,
}

# Who may take each action: a transition by anyone else is refused.
ACTORS: dict[Action, frozenset[str]] = {
    Action.PROPOSE: frozenset({"system"}),
    Action.APPROVE: frozenset({"reviewer", "system"}),
    Action.REJECT: frozenset({"reviewer"}),
    Action.OBJECT: frozenset({"subject"}),
    Action.UPHOLD: frozenset({"reviewer"}),
    Action.DISMISS: frozenset({"reviewer"}),
    Action.PUBLISH: frozenset({"system"}),
    Action.EXTEND: frozenset({"reviewer"}),
    Action.EXPIRE: frozenset({"system"}),
    Action.REMOVE: frozenset({"reviewer", "system"}),
    Action.REPAIR: frozenset({"system"}),
    Action.WITHDRAW: frozenset({"reviewer", "system"}),
}


class InvalidTransition(Conflict):
    """The entry is not in a state that allows this action (or someone else moved it first)."""

    title = "Invalid transition"


def allowed_actions(state: State | None) -> list[Action]:
    return [a for (s, a) in TRANSITIONS if s == state]


def next_state(entry_id: int | None, state: State | None, action: Action, actor_role: str) -> State:
    """The state after `action`, or a refusal naming what the entry allows now."""
    if actor_role not in ACTORS[action]:
        raise InvalidTransition(
            f"list entry {entry_id}: a {actor_role} may not {action.value} an entry "
            f"(allowed: {', '.join(sorted(ACTORS[action]))})"
        )
    target = TRANSITIONS.get((state, action))
    if target is None:
        allowed = ", ".join(a.value for a in allowed_actions(state)) or "nothing (the entry has ended)"
        raise InvalidTransition(
            f"list entry {entry_id} is {state.value if state else 'new'}: it cannot {action.value}; "
            f"allowed now: {allowed}"
        )
    return target


def actor_role(actor: str) -> str:
    """Actors are written 'role:name' (reviewer:li.wei, system:maintain, subject:42)."""
    return actor.split(":", 1)[0]


@dataclass(frozen=True)
class Transition:
    seq: int
    action: Action
    from_state: State | None
    to_state: State
    actor: str
    at: datetime
    reason: str
    listed_on: date | None = None
    ends_on: date | None = None
    ref: str | None = None  # what caused it: objection:12, repair:5, record:court/X-1


# A listing that ended by one of these ends from its date; the past it was in force stays so.
ENDINGS = frozenset({Action.EXPIRE, Action.REMOVE, Action.REPAIR})
ENDED = frozenset({State.EXPIRED, State.REMOVED, State.REPAIRED})


def voids(t: Transition) -> bool:
    """An upheld objection says the listing was wrong: it ends it as if it had never been."""
    return t.action in (Action.REMOVE, Action.WITHDRAW, Action.UPHOLD) and (t.ref or "").startswith("objection:")


@dataclass(frozen=True)
class EntryView:
    """An entry as known at a moment: its last transition, and the dates that govern it.

    `ended_on` is the day a listing stopped (removal, repair, expiry): it was in force before
    that day, and a check as of such a day still finds it. `void` marks an entry ended by an
    upheld objection: it was never in force. `approved_by` is the reviewer who approved it.
    """

    state: State
    seq: int
    notified_at: datetime | None
    listed_on: date | None
    ends_on: date | None
    ended_on: date | None = None
    void: bool = False
    approved_by: str | None = None
    ending: str | None = None  # the reason given when it ended

    def state_on(self, day: date) -> State:
        """The state in force on `day`: a listing ends at the end of its term without any job, and
        a listing removed later was still listed on the days before its removal."""
        if self.state in ENDED and not self.void and self.was_listed_on(day):
            return State.LISTED
        if self.state is State.LISTED and self.ends_on is not None and day >= self.ends_on:
            return State.EXPIRED
        return self.state

    def was_listed_on(self, day: date) -> bool:
        if self.listed_on is None or self.ended_on is None or day < self.listed_on or day >= self.ended_on:
            return False
        return self.ends_on is None or day < self.ends_on

    def ended_text(self) -> str | None:
        """How the entry ended, as a check explains it, or None while it has not ended."""
        if self.void:
            return f"void from the start: {self.ending or 'objection upheld'}"
        if self.state in ENDED and self.ended_on is not None:
            what = {State.EXPIRED: "expired", State.REMOVED: "removed", State.REPAIRED: "removed after repair"}
            return f"{what[self.state]} on {self.ended_on.isoformat()}: {self.ending or ''}".rstrip(": ")
        return None

    def in_force_on(self, day: date) -> bool:
        return self.state_on(day) is State.LISTED and self.listed_on is not None and self.listed_on <= day

    def notice_ends_on(self, notice_days: int) -> date | None:
        return None if self.notified_at is None else self.notified_at.date() + timedelta(days=notice_days)


def fold(transitions: Sequence[Transition], known_at: datetime | None = None) -> EntryView | None:
    """The view of an entry from its transitions (in seq order) known at `known_at`."""
    view: EntryView | None = None
    for t in transitions:
        if known_at is not None and t.at > known_at:
            break
        notified = view.notified_at if view else None
        approved_by = view.approved_by if view else None
        if t.action is Action.APPROVE:
            notified, approved_by = t.at, t.actor
        listed_on = t.listed_on if t.listed_on is not None else (view.listed_on if view else None)
        ends_on = t.ends_on if t.ends_on is not None else (view.ends_on if view else None)
        ended_on, ending = (view.ended_on, view.ending) if view else (None, None)
        if t.action in ENDINGS:
            ended_on, ending = t.at.date(), t.reason
            if ends_on is not None and ends_on < ended_on:
                ended_on = ends_on  # an expiry written after the term: the term's end is the day
        void = voids(t) or (view.void if view else False)
        if voids(t):
            ending = f"objection upheld ({t.ref}): {t.reason}"
        view = EntryView(t.to_state, t.seq, notified, listed_on, ends_on, ended_on, void, approved_by, ending)
    return view


@dataclass(frozen=True)
class GroundFact:
    """The record an entry rests on, as the evaluation knows it: its current version."""

    version_id: int
    status: str
    linked: bool  # to the entry's subject, by a link that may list (principle 4)
    meets_criteria: bool  # this version still meets the list's entry criteria
    learned_on: date  # when the platform learned of this version
    publication_ends: date | None  # the end of its valid time (or of its publication period)
    document_no: str | None = None
    repair_ends: bool = True  # whether credit repair ends an entry of this list (see owner_refusal)


def ground_ends(record_id: int, ground: GroundFact | None) -> tuple[date | None, str] | None:
    """When an entry's ground stops counting: (the first day it does not, why), or None while it
    counts. A day of None means it never counted: the record is no longer linked to the subject.

    The source's later decision (revocation, the obligation reported met) and the end of the
    record's publication period end the entry from their day, with no job run.
    """
    if ground is None or not ground.linked:
        return None, "the ground record is no longer linked to this subject"
    ends: list[tuple[date, str]] = []
    if ground.publication_ends is not None:
        ends.append((ground.publication_ends, "the publication period of the ground record ended"))
    if ground.version_id != record_id:
        learned = f"learned on {ground.learned_on.isoformat()}"
        if ground.status == "revoked":
            ends.append((ground.learned_on, f"the source decision was revoked ({learned})"))
        elif ground.status == "repaired" and ground.repair_ends:
            ends.append((ground.learned_on, f"credit repair was approved for the ground record ({learned})"))
        elif ground.status not in ("active", "repaired") or not ground.meets_criteria:
            ends.append((ground.learned_on, f"the source reported the obligation met ({learned})"))
    return min(ends) if ends else None


@dataclass(frozen=True)
class Standing:
    """Whether an entry is in force on a day, and what a check says about how it ended."""

    in_force: bool
    note: str | None = None


def standing_on(view: EntryView, record_id: int, ground: GroundFact | None, day: date) -> Standing:
    """An entry evaluated as of `day`: in force only while listed and while its ground counts.

    A removal ends the listing from its day (a day before it, the entry was in force); only an
    upheld objection, or a ground that was never this subject's, voids it from the start.
    """
    if view.void:
        return Standing(False, view.ended_text())
    end = ground_ends(record_id, ground)
    if end is not None and end[0] is None:
        return Standing(False, f"void from the start: {end[1]}")
    if not view.in_force_on(day):
        return Standing(False, view.ended_text())
    if end is not None and end[0] is not None and day >= end[0]:
        return Standing(False, f"ended on {end[0].isoformat()}: {end[1]}")
    return Standing(True, view.ended_text())


def extension_end(
    listing: ListDefinition,
    entry_id: int,
    view: EntryView,
    ground_end: tuple[date | None, str] | None,
    *,
    months: int,
    reviewer: str,
    day: date,
) -> date:
    """The new end of the term, or a refusal of an extension a reviewer may not make now
    (InvalidInput; InvalidTransition when the entry or its ground is not in force).

    An extension is a new reasoned decision: only of a listing in force whose ground still counts,
    by a reviewer other than the one who approved it, and the whole stay (term and every
    extension) stays within the list's declared term plus its maximum extension.
    """
    if listing.extension is None:
        raise InvalidInput(f"the {listing.name} does not allow extension")
    lo, hi = listing.extension.min_months, listing.extension.max_months
    if not lo <= months <= hi:
        raise InvalidInput(f"an extension of the {listing.name} is {lo} to {hi} months, not {months}")
    if view.state is not State.LISTED or not view.in_force_on(day) or view.ends_on is None or view.listed_on is None:
        raise InvalidTransition(f"list entry {entry_id} is not in force: only a listing in force can be extended")
    if ground_end is not None and (ground_end[0] is None or day >= ground_end[0]):
        since = "" if ground_end[0] is None else f" since {ground_end[0].isoformat()}"
        raise InvalidTransition(
            f"list entry {entry_id} cannot be extended: its ground no longer counts{since} ({ground_end[1]})"
        )
    if view.approved_by is not None and view.approved_by == reviewer:
        raise InvalidInput(
            f"{reviewer} approved list entry {entry_id}: its extension is decided by a different reviewer"
        )
    most = listing.term_months + hi
    if add_months(view.ends_on, months) > add_months(view.listed_on, most):
        raise InvalidInput(
            f"list entry {entry_id} is listed from {view.listed_on.isoformat()} to {view.ends_on.isoformat()}: "
            f"{months} more months would exceed the {listing.name}'s longest stay of {most} months "
            f"({listing.term_months} months' term and at most {hi} months' extension)"
        )
    return add_months(view.ends_on, months)


class OwnedByAnother(InvalidTransition):
    """A platform decision tried to end a listing that only its owning authority may end."""

    title = "Owned by another authority"


def owner_refusal(listing: ListDefinition, owner_name: str, entry_id: int, state: State | None, what: str) -> None:
    """Refuse a platform reviewer's `what` (removal, credit repair) of a published entry of a list a
    source owns: only that source's decision (a corrected or revoked record) ends it. Before
    publication, reviewers still reject or withdraw proposals: that is their review, not the
    owner's listing."""
    if listing.owner is None or state is not State.LISTED:
        return
    raise OwnedByAnother(
        f"list entry {entry_id} is on the {listing.name}, which {owner_name} ({listing.owner}) owns: only "
        f"{owner_name}'s decision (a corrected or revoked record from {listing.owner}) ends it, not a {what} "
        "on this platform"
    )


def ground_from(
    catalog: Catalog,
    listing: ListDefinition,
    fact: RecordFact,
    *,
    linked: bool,
    learned_on: date,
    document_no: str | None,
) -> GroundFact:
    """The ground of an entry of `listing` from the current version of its record.

    On a list a source owns, the ground counts until that source says otherwise (a corrected or
    revoked record, or a `valid_until` it gives), not until the end of the publication period the
    platform gives a record without one: the owner's law sets the listing's term (`term_months`,
    extended by a new decision), and a period of the platform's cannot end the listing earlier
    than that law (see docs/lists-in-time.md)."""
    until = fact.valid_until if listing.owner is not None else with_publication_end(catalog, fact).valid_until
    return GroundFact(
        fact.record_id,
        fact.status,
        linked,
        meets_criteria(listing, fact.record_type, fact.attributes),
        learned_on,
        until,
        document_no,
        repair_ends=repairs_end(listing),
    )


def repairs_end(listing: ListDefinition) -> bool:
    """Whether credit repair on this platform ends an entry: on a list a source owns, only where the
    owner's law provides for it (`repair_basis`)."""
    return listing.repairable and (listing.owner is None or listing.repair_basis is not None)


def term_end(listing: ListDefinition, listed_on: date, months: int | None = None) -> date:
    return add_months(listed_on, months if months is not None else listing.term_months)


def meets_criteria(listing: ListDefinition, record_type: str, attributes: Mapping[str, Any]) -> bool:
    """Whether a record of this type with these attributes is a ground for this list."""
    return any(
        c.record_type == record_type and all(condition_holds(cond, attributes) for cond in c.conditions)
        for c in listing.entry
    )


# Only these links may ground a proposal (principle 4): a checksum-valid identifier, or a match
# a person confirmed. A probable match stays a proposal for match review, never a listing.
LINKS_THAT_MAY_LIST = ("identifier", "confirmed")
