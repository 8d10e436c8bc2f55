-- Every rolled-up bar equals the 1m bars it covers (catches a rollup left stale by an
-- incremental run): open, high, low, close, volume, quote volume and trade count.
{%- set timeframes = ['5m', '15m', '1h', '4h', '1d'] %}

with

candles_1m as (
    select * from {{ ref('fct_candles_1m') }}
),

{% for timeframe in timeframes -%}
mismatches_{{ timeframe }} as (
    select '{{ timeframe }}' as timeframe, rollup.instrument_id, rollup.open_at
    from {{ ref('fct_candles_' ~ timeframe) }} as rollup
    cross join lateral (
        select
            (array_agg(candles_1m.open order by candles_1m.open_at))[1] as open,
            max(candles_1m.high) as high,
            min(candles_1m.low) as low,
            (array_agg(candles_1m.close order by candles_1m.open_at desc))[1] as close,
            sum(candles_1m.volume) as volume,
            sum(candles_1m.quote_volume) as quote_volume,
            sum(candles_1m.trade_count) as trade_count
        from candles_1m
        where candles_1m.instrument_id = rollup.instrument_id
            and candles_1m.open_at >= rollup.open_at
            and candles_1m.open_at < rollup.close_at
    ) as covered
    where (covered.open, covered.high, covered.low, covered.close, covered.volume,
           covered.quote_volume, covered.trade_count)
        is distinct from (rollup.open, rollup.high, rollup.low, rollup.close, rollup.volume,
                          rollup.quote_volume, rollup.trade_count)
),

{% endfor -%}

mismatches as (
    {%- for timeframe in timeframes %}
    select * from mismatches_{{ timeframe }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from mismatches
