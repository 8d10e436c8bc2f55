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
        {{ zscore('volume', period) }} as volume_zscore_{{ period }}
    from candles
)

select * from final
