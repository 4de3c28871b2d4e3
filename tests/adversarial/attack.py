"""Hostile catalogs: the shipped catalog, copied, with an attacker's edits and extra files.

Every test under tests/adversarial writes the catalog a hostile author would try and asserts the
loader's refusal word for word: file, line, entry, principle and what to do. A refusal that
loses its principle or its place is a regression, not a style change.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from xinyong.domain.catalog import CatalogError, CatalogProblem, default_catalog_dir, load_catalog


def hostile_catalog(
    tmp: Path,
    *,
    extra: str | None = None,
    edits: dict[str, list[tuple[str, str]]] | None = None,
    remove: tuple[str, ...] = (),
) -> Path:
    """A copy of the shipped catalog with `extra` as extra.yaml, `edits` applied, files removed."""
    root = tmp / "catalog"
    shutil.copytree(default_catalog_dir(), root)
    for name in remove:
        (root / name).unlink()
    for name, pairs in (edits or {}).items():
        path = root / name
        text = path.read_text(encoding="utf-8")
        for old, new in pairs:
            assert text.count(old) == 1, f"{old!r} is not once in {name}"
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
    if extra is not None:
        (root / "extra.yaml").write_text(textwrap.dedent(extra).lstrip(), encoding="utf-8")
    return root


def refusals(root: Path, rule: str) -> list[str]:
    """The loader's refusals of `root` under `rule`, as `xinyong catalog check` prints them."""
    with pytest.raises(CatalogError) as info:
        load_catalog(root)
    problems: list[CatalogProblem] = info.value.problems
    hits = [p for p in problems if p.rule == rule]
    assert hits, f"expected a refusal under {rule}, got: {[str(p) for p in problems]}"
    assert all(p.line and p.entry and p.principle for p in hits), [str(p) for p in hits]
    return [str(p) for p in hits]


def attack(tmp: Path, rule: str, **kwargs: object) -> list[str]:
    """Build the hostile catalog and return its refusals under `rule`."""
    return refusals(hostile_catalog(tmp, **kwargs), rule)  # type: ignore[arg-type]
