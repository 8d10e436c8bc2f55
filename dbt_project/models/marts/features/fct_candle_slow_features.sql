with

candles as (
    select * from {{ ref('int_feature_candles') }}
),

instruments as (
    select * from {{ ref('stg_lockgate__instruments') }}
),

news as (
    select * from {{ ref('fct_feature_news_sentiment') }}
),

ranks as (
    select * from {{ ref('fct_feature_market_cap_rank') }}
),

candle_assets as (
    select
        candles.instrument_id,
        candles.timeframe,
        candles.open_at,
        candles.available_at,
        instruments.base as asset
    from candles
    inner join instruments on instruments.instrument_id = candles.instrument_id
),

-- As of the bar's close: the latest value that was available then, never one stamped later.
final as (
    select
        candle_assets.instrument_id,
        candle_assets.timeframe,
        candle_assets.open_at,
        candle_assets.available_at,
        news.news_sentiment,
        news.news_available_at,
        rank.market_cap_rank,
        rank.rank_available_at
    from candle_assets
    {{ asof_join('news', 'news', 'news.asset = candle_assets.asset',
                 'candle_assets.available_at', ['news_sentiment']) }}
    {{ asof_join('ranks', 'rank', 'rank.asset = candle_assets.asset',
                 'candle_assets.available_at', ['market_cap_rank'],
                 tiebreak='rank.observed_at desc, rank.vendor, rank.vs_currency') }}
)

select * from final
