{%- set period = var('feature_atr_period') -%}

with

candles as (
    select * from {{ ref('int_feature_candles') }}
),

true_ranges as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        {{ true_range('high', 'low', 'close') }} as true_range
    from candles
),

final as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        {{ wilder('true_range', period) }} as atr_{{ period }}
    from true_ranges
)

select * from final
