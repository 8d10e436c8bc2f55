{%- set period = var('feature_window') -%}

with

candles as (
    select * from {{ ref('int_feature_candles') }}
),

returns as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        {{ log_return('close') }} as log_return_1
    from candles
),

final as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        case when count(log_return_1) over ({{ series_window(period) }}) = {{ period }}
            then stddev_samp(log_return_1) over ({{ series_window(period) }}) end
            as volatility_{{ period }}
    from returns
)

select * from final
