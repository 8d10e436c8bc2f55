with

candles as (
    select * from {{ ref('fct_candles') }}
),

final as (
    select
        instrument_id,
        timeframe,
        open_at,
        close_at as available_at,
        open,
        high,
        low,
        close,
        volume,
        -- Venue bars carry no quote volume: estimate it from the typical price.
        coalesce(quote_volume, (high + low + close) / 3 * volume) as quote_volume
    from candles
)

select * from final
