"""Schemathesis against the app's own OpenAPI schema, on a real server over the real store.

Every operation gets generated requests with a key of a role the matrix allows on it: no answer
may be a 5xx, and every answer must conform to the schema (status code, content type, body).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from test_api import Served, served  # noqa: F401 - `served` is the fixture that serves the app
from xinyong.api.app import ROUTERS
from xinyong.api.authz import MATRIX
from xinyong.services.keys import Role

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def keys_for(served: Served) -> dict[str, str]:  # noqa: F811 - `served` is the imported fixture
    with served.engine.begin() as conn:
        from process_story import T0
        from xinyong.store.tables import subjects

        conn.execute(subjects.insert().values(id=1, kind="person", display_name="张三", created_at=T0))
    keys = {
        r.value: served.key(r.value, "court" if r is Role.SOURCE else f"{r.value}-1")
        for r in (Role.SOURCE, Role.CONSUMER, Role.REVIEWER, Role.ADMIN)
    }
    keys["subject"] = served.key("subject", "resident-1", subject_id=1)
    return keys


def test_no_server_error_and_every_answer_conforms(served: Served) -> None:  # noqa: F811
    keys = keys_for(served)
    names = {
        (m, r.path): r.name for router in ROUTERS for r in router.routes if isinstance(r, APIRoute) for m in r.methods
    }
    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(MATRIX)
    for operation in operations:
        name = names[(operation.method.upper(), operation.path)]
        role = next((r for r in sorted(MATRIX[name], key=lambda r: r.value) if r.value in keys), None)
        headers = {"Authorization": f"Bearer {keys[role.value]}"} if role else {}

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def conforms(case: Any) -> None:
            case.call_and_validate(headers=conforms.headers, checks=CHECKS)  # type: ignore[attr-defined]

        conforms.headers = headers  # type: ignore[attr-defined]
        conforms()
