with

candles as (
    select * from {{ ref('fct_candles') }}
),

fills as (
    select * from {{ ref('stg_lockgate__fills') }}
),

-- The last 1m close of each UTC day, for the instruments anything was traded in.
final as (
    select distinct on (instrument_id, {{ utc_day('open_at') }})
        instrument_id,
        {{ utc_day('open_at') }} as day,
        close as mark_price,
        close_at as marked_at
    from candles
    where timeframe = '1m'
        and instrument_id in (select instrument_id from fills)
    order by instrument_id, {{ utc_day('open_at') }}, open_at desc
)

select * from final
