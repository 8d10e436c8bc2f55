with

source as (
    select * from {{ source('vendor', 'raw_vendor_metrics') }}
),

renamed as (
    select
        vendor,
        metric,
        asset,
        observed_at,
        value,
        available_at
    from source
)

select * from renamed
