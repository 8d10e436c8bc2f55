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
        {{ simple_return('close') }} as return_1,
        {{ log_return('close') }} as log_return_1
    from candles
)

select * from final
