"""`lockgate backtest` (the installed CLI, run as a subprocess) against the independent
reference in tests/reference/ma_crossover_reference.py, over every CSV in the shared
candle folder.

Grid (kept under about a minute on two cores; one CLI run costs about 0.5 s):
* FULL_GRID_FILES: every (fast, slow) in PARAMS x every fee/slippage combo in COSTS. They are
  the files with a trap: NEO-BTC_1m (5, 20) and XLM-BTC_1m (10, 30) hold moving averages
  that are equal exactly but not in floats; NEO-BTC_4h has a 2 h spacing among 4 h bars
  (annualisation uses the smallest spacing); ETH-USDT_1h has gaps.
* other files with at most SMALL_FILE_ROWS rows: every (fast, slow), the fee/slippage combo
  rotating over COSTS from file to file, so every (params, costs) pair is still seen;
* bigger files below HUGE_FILE_ROWS rows (bittrex XRP 1m and 5m, which also hold exact
  ties): every (fast, slow) with 7.5 bps fee / 5 bps slippage;
* the huge files (the 45k-row ftx file): one run, (5, 20) with 7.5 bps / 5 bps.
The CLI runs are started up front on a small thread pool (subprocesses, so they overlap
with the reference's own work in this process); each test case then waits for its run.

Comparison: n_trades exact; the other figures to 1e-9 relative (win_rate and
profit_factor may also both be null); the --trades-out CSV row by row, timestamps exact,
numbers 1e-9 relative. A tiny absolute floor (1e-12 times the figure's natural scale:
1 for fractions and ratios, the initial cash or the trade's notional for money) keeps a
value that is exactly 0 in exact maths from failing on float noise of 1e-17.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = REPO.parent / "shared" / "data" / "candles"
REFERENCE_FILE = REPO / "tests" / "reference" / "ma_crossover_reference.py"

PARAMS = [(20, 50), (5, 20), (10, 30)]
COSTS = [("10", "0"), ("0", "0"), ("7.5", "5")]  # (fee_bps, slippage_bps) as typed
INITIAL_CASH = "10000"
SMALL_FILE_ROWS = 2_000
HUGE_FILE_ROWS = 20_000
HUGE_FILE_CASES = [((5, 20), ("7.5", "5"))]
FULL_GRID_FILES = {
    "binance_NEO-BTC_1m.csv",
    "binance_XLM-BTC_1m.csv",
    "binance_NEO-BTC_4h.csv",
    "binance_ETH-USDT_1h.csv",
}
CLI_TIMEOUT_S = 300
WORKERS = 2

METRIC_KEYS = [
    "n_trades",
    "final_equity",
    "total_return",
    "max_drawdown",
    "sharpe",
    "sortino",
    "win_rate",
    "profit_factor",
    "exposure",
    "fees_paid",
]
MONEY_KEYS = {"final_equity", "fees_paid"}
NULLABLE_KEYS = {"sharpe", "sortino", "win_rate", "profit_factor"}
TRADES_HEADER = ["entry_ts", "entry_price", "exit_ts", "exit_price", "qty", "pnl", "fees"]
REL_TOL = 1e-9
ABS_FLOOR = 1e-12


def _load_reference() -> ModuleType:
    """Load the reference by path: works whether or not tests/ is a package."""
    name = "lockgate_tests_ma_crossover_reference"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REFERENCE_FILE)
    assert spec is not None and spec.loader is not None, REFERENCE_FILE
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


def _data_files() -> list[Path]:
    if not DATA_DIR.is_dir():
        return []
    return sorted(DATA_DIR.glob("*.csv"))


def _row_count(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip()) - 1


@dataclass(frozen=True)
class Case:
    csv: Path
    fast: int
    slow: int
    fee_bps: str
    slippage_bps: str

    @property
    def id(self) -> str:
        return f"{self.csv.stem}-f{self.fast}s{self.slow}-fee{self.fee_bps}-slip{self.slippage_bps}"

    def describe(self) -> str:
        return (
            f"file={self.csv.name} fast={self.fast} slow={self.slow} "
            f"fee_bps={self.fee_bps} slippage_bps={self.slippage_bps} "
            f"initial_cash={INITIAL_CASH}"
        )


def _cases() -> list[Case]:
    cases: list[Case] = []
    rotation = 0
    for path in _data_files():
        rows = _row_count(path)
        if path.name in FULL_GRID_FILES:
            grid = [(p, c) for p in PARAMS for c in COSTS]
        elif rows <= SMALL_FILE_ROWS:
            grid = [(p, COSTS[(rotation + j) % len(COSTS)]) for j, p in enumerate(PARAMS)]
            rotation += 1
        elif rows < HUGE_FILE_ROWS:
            grid = [(p, ("7.5", "5")) for p in PARAMS]
        else:
            grid = list(HUGE_FILE_CASES)
        cases += [Case(path, f, s, fee, slip) for (f, s), (fee, slip) in grid]
    return cases


CASES = _cases()


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "lockgate"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "cli.main"]


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    trades_csv: str | None
    argv: list[str]


def run_cli(csv_path: Path, extra: list[str], trades_out: Path | None) -> CliRun:
    argv = [*cli_command(), "backtest", "--strategy", "ma_crossover", "--csv", str(csv_path)]
    argv += extra
    if trades_out is not None:
        argv += ["--trades-out", str(trades_out)]
    argv.append("--json")
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    trades_csv = None
    if trades_out is not None and trades_out.exists():
        trades_csv = trades_out.read_text(encoding="utf-8")
    return CliRun(proc.returncode, proc.stdout, proc.stderr, trades_csv, argv)


def case_args(case: Case) -> list[str]:
    return [
        "--param",
        f"fast={case.fast}",
        "--param",
        f"slow={case.slow}",
        "--fee-bps",
        case.fee_bps,
        "--slippage-bps",
        case.slippage_bps,
        "--initial-cash",
        INITIAL_CASH,
    ]


@cache
def reference_run(
    csv_path: Path, fast: int, slow: int, *, fee_bps: str, slippage_bps: str, initial_cash: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    return reference.run_reference(csv_path, fast, slow, fee_bps, slippage_bps, initial_cash)


# ------------------------------------------------------------------------------ checks
def _reject_constant(name: str) -> None:
    raise ValueError(f"stdout JSON contains {name}, which the spec forbids")


def parse_json_stdout(run: CliRun, where: str) -> dict[str, Any]:
    assert run.returncode == 0, (
        f"{where}: CLI exited {run.returncode}\nargv: {run.argv}\nstderr:\n{run.stderr[-3000:]}"
    )
    try:
        out = json.loads(run.stdout, parse_constant=_reject_constant)
    except ValueError as exc:
        raise AssertionError(
            f"{where}: stdout is not exactly one JSON object ({exc})\n"
            f"stdout (first 2000 chars):\n{run.stdout[:2000]}"
        ) from exc
    assert isinstance(out, dict), f"{where}: stdout JSON is not an object: {out!r}"
    missing = [k for k in METRIC_KEYS if k not in out]
    assert not missing, f"{where}: JSON lacks {missing}; got keys {sorted(out)}"
    return out


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def close(got: float, want: float, scale: float = 1.0) -> bool:
    return math.isclose(got, want, rel_tol=REL_TOL, abs_tol=ABS_FLOOR * scale)


def metric_mismatches(got: dict[str, Any], want: dict[str, Any], cash: float) -> list[str]:
    problems: list[str] = []
    for key in METRIC_KEYS:
        g, w = got[key], want[key]
        if key == "n_trades":
            if not (_is_number(g) and g == w):
                problems.append(f"n_trades: cli={g!r} reference={w!r}")
            continue
        if w is None:
            if g is not None:
                problems.append(f"{key}: cli={g!r} reference=null")
            continue
        if key not in NULLABLE_KEYS and g is None:
            problems.append(f"{key}: cli=null, but the spec never makes it null")
            continue
        if not _is_number(g) or not math.isfinite(g):
            problems.append(f"{key}: cli={g!r} reference={w!r}")
            continue
        scale = cash if key in MONEY_KEYS else 1.0
        if not close(float(g), float(w), scale):
            rel = abs(g - w) / abs(w) if w else math.inf
            problems.append(f"{key}: cli={g!r} reference={w!r} (rel diff {rel:.3g})")
    return problems


def _fmt_ref_trade(t: dict[str, Any]) -> str:
    return ",".join(
        "" if t[k] is None else (t[k] if isinstance(t[k], str) else f"{float(t[k])!r}")
        for k in TRADES_HEADER
    )


def trades_mismatch(trades_csv: str | None, want: list[dict[str, Any]]) -> str | None:
    """None when the trades-out CSV matches the reference trades; else the first difference."""
    if trades_csv is None:
        return "--trades-out file was not written"
    rows = list(csv.reader(trades_csv.splitlines()))
    if not rows or rows[0] != TRADES_HEADER:
        return f"trades-out header {rows[0] if rows else None!r} != {TRADES_HEADER!r}"
    body = [r for r in rows[1:] if r]
    for i in range(max(len(body), len(want))):
        if i >= len(body):
            return f"trade #{i}: missing in CLI output; reference row: {_fmt_ref_trade(want[i])}"
        if i >= len(want):
            return f"trade #{i}: extra CLI row {','.join(body[i])!r} (reference has {len(want)})"
        problem = _trade_row_problem(body[i], want[i])
        if problem:
            return (
                f"first differing trade #{i} ({problem})\n"
                f"  cli:       {','.join(body[i])}\n"
                f"  reference: {_fmt_ref_trade(want[i])}"
            )
    return None


def _trade_row_problem(row: list[str], t: dict[str, Any]) -> str | None:
    if len(row) != len(TRADES_HEADER):
        return f"{len(row)} fields"
    got = dict(zip(TRADES_HEADER, row, strict=True))
    for key in ("entry_ts", "exit_ts"):
        want = t[key] if t[key] is not None else ""
        if got[key] != want:
            return f"{key} {got[key]!r} != {want!r}"
    if t["exit_price"] is None and got["exit_price"] != "":
        return f"exit_price of the open trade should be empty, got {got['exit_price']!r}"
    notional = float(t["qty"] * t["entry_price"])
    for key in ("entry_price", "exit_price", "qty", "pnl", "fees"):
        if t[key] is None:
            continue
        try:
            g = float(got[key])
        except ValueError:
            return f"{key} {got[key]!r} is not a number"
        scale = notional if key in ("pnl", "fees") else 0.0
        if not math.isfinite(g) or not close(g, float(t[key]), scale):
            return f"{key} {g!r} != {float(t[key])!r}"
    return None


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[CliRun]]]:
    """Start every grid run of the CLI at once on a small pool; tests wait for their own."""
    out_dir = tmp_path_factory.mktemp("trades")
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {
            case.id: pool.submit(run_cli, case.csv, case_args(case), out_dir / f"{case.id}.csv")
            for case in sorted(CASES, key=lambda c: -_row_count(c.csv))  # longest first
        }
        yield futures
        for f in futures.values():
            f.cancel()


# -------------------------------------------------------------------------------- tests
def test_shared_candle_folder_exists() -> None:
    assert DATA_DIR.is_dir(), (
        f"shared candle folder {DATA_DIR} is missing: the comparison against the reference "
        "needs it (it is laid beside the repository as shared/data/candles)"
    )
    assert _data_files(), f"no *.csv in {DATA_DIR}"


# With the data folder missing, one failing case stands in for the grid (never a skip).
@pytest.mark.parametrize("case", CASES or [None], ids=lambda c: c.id if c else "no-data")
def test_backtest_matches_reference(case: Case | None, cli_runs: dict[str, Future[CliRun]]) -> None:
    assert case is not None, f"shared candle folder {DATA_DIR} is missing or has no *.csv"
    want_metrics, want_trades = reference_run(
        case.csv,
        case.fast,
        case.slow,
        fee_bps=case.fee_bps,
        slippage_bps=case.slippage_bps,
        initial_cash=INITIAL_CASH,
    )
    want = reference.metrics_as_floats(want_metrics)
    run = cli_runs[case.id].result()
    got = parse_json_stdout(run, case.describe())

    problems = metric_mismatches(got, want, float(INITIAL_CASH))
    trade_problem = trades_mismatch(run.trades_csv, want_trades)
    if trade_problem:
        problems.append(trade_problem)
    assert not problems, f"{case.describe()}\n" + "\n".join(problems)


def test_defaults_are_10_bps_fee_0_slippage_10000_cash(tmp_path: Path) -> None:
    files = _data_files()
    assert files, f"shared candle folder {DATA_DIR} is missing or empty"
    path = next((p for p in files if p.name == "binance_BTC-USDT_1h.csv"), files[0])
    run = run_cli(path, ["--param", "fast=10", "--param", "slow=30"], tmp_path / "t.csv")
    got = parse_json_stdout(run, f"defaults on {path.name}")
    want_metrics, want_trades = reference_run(
        path, 10, 30, fee_bps="10", slippage_bps="0", initial_cash="10000"
    )
    problems = metric_mismatches(got, reference.metrics_as_floats(want_metrics), 10000.0)
    trade_problem = trades_mismatch(run.trades_csv, want_trades)
    if trade_problem:
        problems.append(trade_problem)
    assert not problems, f"defaults, file={path.name} fast=10 slow=30\n" + "\n".join(problems)


# Tiny hand-made files for the spec's corner cases (the same ones the reference is checked
# against by hand in tests/reference/test_reference_by_hand.py).
def _tiny_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["ts,open,high,low,close,volume"]
    for ts, o, c in rows:
        hi, lo = (o, c) if float(o) >= float(c) else (c, o)
        lines.append(f"{ts},{o},{hi},{lo},{c},1")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


TINY_CASES = {
    # Equal averages at t=4 (0.6/3 == 0.2 exactly, not in floats): no cross below there; the
    # cross above at t=5 comes while long and is ignored. One trade, still open.
    "exact-ties": (
        1,
        3,
        [
            (f"2020-01-01T{i:02d}:00:00Z", c, c)
            for i, c in enumerate(["0.1", "0.1", "0.1", "0.3", "0.2", "0.3", "0.3"])
        ],
    ),
    # Winner, loser and an open trade; equal averages at row 5; hourly spacing.
    "three-trades": (
        1,
        2,
        [
            (f"2020-01-01T{i:02d}:00:00Z", o, c)
            for i, (o, c) in enumerate(
                [
                    ("10", "10"),
                    ("10", "9"),
                    ("9", "10"),
                    ("10", "12"),
                    ("12", "11"),
                    ("11", "11"),
                    ("11", "13"),
                    ("13", "12"),
                    ("12", "14"),
                    ("14", "15"),
                ]
            )
        ],
    ),
    # Gaps in time change nothing (bars are rows); annualisation uses the smallest spacing
    # (30 minutes here, between rows 1 and 2).
    "irregular-times": (
        1,
        2,
        [
            (f"2020-01-01T{ts}:00Z", o, c)
            for ts, (o, c) in zip(
                ["00:00", "01:00", "01:30", "04:00", "05:00", "09:00", "10:00", "11:00"],
                [
                    ("10", "10"),
                    ("10", "9"),
                    ("9", "10"),
                    ("10", "12"),
                    ("12", "11"),
                    ("11", "13"),
                    ("13", "12"),
                    ("12", "14"),
                ],
                strict=True,
            )
        ],
    ),
    # A cross above on the last row never fills.
    "signal-on-last-row": (
        1,
        2,
        [(f"2020-01-01T{i:02d}:00:00Z", c, c) for i, c in enumerate(["10", "9", "10"])],
    ),
}


@pytest.mark.parametrize("name", sorted(TINY_CASES))
@pytest.mark.parametrize(("fee", "slip"), [("0", "0"), ("100", "100")])
def test_tiny_corner_cases_match_reference(tmp_path: Path, name: str, fee: str, slip: str) -> None:
    fast, slow, rows = TINY_CASES[name]
    path = _tiny_csv(tmp_path / f"{name}.csv", rows)
    extra = ["--param", f"fast={fast}", "--param", f"slow={slow}", "--fee-bps", fee]
    extra += ["--slippage-bps", slip, "--initial-cash", "1000"]
    run = run_cli(path, extra, tmp_path / "trades.csv")
    where = f"tiny case {name}: fast={fast} slow={slow} fee_bps={fee} slippage_bps={slip}"
    got = parse_json_stdout(run, where)
    want_metrics, want_trades = reference.run_reference(path, fast, slow, fee, slip, "1000")
    problems = metric_mismatches(got, reference.metrics_as_floats(want_metrics), 1000.0)
    trade_problem = trades_mismatch(run.trades_csv, want_trades)
    if trade_problem:
        problems.append(trade_problem)
    assert not problems, f"{where}\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "bad_line",
    [
        "2020-01-01T02:00:00Z,10,10,10,10",  # five fields
        "2020-01-01T02:00:00Z,10,10,10,abc,1",  # not a number
        "not-a-time,10,10,10,10,1",  # not a timestamp
    ],
)
def test_malformed_row_aborts_and_names_the_line(tmp_path: Path, bad_line: str) -> None:
    lines = ["ts,open,high,low,close,volume"]
    lines += [f"2020-01-01T{i:02d}:00:00Z,10,10,10,10,1" for i in range(2)]
    lines += [bad_line, "2020-01-01T03:00:00Z,10,10,10,10,1"]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = run_cli(path, ["--param", "fast=1", "--param", "slow=2"], None)
    assert run.returncode != 0, f"malformed line 4 was accepted; stdout: {run.stdout[:500]}"
    message = run.stderr + run.stdout
    # The bad row is line 4 of the file (header = line 1): "line 4", "FILE:4:" or the row.
    named = re.search(r"\bline\s*4\b|:4\b", message, re.IGNORECASE) or bad_line in message
    assert named, f"the error does not name line 4 ({bad_line!r}):\n{run.stderr[-2000:]}"
