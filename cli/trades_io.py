"""``lockgate load-trades`` and ``lockgate export-candles``: trades in from CSV, candles out.

Trade CSVs have the header ``ts,price,qty,side,trade_id`` (the format of the shared data set):
``ts`` in epoch milliseconds or ISO-8601 UTC, ``side`` the aggressor (``buy``/``sell``). The
instrument comes from the file name, ``<venue>_<BASE>-<QUOTE>_trades_<anything>.csv``; a venue
suffix ``-usdm`` (``-coinm``) names a perpetual settled in the quote (base) asset. A malformed
row aborts the load before anything is written, with an error naming its line.
"""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from cli.options import InputError
from domain.errors import InvalidValue
from domain.fixed import parse_raw
from domain.instruments import InstrumentId
from domain.market import AggressorSide, Trade

TRADE_COLUMNS = ("ts", "price", "qty", "side", "trade_id")
BATCH = 50_000
MAX_DECIMALS = 18  # the instruments table's precision limit
_NAME = re.compile(r"^(?P<venue>[A-Za-z0-9]+)(?:-(?P<market>[A-Za-z0-9]+))?_"
                   r"(?P<base>[A-Za-z0-9]+)-(?P<quote>[A-Za-z0-9]+)_trades(?:[_.-].*)?$")
# Venue-suffix -> which asset settles the perpetual (the venue's own data, not a code branch).
_PERPETUAL_SETTLEMENT = {"usdm": "quote", "coinm": "base"}
_DECIMAL = re.compile(r"^(\d+)(?:\.(\d*))?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_NANOS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One validated CSV row; prices and sizes still as their exact decimal text."""

    ts_event: int
    price: str
    qty: str
    side: str
    trade_id: str


@dataclass(slots=True)
class TradeFile:
    """A validated trade CSV: its rows and the decimals its prices and sizes need."""

    rows: list[TradeRow]
    price_precision: int
    size_precision: int


def instrument_from_trades_filename(path: Path) -> InstrumentId | None:
    """Return the ``InstrumentId`` named by ``binance_BTC-USDT_trades_....csv``, or None."""
    match = _NAME.match(path.stem)
    if not match:
        return None
    base, quote = match["base"].upper(), match["quote"].upper()
    market = (match["market"] or "").lower()
    if market and market not in _PERPETUAL_SETTLEMENT:
        return None
    settle = None
    if market:
        settle = quote if _PERPETUAL_SETTLEMENT[market] == "quote" else base
    return InstrumentId(match["venue"].upper(), base, quote, settle)


def read_trades_csv(path: Path) -> TradeFile:
    """Read and validate a trade CSV; raise ``InvalidValue`` naming the file and line."""
    with path.open(encoding="utf-8", newline="") as handle:
        return parse_trades(handle, str(path))


def parse_trades(lines: Iterable[str], source: str) -> TradeFile:
    """Parse trade CSV text; ``source`` names it in errors."""
    reader = csv.reader(lines)
    header = next(reader, None)
    names = tuple(name.strip().lower().lstrip("\ufeff") for name in header or ())
    if names != TRADE_COLUMNS:
        raise InvalidValue(f"{source}:1: header must be {','.join(TRADE_COLUMNS)}, "
                           f"got {','.join(header or [])!r}")
    rows: list[TradeRow] = []
    price_dp = size_dp = 0
    for line_no, fields in enumerate(reader, start=2):
        try:
            row, p_dp, s_dp = _parse_row(fields)
        except InvalidValue as exc:
            raise InvalidValue(f"{source}:{line_no}: {exc}") from None
        rows.append(row)
        price_dp, size_dp = max(price_dp, p_dp), max(size_dp, s_dp)
    if not rows:
        raise InvalidValue(f"{source}: no trades after the header")
    return TradeFile(rows, price_dp, size_dp)


def _parse_row(fields: list[str]) -> tuple[TradeRow, int, int]:
    if len(fields) != len(TRADE_COLUMNS):
        raise InvalidValue(f"expected {len(TRADE_COLUMNS)} fields, got {len(fields)}")
    ts_text, price, qty, side, trade_id = (field.strip() for field in fields)
    price_dp = _positive_decimal("price", price)
    size_dp = _positive_decimal("qty", qty)
    if side not in ("buy", "sell"):
        raise InvalidValue(f"side must be 'buy' or 'sell', got {side!r}")
    if not trade_id:
        raise InvalidValue("trade_id is empty")
    return TradeRow(_parse_ts(ts_text), price, qty, side, trade_id), price_dp, size_dp


def _positive_decimal(name: str, text: str) -> int:
    """Check a plain positive decimal; return its number of decimal places."""
    match = _DECIMAL.match(text)
    if not match:
        raise InvalidValue(f"{name} {text!r} is not a plain decimal number")
    if not Decimal(text):
        raise InvalidValue(f"{name} must be positive, got {text!r}")
    places = len(match[2] or "")
    if places > MAX_DECIMALS:
        raise InvalidValue(f"{name} {text!r} has {places} decimal places; at most "
                           f"{MAX_DECIMALS} are stored (a float artefact? round the values)")
    return places


def _parse_ts(text: str) -> int:
    """Epoch milliseconds or ISO-8601 UTC -> UTC nanoseconds."""
    if text.isdigit():
        return int(text) * _NANOS_PER_MS
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"ts {text!r} is neither epoch milliseconds nor ISO-8601") from None
    if moment.tzinfo is None:
        raise InvalidValue(f"ts {text!r} has no UTC designator (add 'Z')")
    if moment.utcoffset() != timedelta(0):
        raise InvalidValue(f"ts {text!r} is not in UTC")
    return (moment - _EPOCH) // _MICRO * 1000


