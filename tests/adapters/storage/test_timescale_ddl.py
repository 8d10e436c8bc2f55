"""The statements the TimescaleDB path would issue (the extension is not installed here)."""

from __future__ import annotations

import pytest

from adapters.storage.timescale import TIME_SERIES, Hypertable, hypertable_ddl


def test_the_ddl_creates_the_extension_first_then_each_hypertable_with_its_policies() -> None:
    statements = hypertable_ddl()

    assert statements[0] == "create extension if not exists timescaledb"
    assert statements[1] == (
        "select create_hypertable('trades', by_range('traded_at', interval '1 day'),"
        " if_not_exists => true, migrate_data => true, create_default_indexes => false)")
    assert ("alter table trades set (timescaledb.compress,"
            " timescaledb.compress_segmentby = 'instrument_id',"
            " timescaledb.compress_orderby = 'traded_at desc')") in statements[2]
    assert statements[3] == (
        "select add_compression_policy('trades', compress_after => interval '7 days',"
        " if_not_exists => true)")
    assert statements[4] == (
        "select add_retention_policy('trades', drop_after => interval '180 days',"
        " if_not_exists => true)")


def test_every_time_series_table_is_partitioned_compressed_and_only_trades_expire() -> None:
    statements = hypertable_ddl()

    for spec in TIME_SERIES:
        table = f"('{spec.table}'"
        create = [s for s in statements if s.startswith("select create_hypertable" + table)]
        compress = [s for s in statements if f"alter table {spec.table} set" in s]
        policy = [s for s in statements if s.startswith("select add_compression_policy" + table)]
        assert len(create) == len(compress) == len(policy) == 1, spec.table
        assert f"by_range('{spec.time_column}', interval '{spec.chunk_interval}')" in create[0]
        assert f"compress_orderby = '{spec.time_column} desc'" in compress[0]
    retention = [s for s in statements if "add_retention_policy" in s]
    assert len(retention) == 1
    assert retention[0].startswith("select add_retention_policy('trades'")
    candles = next(s for s in statements if "alter table exchange_candles set" in s)
    assert "compress_segmentby = 'instrument_id, timeframe'" in candles
    assert {spec.table for spec in TIME_SERIES} == {
        "trades", "exchange_candles", "signals", "equity_snapshots"}


def test_the_compression_settings_are_set_only_while_compression_is_off() -> None:
    statement = hypertable_ddl([Hypertable("ticks", "ts_at", "1 day", ("instrument_id",),
                                           "2 days")])[2]

    # Changing them once chunks are compressed is an error, and post-steps run every time.
    assert statement.startswith("do $$ begin if not exists (select 1 from"
                                " timescaledb_information.hypertables")
    assert "hypertable_name = 'ticks' and compression_enabled" in statement
    assert statement.endswith("end if; end $$")


def test_a_table_without_retention_gets_no_retention_policy() -> None:
    statements = hypertable_ddl([Hypertable("ticks", "ts_at", "1 day", ("instrument_id",),
                                            "2 days")])

    assert len(statements) == 4
    assert not any("add_retention_policy" in s for s in statements)


@pytest.mark.parametrize("kwargs", [
    {"table": "ticks; drop table orders"},
    {"time_column": "Ts"},
    {"chunk_interval": "1 day'); drop table orders; --"},
    {"segment_by": ()},
    {"drop_after": "forever"},
])
def test_a_spec_that_would_not_make_safe_sql_is_refused(kwargs: dict[str, object]) -> None:
    spec = {"table": "ticks", "time_column": "ts_at", "chunk_interval": "1 day",
            "segment_by": ("instrument_id",), "compress_after": "2 days", **kwargs}

    with pytest.raises(ValueError):
        Hypertable(**spec)  # type: ignore[arg-type]
