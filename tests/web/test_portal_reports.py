"""The report buttons of the portal: an organisation's public page links its signed public report,
and a signed-in subject downloads their own whole report from "My file", where they also see who
else received a report about them. Each download verifies with the platform's published key."""

from __future__ import annotations

import re
from typing import Any

from xinyong.domain.certificates import load_public
from xinyong.reports.verify import verify_report

from .conftest import Portal, World

LINK = re.compile(r'href="(/v1/public/subjects/\d+/report\?format=(\w+)&amp;lang=(\w+))"')


def _keys(visitor: Any) -> dict[str, Any]:
    return {k["key_id"]: load_public(k["public_key"]) for k in visitor.get("/v1/keys").json()}


def test_the_public_downloads_an_organisations_report_from_its_page(portal: Portal, world: World, visit: Any) -> None:
    public = visit("zh-CN")
    page = public.get(f"/entities/{world.listed_company}")
    assert page.status_code == 200
    links = {fmt: (href.replace("&amp;", "&"), lang) for href, fmt, lang in LINK.findall(page.text)}
    assert set(links) == {"pdf", "html", "json"} and {lang for _, lang in links.values()} == {"zh"}
    keys = _keys(public)
    for fmt, (href, _) in links.items():
        r = public.get(href)
        assert r.status_code == 200, (href, r.text[:200])
        verified = verify_report(r.content, keys)
        assert verified.kind == fmt and verified.payload["requested_by"]["requester"] == "public:anonymous"
    # A person on a public list has a public page but no public report: no button, and the route refuses.
    person = public.get(f"/entities/{world.listed_person}")
    assert person.status_code == 200 and not LINK.search(person.text)
    assert public.get(f"/v1/public/subjects/{world.listed_person}/report?format=json").status_code == 404

    # The company signs in: its own report is whole, and it sees that the public received three.
    company = visit("en")
    assert company.sign_in(world.keys["subject"]).status_code == 303
    mine = company.get("/me")
    assert 'href="/me/report?format=pdf"' in mine.text
    received = mine.text[mine.text.index('id="report"') :]
    assert received.count("<td>public:anonymous</td>") == 3, received
    for fmt, media in (("pdf", "application/pdf"), ("json", "application/json"), ("html", "text/html")):
        r = company.get(f"/me/report?format={fmt}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media)
        assert r.headers["content-disposition"].startswith("attachment;")
        payload = verify_report(r.content, keys).payload
        assert payload["requested_by"] == {"by_subject": True, "requester": ""}, "the subject's own, whole report"
    again = company.get("/me").text
    assert again[again.index('id="report"') :].count("<td>public:anonymous</td>") == 3, "own reports are not others'"


def test_the_report_button_refuses_a_bad_format_and_anyone_but_the_subject(
    portal: Portal, world: World, visit: Any
) -> None:
    company = visit("en")
    company.sign_in(world.keys["subject"])
    assert company.get("/me/report?format=exe").status_code == 422
    assert company.get("/me/report?format=" + "p" * 10_000).status_code in (414, 422, 431)
    reviewer = visit("en")
    reviewer.sign_in(world.keys["reviewer"])
    assert reviewer.get("/me/report").status_code == 403
    anonymous = visit("en")
    r = anonymous.get("/me/report", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
