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
        {%- for period in var('feature_sma_periods') %}
        {{ sma('close', period) }} as sma_{{ period }}{{ "," if not loop.last }}
        {%- endfor %}
    from candles
)

select * from final
