"""The portal's authorisation matrix: which roles may open which page. Deny by default.

The roles are the API's (`api.authz`), and the rules the same: the public reads what the law
makes public, a subject their own file, staff the queues, and only a reviewer decides. Source
and consumer keys do not sign in to the portal at all. A test walks every page with every role
and asserts exactly the allowed set.
"""

from __future__ import annotations

from xinyong.api.authz import EVERYONE, STAFF
from xinyong.services.keys import Role

SUBJECT = frozenset({Role.SUBJECT})
REVIEWER = frozenset({Role.REVIEWER})
ADMIN = frozenset({Role.ADMIN})

PAGES: dict[str, frozenset[Role]] = {
    # anyone
    "web_home": EVERYONE,
    "web_search": EVERYONE,
    "web_entity": EVERYONE,
    "web_measures": EVERYONE,
    "web_signin_form": EVERYONE,
    "web_signin": EVERYONE,
    "web_signout": EVERYONE,
    "web_language": EVERYONE,
    # a subject, about themselves
    "web_my_file": SUBJECT,
    "web_my_report": SUBJECT,
    "web_objection_form": SUBJECT,
    "web_file_objection": SUBJECT,
    "web_repair_form": SUBJECT,
    "web_file_repair": SUBJECT,
    # reviewers read and decide; admins read
    "web_queues": STAFF,
    "web_entry": STAFF,
    "web_decide_entry": REVIEWER,
    "web_objection": STAFF,
    "web_decide_objection": REVIEWER,
    "web_repair": STAFF,
    "web_decide_repair": REVIEWER,
    "web_match": STAFF,
    "web_decide_match": REVIEWER,
    "web_undo_match": REVIEWER,
    "web_merge": STAFF,  # as the API's merge_history: admins read, only a reviewer decides
    "web_decide_merge": REVIEWER,
    "web_undo_merge": REVIEWER,
    "web_subject_merges": STAFF,
    # administrators
    "web_dashboards": ADMIN,
    "web_plot": ADMIN,
    "web_catalog": ADMIN,
    "web_whatif": ADMIN,
    "web_run_whatif": ADMIN,
}


def allowed(page: str, role: Role) -> bool:
    return role in PAGES.get(page, frozenset())
