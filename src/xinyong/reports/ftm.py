"""The public sanction lists as FollowTheMoney entities (the `followthemoney` package), one JSON
object a line, as OpenSanctions and its users read them.

`Company` for each listed organisation (with its USCC), `Person` only for a person on a public
list (the law makes them public there; name and identifier masked, as the portal shows them),
and a `Sanction` for each entry of a public black list: its program (the list), authority,
start and end, and its legal basis as the designation's reason. Red lists are rewards, not
sanctions: they are in `lists.csv` and `lists.jsonl`, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from xinyong.reports.opendata import OpenData

SANCTION_LISTS = ("black",)
PREFIX = "xinyong"


def subject_entity_id(subject_id: int) -> str:
    return f"{PREFIX}-subject-{subject_id}"


def entities(data: OpenData) -> Iterator[dict[str, Any]]:
    """Every entity, subjects first, each as FollowTheMoney's `to_dict()` gives it."""
    from followthemoney import model

    sanctions = [e for e in data.entries if e["list_kind"] in SANCTION_LISTS]
    for sid in sorted({e["subject_id"] for e in sanctions}):
        who = data.subjects[sid]
        person = who["subject_kind"] == "person"
        entity = model.make_entity("Person" if person else "Company")
        entity.id = subject_entity_id(sid)
        entity.add("name", who["subject_name"])
        entity.add("country", "cn")
        if who["subject_identifier"]:
            scheme = who["subject_identifier_scheme"]
            entity.add("uscCode" if scheme == "cn.uscc" else "idNumber", who["subject_identifier"])
        entity.add("topics", "debarment")
        yield entity.to_dict()
    for e in sanctions:
        sanction = model.make_entity("Sanction")
        sanction.id = f"{PREFIX}-{e['id'].replace(':', '-')}"
        sanction.add("entity", subject_entity_id(e["subject_id"]))
        sanction.add("program", e["list_name"])
        sanction.add("program", e["list_name_zh"])
        sanction.add("programId", e["list"])
        sanction.add("authority", e["authority"])
        sanction.add("country", "cn")
        sanction.add("startDate", e["listed_on"])
        sanction.add("listingDate", e["listed_on"])
        sanction.add("endDate", e["ends_on"])
        sanction.add("reason", f"Legal basis: {e['legal_basis']}. Ground: {e['ground_record_name']}.")
        sanction.add("status", "Active")
        sanction.add("recordId", e["id"])
        yield sanction.to_dict()
