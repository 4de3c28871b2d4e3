"""The report's text, line by line, from its payload alone.

The lines are made once, when the report is issued, and signed inside the payload; the PDF and
the HTML print exactly these lines, so a verifier compares the document's text with the signed
lines, whatever version of xinyong (and of its wording) verifies it later.
"""

from __future__ import annotations

from typing import Any

from xinyong.reports.i18n import N_, tr

AREAS = {
    "judicial": N_("courts and enforcement"),
    "tax": N_("tax"),
    "market": N_("market regulation"),
    "environment": N_("environment"),
    "labour": N_("labour"),
    "safety": N_("work safety"),
    "customs": N_("customs"),
    "quality": N_("product quality"),
    "honours": N_("commendations"),
    "consent": N_("consent"),
}
KINDS = {"organisation": N_("organisation"), "person": N_("person")}
LIST_KINDS = {"black": N_("black list"), "red": N_("red list"), "watch": N_("watch list")}
STATES = {
    "listed": N_("listed"),
    "proposed": N_("proposed, not yet decided"),
    "notified": N_("notified, in the notice period"),
    "objected": N_("objected, under review"),
}
TARGETS = {"record": N_("record"), "entry": N_("list entry"), "link": N_("subject link"), "score": N_("score")}


def _name(lang: str, item: dict[str, Any], key: str = "name") -> str:
    return str(item[f"{key}_zh"] if lang == "zh" else item[key])


def _header(p: dict[str, Any], lang: str) -> list[str]:
    s = p["subject"]
    lines = [
        tr(lang, N_("Special credit report (in place of certificates of no illegal conduct)")),
        tr(lang, N_("Verification code: {code}"), code=p["code"]),
        tr(
            lang,
            N_("Issued at {at}; period covered: {first} to {last}"),
            at=p["issued_at"],
            first=p["period"]["from"],
            last=p["period"]["to"],
        ),
    ]
    if p["requested_by"]["by_subject"]:
        lines.append(tr(lang, N_("Requested by the subject about themselves")))
    else:
        lines.append(tr(lang, N_("Requested by {who}"), who=p["requested_by"]["requester"]))
    if p["purpose"]:
        lines.append(tr(lang, N_("Purpose: {name} ({code})"), name=p["purpose"]["name"], code=p["purpose"]["code"]))
    else:
        lines.append(tr(lang, N_("Purpose: not stated")))
    lines.append(
        tr(
            lang,
            N_("Subject: {name} ({kind}, subject {id})"),
            name=s["name"],
            kind=tr(lang, KINDS[s["kind"]]),
            id=s["id"],
        )
    )
    lines += [
        tr(lang, N_("Identifier {scheme}: {value}"), scheme=i["scheme"], value=i["value"]) for i in s["identifiers"]
    ]
    return lines


def _record_line(lang: str, r: dict[str, Any]) -> str:
    until = r["published_until"] or "-"
    line = tr(
        lang,
        N_("- {day} {name}, document {doc}, published until {until}; legal basis: {basis}"),
        day=r["decided_on"],
        name=_name(lang, r),
        doc=r["document_no"] or "-",
        until=until,
        basis=r["legal_basis"],
    )
    if r.get("linked_by"):
        line += tr(lang, N_(" (linked to the subject by {mark}, not by an identifier)"), mark=r["linked_by"])
    return line + (tr(lang, N_(" (disputed: an objection is open)")) if r["disputed"] else "")


def _source(lang: str, n: int, src: dict[str, Any]) -> list[str]:
    areas = ", ".join(tr(lang, AREAS.get(a, a)) for a in src["areas"])
    lines = [tr(lang, N_("[{n}] {name}; areas: {areas}"), n=n, name=_name(lang, src), areas=areas)]
    rep = src["reported"]
    if rep is None:
        lines.append(
            tr(lang, N_("This department has never reported to the platform: this report states nothing about it."))
        )
        return lines
    lines.append(
        tr(
            lang,
            N_("Reported to the platform from {first} (first batch) to {last} (last batch), {n} batches."),
            first=rep["from"],
            last=rep["to"],
            n=rep["batches"],
        )
    )
    recs = src["records"]
    if recs:
        lines.append(tr(lang, N_("{n} disclosable records decided in the period:"), n=len(recs)))
        lines += [_record_line(lang, r) for r in recs]
    elif src["covered"] is not None:
        lines.append(
            tr(
                lang,
                N_("No disclosable record decided from {first} to {last}."),
                first=src["covered"]["from"],
                last=src["covered"]["to"],
            )
        )
    for gap in src["gaps"]:
        lines.append(
            tr(
                lang,
                N_(
                    "The platform holds no data from this department for {first} to {last}: "
                    "this report states nothing about that time."
                ),
                first=gap["from"],
                last=gap["to"],
            )
        )
    return lines


