{{ config(materialized='view') }}

with

exchange_candles as (
    select * from {{ ref('stg_lockgate__exchange_candles') }}
),

trade_candles as (
    select * from {{ ref('int_candles_from_trades') }}
),

from_exchange as (
    select
        instrument_id,
        timeframe,
        open_at,
        close_at,
        open,
        high,
        low,
        close,
        volume,
        null::numeric as quote_volume,
        null::numeric as vwap,
        null::bigint as trade_count,
        null::numeric as taker_buy_volume,
        'exchange'::text as source
    from exchange_candles
),

-- Trade-built bars fill the slots the venue published nothing for (e.g. live minutes not
-- backfilled yet); a venue's own bar is complete even where Lockgate's trade capture is not.
from_trades as (
    select
        instrument_id,
        timeframe,
        open_at,
        close_at,
        open,
        high,
        low,
        close,
        volume,
        quote_volume,
        vwap,
        trade_count,
        taker_buy_volume,
        'trades'::text as source
    from trade_candles
    where not exists (
        select 1
        from exchange_candles
        where exchange_candles.instrument_id = trade_candles.instrument_id
            and exchange_candles.timeframe = trade_candles.timeframe
            and exchange_candles.open_at = trade_candles.open_at
    )
),

unioned as (
    select * from from_exchange
    union all
    select * from from_trades
)

select * from unioned
