{%- set timeframes = ['1m', '5m', '15m', '1h', '4h', '1d'] -%}

with

{% for timeframe in timeframes -%}
candles_{{ timeframe }} as (
    select '{{ timeframe }}'::text as timeframe, {{ candle_columns() }}
    from {{ ref('fct_candles_' ~ timeframe) }}
),

{% endfor -%}

unioned as (
    {%- for timeframe in timeframes %}
    select * from candles_{{ timeframe }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select * from unioned
