{{ config(indexes=[{'columns': ['asset', 'available_at']}]) }}

with

prices as (
    select * from {{ ref('stg_vendor__prices') }}
),

final as (
    select
        vendor,
        asset,
        vs_currency,
        observed_at,
        available_at,
        market_cap_rank,
        market_cap
    from prices
    where market_cap_rank is not null
)

select * from final
