{%- set period = var('feature_bollinger_period') -%}
{%- set nbdev = var('feature_bollinger_nbdev') -%}

with

candles as (
    select * from {{ ref('int_feature_candles') }}
),

moments as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        {{ sma('close', period) }} as middle,
        {{ rolling_stddev_pop('close', period) }} as deviation
    from candles
),

-- TA-Lib's BBANDS (matype SMA): middle +/- nbdev population standard deviations.
final as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        middle + {{ nbdev }}::float8 * deviation as bb_upper_{{ period }},
        middle as bb_middle_{{ period }},
        middle - {{ nbdev }}::float8 * deviation as bb_lower_{{ period }}
    from moments
)

select * from final
