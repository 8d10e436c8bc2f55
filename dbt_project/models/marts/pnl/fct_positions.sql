with

ledger as (
    select * from {{ ref('int_position_ledger') }}
),

candles as (
    select * from {{ ref('fct_candles') }}
),

latest as (
    select distinct on (account_id, strategy_id, instrument_id)
        account_id,
        strategy_id,
        instrument_id,
        fill_seq as fills,
        filled_at as last_filled_at,
        position_qty,
        avg_px,
        cumulative_realized_pnl as realized_pnl,
        cumulative_fees as fees
    from ledger
    order by account_id, strategy_id, instrument_id, fill_seq desc
),

marked as (
    select
        latest.*,
        mark.close as mark_price,
        mark.close_at as marked_at
    from latest
    left join lateral (
        select candles.close, candles.close_at
        from candles
        where candles.instrument_id = latest.instrument_id
            and candles.timeframe = '1m'
        order by candles.open_at desc
        limit 1
    ) as mark on true
),

final as (
    select
        account_id,
        strategy_id,
        instrument_id,
        fills,
        last_filled_at,
        position_qty,
        avg_px,
        mark_price,
        marked_at,
        realized_pnl,
        case when position_qty = 0 then 0
            else position_qty * (mark_price - avg_px) end as unrealized_pnl,
        fees
    from marked
)

select * from final
