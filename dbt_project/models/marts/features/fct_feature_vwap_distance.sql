{%- set period = var('feature_window') -%}

with

candles as (
    select * from {{ ref('int_feature_candles') }}
),

final as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        close::float8 / {{ rolling_vwap('quote_volume', 'volume', period) }} - 1
            as vwap_distance_{{ period }}
    from candles
)

select * from final
