with

posts as (
    select * from {{ ref('stg_vendor__news_posts') }}
),

-- One row per post and currency it mentions (a post about BTC and ETH counts for both).
final as (
    select distinct
        posts.vendor,
        posts.post_id,
        upper(currency.code) as asset,
        posts.published_at,
        posts.available_at,
        posts.votes_positive,
        posts.votes_negative
    from posts
    cross join lateral unnest(posts.currencies) as currency (code)
)

select * from final
