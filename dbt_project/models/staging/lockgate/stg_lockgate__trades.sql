with

source as (
    select * from {{ source('lockgate', 'trades') }}
),

renamed as (
    select
        instrument_id,
        trade_id,
        traded_at,
        price,
        qty,
        aggressor,
        {% if relation_has_column(source('lockgate', 'trades'), 'ingest_xid') -%}
        ingest_xid
        {%- else -%}
        null::xid8 as ingest_xid
        {%- endif %}
    from source
)

select * from renamed
