"""The OpenAPI schema as a client needs it: what the catalog allows, and which routes need a key.

The request models are written once for every catalog; the schema a server publishes names the
contexts of the catalog it serves (so a client, and schemathesis, learns them from the schema),
and marks every route that the authorisation matrix closes to the public with the bearer scheme.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from xinyong.api.authz import MATRIX
from xinyong.domain.catalog import Catalog
from xinyong.services.keys import Role

BEARER = {"bearer": {"type": "http", "scheme": "bearer", "description": "An API key: `xy_...`."}}


def install(app: FastAPI, catalog: Catalog) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _schema(app, catalog)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _schema(app: FastAPI, catalog: Catalog) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title, version=app.version, summary=app.summary, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(BEARER)
    contexts = sorted(catalog.contexts)
    for name in ("CheckRequest", "BatchRequest"):
        model = components.get("schemas", {}).get(name)
        if model is not None:
            model["properties"]["context"]["enum"] = contexts
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        if Role.PUBLIC in MATRIX.get(route.name, frozenset()):
            continue
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                operation["security"] = [{"bearer": []}]
    return schema
