{#- The per-bar feature library: window expressions over candles of one instrument and
    timeframe, in bar order. Results are double precision, as TA-Lib and the Python twins in
    strategies/indicators compute them; a value is null until its window is full. -#}

{% macro series_window(rows=none) -%}
    partition by instrument_id, timeframe order by open_at
    {%- if rows is none %} rows between unbounded preceding and current row
    {%- else %} rows between {{ rows - 1 }} preceding and current row{% endif %}
{%- endmacro %}


{% macro previous_value(column) -%}
    lag({{ column }}) over (partition by instrument_id, timeframe order by open_at)
{%- endmacro %}


{% macro simple_return(price) -%}
    ({{ price }})::float8 / ({{ previous_value(price) }})::float8 - 1
{%- endmacro %}


{% macro log_return(price) -%}
    ln(({{ price }})::float8 / ({{ previous_value(price) }})::float8)
{%- endmacro %}


{% macro sma(column, period) -%}
    {#- Exact numeric mean of the last `period` values (an O(1) moving aggregate), rounded
        once to double precision. -#}
    case when count({{ column }}) over ({{ series_window(period) }}) = {{ period }}
        then (avg(({{ column }})::numeric) over ({{ series_window(period) }}))::float8 end
{%- endmacro %}


{% macro rolling_stddev_pop(column, period) -%}
    case when count({{ column }}) over ({{ series_window(period) }}) = {{ period }}
        then (stddev_pop(({{ column }})::numeric) over ({{ series_window(period) }}))::float8 end
{%- endmacro %}


{% macro ema(column, period) -%}
    {{ target.schema }}.lockgate_ema(({{ column }})::float8, {{ period }})
        over ({{ series_window() }})
{%- endmacro %}


{% macro wilder(column, period) -%}
    {{ target.schema }}.lockgate_wilder(({{ column }})::float8, {{ period }})
        over ({{ series_window() }})
{%- endmacro %}


{% macro true_range(high, low, close) -%}
    {#- Null on a series' first bar (no previous close), as TA-Lib's TRANGE. -#}
    case when {{ previous_value(close) }} is not null then greatest(
        ({{ high }})::float8 - ({{ low }})::float8,
        abs(({{ high }})::float8 - ({{ previous_value(close) }})::float8),
        abs(({{ low }})::float8 - ({{ previous_value(close) }})::float8)) end
{%- endmacro %}


{% macro rsi_from_averages(avg_gain, avg_loss) -%}
    case when {{ avg_gain }} is null then null
        when {{ avg_gain }} + {{ avg_loss }} > 0
            then 100.0::float8 * ({{ avg_gain }} / ({{ avg_gain }} + {{ avg_loss }}))
        else 0.0::float8 end
{%- endmacro %}


{% macro rolling_vwap(quote_volume, volume, period) -%}
    {#- Volume-weighted mean price of the last `period` bars; null when none traded. -#}
    case when count({{ volume }}) over ({{ series_window(period) }}) = {{ period }}
        then (sum({{ quote_volume }}) over ({{ series_window(period) }})
              / nullif(sum({{ volume }}) over ({{ series_window(period) }}), 0))::float8 end
{%- endmacro %}


{% macro zscore(column, period) -%}
    case when count({{ column }}) over ({{ series_window(period) }}) = {{ period }}
        then ((({{ column }})::numeric - avg(({{ column }})::numeric) over ({{ series_window(period) }}))
              / nullif(stddev_pop(({{ column }})::numeric) over ({{ series_window(period) }}), 0)
             )::float8 end
{%- endmacro %}