def _trades(instrument_id: InstrumentId, parsed: TradeFile, rows: list[TradeRow]) -> list[Trade]:
    return [Trade(instrument_id, row.ts_event, parse_raw(row.price, parsed.price_precision),
                  parse_raw(row.qty, parsed.size_precision), AggressorSide(row.side),
                  row.trade_id, parsed.price_precision, parsed.size_precision)
            for row in rows]


@click.command(name="load-trades")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--exchange", default=None, help="Venue, e.g. binance (default: from file name).")
@click.option("--symbol", default=None, help="BASE/QUOTE, e.g. BTC/USDT (default: file name).")
def load_trades(files: tuple[Path, ...], exchange: str | None, symbol: str | None) -> None:
    """Load trade CSVs (ts,price,qty,side,trade_id) into the database; loading twice adds
    nothing."""
    try:
        loaded = asyncio.run(_load(files, exchange, symbol))
    except InvalidValue as exc:
        raise InputError(str(exc)) from None
    for name, instrument, rows, new in loaded:
        click.echo(f"{name}: {instrument}: {rows} trades, {new} new")


async def _load(files: tuple[Path, ...], exchange: str | None,
                symbol: str | None) -> list[tuple[str, str, int, int]]:
    from adapters.storage.trades import TradeStore
    from cli.db import _settings, open_app_connection
    from cli.progress import bar_progress
    from cli.sources import instrument_id

    # Validate every file before anything is written.
    parsed = []
    for path in files:
        iid = instrument_id(exchange, symbol, instrument_from_trades_filename(path))
        if iid is None:
            raise InvalidValue(f"{path.name}: the file name names no instrument (expected "
                               "<venue>_<BASE>-<QUOTE>_trades_....csv); give --exchange and "
                               "--symbol")
        parsed.append((path, iid, read_trades_csv(path)))
    conn = await open_app_connection(_settings())
    try:
        store = TradeStore(conn)
        out = []
        for path, iid, trade_file in parsed:
            total, new = len(trade_file.rows), 0
            with bar_progress(total, label=f"load {path.name}", always=True) as progress:
                for start in range(0, total, BATCH):
                    batch = trade_file.rows[start:start + BATCH]
                    new += await store.copy_trades(_trades(iid, trade_file, batch))
                    if progress is not None:
                        progress(start + len(batch), total)
            out.append((path.name, str(iid), total, new))
        return out
    finally:
        await conn.close()


@click.command(name="export-candles")
@click.option("--exchange", required=True, help="Venue, e.g. binance.")
@click.option("--symbol", required=True, help="BASE/QUOTE, e.g. BTC/USDT.")
@click.option("--timeframe", required=True, help="1m, 5m, 15m, 1h, 4h or 1d (or a venue's).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file to write (ts,open,high,low,close,volume).")
@click.option("--source", default="any", show_default=True,
              type=click.Choice(["any", "trades", "exchange"]),
              help="Only bars built from trades, only the venue's, or the candle mart's choice.")
@click.option("--build", is_flag=True,
              help="Build the candle models with dbt first (else export what was last built).")
def export_candles(exchange: str, symbol: str, timeframe: str, out: Path, source: str,
                   build: bool) -> None:
    """Write the dbt-built candles (the fct_candles mart) of one instrument and timeframe as
    ts,open,high,low,close,volume (ts = bar open, ISO-8601 UTC)."""
    from cli.sources import instrument_id
    from domain.timeframes import Timeframe

    try:
        iid = instrument_id(exchange, symbol)
        tf = Timeframe.parse(timeframe)
    except InvalidValue as exc:
        raise InputError(str(exc)) from None
    rows = asyncio.run(_export(str(iid), str(tf), source, build))
    if not rows:
        raise InputError(f"no {tf} candles for {iid}" + (f" from {source}" if source != "any"
                                                         else "") + " in the candle mart")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        handle.write("ts,open,high,low,close,volume\n")
        for open_at, *values in rows:
            handle.write(open_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + ","
                         + ",".join(_plain(value) for value in values) + "\n")
    click.echo(f"wrote {len(rows)} {tf} candles of {iid} to {out}")


async def _export(instrument: str, timeframe: str, source: str, build: bool) -> list[Any]:
    import asyncpg

    from adapters.storage.connect import connect_app
    from adapters.storage.database import resolve_database
    from cli.db import _migrate, _settings
    from orchestration.dbt_profile import DEFAULT_SCHEMA, DbtFailed, run_dbt

    settings = _settings()
    target = resolve_database(settings)
    await _migrate(settings, target)
    dsn = target.app_dsn(settings.app_role, settings.app_password).reveal()
    if build:
        click.echo("building the candle models with dbt...", err=True)
        try:
            await asyncio.to_thread(run_dbt, ["run", "--select", "+fct_candles"], dsn,
                                    target_path=Path(settings.home) / "dbt")
        except DbtFailed as exc:
            raise click.ClickException(str(exc)) from None
    conn = await connect_app(dsn)
    try:
        return list(await conn.fetch(
            f"select open_at, open, high, low, close, volume from {DEFAULT_SCHEMA}.fct_candles"
            " where instrument_id = $1 and timeframe = $2 and ($3 = 'any' or source = $3)"
            " order by open_at", instrument, timeframe, source))
    except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError):
        raise InputError("the candle models are not built yet: run export-candles --build "
                         "(or lockgate build)") from None
    finally:
        await conn.close()


def _plain(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros (``61837.6300`` -> ``61837.63``)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
