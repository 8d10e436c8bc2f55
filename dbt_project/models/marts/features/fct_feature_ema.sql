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
        {%- for period in var('feature_ema_periods') %}
        {{ ema('close', period) }} as ema_{{ period }}{{ "," if not loop.last }}
        {%- endfor %}
    from candles
)

select * from final
