"""Vendor data into a freshly migrated database as the application role: exact, idempotent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from adapters.secrets import EnvSecretProvider
from adapters.storage.connect import app_dsn, connect_app
from adapters.storage.vendor_data import VendorDataStore
from adapters.vendors import (
    CoinGeckoClient,
    CoinGeckoConfig,
    CoinMarketCapClient,
    CoinMarketCapConfig,
    CryptoPanicClient,
    CryptoPanicConfig,
    GlassnodeClient,
    GlassnodeConfig,
    VendorHttpConfig,
    VendorPrice,
)
from adapters.vendors.fake import RunningFakes
from adapters.vendors.http import Runtime
from adapters.vendors.metrics import VendorMetrics
from tests.adapters.vendors.conftest import fast

# What the dbt project reads: (column, type, nullable), in table order.
SCHEMA = {
    "raw_vendor_prices": [
        ("vendor", "text", "NO"), ("asset", "text", "NO"), ("vs_currency", "text", "NO"),
        ("price", "numeric", "NO"), ("market_cap", "numeric", "YES"),
        ("volume_24h", "numeric", "YES"), ("market_cap_rank", "integer", "YES"),
        ("observed_at", "timestamp with time zone", "NO"),
        ("available_at", "timestamp with time zone", "NO")],
    "raw_vendor_news": [
        ("vendor", "text", "NO"), ("post_id", "text", "NO"), ("title", "text", "NO"),
        ("url", "text", "NO"), ("source", "text", "YES"),
        ("published_at", "timestamp with time zone", "NO"),
        ("available_at", "timestamp with time zone", "NO"), ("currencies", "ARRAY", "NO"),
        ("votes_positive", "integer", "NO"), ("votes_negative", "integer", "NO")],
    "raw_vendor_metrics": [
        ("vendor", "text", "NO"), ("metric", "text", "NO"), ("asset", "text", "NO"),
        ("observed_at", "timestamp with time zone", "NO"), ("value", "numeric", "NO"),
        ("available_at", "timestamp with time zone", "NO")],
}
KEYS = {"raw_vendor_prices": ["vendor", "asset", "vs_currency", "observed_at"],
        "raw_vendor_news": ["vendor", "post_id"],
        "raw_vendor_metrics": ["vendor", "metric", "asset", "observed_at"]}


@pytest.fixture
async def app_conn(migrated_database: str, app_role: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the application role to a freshly migrated database."""
    conn = await connect_app(app_dsn(migrated_database, app_role))
    try:
        yield conn
    finally:
        await conn.close()


async def test_the_tables_have_exactly_the_columns_and_keys_dbt_relies_on(
    app_conn: asyncpg.Connection,
) -> None:
    for table, columns in SCHEMA.items():
        found = await app_conn.fetch(
            "select column_name, data_type, is_nullable from information_schema.columns"
            " where table_schema = 'public' and table_name = $1 order by ordinal_position",
            table)
        key = await app_conn.fetchval(
            "select array_agg(a.attname order by k.ord) from pg_index i"
            " cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)"
            " join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum"
            " where i.indrelid = $1::regclass and i.indisprimary", table)
        assert [tuple(r) for r in found] == columns, table
        assert list(key) == KEYS[table], table


