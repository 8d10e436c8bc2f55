{{ config(materialized='table') }}

with

fills as (
    select * from {{ ref('stg_lockgate__fills') }}
),

instruments as (
    select * from {{ ref('stg_lockgate__instruments') }}
),

-- Fees in the quote asset count against P&L; a fee charged in another asset (BNB) has no
-- price here, so it is kept apart rather than guessed.
priced as (
    select
        fills.account_id,
        fills.strategy_id,
        fills.instrument_id,
        fills.trade_id,
        fills.filled_at,
        fills.side,
        fills.qty,
        fills.price,
        case when fills.fee_asset is null or fills.fee_asset = instruments.quote
            then fills.fee else 0 end as fee,
        case when fills.fee_asset is not null and fills.fee_asset <> instruments.quote
            then fills.fee else 0 end as fee_other_asset,
        fills.fee_asset
    from fills
    inner join instruments on instruments.instrument_id = fills.instrument_id
),

ledger as (
    select
        priced.*,
        {{ target.schema }}.lockgate_avg_cost(side, qty, price, fee) over position_fills
            as state,
        row_number() over position_fills as fill_seq
    from priced
    window position_fills as (
        partition by account_id, strategy_id, instrument_id
        order by filled_at, {{ trade_id_order('trade_id') }}
        rows between unbounded preceding and current row
    )
),

final as (
    select
        account_id,
        strategy_id,
        instrument_id,
        fill_seq,
        trade_id,
        filled_at,
        side,
        qty,
        price,
        fee,
        fee_other_asset,
        fee_asset,
        state[1] as position_qty,
        state[2] as avg_px,
        state[4] as realized_pnl,
        state[3] as cumulative_realized_pnl,
        state[5] as cumulative_fees
    from ledger
)

select * from final
