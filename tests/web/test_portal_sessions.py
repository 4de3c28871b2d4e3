"""Sessions and forms under attack: forged, replayed, cross-site and revoked.

A form without the session's CSRF token, with another session's, or posted from another
origin is refused and stores nothing; a tampered cookie is nobody; sign-out and the revocation
of the key end the session at once; the store keeps only a hash of the session id; and no
redirect leaves the portal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from process_story import hold, release
from xinyong.services.keys import revoke_key
from xinyong.services.web_sessions import find_session, open_session
from xinyong.store.tables import objections, web_sessions
from xinyong.web.security import safe_next

from .conftest import Portal, World

GROUNDS = {"target": "record:court/H-1", "grounds": "the judgment was paid in full last year"}


def _objections(portal: Portal) -> int:
    with portal.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(objections)) or 0)


def test_forms_without_the_sessions_token_or_from_another_site_are_refused(
    portal: Portal, world: World, visit: Any
) -> None:
    resident = visit()
    resident.sign_in(world.keys["subject"])
    other = visit()
    other.sign_in(world.keys["subject"])  # the same company, another session: another secret
    form = "/me/objections/new?target=record:court/H-1"
    no_token = resident.client.post("/me/objections", data=GROUNDS)
    assert no_token.status_code == 403 and "reload the page" in no_token.text
    foreign = resident.client.post("/me/objections", data={**GROUNDS, "csrf": other.csrf(form)})
    assert foreign.status_code == 403
    cross_site = resident.client.post(
        "/me/objections", data={**GROUNDS, "csrf": resident.csrf(form)}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403 and "another site" in cross_site.text
    assert _objections(portal) == 0, "a refused form stores nothing"
    filed = resident.post("/me/objections", GROUNDS, form_page=form, follow_redirects=False)
    assert filed.status_code == 303 and filed.headers["location"].startswith("/me?filed=objection:")
    assert _objections(portal) == 1


def test_signing_in_needs_the_pages_own_token(world: World, visit: Any) -> None:
    v = visit()
    r = v.client.post("/signin", data={"token": world.keys["subject"], "csrf": "0" * 64})
    assert r.status_code == 403 and "xy_session" not in v.client.cookies


def test_a_tampered_cookie_is_nobody_and_a_replayed_one_after_sign_out_is_refused(world: World, visit: Any) -> None:
    v = visit()
    v.sign_in(world.keys["subject"])
    cookie = v.client.cookies["xy_session"]
    assert v.get("/me").status_code == 200
    sid, _, sig = cookie.rpartition(".")
    for forged in (f"{sid}x.{sig}", f"{sid}.{sig[:-2]}AA", "nonsense", "a" * 5000):
        thief = visit()
        thief.client.cookies.set("xy_session", forged)
        r = thief.get("/me", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=/me", forged[:20]
    out = v.post("/signout", {}, form_page="/me", follow_redirects=False)
    assert out.status_code == 303
    replay = visit()
    replay.client.cookies.set("xy_session", cookie)
    assert replay.get("/me", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions_at_once(portal: Portal, world: World, visit: Any) -> None:
    v = visit()
    v.sign_in(world.keys["reviewer"])
    assert v.get("/review").status_code == 200
    revoke_key(portal.engine, world.keys["reviewer"].split("_")[1])
    r = v.get("/review", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=/review"


def test_the_store_keeps_a_hash_of_the_session_id_and_sessions_expire(portal: Portal, world: World) -> None:
    then = hold(datetime.now(UTC) - timedelta(hours=3))  # sessions live by the platform's clock alone
    session_id, session = open_session(portal.engine, world.keys["admin"], hours=1)
    with portal.engine.connect() as conn:
        stored = list(conn.execute(select(web_sessions)))
    assert stored and all(session_id not in str(tuple(row)) for row in stored)
    hold(then + timedelta(minutes=59))
    assert find_session(portal.engine, session_id) is not None
    hold(then + timedelta(hours=1))
    assert find_session(portal.engine, session_id) is None
    release()
    assert find_session(portal.engine, session_id) is None
    assert session.principal.role.value == "admin"


def test_no_redirect_leaves_the_portal(world: World, visit: Any) -> None:
    for hostile in (
        "//evil.example/x",
        "https://evil.example",
        "/\\evil.example",
        "/ok\r\nSet-Cookie: x=1",
        "javascript:alert(1)",
    ):
        assert safe_next(hostile) == "/"
    assert safe_next("/me?filed=1") == "/me?filed=1"
    v = visit()
    r = v.get("/language/zh-CN", params={"next": "//evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    r = v.post("/signin", {"token": world.keys["subject"], "back": "https://evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    r = v.get("/language/xx", params={"next": "/measures"}, follow_redirects=False)
    assert r.headers["location"] == "/measures" and "xy_lang" not in r.headers.get("set-cookie", "")
