"""``lockgate fake-venue`` and ``lockgate ingest``: the local venue and the ingest stage."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import click

from cli.options import InputError


@click.command(name="fake-venue", context_settings={"ignore_unknown_options": True,
                                                    "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def fake_venue(args: tuple[str, ...]) -> None:
    """Run the local Binance-protocol venue (options: --port, --speed, --paused, --help...)."""
    from adapters.exchanges.fake_venue.__main__ import main

    main(list(args))


@click.command()
@click.option("--exchange", default="binance", show_default=True,
              type=click.Choice(["binance"]), help="Venue (Binance's wire format).")
@click.option("--symbols", required=True, help="Comma-separated, e.g. BTC/USDT,ETH/USDT.")
@click.option("--rest-url", default="https://api.binance.com", show_default=True,
              help="REST base (Binance, its testnet, or the local venue).")
@click.option("--ws-url", default="wss://stream.binance.com:9443", show_default=True,
              help="WebSocket base.")
@click.option("--duration", type=float, default=None,
              help="Stop after this many seconds (default: until SIGINT/SIGTERM).")
@click.option("--metrics-port", type=int, default=None, help="Serve /metrics on this port.")
@click.option("--depth/--no-depth", default=False, show_default=True,
              help="Also keep local order books (REST snapshot + @depth@100ms diffs) and store"
                   " their top levels in hot state.")
def ingest(exchange: str, symbols: str, rest_url: str, ws_url: str, duration: float | None,
           metrics_port: int | None, depth: bool) -> None:
    """Ingest trades and best bid/ask: PostgreSQL, the bus and hot state."""
    del exchange  # one venue today; the option keeps the command line stable
    wanted = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if not wanted:
        raise InputError("give at least one symbol")
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    summary = asyncio.run(_ingest(wanted, rest_url, ws_url, duration, depth))
    click.echo(summary)


async def _ingest(symbols: list[str], rest_url: str, ws_url: str,
                  duration: float | None, depth: bool) -> str:
    from adapters.exchanges.binance.rest import credentials_client
    from adapters.secrets import default_secret_provider

    client = credentials_client(rest_url, ws_url, default_secret_provider())
    try:
        return await _ingest_with(client, symbols, ws_url, duration, depth)
    finally:
        await client.close()


async def _ingest_with(client: Any, symbols: list[str], ws_url: str,
                       duration: float | None, depth: bool) -> str:
    from adapters.bus.factory import open_messaging
    from adapters.exchanges.binance.rest import load_instruments
    from adapters.storage.common import upsert_instrument
    from adapters.storage.connect import create_app_pool
    from adapters.storage.database import resolve_database
    from cli.db import _migrate, _settings
    from live.ingest_stage import run_ingest

    try:
        instruments = await load_instruments(client, symbols)
    except LookupError as exc:
        raise InputError(str(exc)) from None
    settings = _settings()
    target = resolve_database(settings)
    await _migrate(settings, target)
    pool = await create_app_pool(
        target.app_dsn(settings.app_role, settings.app_password).reveal(), max_size=6)
    messaging = await open_messaging(settings, pool)
    try:
        async with pool.acquire() as conn:
            for instrument in instruments:
                await upsert_instrument(conn, instrument.id, instrument.price_precision,
                                        instrument.size_precision)
        summary = await run_ingest(
            client, ws_url, instruments, pool, messaging.bus, messaging.hot, depth=depth,
            stop_when=lambda task: _until_stopped(task, duration))
        return f"{summary}; bus: {messaging.backend}"
    finally:
        await messaging.close()
        await pool.close()


async def _until_stopped(task: asyncio.Task[Any], duration: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait({task, waiter}, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


@click.group()
def instruments() -> None:
    """Instruments as the venue describes them."""


@instruments.command()
@click.option("--exchange", default="binance", show_default=True, type=click.Choice(["binance"]))
@click.option("--rest-url", default="https://api.binance.com", show_default=True)
def sync(exchange: str, rest_url: str) -> None:
    """Read the venue's exchangeInfo (through ccxt) into the instruments table."""
    del exchange
    synced = asyncio.run(_sync(rest_url))
    for name, status in synced:
        click.echo(f"{name}: {status}")
    click.echo(f"{len(synced)} instrument(s) synced")


async def _sync(rest_url: str) -> list[tuple[str, str]]:
    from adapters.exchanges.binance.rest import load_all_instruments, spot_client
    from adapters.storage.common import sync_instrument
    from cli.db import _settings, open_app_connection

    client = spot_client(rest_url, rest_url.replace("http", "ws", 1))
    try:
        found = await load_all_instruments(client)
    finally:
        await client.close()
    conn = await open_app_connection(_settings())
    try:
        async with conn.transaction():
            for instrument, status in found:
                await sync_instrument(conn, instrument, status)
    finally:
        await conn.close()
    return [(str(i.id), status) for i, status in found]
