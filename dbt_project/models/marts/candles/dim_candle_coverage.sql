with

candles as (
    select * from {{ ref('fct_candles') }}
),

gaps as (
    select * from {{ ref('fct_candle_gaps') }}
),

series as (
    select
        instrument_id,
        timeframe,
        min(open_at) as first_open_at,
        max(open_at) as last_open_at,
        count(*) as bars,
        count(*) filter (where source = 'trades') as bars_from_trades,
        floor(extract(epoch from max(open_at) - min(open_at))
              / extract(epoch from min({{ timeframe_interval('timeframe') }})))::bigint + 1
            as expected_bars
    from candles
    group by instrument_id, timeframe
),

gap_counts as (
    select
        instrument_id,
        timeframe,
        count(*) as gaps,
        sum(missing_bars) as missing_bars
    from gaps
    group by instrument_id, timeframe
),

final as (
    select
        series.instrument_id,
        series.timeframe,
        series.first_open_at,
        series.last_open_at,
        series.bars,
        series.bars_from_trades,
        series.expected_bars,
        coalesce(gap_counts.gaps, 0) as gaps,
        coalesce(gap_counts.missing_bars, 0) as missing_bars,
        coalesce(gap_counts.missing_bars, 0)::float8 / series.expected_bars as gap_ratio
    from series
    left join gap_counts
        on gap_counts.instrument_id = series.instrument_id
        and gap_counts.timeframe = series.timeframe
)

select * from final
