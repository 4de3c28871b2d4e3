"""The whole demo story, and no identifier, name or token of the demo city in any log.

A small demo city is generated, ingested, scored and maintained by the real command line with
`--verbose`; its demo keys are issued; a real server (JSON logs at debug level) is asked
everything its audiences ask: the public searches by resident number, company code and name, a
consumer checks a resident, fetches the certificate and replays it, a resident reads their file
and objects, a reviewer decides, an admin runs maintenance and verifies the chain, a source
submits records; notices are delivered through the logging channel. Then every log line of
every command and of the server is searched for every resident number, company code, name and
key of the city (in the text as written, and in the JSON lines decoded).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from builders import department_rows, ok, stored, xy
from servers import Serving, env_for


def _city_secrets(city: Path) -> set[str]:
    """Every identifier and name of the city: its population, and what the departments wrote."""
    found: set[str] = set()
    with (city / "ground_truth" / "population.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            found |= {row["name"], row["identifier"]}
    for path in (city / "departments").iterdir():
        for _line, row in department_rows(path):
            found |= {str(row.get(k) or "") for k in ("id_number", "subject_name")}
    return {s for s in found if len(s) >= 2}


def _decoded(text: str) -> str:
    """The log as written, and each JSON line again with its non-ASCII characters as themselves."""
    lines = [text]
    for raw in text.splitlines():
        if raw.startswith("{"):
            lines.append(json.dumps(json.loads(raw), ensure_ascii=False))
    return "\n".join(lines)


@pytest.mark.slow
def test_the_demo_story_leaves_no_identifier_name_or_token_in_any_log(db_env: dict[str, str], tmp_path: Path) -> None:
    env = env_for(db_env, log_level="debug")
    logs: list[str] = []

    def run(*args: str) -> str:
        done = ok(xy(env, "--verbose", *args, cwd=tmp_path))
        logs.append(done.stderr)
        return done.stdout

    city = tmp_path / "city"
    run("demo", "generate", "--persons", "300", "--orgs", "100", "--seed", "20261129", "--out", str(city))
    logs.append(stored(xy(env, "--verbose", "ingest", "--no-rescore", str(city / "departments"), cwd=tmp_path)).stderr)
    run("rescore", "--all")
    run("maintain")
    run("status")
    run("demo", "keys", "--output", str(tmp_path / "keys.json"))
    keys = {k["role"]: k for k in json.loads((tmp_path / "keys.json").read_text())}
    secrets = _city_secrets(city)
    with (city / "ground_truth" / "population.csv").open(encoding="utf-8") as f:
        people = list(csv.DictReader(f))
    resident = next(p for p in people if p["kind"] == "person")
    company = next(p for p in people if p["kind"] == "organisation")

    with Serving(env, tmp_path, name="demo") as server:

        def call(method: str, path: str, role: str | None = None, **kw: Any) -> Any:
            answer = server.call(method, path, keys[role]["key"] if role else None, **kw)
            assert answer.status_code < 500, f"{method} {path}: {answer.status_code} {answer.text}"
            return answer

        for q in (resident["identifier"], company["identifier"], company["name"], resident["name"]):
            call("GET", "/v1/public/subjects", params={"q": q})
        check = call("POST", "/v1/checks", "consumer", json={
            "subject": resident["identifier"], "context": "procurement.tender", "purpose": "bidder_screening"}).json()  # fmt: skip
        call("GET", f"/v1/checks/{check['check_id']}/certificate", "consumer")
        call("GET", f"/v1/checks/{check['check_id']}/replay", "consumer")
        mine = call("GET", "/v1/me", "subject").json()
        records = mine.get("records") or []
        if records:
            ref = f"record:{records[0]['source']}/{records[0]['source_ref']}"
            call(
                "POST",
                "/v1/me/objections",
                "subject",
                json={"target": ref, "grounds": "this was paid in full last year"},
            )
        entries = call("GET", "/v1/lists/entries", "reviewer").json()["items"]
        proposed = [e for e in entries if e["state"] == "proposed"]
        if proposed:
            call("POST", f"/v1/lists/entries/{proposed[0]['id']}/decision", "reviewer",
                 json={"decision": "approve", "reason": "the court's decision stands"})  # fmt: skip
        call("POST", "/v1/maintenance", "admin")
        call("GET", "/v1/audit/verify", "admin")
        row = {"source_ref": "LOG-1", "record_type": "court.defaulter", "subject_name": resident["name"],
               "id_scheme": "cn.ric", "id_number": resident["identifier"], "decided_on": "2026-01-10",
               "valid_from": "2026-01-15", "document_no": "(2026)浙01执1号", "case_no": "(2026)浙01执1号",
               "amount_cny": "1000.00", "circumstance": "has_ability_refuses", "performance": "none"}  # fmt: skip
        call(
            "POST",
            "/v1/records",
            "source",
            json={"records": [row, {**row, "source_ref": "LOG-2", "decided_on": "bad"}]},
        )
        call("GET", "/v1/me", params={"q": resident["identifier"]}, headers={"authorization": "Bearer xy_nope_nope"})
        run("notices", "deliver")
        run("audit", "verify")
    logs.append(server.text())

    everything = _decoded("\n".join(logs))
    assert "xinyong.access" in everything and "xinyong.notices" in everything, "the story was logged"
    tokens = {k["key"] for k in keys.values()} | {k["key"].split("_", 2)[2] for k in keys.values()}
    leaked = sorted(s for s in secrets | tokens if s in everything)
    assert leaked == [], f"{len(leaked)} identifiers, names or tokens in the logs, e.g. {leaked[:5]}"
