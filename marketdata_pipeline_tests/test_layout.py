"""The package layout holds: concerns never import data types, nothing imports the top."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "marketdata_pipeline"
BASE = {"config", "timeframes"}
CONCERNS = {"exchange", "storage", "quality", "automation", "access", "ops", "coordination"}
DATA_TYPES = {"candles", "indicators", "analytics", "trades", "books", "streaming"}
TOP = {"definitions", "cli"}


def imported_packages(path: Path) -> set[str]:
    """The top-level subpackages of marketdata_pipeline that a module imports."""
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = [*here[: len(here) - node.level + 1], *(node.module or "").split(".")]
            else:
                parts = (node.module or "").split(".")
            if parts[0] == PACKAGE.name and len(parts) > 1 and parts[1]:
                found.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE.name and len(parts) > 1:
                    found.add(parts[1])
    return found


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "simulator" not in p.parts)


def owner(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


def test_every_package_is_classified():
    assert {owner(p) for p in modules()} - {"__init__", "__main__"} == (
        BASE | CONCERNS | DATA_TYPES | TOP
    )


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_upward_import(path: Path):
    source = owner(path)
    imported = imported_packages(path) - {source}
    if source in BASE:
        assert imported <= BASE
    elif source in CONCERNS:
        assert not imported & (DATA_TYPES | TOP), f"{source} imports {imported & DATA_TYPES}"
    elif source in DATA_TYPES:
        assert not imported & TOP
