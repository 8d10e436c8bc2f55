with

source as (
    select * from {{ source('vendor', 'raw_vendor_prices') }}
),

renamed as (
    select
        vendor,
        asset,
        vs_currency,
        price,
        market_cap,
        volume_24h,
        market_cap_rank,
        observed_at,
        available_at
    from source
)

select * from renamed
