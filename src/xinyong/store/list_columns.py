"""The columns of a list entry's transition, as every read of them selects them."""

from __future__ import annotations

from xinyong.store.tables import list_transitions

# The columns a Transition is made of, in its order; other columns may follow them in a query.
TRANSITION_COLUMNS = (
    list_transitions.c.seq,
    list_transitions.c.action,
    list_transitions.c.from_state,
    list_transitions.c.to_state,
    list_transitions.c.actor,
    list_transitions.c.at,
    list_transitions.c.reason,
    list_transitions.c.listed_on,
    list_transitions.c.ends_on,
    list_transitions.c.ref,
)
