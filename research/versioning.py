"""Strategy versions: a stable hash of a strategy's code and its parameters (decision 6).

``version_of(strategy_class, config)`` hashes

- the strategy API version, the strategy's name and its class's import path;
- the source text of every module the strategy's code can execute: its own module, and,
  transitively, every module it imports from its own top-level package or from
  ``strategies`` (with the packages whose ``__init__`` such an import runs). The closure is
  read statically from ``import`` statements and over-approximates (a package's
  ``__init__`` pulls in its siblings): any edit, even of a comment, in code the strategy
  could run gives a new version, because the evidence behind a version is about exact code;
- the parameters as canonical JSON (``StrategyConfig.canonical_json``: sorted keys, every
  field, normalised values), so equal parameters hash equally whatever their spelling.

The result is 64 hex digits (sha256). Source text is read through the import system (the
loaders' ``get_source``, newline-normalised), once per module and process.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import cache
from typing import Any

from domain.errors import InvalidValue
from strategies.base import Strategy, StrategyConfig

_ALWAYS = "strategies"


def version_of(strategy_class: type[Strategy[Any]], config: StrategyConfig) -> str:
    """Return the version of ``strategy_class`` run with ``config``: 64 hex digits."""
    if not isinstance(config, strategy_class.config_type):
        raise InvalidValue(f"{strategy_class.__name__} takes a "
                           f"{strategy_class.config_type.__name__}, not {type(config).__name__}")
    lines = [
        "lockgate strategy version 1",
        f"api={strategy_class.api_version}",
        f"name={strategy_class.name}",
        f"class={strategy_class.__module__}:{strategy_class.__qualname__}",
        *(f"code {module}={digest}" for module, digest in code_digests(strategy_class)),
        f"params={config.canonical_json()}",
    ]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def clear_caches() -> None:
    """Forget memoised sources and digests (after code on disk changed: notebooks, tests)."""
    _closure_digests.cache_clear()
    _source.cache_clear()
    _exists.cache_clear()
    importlib.invalidate_caches()


def code_digests(strategy_class: type[Strategy[Any]]) -> tuple[tuple[str, str], ...]:
    """Return (module, sha256 of its source) for the code closure of a strategy, sorted."""
    return _closure_digests(strategy_class.__module__)


@cache
def _closure_digests(root: str) -> tuple[tuple[str, str], ...]:
    roots = {root.partition(".")[0], _ALWAYS}
    seen: dict[str, str] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        source = _source(name)
        seen[name] = hashlib.sha256(source.encode()).hexdigest()
        pending.extend(_imports(name, source, roots))
    return tuple(sorted(seen.items()))


@cache
def _source(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "get_source"):
        raise InvalidValue(f"cannot read the source of {module}: a version needs source code")
    source = spec.loader.get_source(module)
    if source is None:
        raise InvalidValue(f"{module} has no source (compiled only): a version needs source")
    # get_source decodes with universal newlines, so a CRLF checkout hashes like an LF one.
    return str(source)


def _imports(module: str, source: str, roots: set[str]) -> set[str]:
    """Return the modules under ``roots`` that ``module`` imports, with the packages run."""
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=module)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base.partition(".")[0] not in roots:
                continue  # never import a third-party package just to look at it
            found.add(base)
            for alias in node.names:
                # ``from pkg import name`` may import the submodule pkg.name.
                candidate = f"{base}.{alias.name}"
                if alias.name != "*" and _exists(candidate):
                    found.add(candidate)
    # Importing a.b.c runs a/__init__ and a/b/__init__ first.
    parents = {".".join(name.split(".")[:i]) for name in found
               for i in range(1, name.count(".") + 1)}
    return {name for name in found | parents if name.partition(".")[0] in roots}


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


@cache
def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None
