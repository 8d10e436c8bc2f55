"""``lockgate backfill``: history over REST (ccxt) into PostgreSQL, resumable, with progress."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import click

from cli.options import InputError

PAGE = 1000


@click.command()
@click.option("--exchange", default="binance", show_default=True, type=click.Choice(["binance"]))
@click.option("--symbol", required=True, help="BASE/QUOTE, e.g. BTC/USDT.")
@click.option("--timeframe", default="1m", show_default=True, help="Candle timeframe.")
@click.option("--since", required=True, help="ISO-8601 UTC start (inclusive).")
@click.option("--until", default=None, help="ISO-8601 UTC end (exclusive; default now).")
@click.option("--trades", "with_trades", is_flag=True,
              help="Backfill trades (by id, from the last one stored) instead of candles.")
@click.option("--rest-url", default="https://api.binance.com", show_default=True,
              help="REST base: Binance, its testnet, or the local venue.")
def backfill(exchange: str, symbol: str, timeframe: str, since: str, until: str | None,
             with_trades: bool, rest_url: str) -> None:
    """Fetch history page by page; an interrupted run resumes where the stored data ends."""
    del exchange
    start_ms, end_ms = _ms(since), _ms(until) if until else _now_ms()
    if start_ms >= end_ms:
        raise InputError("--since must be before --until")
    stored = asyncio.run(_backfill(symbol.upper(), timeframe, start_ms, end_ms, with_trades,
                                   rest_url))
    click.echo(f"{stored} new {'trades' if with_trades else timeframe + ' candles'} stored")


def _ms(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _now_ms() -> int:
    return int(datetime.now(tz=UTC).timestamp() * 1000)


async def _backfill(symbol: str, timeframe: str, start_ms: int, end_ms: int,
                    with_trades: bool, rest_url: str) -> int:
    from adapters.exchanges.binance.rest import credentials_client, load_instruments
    from adapters.secrets import default_secret_provider
    from cli.db import _settings, open_app_connection

    client = credentials_client(rest_url, rest_url.replace("http", "ws", 1),
                                default_secret_provider())
    try:
        try:
            (instrument,) = await load_instruments(client, [symbol])
        except LookupError as exc:
            raise InputError(str(exc)) from None
        conn = await open_app_connection(_settings())
        try:
            if with_trades:
                return await _trades(client, conn, instrument, start_ms, end_ms)
            return await _candles(client, conn, instrument, timeframe, start_ms, end_ms)
        finally:
            await conn.close()
    finally:
        await client.close()


async def _candles(client: Any, conn: Any, instrument: Any, timeframe: str, start_ms: int,
                   end_ms: int) -> int:
    from adapters.exchanges.binance.rest_backfill import bar_from_rest
    from adapters.exchanges.binance.streams import binance_symbol
    from adapters.storage.candles import CandleStore
    from cli.progress import bar_progress
    from domain.series import BarSeries
    from domain.timeframes import Timeframe

    tf = Timeframe.parse(timeframe)
    step_ms = tf.seconds * 1000
    resume = await conn.fetchval(
        "select (extract(epoch from max(open_at)) * 1000)::bigint from exchange_candles"
        " where instrument_id = $1 and timeframe = $2 and open_at >= to_timestamp($3 / 1000.0)"
        " and open_at < to_timestamp($4 / 1000.0)", str(instrument.id), str(tf), start_ms,
        end_ms)
    cursor = start_ms if resume is None else int(resume) + step_ms  # resume after the last
    store, new = CandleStore(conn), 0
    # "Closed" by the exchange's clock, not ours (they differ by skew), or by its newest trade
    # if that is later: a replaying venue's market can run ahead of its server clock.
    newest = await client.publicGetTrades({"symbol": binance_symbol(instrument.id), "limit": 1})
    exchange_now = max([int(await client.fetch_time())] + [int(t["time"]) for t in newest])
    total = max(1, (end_ms - cursor) // step_ms)
    with bar_progress(total, label="backfill", always=True) as progress:
        while cursor < end_ms:
            rows = await client.publicGetKlines({
                "symbol": binance_symbol(instrument.id), "interval": str(tf),
                "startTime": cursor, "endTime": end_ms - 1, "limit": PAGE})
            # Only closed candles: the one still open would be stored half-built.
            rows = [r for r in rows if int(r[6]) < exchange_now]
            if not rows:
                break
            series = BarSeries(instrument.id, tf, instrument.price_precision,
                               instrument.size_precision)
            for row in rows:
                bar = bar_from_rest(row, instrument, tf)
                series.ts_open.append(bar.ts_open)
                for column, value in ((series.open, bar.open), (series.high, bar.high),
                                      (series.low, bar.low), (series.close, bar.close),
                                      (series.volume, bar.volume)):
                    column.append(value)
            new += await store.copy_candles(series)
            cursor = int(rows[-1][0]) + step_ms
            if progress is not None:
                progress(min(total, total - (end_ms - cursor) // step_ms), total)
    return new


async def _trades(client: Any, conn: Any, instrument: Any, start_ms: int, end_ms: int) -> int:
    from adapters.exchanges.binance.rest_backfill import trade_from_rest
    from adapters.exchanges.binance.streams import binance_symbol
    from adapters.storage.trades import TradeStore
    from cli.progress import bar_progress

    last = await conn.fetchval("select max(trade_id::bigint) from trades where instrument_id = $1",
                               str(instrument.id))
    from_id = 0 if last is None else int(last) + 1  # resume after the last stored trade
    symbol = binance_symbol(instrument.id)
    # Page up to the newest trade as of now: a live venue keeps trading, and chasing its edge
    # would never end (the live feed takes over from there).
    newest = await client.publicGetTrades({"symbol": symbol, "limit": 1})
    last_id = int(newest[-1]["id"]) if newest else -1
    store, new = TradeStore(conn), 0
    with bar_progress(end_ms - start_ms, label="backfill", always=True) as progress:
        while from_id <= last_id:
            page = await client.publicGetHistoricalTrades(
                {"symbol": symbol, "fromId": from_id, "limit": PAGE})
            if not page:
                break
            rows = [r for r in page if start_ms <= int(r["time"]) < end_ms
                    and int(r["id"]) <= last_id]
            from_id = int(page[-1]["id"]) + 1
            if not rows:
                if int(page[-1]["time"]) >= end_ms:
                    break
                continue
            new += await store.copy_trades([trade_from_rest(r, instrument) for r in rows])
            if progress is not None:
                progress(min(end_ms - start_ms, int(rows[-1]["time"]) - start_ms),
                         end_ms - start_ms)
    return new
