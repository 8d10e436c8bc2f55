{#- Incremental builds that find what changed through transaction ids.

    Every input row carries the id of the transaction that wrote it: `ingest_xid` on trades,
    `_written_xid` on fct_candles_1m. A build stores, in each row it writes, `_watermark_xid`:
    the xmin of the snapshot with which it decided what to read. Every transaction below that
    xmin had finished then, so an input row the build did not see was written by a transaction
    whose id is >= the xmin. The next build therefore re-reads exactly the buckets holding
    inputs with `<xid column> >= max(_watermark_xid)`: late trades with an old traded_at
    included, whatever the clocks say and however long the writing transaction ran. Re-reading
    a few buckets the previous build had already seen is harmless (buckets are rebuilt whole).

    The changed buckets are found before the model's query runs (`changed_ranges`) and written
    into it as literal time ranges, so the planner sees how little it has to read (index range
    scans, no JIT) instead of guessing at a join. -#}

{% macro previous_watermark() -%}
    {#- The xid from which inputs must be re-read (text), or none for a full build. -#}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set row = run_query(
        "select max(_watermark_xid)::text,"
        ~ " coalesce(max(_watermark_xid) > pg_snapshot_xmin(pg_current_snapshot()), false)"
        ~ " from " ~ this).rows[0] -%}
    {%- if row[0] is none -%}
        {{ return('0') }}
    {%- endif -%}
    {%- if row[1] -%}
        {#- Ids from another server (a logical restore): nothing can be trusted, re-read all. -#}
        {{ log(this ~ ": stored watermark " ~ row[0] ~ " is ahead of this server's transaction"
               ~ " ids (restored from elsewhere?); rebuilding every bucket", info=true) }}
        {{ return('0') }}
    {%- endif -%}
    {{ return(row[0]) }}
{%- endmacro %}


{% macro changed_ranges(relation, time_column, xid_column, since, width, max_ranges=200,
                        timescale=none) -%}
    {#- Find the `width` buckets of `relation` holding rows with `xid_column >= since`.
        Return {'watermark': xmin of the snapshot they were found with,
                'ranges': [(instrument_id, start, end), ...]}, consecutive buckets (less than
        an hour apart) merged into one range; with more than `max_ranges` ranges, one range
        per instrument. -#}
    {%- set query -%}
        with
        snapshot as (
            select pg_snapshot_xmin(pg_current_snapshot())::text as xmin
        ),
        changed as (
            select distinct instrument_id, {{ bucket(width, time_column, timescale) }} as open_at
            from {{ relation }}
            where {{ xid_column }} >= '{{ since }}'::xid8
        ),
        starts as (
            select
                instrument_id,
                open_at,
                coalesce(open_at - lag(open_at) over by_time > interval '1 hour', true)
                    as starts_range
            from changed
            window by_time as (partition by instrument_id order by open_at)
        ),
        numbered as (
            select
                instrument_id,
                open_at,
                count(*) filter (where starts_range) over (
                    partition by instrument_id order by open_at) as range_no
            from starts
        ),
        ranges as (
            select
                instrument_id,
                min(open_at) as start_at,
                max(open_at) + interval '{{ width }}' as end_at
            from numbered
            group by instrument_id, range_no
        )
        select
            snapshot.xmin,
            ranges.instrument_id,
            ranges.start_at::text,
            ranges.end_at::text
        from snapshot
        left join ranges on true
        order by ranges.instrument_id, ranges.start_at
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- set ranges = [] -%}
    {%- for row in rows if row[1] is not none -%}
        {%- do ranges.append((row[1], row[2], row[3])) -%}
    {%- endfor -%}
    {%- if ranges | length > max_ranges -%}
        {%- set per_instrument = {} -%}
        {%- for instrument_id, start_at, end_at in ranges -%}
            {%- if instrument_id in per_instrument -%}
                {%- do per_instrument.update({instrument_id: (per_instrument[instrument_id][0], end_at)}) -%}
            {%- else -%}
                {%- do per_instrument.update({instrument_id: (start_at, end_at)}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set ranges = [] -%}
        {%- for instrument_id, span in per_instrument.items() -%}
            {%- do ranges.append((instrument_id, span[0], span[1])) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return({'watermark': rows[0][0], 'ranges': ranges}) }}
{%- endmacro %}


{% macro in_ranges(time_column, ranges) -%}
    {#- A predicate: the row's instrument and time fall into one of `ranges`. -#}
    {%- if not ranges -%}
        false
    {%- else -%}
        {%- for instrument_id, start_at, end_at in ranges %}
        {% if not loop.first %}or {% endif -%}
        (instrument_id = '{{ instrument_id | replace("'", "''") }}'
            and {{ time_column }} >= '{{ start_at }}'::timestamptz
            and {{ time_column }} < '{{ end_at }}'::timestamptz)
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{% macro snapshot_watermark() -%}
    {#- The xmin of the snapshot this statement reads with (parallel safe). -#}
    pg_snapshot_xmin(pg_current_snapshot())
{%- endmacro %}


{% macro stamp_written_xid() -%}
    {#- Post-hook: stamp the rows this build wrote with its transaction id, for the models
        built incrementally from this one. In a post-hook rather than in the model's query,
        because pg_current_xact_id() would forbid a parallel plan. -#}
    update {{ this }} set _written_xid = pg_current_xact_id() where _written_xid is null
{%- endmacro %}


{% macro relation_has_column(relation, column) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- for col in adapter.get_columns_in_relation(relation) -%}
        {%- if col.name | lower == column -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{% macro analyze_table() -%}
    {#- Post-hook: fresh statistics for a table just built, so the models and readers that
        query it next get sensible plans (autovacuum's analyze may come minutes later). -#}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
