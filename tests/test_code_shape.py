"""No source file over 400 lines and no function over 80: a module has one job a reader can hold,
a function one step a reader can follow (see STYLE.md, "Small modules with one job").

The known exceptions below may only shrink: a file or function that grows past its limit fails,
and one that is back within it must leave the list (the test says so)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "xinyong"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80

# Files over MAX_FILE_LINES, relative to src/xinyong.
KNOWN_FILES: set[str] = set()
# Functions over MAX_FUNCTION_LINES, as "path:qualified.name". A migration is a record of one step
# of the schema, never edited once released: its upgrade stays as long as it was written.
KNOWN_FUNCTIONS = {
    "store/migrations/versions/0001_initial_schema.py:upgrade",
    "store/migrations/versions/0004_due_process.py:upgrade",
    "store/migrations/versions/0014_match_review.py:upgrade",
}


def long_files(root: Path = SRC, limit: int = MAX_FILE_LINES) -> dict[str, int]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found[path.relative_to(root).as_posix()] = lines
    return found


def long_functions(root: Path = SRC, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """Every function (methods and nested ones too) longer than `limit` lines, from its first
    decorator to its last line."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(root).as_posix()

        def visit(node: ast.AST, prefix: str, where: str = where) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                        length = (child.end_lineno or child.lineno) - start + 1
                        if length > limit:
                            found[f"{where}:{name}"] = length
                    visit(child, name + ".")
                else:
                    visit(child, prefix)

        visit(tree, "")
    return found


def test_no_source_file_is_over_the_limit() -> None:
    found = long_files()
    new = {f: n for f, n in found.items() if f not in KNOWN_FILES}
    assert new == {}, f"files over {MAX_FILE_LINES} lines (split them): {new}"
    gone = sorted(KNOWN_FILES - set(found))
    assert gone == [], f"within {MAX_FILE_LINES} lines now (take them off KNOWN_FILES): {gone}"


def test_no_function_is_over_the_limit() -> None:
    found = long_functions()
    new = {f: n for f, n in found.items() if f not in KNOWN_FUNCTIONS}
    assert new == {}, f"functions over {MAX_FUNCTION_LINES} lines (split them): {new}"
    gone = sorted(KNOWN_FUNCTIONS - set(found))
    assert gone == [], f"within {MAX_FUNCTION_LINES} lines now (take them off KNOWN_FUNCTIONS): {gone}"


def test_a_long_file_and_a_long_function_are_found(tmp_path: Path) -> None:
    """The check itself, on a module made to break both limits."""
    body = "\n".join(f"        x{i} = {i}" for i in range(90))
    (tmp_path / "big.py").write_text(f"class C:\n    @staticmethod\n    def f() -> None:\n{body}\n" + "\n" * 320)
    assert long_files(tmp_path) == {"big.py": 413}
    assert long_functions(tmp_path) == {"big.py:C.f": 92}
