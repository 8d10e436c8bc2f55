{%- set period = var('feature_rsi_period') -%}

with

candles as (
    select * from {{ ref('int_feature_candles') }}
),

changes as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        close::float8 - ({{ previous_value('close') }})::float8 as change
    from candles
),

averages as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        -- greatest() skips nulls: keep the first bar's missing change missing.
        {{ wilder('case when change is not null then greatest(change, 0) end', period) }}
            as avg_gain,
        {{ wilder('case when change is not null then greatest(-change, 0) end', period) }}
            as avg_loss
    from changes
),

final as (
    select
        instrument_id,
        timeframe,
        open_at,
        available_at,
        {{ rsi_from_averages('avg_gain', 'avg_loss') }} as rsi_{{ period }}
    from averages
)

select * from final
