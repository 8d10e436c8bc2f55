with

source as (
    select * from {{ source('lockgate', 'instruments') }}
),

renamed as (
    select
        id as instrument_id,
        venue,
        base,
        quote,
        settle,
        kind,
        price_precision,
        size_precision
    from source
)

select * from renamed
