"""The README's authorisation table says exactly what `api/authz.py` enforces: every route of the
app once, with exactly the roles of its matrix cell ("anyone" for every role)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import APIRoute

from xinyong.api.app import ROUTERS
from xinyong.api.authz import MATRIX
from xinyong.services.keys import Role

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"^\| `(?P<method>[A-Z]+) (?P<path>/\S*)` \| (?P<who>[a-z, ]+) \|")


def readme_table() -> dict[tuple[str, str], frozenset[Role]]:
    """(method, path) -> roles, from the README's table under `| route | who may call it |`."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| route | who may call it | notes |")
    table: dict[tuple[str, str], frozenset[Role]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        m = ROW.match(line)
        assert m, f"README.md: a row of the authorisation table is not `METHOD /path` | roles |: {line}"
        who = m["who"].strip()
        roles = frozenset(Role) if who == "anyone" else frozenset(Role(r.strip()) for r in who.split(","))
        key = (m["method"], m["path"])
        assert key not in table, f"README.md: {key} is in the authorisation table twice"
        table[key] = roles
    return table


def test_the_readme_table_is_the_matrix() -> None:
    routes = {
        (method, r.path): MATRIX[r.name]
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute)
        for method in r.methods
    }
    table = readme_table()
    assert set(table) == set(routes), "routes missing from or unknown to the README's table"
    differ = {k: (sorted(table[k]), sorted(routes[k])) for k in routes if table[k] != routes[k]}
    assert differ == {}, "README (left) and api/authz.py (right) disagree"
