{{ config(indexes=[{'columns': ['asset', 'available_at']}]) }}

with

posts as (
    select * from {{ ref('int_news_post_assets') }}
),

-- Posts are counted in the hour they became available to Lockgate, not the hour they claim
-- to be published in, so an hour's value uses only what was known by the hour's end.
hourly as (
    select
        asset,
        {{ bucket('1 hour', 'available_at') }} as hour_at,
        count(*) as posts,
        sum(votes_positive) as votes_positive,
        sum(votes_negative) as votes_negative
    from posts
    group by 1, 2
),

final as (
    select
        asset,
        hour_at,
        hour_at + interval '1 hour' as available_at,
        posts,
        votes_positive,
        votes_negative,
        case when votes_positive + votes_negative > 0
            then (votes_positive - votes_negative)::numeric
                / (votes_positive + votes_negative)
        end as news_sentiment
    from hourly
)

select * from final