async def test_fetched_vendor_data_round_trips_exactly_and_a_second_load_adds_nothing(
    fakes: RunningFakes, app_conn: asyncpg.Connection, metrics: VendorMetrics,
    runtime: Runtime, demo_secrets: EnvSecretProvider,
) -> None:
    def http(vendor: str) -> VendorHttpConfig:
        return fast(fakes.base_url(vendor))

    async with (
        CoinGeckoClient.from_secrets(CoinGeckoConfig(http=http("coingecko")),
                                     secrets=demo_secrets, metrics=metrics, runtime=runtime) as g,
        CoinMarketCapClient.from_secrets(CoinMarketCapConfig(http=http("coinmarketcap")),
                                         secrets=demo_secrets, metrics=metrics,
                                         runtime=runtime) as c,
        CryptoPanicClient.from_secrets(CryptoPanicConfig(http=http("cryptopanic")),
                                       secrets=demo_secrets, metrics=metrics,
                                       runtime=runtime) as p,
        GlassnodeClient.from_secrets(GlassnodeConfig(http=http("glassnode")),
                                     secrets=demo_secrets, metrics=metrics,
                                     runtime=runtime) as n,
    ):
        prices = [*(await g.prices(["BTC", "ETH", "XRP"])).items,
                  *(await c.prices(["BTC", "ETH", "XRP"])).items,
                  *(await g.simple_prices(["BTC"], "EUR")).items]
        posts = (await p.posts()).items
        points = [*(await n.series("indicators/sopr", "BTC")).items,
                  *(await n.series("addresses/active_count", "ETH", interval="1h")).items]
    store = VendorDataStore(app_conn)

    first = (await store.copy_prices(prices), await store.copy_news(posts),
             await store.copy_metrics(points))
    again = (await store.copy_prices(prices), await store.copy_news(posts),
             await store.copy_metrics(points))

    assert first == (len(prices), len(posts), len(points)) == (7, 45, len(points))
    assert again == (0, 0, 0)
    stored_prices = {(r["vendor"], r["asset"], r["vs_currency"]): tuple(r) for r in
                     await app_conn.fetch("select * from raw_vendor_prices")}
    assert stored_prices == {(x.vendor, x.asset, x.vs_currency): (
        x.vendor, x.asset, x.vs_currency, x.price, x.market_cap, x.volume_24h,
        x.market_cap_rank, x.observed_at, x.available_at) for x in prices}
    stored_posts = {r["post_id"]: tuple(r) for r in
                    await app_conn.fetch("select * from raw_vendor_news")}
    assert stored_posts == {x.post_id: (
        x.vendor, x.post_id, x.title, x.url, x.source, x.published_at, x.available_at,
        list(x.currencies), x.votes_positive, x.votes_negative) for x in posts}
    stored_points = sorted(tuple(r) for r in await app_conn.fetch(
        "select vendor, metric, asset, observed_at, value, available_at"
        " from raw_vendor_metrics"))
    assert stored_points == sorted((x.vendor, x.metric, x.asset, x.observed_at, x.value,
                                    x.available_at) for x in points)


async def test_a_reload_keeps_the_first_available_at(app_conn: asyncpg.Connection) -> None:
    first = VendorPrice(vendor="coingecko", asset="BTC", vs_currency="USD", price=Decimal(1),
                        observed_at=datetime(2018, 6, 1, tzinfo=UTC),
                        available_at=datetime(2018, 6, 1, 0, 1, tzinfo=UTC))
    later = VendorPrice(vendor="coingecko", asset="BTC", vs_currency="USD", price=Decimal(1),
                        observed_at=first.observed_at,
                        available_at=datetime(2018, 6, 2, tzinfo=UTC))
    store = VendorDataStore(app_conn)

    assert await store.copy_prices([first]) == 1
    assert await store.copy_prices([later, later]) == 0
    assert await store.copy_prices([]) == 0
    assert await app_conn.fetchval("select available_at from raw_vendor_prices") == (
        first.available_at)


async def test_the_checks_refuse_what_no_vendor_may_send(app_conn: asyncpg.Connection) -> None:
    bad = ["insert into raw_vendor_prices values ('x', 'BTC', 'USD', 0, null, null, null,"
           " now(), now())",
           "insert into raw_vendor_prices values ('x', 'BTC', 'USD', 'NaN', null, null, null,"
           " now(), now())",
           "insert into raw_vendor_prices values ('x', 'btc', 'USD', 1, null, null, null,"
           " now(), now())",
           "insert into raw_vendor_news values ('x', '1', 't', 'u', null, now(), now(),"
           " '{BTC}', -1, 0)",
           "insert into raw_vendor_metrics values ('x', 'm/n', 'BTC', now(), 'Infinity', now())"]
    for statement in bad:
        with pytest.raises(asyncpg.CheckViolationError):
            await app_conn.execute(statement)
