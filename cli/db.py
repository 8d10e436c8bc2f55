"""``lockgate db ...``, ``lockgate migrate`` and ``lockgate load-candles``: the database side."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from cli.options import InputError


def _settings() -> Any:
    from adapters.config.settings import load_settings

    return load_settings()


async def open_app_connection(settings: Any) -> Any:
    """Resolve the database (embedded by default), migrate it, connect as the app's role."""
    from adapters.storage.connect import connect_app
    from adapters.storage.database import resolve_database

    target = resolve_database(settings)
    await _migrate(settings, target)
    return await connect_app(target.app_dsn(settings.app_role, settings.app_password).reveal())


async def _migrate(settings: Any, target: Any) -> list[str]:
    from adapters.storage.migrate import migrate
    from adapters.storage.timescale import apply_timescale

    password = settings.app_password.reveal() if settings.app_password is not None else None
    return await migrate(target.admin_dsn.reveal(), app_role=settings.app_role,
                         app_password=password, post_steps=(apply_timescale,))


@click.group()
def db() -> None:
    """Inspect or stop the embedded PostgreSQL server."""


@db.command()
def status() -> None:
    """Say which database Lockgate uses and whether the embedded server runs."""
    from adapters.storage.embedded import EmbeddedPostgres

    settings = _settings()
    if settings.database_url is not None:
        click.echo("database: configured server (LOCKGATE_DATABASE_URL); no embedded server")
        return
    state = EmbeddedPostgres(Path(settings.home)).status()
    click.echo(f"embedded PostgreSQL under {state.pgdata}: "
               + (f"running (pid {state.pid})" if state.running else "stopped"))


@db.command()
def stop() -> None:
    """Stop the embedded PostgreSQL server shared by Lockgate processes."""
    from adapters.storage.embedded import EmbeddedPostgres

    settings = _settings()
    stopped = EmbeddedPostgres(Path(settings.home)).stop()
    click.echo("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


@click.command()
def migrate() -> None:
    """Create or upgrade the schema and the application's role."""
    from adapters.storage.database import resolve_database

    settings = _settings()
    target = resolve_database(settings)
    applied = asyncio.run(_migrate(settings, target))
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied
                                                         else "; the schema is up to date"))
    hyper = asyncio.run(_timescale(target.admin_dsn.reveal()))
    click.echo("time-series tables: " + ("TimescaleDB hypertables (compression, retention)"
                                         if hyper else "plain PostgreSQL (no timescaledb)"))


async def _timescale(dsn: str) -> bool:
    import asyncpg

    from adapters.storage.timescale import timescale_available

    conn = await asyncpg.connect(dsn)
    try:
        return bool(await timescale_available(conn))
    finally:
        await conn.close()


@click.command(name="load-candles")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--exchange", default=None, help="Venue, e.g. binance (default: from file name).")
@click.option("--symbol", default=None, help="BASE/QUOTE, e.g. BTC/USDT (default: file name).")
@click.option("--timeframe", default=None, help="e.g. 1h (default: file name or row spacing).")
def load_candles(files: tuple[Path, ...], exchange: str | None, symbol: str | None,
                 timeframe: str | None) -> None:
    """Bulk-load candle CSVs into the database (loading a file twice adds nothing)."""
    from domain.errors import InvalidValue

    settings = _settings()
    try:
        loaded = asyncio.run(_load(settings, files, exchange, symbol, timeframe))
    except InvalidValue as exc:
        raise InputError(str(exc)) from None
    for name, instrument, tf, rows, new in loaded:
        click.echo(f"{name}: {instrument} {tf}: {rows} rows, {new} new")


async def _load(settings: Any, files: tuple[Path, ...], exchange: str | None,
                symbol: str | None, timeframe: str | None) -> list[tuple[str, str, str, int, int]]:
    from adapters.storage.candles import CandleStore
    from cli.sources import csv_series

    conn = await open_app_connection(settings)
    try:
        store = CandleStore(conn)
        out = []
        for path in files:
            series = csv_series(path, exchange, symbol, timeframe)
            await store.upsert_instrument(series.instrument_id, series.price_precision,
                                          series.size_precision)
            new = await store.copy_candles(series)
            out.append((path.name, str(series.instrument_id), str(series.timeframe),
                        len(series), new))
        return out
    finally:
        await conn.close()
