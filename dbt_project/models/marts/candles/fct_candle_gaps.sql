with

candles as (
    select * from {{ ref('fct_candles') }}
),

with_next as (
    select
        instrument_id,
        timeframe,
        source,
        open_at,
        close_at,
        lead(open_at) over (
            partition by instrument_id, timeframe order by open_at
        ) as next_open_at
    from candles
),

gaps as (
    select
        instrument_id,
        timeframe,
        close_at as gap_start_at,
        next_open_at as gap_end_at,
        floor(extract(epoch from next_open_at - open_at)
              / extract(epoch from {{ timeframe_interval('timeframe') }}))::bigint - 1
            as missing_bars,
        source as source_before
    from with_next
    where next_open_at > close_at
)

select * from gaps
