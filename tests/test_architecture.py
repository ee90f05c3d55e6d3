"""docs/architecture.md's dependency rules, checked on the source tree."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"

# Layer of each flat base module and each wing (docs/architecture.md, "Dependency rules").
LAYERS = {
    "errors": 0,
    "clock": 0,
    "addresses": 0,
    "policy": 0,
    "csv_safety": 0,
    "chunks": 0,
    "settings": 0,
    "access": 0,
    "database_url": 0,
    "local_mode": 0,
    "store": 1,
    "audit": 2,
    "ingest": 3,
    "ses": 3,
    "reports": 3,
    "recipients": 4,
    "suppression": 5,
    "cli": 6,
    "__main__": 7,
    "__init__": 0,
}


def _imports(path: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports at run time (TYPE_CHECKING blocks left out), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def _unit(module: str) -> str | None:
    """The base module or wing a dotted `core...` name belongs to."""
    parts = module.split(".")
    if parts[0] != "core":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _core_files() -> list[Path]:
    return [p for p in CORE.rglob("*.py") if "versions" not in p.parts]


def test_every_core_module_belongs_to_a_layer_the_map_names() -> None:
    units = {p.relative_to(CORE).parts[0].removesuffix(".py") for p in _core_files()}
    assert units <= set(LAYERS), f"not on docs/architecture.md's map: {units - set(LAYERS)}"


def test_no_wing_imports_a_higher_layer_or_a_sibling_wing() -> None:
    wrong = []
    for path in _core_files():
        own = path.relative_to(CORE).parts[0].removesuffix(".py")
        for module, line in _imports(path):
            other = _unit(module)
            if other is None or other == own or other not in LAYERS:
                continue
            if LAYERS[other] > LAYERS[own] or (
                LAYERS[other] == LAYERS[own] and LAYERS[own] > 2 and other != own
            ):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []


def test_core_never_imports_streamlit_the_ui_or_the_emulator() -> None:
    banned = ("streamlit", "ui", "emulator", "pages", "plotly")
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _core_files()
        for module, line in _imports(path)
        if module.split(".")[0] in banned
    ]
    assert found == []


def test_pages_never_import_boto3_sqlalchemy_or_the_emulator() -> None:
    banned = ("boto3", "botocore", "sqlalchemy", "emulator")
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in (ROOT / "pages").glob("*.py")
        for module, line in _imports(path)
        if module.split(".")[0] in banned
    ]
    assert found == []
