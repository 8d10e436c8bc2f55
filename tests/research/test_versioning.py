"""A strategy version is a hash of its code and parameters: stable, and sensitive to both."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from domain.errors import InvalidValue
from research import versioning
from research.versioning import code_digests, version_of
from strategies.bollinger_rsi import BollingerRSI, BollingerRSIConfig
from strategies.ma_crossover import MACrossConfig, MACrossover

PLUGIN = "lockgate_test_plugin"
STRATEGY = '''
"""A third-party strategy package, written to disk by the test."""

from strategies.base import Strategy
from strategies.ma_crossover import MACrossConfig
from {plugin}.helpers import threshold


class Plugin(Strategy[MACrossConfig]):
    name = "plugin"
    config_type = MACrossConfig

    def on_bar(self, bar):
        return None if bar.close < threshold() else None
'''
HELPERS = '''
def threshold():
    return 1
'''
UNRELATED = '''
VALUE = 1
'''


def test_same_code_and_params_give_the_same_version() -> None:
    a = version_of(MACrossover, MACrossConfig(fast=10, slow=30))
    b = version_of(MACrossover, MACrossConfig.from_params({"slow": "30", "fast": "10"}))

    assert a == b
    assert len(a) == 64 and int(a, 16) >= 0


def test_a_parameter_change_gives_another_version() -> None:
    base = version_of(MACrossover, MACrossConfig(fast=10, slow=30))

    assert version_of(MACrossover, MACrossConfig(fast=11, slow=30)) != base
    assert version_of(BollingerRSI, BollingerRSIConfig()) != version_of(
        BollingerRSI, BollingerRSIConfig(nbdev=2.5))


def test_the_code_closure_holds_the_strategy_and_what_it_imports_from_strategies() -> None:
    modules = dict(code_digests(MACrossover))

    assert {"strategies.ma_crossover", "strategies.base", "strategies.indicators",
            "strategies.indicators.moving_averages", "strategies"} <= set(modules)
    assert "strategies.registry" not in modules  # not imported by the strategy
    assert not any(name.startswith(("domain", "engine", "msgspec")) for name in modules)


def test_a_config_of_another_strategy_is_refused() -> None:
    with pytest.raises(InvalidValue, match="takes a"):
        version_of(MACrossover, BollingerRSIConfig())


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[Path]:
    package = tmp_path / PLUGIN
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "strategy.py").write_text(textwrap.dedent(STRATEGY.format(plugin=PLUGIN)))
    (package / "helpers.py").write_text(HELPERS)
    (package / "unrelated.py").write_text(UNRELATED)
    sys.path.insert(0, str(tmp_path))
    try:
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith(PLUGIN)]:
            del sys.modules[name]
        forget()


def forget() -> None:
    # What a fresh process sees: new source on disk, no memoised digests.
    versioning.clear_caches()


def plugin_version() -> str:
    forget()
    module: ModuleType = importlib.import_module(f"{PLUGIN}.strategy")
    return version_of(module.Plugin, MACrossConfig())


def test_a_code_change_in_the_strategy_or_its_imports_gives_another_version(
        plugin: Path) -> None:
    original = plugin_version()

    assert plugin_version() == original  # stable

    (plugin / "unrelated.py").write_text("VALUE = 2\n")
    assert plugin_version() == original  # not imported by the strategy

    (plugin / "helpers.py").write_text(HELPERS.replace("return 1", "return 2"))
    changed_helper = plugin_version()
    assert changed_helper != original

    source = (plugin / "strategy.py").read_text()
    (plugin / "strategy.py").write_text(source + "# a comment is code too: evidence is exact\n")
    assert plugin_version() not in (original, changed_helper)


def test_line_endings_do_not_change_the_version(plugin: Path) -> None:
    original = plugin_version()
    path = plugin / "strategy.py"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))

    assert plugin_version() == original
