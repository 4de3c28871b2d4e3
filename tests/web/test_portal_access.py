"""Who may open which page: every page of the portal with every role, against the matrix.

The public is sent to sign in, a signed-in role without the right gets 403, and a source's or
a consumer's key cannot sign in at all. Every answer carries the security headers; the session
cookie is HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from xinyong.services.keys import Role
from xinyong.web import ROUTERS
from xinyong.web.authz import PAGES
from xinyong.web.security import CSP

from .conftest import Portal, World

ROLES = (Role.PUBLIC, Role.SUBJECT, Role.REVIEWER, Role.ADMIN)


def _path(route: APIRoute, world: World) -> str:
    return (
        route.path.replace("{subject_id}", str(world.listed_company))
        .replace("{entry_id}", str(world.proposal))
        .replace("{objection_id}", "1")
        .replace("{repair_id}", "1")
        .replace("{proposal_id}", "1")
        .replace("{judgement_id}", "1")
        .replace("{decision_id}", "1")
        .replace("{name}", "grades")
        .replace("{tag}", "en")
    )


def test_every_page_admits_exactly_the_roles_of_the_matrix(portal: Portal, world: World, visit: Any) -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert {r.name for r in routes} == set(PAGES), "every page is in the matrix, and the matrix names no other"
    # Sign-out last: it ends the session the other pages use.
    routes.sort(key=lambda r: r.name == "web_signout")
    for role in ROLES:
        visitor = visit()
        if role is not Role.PUBLIC:
            assert visitor.sign_in(world.keys[role.value]).status_code == 303
        for route in routes:
            path = _path(route, world)
            for method in route.methods:
                if method == "GET":
                    r = visitor.get(path, follow_redirects=False)
                else:
                    r = visitor.post(
                        path, {}, form_page="/signin" if role is Role.PUBLIC else "/", follow_redirects=False
                    )
                to_signin = r.status_code == 303 and r.headers["location"].startswith("/signin")
                passed = not to_signin and r.status_code != 403
                assert passed == (role in PAGES[route.name]), f"{method} {path} as {role.value}: {r.status_code}"
                if not passed:
                    assert to_signin if role is Role.PUBLIC else r.status_code == 403
                if r.headers.get("content-type", "").startswith("text/html"):
                    assert r.headers["content-security-policy"] == CSP
                    assert r.headers["x-frame-options"] == "DENY"


def test_machine_keys_cannot_sign_in_and_a_session_cookie_is_strict(world: World, visit: Any) -> None:
    for role in ("source", "consumer"):
        visitor = visit()
        r = visitor.sign_in(world.keys[role])
        assert r.status_code == 401 and "use the API" in r.text
        assert "xy_session" not in visitor.client.cookies
        assert visitor.get("/me", follow_redirects=False).headers["location"] == "/signin?next=/me"
    visitor = visit()
    r = visitor.sign_in(world.keys["subject"])
    cookie = r.headers["set-cookie"]
    assert "xy_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert r.headers["location"] == "/me"
    assert visitor.get("/measures").headers["cache-control"] == "no-store", "a signed-in copy is never shared"
    assert visit().get("/measures").headers["cache-control"] == "public, max-age=60"
    assert visitor.get("/me").headers["cache-control"] == "no-store"
    wrong = visit().sign_in("xy_0000000000000000_nope")
    assert wrong.status_code == 401 and "unknown, revoked or mistyped" in wrong.text


def test_api_errors_stay_problem_json_and_page_errors_are_pages(world: World, visit: Any) -> None:
    visitor = visit()
    api = visitor.get("/v1/public/subjects/999999")
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    page = visitor.get("/entities/999999")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<main" in page.text
    person_off_lists = visitor.get(f"/entities/{world.listed_person + 1000}")
    assert person_off_lists.status_code == 404
    bad = visitor.get("/entities/0")
    assert bad.status_code == 422 and "<main" in bad.text