def _lists(lang: str, p: dict[str, Any]) -> list[str]:
    lines = [tr(lang, N_("Lists"))]
    if not p["lists"]:
        return [*lines, tr(lang, N_("On no list."))]
    for e in p["lists"]:
        line = tr(
            lang,
            N_("- {name} ({kind}): {state}, from {first} until {last}; ground: {ground}; legal basis: {basis}"),
            name=_name(lang, e),
            kind=tr(lang, LIST_KINDS.get(e["kind"], e["kind"])),
            state=tr(lang, STATES.get(e["state"], e["state"])),
            first=e["listed_on"] or "-",
            last=e["ends_on"] or "-",
            ground=_name(lang, e, "ground"),
            basis=e["legal_basis"],
        )
        lines.append(line + (tr(lang, N_(" (disputed: an objection is open)")) if e["disputed"] else ""))
    return lines


def _supervision(lang: str, p: dict[str, Any]) -> list[str]:
    s = p["supervision"]
    if s is None:
        return []
    lines = [tr(lang, N_("Supervision class"))]
    if s["grade"] is None:
        return [*lines, tr(lang, N_("Not graded ({status})."), status=s["status"])]
    return [
        *lines,
        tr(
            lang,
            N_(
                "Class {grade} ({points} points, ruleset {ruleset}, as of {day}); it changes inspection frequency only."
            ),
            grade=s["grade"],
            points=s["points"],
            ruleset=s["ruleset"],
            day=s["as_of"],
        ),
    ]


def _disputes(lang: str, p: dict[str, Any]) -> list[str]:
    lines = [tr(lang, N_("Open objections"))]
    lines += [
        tr(
            lang,
            N_("- objection {id} to {target} {ref}, filed {filed}, to be decided by {due}"),
            id=o["id"],
            target=tr(lang, TARGETS.get(o["target"], o["target"])),
            ref=o["ref"],
            filed=o["filed_on"],
            due=o["due_on"],
        )
        for o in p["objections"]
    ] or [tr(lang, N_("None."))]
    lines.append(tr(lang, N_("Open credit repair requests")))
    lines += [
        tr(
            lang,
            N_("- repair request {id} for record {ref}, filed {filed}, to be decided by {due}"),
            id=r["id"],
            ref=r["ref"],
            filed=r["filed_on"],
            due=r["due_on"],
        )
        for r in p["repairs"]
    ] or [tr(lang, N_("None."))]
    return lines


HEADINGS = (
    N_("Source departments"),
    N_("Lists"),
    N_("Supervision class"),
    N_("Open objections"),
    N_("Open credit repair requests"),
    N_("Data version"),
)


def styled(lang: str, texts: list[str]) -> list[tuple[str, str]]:
    """The lines with how the PDF sets them: the title, section headings, department headings, body."""
    heads = {tr(lang, h) for h in HEADINGS}
    out = []
    for n, text in enumerate(texts):
        style = "title" if n == 0 else "head" if text in heads else "sub" if text.startswith("[") else "body"
        out.append((style, text))
    return out


def lines(p: dict[str, Any]) -> list[str]:
    """Every line of the report's text, in order, in the payload's language."""
    lang = p["lang"]
    out = _header(p, lang)
    out.append(tr(lang, N_("Source departments")))
    for n, src in enumerate(p["sources"], 1):
        out += _source(lang, n, src)
    out += _lists(lang, p)
    out += _supervision(lang, p)
    out += _disputes(lang, p)
    v = p["data_version"]
    out += [
        tr(lang, N_("Data version")),
        tr(
            lang,
            N_("Catalog {version}, as known at {known}, as of {day}."),
            version=v["catalog_version"][:16],
            known=v["known_at"],
            day=v["as_of"],
        ),
        tr(
            lang,
            N_("Records whose publication period has ended, revoked records and repaired records are not disclosed."),
        ),
        tr(
            lang,
            N_("Verify this report at {path} with its code, or offline with `xinyong report verify FILE`."),
            path=p["verify_path"],
        ),
    ]
    return out
