"""The import rules of ARCHITECTURE.md, checked as part of the test suite."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# Calls that would give a package I/O or a clock even without an import.
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval", "__import__", "breakpoint"}
PURE_PACKAGES = ("domain", "strategies", "risk", "engine")


def test_import_linter_contracts_hold() -> None:
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_package_bans_hold() -> None:
    # engine/, strategies/ and risk/ carry a ruff.toml banning clocks, asyncio and I/O.
    result = subprocess.run([str(BIN / "ruff"), "check", "--select", "TID251", *PURE_PACKAGES[1:]],
                            cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_bans_are_configured_per_package() -> None:
    for package in ("engine", "strategies", "risk"):
        config = (REPO / package / "ruff.toml").read_text()
        assert 'extend = "../pyproject.toml"' in config
        assert '"asyncio".msg' in config
    assert '"time.time".msg' in (REPO / "engine" / "ruff.toml").read_text()


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_make_no_io_calls(package: str) -> None:
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in FORBIDDEN_CALLS):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno} {node.func.id}()")
    assert not offenders, "I/O in a pure package: " + ", ".join(offenders)


def test_a_banned_import_is_caught() -> None:
    # Prove the engine ban bites: a module importing asyncio fails ruff under engine's config.
    probe = REPO / "engine" / "_probe_banned_import.py"
    probe.write_text('"""Probe."""\n\nimport asyncio\n\nLOOP = asyncio\n')
    try:
        result = subprocess.run([str(BIN / "ruff"), "check", "--select", "TID251", str(probe)],
                                cwd=REPO, capture_output=True, text=True, check=False)
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert "never awaits" in result.stdout
