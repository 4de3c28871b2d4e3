"""The HTTP service, served for real by uvicorn on a free port and called with httpx.

- Every route is walked with every role: exactly the roles of the authorisation matrix get past
  authentication and authorisation, everyone else gets 401 or 403 as problem+json.
- A consuming department's check, its certificate verified with the key from /v1/keys, and replay;
  the subject sees the check in their file, objects, and a reviewer decides; the public sees the
  company but not a resident who is on no public list; sources submit batches with rejects.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.routing import APIRoute
from sqlalchemy import Engine, event, func, select

from builders import make_ric, make_uscc
from conftest import TEST_KEY_HEX
from process_story import T0, Story, hold, org_row, person_row, release
from xinyong.api.app import ROUTERS, create_app
from xinyong.api.authz import MATRIX
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import load_public, verify
from xinyong.domain.errors import Conflict
from xinyong.domain.identifiers import IdentifierVault
from xinyong.services import lists as lists_service
from xinyong.services.keys import KeyCache, Principal, Role, authenticate, create_key, revoke_key
from xinyong.settings import Settings
from xinyong.store.tables import audit_events, checks, objection_decisions, objections


class Served:
    def __init__(self, url: str, engine: Engine, catalog: Catalog, app: Any) -> None:
        self.url, self.engine, self.catalog, self.app = url, engine, catalog, app
        self.keys: dict[str, str] = {}

    def key(self, role: str, name: str, **kw: Any) -> str:
        """A key of `role`; a consumer's is bound to the tender and subsidy contexts unless told."""
        if role == "consumer":
            kw.setdefault("scopes", {"contexts": ["procurement.tender", "finance.subsidy"]})
        return str(create_key(self.engine, self.catalog, role=role, name=name, **kw)["key"])

    def call(
        self, method: str, path: str, key: str | None = None, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        headers = {**(headers or {}), **({"Authorization": f"Bearer {key}"} if key else {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)


@pytest.fixture
def served(db_url: str, engine: Engine, catalog: Catalog, tmp_path: Path) -> Iterator[Served]:
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        identifier_key=TEST_KEY_HEX,
        signing_key_file=tmp_path / "signing.key",
        public_rate_per_minute=1000,
        max_body_bytes=100_000,
        max_batch_records=50,
    )
    settings.create_signing_key_file()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # startup, not the clock under test: nothing here depends on time passing
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield Served(f"http://127.0.0.1:{port}", engine, catalog, app)
    server.should_exit = True
    thread.join(timeout=10)


def test_every_route_admits_exactly_the_roles_of_the_matrix(served: Served) -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert {r.name for r in routes} == set(MATRIX), "every route is in the matrix, and the matrix names no other"
    story_subject = served.key
    keys: dict[Role, str | None] = {Role.PUBLIC: None}
    for role in (Role.SOURCE, Role.CONSUMER, Role.REVIEWER, Role.ADMIN):
        keys[role] = story_subject(role.value, "court" if role is Role.SOURCE else f"{role.value}-1")
    with served.engine.begin() as conn:
        from xinyong.store.tables import subjects

        conn.execute(subjects.insert().values(id=1, kind="person", display_name="张三", created_at=T0))
    keys[Role.SUBJECT] = served.key("subject", "resident-1", subject_id=1)
    for route in routes:
        path = route.path.replace("{check_id}", "0" * 32).replace("{entry_id}", "1").replace("{objection_id}", "1")
        path = path.replace("{repair_id}", "1").replace("{batch_id}", "1").replace("{subject_id}", "1")
        path = path.replace("{proposal_id}", "1").replace("{judgement_id}", "1")
        for method in route.methods:
            for role, key in keys.items():
                r = served.call(method, path, key, json={}, params={"q": "zz"})
                passed = r.status_code not in (401, 403)
                assert passed == (role in MATRIX[route.name]), (
                    f"{method} {path} as {role.value}: {r.status_code} {r.text}"
                )
                if not passed:
                    assert r.headers["content-type"] == "application/problem+json"
    bad = served.call("GET", "/v1/me", "xy_0000000000000000_nope")
    assert bad.status_code == 401 and "unknown, revoked or malformed" in bad.json()["detail"]


def test_a_key_is_read_in_one_statement_and_on_postgresql_outside_a_transaction(
    engine: Engine, catalog: Catalog
) -> None:
    """Every request authenticates: on PostgreSQL its one read needs no BEGIN and ROLLBACK round trips."""
    issued = create_key(engine, catalog, role="reviewer", name="desk 4")
    states: list[Any] = []

    def after(conn: Any, *_: Any) -> None:
        driver = conn.connection.driver_connection
        states.append(driver.info.transaction_status.name if engine.dialect.name == "postgresql" else None)

    event.listen(engine, "after_cursor_execute", after)
    try:
        who = authenticate(engine, issued["key"])
        nobody = authenticate(engine, issued["key"][:-1] + ("x" if issued["key"][-1] != "x" else "y"))
    finally:
        event.remove(engine, "after_cursor_execute", after)
    assert who is not None and who.role is Role.REVIEWER and who.name == "desk 4"
    assert nobody is None  # a wrong secret for a real key id
    assert len(states) == 2
    if engine.dialect.name == "postgresql":
        assert states == ["IDLE", "IDLE"]  # in a transaction it would be INTRANS


def test_a_revoked_key_is_refused_at_once_though_the_server_kept_it(served: Served) -> None:
    """The check route takes a key it has seen from the server's cache, without a read of its own;
    the check's read confirms the key, so a revocation committed elsewhere (as by `xinyong keys
    revoke`) binds at once, and the refused request leaves nothing behind."""
    issued = create_key(
        served.engine, served.catalog, role="consumer", name="tax-bureau", scopes={"contexts": ["procurement.tender"]}
    )
    ask = {"subject": make_uscc(7), "context": "procurement.tender", "purpose": "bidder_screening"}
    kept = served.app.state.ctx.keys
    first = served.call("POST", "/v1/checks", issued["key"], json=ask)
    assert first.status_code == 200, first.text
    assert kept.find(issued["key"]) is not None  # the next check needs no read of the key
    wrong = issued["key"][:-1] + ("x" if issued["key"][-1] != "x" else "y")
    assert served.call("POST", "/v1/checks", wrong, json=ask).status_code == 401  # the cache wants the secret
    assert served.call("POST", "/v1/checks", issued["key"], json=ask).status_code == 200

    def stored() -> tuple[int, int]:
        with served.engine.connect() as conn:
            return (
                conn.execute(select(func.count()).select_from(checks)).scalar_one(),
                conn.execute(select(func.count()).select_from(audit_events)).scalar_one(),
            )

    revoked = revoke_key(served.engine, issued["id"])
    assert revoked["revoked_at"] is not None and revoked["role"] == "consumer"
    before = stored()  # the revocation's own audit event included
    refused = served.call("POST", "/v1/checks", issued["key"], json=ask)
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "revoked" in refused.json()["detail"]
    assert stored() == before  # no check, no audit event
    assert kept.find(issued["key"]) is None  # forgotten: the next request reads the key, and is refused
    again = served.call("POST", "/v1/checks", issued["key"], json=ask)
    assert again.status_code == 401 and "revoked" in again.json()["detail"]
    assert served.call("GET", "/v1/me", issued["key"]).status_code == 401  # every route refuses it
    with pytest.raises(Conflict, match="revoked already"):
        revoke_key(served.engine, issued["id"])


def test_the_key_cache_is_bounded_and_wants_the_secret() -> None:
    cache = KeyCache(size=2)
    who = [
        Principal(Role.CONSUMER, f"c{i}", f"{i:016x}", secret_hash=hashlib.sha256(b"s").hexdigest()) for i in range(3)
    ]
    for p in who:
        cache.keep(p)
    assert len(cache) == 2
    assert cache.find(f"xy_{0:016x}_s") is None  # the longest kept went first
    assert cache.find(f"xy_{2:016x}_s") == who[2]
    assert cache.find(f"xy_{2:016x}_t") is None  # a wrong secret
    assert cache.find("xy_short_s") is None and cache.find("nonsense") is None
    cache.keep(Principal(Role.PUBLIC, "anonymous"))  # nothing to confirm it by: not kept
    assert len(cache) == 2
    cache.forget(f"{2:016x}")
    assert cache.find(f"xy_{2:016x}_s") is None


def test_check_certificate_replay_subject_file_objection_and_public_view(
    served: Served, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    story = Story(served.engine, catalog, vault, tmp_path)
    # The service answers as of now (real time): the story happened in the months before.
    start = datetime.now(UTC) - timedelta(days=100)
    day = (start - timedelta(days=20)).date().isoformat()
    dates = {"decided_on": day, "valid_from": day}
    story.ingest([org_row("H-1", 61, **dates), person_row("H-2", 62, **dates)], start)
    story.maintain(start)
    for ref in ("H-1", "H-2"):
        eid = story.entry(ref)
        assert eid is not None
        lists_service.decide(
            served.engine, catalog, eid, approve_it=True, actor="reviewer:li", reason="unpaid", now=hold(start)
        )
    story.maintain(start + timedelta(days=31))  # published, and in force today
    release()

    consumer = served.key("consumer", "finance-bureau", scopes={"contexts": ["procurement.tender"]})
    r = served.call(
        "POST",
        "/v1/checks",
        consumer,
        json={
            "subject": make_uscc(61),
            "context": "procurement.tender",
            "purpose": "bidder_screening",
            "reference": "tender 2026-88",
        },
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["decision"]["outcome"] == "deny"
    outside = served.call(
        "POST",
        "/v1/checks",
        consumer,
        json={"subject": make_uscc(61), "context": "finance.subsidy", "purpose": "subsidy_application"},
    )
    assert outside.status_code == 403 and "procurement.tender" in outside.json()["detail"]

    cert = served.call("GET", result["certificate_url"], consumer)
    [k] = served.call("GET", "/v1/keys").json()
    signed = verify(cert.content, {k["key_id"]: load_public(k["public_key"])}).payload
    assert signed == {key: v for key, v in result.items() if key != "certificate_url"}  # the answer is what was signed
    assert result["certificate_url"] == f"/v1/checks/{result['check_id']}/certificate"
    assert served.call("GET", f"/v1/checks/{result['check_id']}/replay", consumer).json()["same"] is True

    sid = story.subject_of("H-1")
    token = served.key("subject", "company-61", subject_id=sid)
    mine = served.call("GET", "/v1/me", token).json()
    assert [(c["consumer"], c["purpose"]) for c in mine["checks"]] == [("consumer:finance-bureau", "bidder_screening")]
    assert mine["list_entries"][0]["state"] == "listed" and mine["records"][0]["source_ref"] == "H-1"
    objection = served.call(
        "POST",
        "/v1/me/objections",
        token,
        json={"target": "record:court/H-1", "grounds": "the judgment was paid in full"},
    )
    assert objection.status_code == 201, objection.text
    assert objection.json()["forwarded_to"] == "court", "the court's record behind its listing is the court's"
    reviewer = served.key("reviewer", "wang")
    [open_] = served.call("GET", "/v1/objections?state=open", reviewer).json()["items"]
    assert open_["state"] == "forwarded to court"
    refused = served.call(
        "POST",
        f"/v1/objections/{open_['id']}/decision",
        reviewer,
        json={"decision": "uphold", "reason": "court confirmed payment", "set": {"performance": "performed"}},
    )
    assert refused.status_code == 409 and refused.json()["title"] == "Owned by another authority", refused.text
    court = served.key("source", "court")
    fixed = served.call(
        "POST",
        "/v1/records",
        court,
        json={"records": [org_row("H-1", 61, revision=2, performance="performed", **dates)]},
    )
    assert fixed.status_code == 201 and fixed.json()["new_versions"] == 1, fixed.text
    again = served.call(
        "POST",
        "/v1/checks",
        consumer,
        json={"subject": make_uscc(61), "context": "procurement.tender", "purpose": "bidder_screening"},
    )
    assert again.json()["decision"]["outcome"] == "allow", "the court's correction ends its listing at once"

    found = served.call("GET", "/v1/public/subjects", params={"q": make_uscc(61)}).json()["items"]
    assert [f["id"] for f in found] == [sid]
    person = story.subject_of("H-2")
    shown = served.call("GET", f"/v1/public/subjects/{person}").json()
    assert shown["name"] == "张*" and make_ric(62) not in str(shown) and shown["list_entries"]
    stranger = served.call("GET", f"/v1/public/subjects/{person + 1000}")
    assert stranger.status_code == 404 and stranger.headers["content-type"] == "application/problem+json"


def test_sources_submit_batches_with_rejects_scopes_and_bounds(served: Served, catalog: Catalog) -> None:
    court = served.key("source", "court")
    past = {"decided_on": "2026-01-10", "valid_from": "2026-01-15"}
    good = person_row("S-1", 71, **past)
    bad = {**person_row("S-2", 72, **past), "decided_on": "yesterday"}
    r = served.call("POST", "/v1/records", court, json={"records": [good, bad]})
    assert r.status_code == 201, r.text
    batch = r.json()
    assert (batch["accepted"], batch["rejected"]) == (1, 1)
    [reject] = served.call("GET", f"/v1/batches/{batch['batch_id']}/rejects", court).json()["items"]
    assert reject["line"] == 2 and reject["field"] == "decided_on"
    again = served.call("POST", "/v1/records", court, json={"records": [good]}).json()
    assert again["unchanged"] == 1 and again["rejected"] == 0
    tax = served.key("source", "tax")
    assert served.call("GET", f"/v1/batches/{batch['batch_id']}/rejects", tax).status_code == 404
    foreign = served.call("POST", "/v1/records", tax, json={"records": [good]})
    assert foreign.status_code == 403 and "tax may submit only" in foreign.json()["detail"]
    big = served.call("POST", "/v1/records", court, json={"records": [good] * 51})
    assert big.status_code == 413 and "at most 50" in big.json()["detail"]
    huge = served.call("POST", "/v1/records", court, json={"records": [{**good, "case_no": "x" * 150_000}]})
    assert huge.status_code == 413 and "at most 100000 bytes" in huge.json()["detail"]
    # Sent in chunks with no declared length: refused once the bytes received pass the bound.
    chunks = (b'{"records": [' + b'"' + b"x" * 40_000 + b'",' for _ in range(3))
    chunked = served.call("POST", "/v1/records", court, content=chunks, headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413 and "at most 100000 bytes" in chunked.json()["detail"]
    assert chunked.headers["content-type"] == "application/problem+json"
    assert chunked.json()["title"] == huge.json()["title"] == "Too large", "one refusal, one title"
    empty = served.call("POST", "/v1/records", court, json={"records": []})
    assert empty.status_code == 422 and empty.headers["content-type"] == "application/problem+json"


def test_a_write_is_stored_with_its_audit_event_or_not_at_all(
    served: Served, catalog: Catalog, vault: IdentifierVault, tmp_path: Path
) -> None:
    """The event of a write is appended in the write's own transaction: when the audit chain
    cannot take it, the write is not stored either, and the caller is told so (503)."""
    story = Story(served.engine, catalog, vault, tmp_path)
    start = datetime.now(UTC) - timedelta(days=100)
    day = (start - timedelta(days=20)).date().isoformat()
    story.ingest([org_row("A-1", 71, decided_on=day, valid_from=day)], start)
    release()
    subject = served.key("subject", "company-71", subject_id=story.subject_of("A-1"))
    reviewer = served.key("reviewer", "zhao")
    body = {"target": "record:court/A-1", "grounds": "the judgment was paid in full"}

    def events(action: str) -> list[str]:
        with served.engine.connect() as conn:
            return list(conn.scalars(select(audit_events.c.target).where(audit_events.c.action == action)))

    def chain_away(away: bool) -> None:
        names = ("audit_events", "audit_events_away")
        with served.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE {} RENAME TO {}".format(*(names if away else names[::-1])))

    chain_away(True)
    try:
        refused = served.call("POST", "/v1/me/objections", subject, json=body)
        assert refused.status_code == 503, refused.text
        assert "could not be appended (nothing was stored)" in refused.json()["detail"]
        with served.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(objections)) == 0
    finally:
        chain_away(False)
    filed = served.call("POST", "/v1/me/objections", subject, json=body)
    assert filed.status_code == 201, filed.text
    oid = filed.json()["id"]
    assert events("file_objection") == [f"objection:{oid}"]

    decision = {"decision": "dismiss", "reason": "no proof of payment was given"}
    chain_away(True)
    try:
        refused = served.call("POST", f"/v1/objections/{oid}/decision", reviewer, json=decision)
        assert refused.status_code == 503, refused.text
        with served.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(objection_decisions)) == 0
    finally:
        chain_away(False)
    decided = served.call("POST", f"/v1/objections/{oid}/decision", reviewer, json=decision)
    assert decided.status_code == 200, decided.text
    assert events("objection_dismiss") == [f"objection:{oid}"]
