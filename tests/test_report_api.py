"""Reports and open data through the real entrypoints: the HTTP service and the command line.

- Anyone gets an organisation's public report (JSON, PDF, HTML), which verifies with the key
  from /v1/keys; a person's report is refused to the public and given to that person's token.
- The verification route answers for an issued code (masked subject, hashes) and 404 otherwise.
- The latest publication's files are served byte for byte; a file changed at the server is
  refused, never served.
- `xinyong report` writes a report that `xinyong report verify` accepts, and refuses a changed
  one with exit 1; a person's report needs --for-subject; `xinyong publish` twice: no changes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from builders import make_ric, make_uscc, ok, xy
from report_world import World
from test_api import Served, served  # noqa: F401 - `served` serves the app over the test store
from xinyong.domain.catalog import Catalog
from xinyong.domain.certificates import load_public
from xinyong.domain.identifiers import IdentifierVault
from xinyong.reports.verify import verify_report


def test_reports_and_open_data_over_http(
    served: Served,  # noqa: F811
    catalog: Catalog,
    vault: IdentifierVault,
    tmp_path: Path,
) -> None:
    world = World(served.engine, catalog, vault, tmp_path / "world")
    [k] = served.call("GET", "/v1/keys").json()
    keys = {k["key_id"]: load_public(k["public_key"])}
    path = f"/v1/public/subjects/{world.company}/report"
    for fmt, media in (("json", "application/json"), ("pdf", "application/pdf"), ("html", "text/html")):
        r = served.call("GET", path, params={"format": fmt, "lang": "en", "purpose": "procurement.tender"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(media)
        verified = verify_report(r.content, keys)
        assert verified.kind == fmt and verified.payload["purpose"]["code"] == "procurement.tender"
        assert verified.payload["requested_by"]["requester"] == "public:anonymous"
        code = verified.payload["code"]
        answer = served.call("GET", f"/v1/reports/{code}/verify").json()
        assert answer["issued"] is True and answer["subject"].startswith("杭州某某有限公司")
        if fmt == "json":
            assert answer["json_sha256"] == hashlib.sha256(r.content).hexdigest()
        if fmt == "pdf":
            assert answer["pdf_sha256"] == hashlib.sha256(r.content).hexdigest()
    signer = served.call("GET", "/v1/reports/signer").json()
    assert signer["spki_sha256"] == verified.payload["pdf_signer"]["spki_sha256"]
    assert signer["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")

    refused = served.call("GET", f"/v1/public/subjects/{world.person}/report", params={"format": "json"})
    assert refused.status_code == 404 and refused.headers["content-type"] == "application/problem+json"
    protected = served.call("GET", path, params={"format": "json", "purpose": "healthcare.services"})
    assert protected.status_code == 422 and "protected sector" in protected.json()["detail"]
    backwards = served.call("GET", path, params={"format": "json", "from": "2026-02-01", "to": "2026-01-01"})
    assert backwards.status_code == 422 and "after to" in backwards.json()["detail"]
    assert served.call("GET", "/v1/reports/AAAA-BBBB-CCCC-DDDD/verify").status_code == 404
    assert served.call("GET", "/v1/reports/..%2F..%2Fetc/verify").status_code in (404, 422)

    token = served.key("subject", "resident-62", subject_id=world.person)
    mine = served.call("GET", "/v1/me/report", token, params={"format": "json"})
    assert mine.status_code == 200, mine.text
    payload = verify_report(mine.content, keys).payload
    assert payload["subject"]["id"] == world.person and payload["requested_by"]["by_subject"] is True
    assert make_ric(62) not in mine.text
    company_token = served.key("subject", "company-61", subject_id=world.company)
    received = served.call("GET", "/v1/me", company_token).json()["reports_received_by_others"]
    assert len(received) == 3 and {r["requester"] for r in received} == {"public:anonymous"}
    assert served.call("GET", "/v1/me/report", served.key("consumer", "bank")).status_code == 403

    assert served.call("GET", "/v1/public/data/records.csv").status_code == 404  # nothing published yet
    from xinyong.reports.publish import publish

    out = tmp_path / "open"
    publish(served.engine, catalog, served.app.state.ctx.signing_key, out, actor="cli:test")
    for name in ("records.csv", "lists.jsonl", "entities.ftm.json", "manifest.json", "manifest.sig", "changes.jsonl"):
        r = served.call("GET", f"/v1/public/data/{name}")
        assert r.status_code == 200 and r.content == (out / name).read_bytes(), name
    assert served.call("GET", "/v1/public/data/..%2Fsigning.key").status_code == 404
    assert served.call("GET", "/v1/public/data/xinyong.db").status_code == 404
    (out / "records.csv").write_text("id\nforged\n", encoding="utf-8")
    tampered = served.call("GET", "/v1/public/data/records.csv")
    assert tampered.status_code == 500 and "changed" in tampered.json()["detail"] and b"forged" not in tampered.content


def test_report_and_publish_commands(
    engine: object, catalog: Catalog, vault: IdentifierVault, db_env: dict[str, str], tmp_path: Path
) -> None:
    world = World(engine, catalog, vault, tmp_path / "world")  # type: ignore[arg-type]
    ok(xy(db_env, "init", cwd=tmp_path))
    pdf = tmp_path / "r.pdf"
    made = ok(
        xy(
            db_env,
            "report",
            make_uscc(61),
            "--lang",
            "en",
            "--purpose",
            "finance.subsidy",
            "-o",
            str(pdf),
            cwd=tmp_path,
        )
    )
    assert "written to" in made.stdout
    checked = ok(xy(db_env, "report", "verify", str(pdf), cwd=tmp_path))
    assert checked.stdout.startswith("valid pdf report")
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x20
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(data))
    refused = xy(db_env, "report", "verify", str(bad), cwd=tmp_path)
    assert refused.returncode == 1 and "error" in refused.stderr
    person = xy(db_env, "report", f"id:{world.person}", "--format", "json", cwd=tmp_path)
    assert person.returncode == 1 and "--for-subject" in person.stderr
    own = ok(xy(db_env, "report", f"id:{world.person}", "--for-subject", "--format", "json", cwd=tmp_path))
    assert json.loads(own.stdout)["payload"]["requested_by"]["by_subject"] is True
    assert xy(db_env, "report", "verify", cwd=tmp_path).returncode == 1
    assert xy(db_env, "report", make_uscc(61), "--from", "yesterday", cwd=tmp_path).returncode == 1

    first = json.loads(ok(xy(db_env, "publish", str(tmp_path / "open"), "--json", cwd=tmp_path)).stdout)
    again = json.loads(ok(xy(db_env, "publish", str(tmp_path / "open"), "--json", cwd=tmp_path)).stdout)
    assert first["records"] > 0 and again["since"] == first["publication"]
    assert again["changes"] == {"added": 0, "changed": 0, "removed": 0}
    assert (tmp_path / "open" / "changes.jsonl").read_bytes() == b""
    assert "valid publication" in ok(xy(db_env, "publish", "verify", str(tmp_path / "open"), cwd=tmp_path)).stdout
    (tmp_path / "open" / "records.jsonl").write_text("{}\n", encoding="utf-8")
    altered = xy(db_env, "publish", "verify", str(tmp_path / "open"), cwd=tmp_path)
    assert altered.returncode == 1 and "records.jsonl" in altered.stderr
    missing = xy(db_env, "publish", str(tmp_path / "x"), "--since", "99", cwd=tmp_path)
    assert missing.returncode == 1 and "no such publication" in missing.stderr
