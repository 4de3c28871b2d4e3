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

from xinyong.domain.catalog.models import ListDefinition
from xinyong.domain.errors import Conflict
from xinyong.domain.scoring import add_months, condition_holds


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


@dataclass(frozen=True)
class EntryView:
    """An entry as known at a moment: its last transition, and the dates that govern it."""

    state: State
    seq: int
    notified_at: datetime | None
    listed_on: date | None
    ends_on: date | None

    def state_on(self, day: date) -> State:
        """The state in force on `day`: a listing ends at the end of its term without any job."""
        if self.state is State.LISTED and self.ends_on is not None and day >= self.ends_on:
            return State.EXPIRED
        return self.state

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
        if t.action is Action.APPROVE:
            notified = t.at
        listed_on = t.listed_on if t.listed_on is not None else (view.listed_on if view else None)
        ends_on = t.ends_on if t.ends_on is not None else (view.ends_on if view else None)
        view = EntryView(t.to_state, t.seq, notified, listed_on, ends_on)
    return view


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
