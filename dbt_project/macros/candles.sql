{#- Candles built from trades, and their rollups (see macros/incremental.sql for how an
    incremental run finds the buckets to rebuild). -#}

{% macro candle_session_settings() -%}
    {#- Pre-hook of the candle models (inside their transaction). JIT compilation costs more
        than it saves here: the planner cannot know how few trades share a minute, so the
        open/close lookups look expensive and an 85 ms refresh spent a second compiling.
        Sorts and hashes of a refresh fit in memory instead of spilling. -#}
    set local jit = off; set local work_mem = '64MB'
{%- endmacro %}


{% macro candle_columns() -%}
    instrument_id, open_at, close_at, open, high, low, close, volume, quote_volume, vwap,
    trade_count, taker_buy_volume, first_trade_id, last_trade_id
{%- endmacro %}


{% macro candles_from_trades(width) -%}
    {#- `width`-long bars (e.g. '1 minute') from stg_lockgate__trades. Open and close are the
        first and last trades by time, then trade id (numeric ids numerically); a bucket without
        trades has no bar. Incremental runs rebuild only the buckets holding trades inserted
        since the previous run, late trades included. -#}
    {%- set trades_relation = ref('stg_lockgate__trades') -%}
    {%- set timescale = timescaledb_installed() -%}
    {%- set since = previous_watermark() -%}
    {%- set changed = none -%}
    {%- if since is not none -%}
        {%- if relation_has_column(source('lockgate', 'trades'), 'ingest_xid') -%}
            {%- set changed = changed_ranges(trades_relation, 'traded_at', 'ingest_xid', since,
                                             width, timescale=timescale) -%}
        {%- else -%}
            {{ log(this ~ ": trades has no ingest_xid column, so changed buckets cannot be"
                   ~ " found; rebuilding every bucket", info=true) }}
        {%- endif -%}
    {%- endif %}

with

trades as not materialized (
    select * from {{ trades_relation }}
),

bucket_trades as (
    select * from trades
    {%- if changed is not none %}
    where {{ in_ranges('traded_at', changed.ranges) }}
    {%- endif %}
),

aggregated as (
    select
        instrument_id,
        {{ bucket(width, 'traded_at', timescale) }} as open_at,
        max(price) as high,
        min(price) as low,
        min(traded_at) as first_traded_at,
        max(traded_at) as last_traded_at,
        sum(qty) as volume,
        sum(price * qty) as quote_volume,
        count(*) as trade_count,
        coalesce(sum(qty) filter (where aggressor = 'buy'), 0) as taker_buy_volume
    from bucket_trades
    group by 1, 2
),

-- Open and close: one index lookup each at the bucket's first and last trade time (where
-- several trades share that time, the trade id decides), instead of sorting every bucket.
final as (
    select
        aggregated.instrument_id,
        aggregated.open_at,
        aggregated.open_at + interval '{{ width }}' as close_at,
        first_trade.price as open,
        aggregated.high,
        aggregated.low,
        last_trade.price as close,
        aggregated.volume,
        aggregated.quote_volume,
        aggregated.quote_volume / aggregated.volume as vwap,
        aggregated.trade_count,
        aggregated.taker_buy_volume,
        first_trade.trade_id as first_trade_id,
        last_trade.trade_id as last_trade_id,
        {% if changed is not none -%}
        '{{ changed.watermark }}'::xid8 as _watermark_xid,
        {%- else -%}
        {{ snapshot_watermark() }} as _watermark_xid,
        {%- endif %}
        null::xid8 as _written_xid
    from aggregated
    cross join lateral (
        select trades.price, trades.trade_id
        from trades
        where trades.instrument_id = aggregated.instrument_id
            and trades.traded_at = aggregated.first_traded_at
        order by {{ trade_id_order('trades.trade_id') }}
        limit 1
    ) as first_trade
    cross join lateral (
        select trades.price, trades.trade_id
        from trades
        where trades.instrument_id = aggregated.instrument_id
            and trades.traded_at = aggregated.last_traded_at
        order by {{ trade_id_order('trades.trade_id', 'desc') }}
        limit 1
    ) as last_trade
)

select * from final
{%- endmacro %}


{% macro candle_rollup(width) -%}
    {#- `width`-long bars rolled up from fct_candles_1m. An incremental run rebuilds the
        buckets holding 1m bars written since its previous run (their `_written_xid`). -#}
    {%- set candles_relation = ref('fct_candles_1m') -%}
    {%- set timescale = timescaledb_installed() -%}
    {%- set since = previous_watermark() -%}
    {%- set changed = none -%}
    {%- if since is not none -%}
        {%- set changed = changed_ranges(candles_relation, 'open_at', '_written_xid', since,
                                         width, timescale=timescale) -%}
    {%- endif %}

with

candles_1m as (
    select * from {{ candles_relation }}
),

minute_bars as (
    select * from candles_1m
    {%- if changed is not none %}
    where {{ in_ranges('open_at', changed.ranges) }}
    {%- endif %}
),

rolled as (
    select
        instrument_id,
        {{ bucket(width, 'open_at', timescale) }} as open_at,
        (array_agg(open order by open_at))[1] as open,
        max(high) as high,
        min(low) as low,
        (array_agg(close order by open_at desc))[1] as close,
        sum(volume) as volume,
        sum(quote_volume) as quote_volume,
        sum(trade_count) as trade_count,
        sum(taker_buy_volume) as taker_buy_volume,
        (array_agg(first_trade_id order by open_at))[1] as first_trade_id,
        (array_agg(last_trade_id order by open_at desc))[1] as last_trade_id
    from minute_bars
    group by 1, 2
),

final as (
    select
        instrument_id,
        open_at,
        open_at + interval '{{ width }}' as close_at,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        quote_volume / volume as vwap,
        trade_count,
        taker_buy_volume,
        first_trade_id,
        last_trade_id,
        {% if changed is not none -%}
        '{{ changed.watermark }}'::xid8 as _watermark_xid
        {%- else -%}
        {{ snapshot_watermark() }} as _watermark_xid
        {%- endif %}
    from rolled
)

select * from final
{%- endmacro %}
