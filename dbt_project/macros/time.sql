{#- Time helpers: bucketing, timeframe lengths, UTC days. -#}

{% macro timescaledb_installed() -%}
    {#- True when the timescaledb extension is installed in this database. -#}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query(
        "select exists (select 1 from pg_extension where extname = 'timescaledb')") -%}
    {{ return(found.columns[0].values()[0]) }}
{%- endmacro %}


{% macro bucket(width, ts, timescale=none) -%}
    {#- The start of the `width`-long bucket (e.g. '5 minutes') holding timestamptz `ts`.
        TimescaleDB's time_bucket where the extension exists, date_bin otherwise; both align
        buckets to 2000-01-03 00:00 UTC (time_bucket's default origin), so buckets of a day or
        less start at UTC midnight and every n-hour mark after it. `timescale` (true/false)
        saves the catalog query when the caller already knows. -#}
    {%- if (timescaledb_installed() if timescale is none else timescale) -%}
        time_bucket(interval '{{ width }}', {{ ts }})
    {%- else -%}
        date_bin(interval '{{ width }}', {{ ts }}, timestamptz '2000-01-03 00:00:00+00')
    {%- endif -%}
{%- endmacro %}


{% macro timeframe_interval(timeframe) -%}
    {#- The interval of a timeframe label ('1m', '4h', '1d', '1w'; the migrations' spelling). -#}
    (substring({{ timeframe }} from '^[0-9]+')::integer * case right({{ timeframe }}, 1)
        when 's' then interval '1 second'
        when 'm' then interval '1 minute'
        when 'h' then interval '1 hour'
        when 'd' then interval '1 day'
        when 'w' then interval '1 week'
    end)
{%- endmacro %}


{% macro utc_day(ts) -%}
    {#- The UTC calendar day of timestamptz `ts`, whatever the session's time zone. -#}
    (({{ ts }}) at time zone 'UTC')::date
{%- endmacro %}


{% macro utc_day_end(day) -%}
    {#- The instant a UTC calendar day ends (the next day's midnight, UTC). -#}
    ((({{ day }}) + 1)::timestamp at time zone 'UTC')
{%- endmacro %}
