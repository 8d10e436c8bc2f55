with

source as (
    select * from {{ source('vendor', 'raw_vendor_news') }}
),

renamed as (
    select
        vendor,
        post_id,
        title,
        url,
        source as news_source,
        published_at,
        available_at,
        currencies,
        votes_positive,
        votes_negative
    from source
)

select * from renamed
