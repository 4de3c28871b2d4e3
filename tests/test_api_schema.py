"""Schemathesis against the app's own OpenAPI schema, on a real server over the real store.

Every operation gets generated requests, valid and invalid, with a key of a role the matrix
allows on it, and every check schemathesis has runs on every answer: no 5xx; status code, content
type, headers and body as documented; invalid data refused and valid data accepted; an operation
that needs a key refuses a request without one.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from test_api import Served, served  # noqa: F401 - `served` is the fixture that serves the app
from xinyong.api.app import ROUTERS
from xinyong.api.authz import MATRIX
from xinyong.services.keys import Role

ACCEPTED = {*range(200, 400), 401, 403, 404, 409, 429}


@schemathesis.check
def schema_valid_is_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
    """Schemathesis's `positive_data_acceptance`, and one thing more exact: a request valid for the
    schema may still be refused by a rule JSON Schema cannot state (an identifier's check digit, a
    target that names no record), as 422 "Invalid input" from the domain; but never as 422 "Invalid
    request", the answer of the app's own validation, which would mean the schema and the app disagree."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code in ACCEPTED:
        return None
    if response.status_code == 422 and response.json().get("title") != "Invalid request":
        return None
    raise AssertionError(f"schema-valid request refused: {response.status_code} {response.text[:300]}")


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
    failures: list[str] = []
    for operation in operations:
        name = names[(operation.method.upper(), operation.path)]
        role = next((r for r in sorted(MATRIX[name], key=lambda r: r.value) if r.value in keys), None)
        headers = {"Authorization": f"Bearer {keys[role.value]}"} if role else {}
        raw = operation.definition.raw
        # Negative data needs something to negate: an operation without parameters or body has none.
        modes = list(GenerationMode) if raw.get("parameters") or raw.get("requestBody") else [GenerationMode.POSITIVE]
        # The schema's own examples first (each must be a request the app accepts), then generated data.
        strategies = [("examples", s) for s in operation.schema.get_strategies_from_examples(operation)]
        strategies += [(mode.value, operation.as_strategy(generation_mode=mode)) for mode in modes]
        for mode, strategy in strategies:

            @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=strategy)
            def conforms(case: Any) -> None:
                case.call_and_validate(
                    headers=conforms.headers,  # type: ignore[attr-defined]
                    excluded_checks=[positive_data_acceptance],
                    additional_checks=[schema_valid_is_accepted],
                )

            conforms.headers = headers  # type: ignore[attr-defined]
            try:
                conforms()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected, every operation is tried
                failures.append(f"{operation.label} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)
