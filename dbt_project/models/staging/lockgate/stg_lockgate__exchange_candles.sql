with

source as (
    select * from {{ source('lockgate', 'exchange_candles') }}
),

renamed as (
    select
        instrument_id,
        timeframe,
        open_at,
        open_at + {{ timeframe_interval('timeframe') }} as close_at,
        open,
        high,
        low,
        close,
        volume
    from source
)

select * from renamed
