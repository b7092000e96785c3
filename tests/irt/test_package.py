"""House rules of the engine package (DESIGN.md: irt holds no I/O, never imports Flask)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import assess.irt

PACKAGE = Path(assess.irt.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
IO_MODULES = {"io.py", "__main__.py"}


def imported_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_imports_only_numpy_scipy_and_the_standard_library(path):
    allowed = {"numpy", "scipy", "assess", "__future__", "argparse", "ast", "collections",
               "csv", "dataclasses", "functools", "math", "os", "pathlib", "sys", "tempfile",
               "time", "typing"}
    assert imported_names(path) <= allowed
    assert not imported_names(path) & {"flask", "sqlalchemy", "flask_sqlalchemy"}


@pytest.mark.parametrize("path", [p for p in MODULES if p.name not in IO_MODULES],
                         ids=lambda p: p.name)
def test_no_file_io_outside_the_cli_modules(path):
    tree = ast.parse(path.read_text())
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)}
    assert not calls & {"open", "print", "input"}


@pytest.mark.parametrize("module", ["models", "estimation", "calibration", "simulate", "io",
                                    "__main__"])
def test_every_module_declares_its_public_names(module):
    mod = importlib.import_module(f"assess.irt.{module}")
    assert mod.__all__
    for name in mod.__all__:
        obj = getattr(mod, name)
        if callable(obj) and not isinstance(obj, type(assess.irt)):
            assert obj.__doc__, f"{module}.{name} has no docstring"
