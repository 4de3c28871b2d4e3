"""The authorisation matrix: which roles may call which route. Deny by default.

Every route of the app is named here; a route missing from the matrix is refused to everyone,
and a test walks every route with every role and asserts exactly the allowed set.
"""

from __future__ import annotations

from xinyong.services.keys import Role

EVERYONE = frozenset(Role)
STAFF = frozenset({Role.REVIEWER, Role.ADMIN})
AUTHENTICATED = frozenset(Role) - {Role.PUBLIC}
PARTIES = frozenset({Role.CONSUMER, Role.SUBJECT, Role.REVIEWER, Role.ADMIN})

MATRIX: dict[str, frozenset[Role]] = {
    # anyone
    "public_keys": EVERYONE,
    "verify_certificate": EVERYONE,
    "public_search": EVERYONE,
    "public_subject": EVERYONE,
    # discovery: what may be asked, and under which law; for every authenticated role
    "catalog": AUTHENTICATED,
    # consuming departments
    "create_check": frozenset({Role.CONSUMER}),
    "create_checks": frozenset({Role.CONSUMER}),
    "list_checks": frozenset({Role.CONSUMER}),
    # the parties to a check: its consumer, its subject, staff (the service confirms which check)
    "check_certificate": PARTIES,
    "check_replay": PARTIES,
    # source departments
    "submit_records": frozenset({Role.SOURCE}),
    "list_batches": frozenset({Role.SOURCE, Role.ADMIN}),
    "batch_rejects": frozenset({Role.SOURCE, Role.ADMIN}),
    # a list's owner: the objections forwarded to it (its own only), and its answer that its record stands
    "forwarded_objections": frozenset({Role.SOURCE}),
    "answer_objection": frozenset({Role.SOURCE}),
    # subjects, about themselves
    "my_file": frozenset({Role.SUBJECT}),
    "my_objection": frozenset({Role.SUBJECT}),
    "my_repair": frozenset({Role.SUBJECT}),
    # reviewers and admins
    "list_entries": STAFF,
    "show_entry": STAFF,
    "decide_entry": frozenset({Role.REVIEWER}),
    "extend_entry": frozenset({Role.REVIEWER}),
    "remove_entry": frozenset({Role.REVIEWER}),
    "list_objections": STAFF,
    "decide_objection": frozenset({Role.REVIEWER}),
    "list_repairs": STAFF,
    "decide_repair": frozenset({Role.REVIEWER}),
    "list_matches": STAFF,
    "show_match": STAFF,
    "decide_match": frozenset({Role.REVIEWER}),
    "undo_match": frozenset({Role.REVIEWER}),
    "propose_merge": frozenset({Role.REVIEWER}),
    "propose_split": frozenset({Role.REVIEWER}),
    "decide_merge": frozenset({Role.REVIEWER}),
    "undo_merge": frozenset({Role.REVIEWER}),
    "merge_history": STAFF,
    "run_maintenance": frozenset({Role.ADMIN}),
    "audit_verify": frozenset({Role.ADMIN}),
    # credit reports and open data: an organisation's report to anyone, a person's to that person
    "public_report": EVERYONE,
    "my_report": frozenset({Role.SUBJECT}),
    "verify_report": EVERYONE,
    "report_signer": EVERYONE,
    "public_data": EVERYONE,
    # operations: probes need no key; metrics are for admins (or on a port of their own)
    "healthz": EVERYONE,
    "readyz": EVERYONE,
    "metrics": frozenset({Role.ADMIN}),
}


def allowed(route: str, role: Role) -> bool:
    return role in MATRIX.get(route, frozenset())
