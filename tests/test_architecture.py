"""The layering the design promises, checked by tools on every test run.

* import-linter (contracts in pyproject.toml): ``ecg`` imports neither ``app``
  nor ``storage``; ``storage`` never imports ``app``.
* Every ``__all__`` in the three packages names only things the module has.
* ruff (rules in pyproject.toml) finds nothing.
* mypy (``[tool.mypy]`` in pyproject.toml: --strict on ``ecg`` and ``storage``, every function
  typed and every body checked on ``app``) finds nothing.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    assert found, f"{name} is not installed: `./dev test` installs the test extras"
    return found


def test_import_contracts_are_kept():
    run = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def _modules(package: str):
    pkg = importlib.import_module(package)
    yield pkg
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        yield importlib.import_module(info.name)


@pytest.mark.parametrize("package", ["ecg", "storage", "app"])
def test_every_dunder_all_names_real_attributes(package):
    for mod in _modules(package):
        for name in getattr(mod, "__all__", ()):
            assert hasattr(mod, name), f"{mod.__name__}.__all__ names {name!r}, which it does not define"


def test_ruff_finds_nothing():
    run = subprocess.run([_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_finds_nothing():
    """The type check CI enforces. The incremental cache sits in ``.mypy_cache`` (git-ignored): a
    clean run (CI) takes ~40 s on 2 cores, a rerun after a small edit a few seconds."""
    run = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Success: no issues found" in run.stdout


def test_request_handlers_leave_the_commit_to_the_session_dependency():
    """One transaction per request, committed once in ``app.deps.get_session``.

    A handler module (one that takes ``SessionDep``) may commit itself only where the order
    matters, and then says why on the same line (``# order: ...``); any other commit is the
    scattered-commit pattern this replaced.
    """
    stray = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "SessionDep" not in text or path.name == "deps.py":
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if "session.commit()" in line and "# order:" not in line:
                stray.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not stray, "commit without a reason in a request handler:\n" + "\n".join(stray)
