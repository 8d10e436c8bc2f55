{{ config(materialized='table') }}

with

ledger as (
    select * from {{ ref('int_position_ledger') }}
),

marks as (
    select * from {{ ref('int_daily_marks') }}
),

positions as (
    select
        account_id,
        strategy_id,
        instrument_id,
        min(filled_at) as first_filled_at
    from ledger
    group by account_id, strategy_id, instrument_id
),

-- Every position gets a row for every day from its first fill to the last day anything
-- happened (a fill or a mark), so daily sums over positions never lose a closed one.
last_day as (
    select greatest(
        (select max({{ utc_day('filled_at') }}) from ledger),
        (select max(day) from marks)
    ) as day
),

days as (
    select
        positions.account_id,
        positions.strategy_id,
        positions.instrument_id,
        calendar.day::date as day
    from positions
    cross join last_day
    cross join lateral generate_series(
        {{ utc_day('positions.first_filled_at') }}, last_day.day, interval '1 day'
    ) as calendar (day)
),

at_day_end as (
    select
        days.account_id,
        days.strategy_id,
        days.instrument_id,
        days.day,
        state.position_qty,
        state.avg_px,
        state.cumulative_realized_pnl,
        state.cumulative_fees,
        mark.mark_price,
        mark.marked_at
    from days
    -- The position as the last fill before the day's end left it.
    cross join lateral (
        select
            ledger.position_qty,
            ledger.avg_px,
            ledger.cumulative_realized_pnl,
            ledger.cumulative_fees
        from ledger
        where ledger.account_id = days.account_id
            and ledger.strategy_id = days.strategy_id
            and ledger.instrument_id = days.instrument_id
            and ledger.filled_at < {{ utc_day_end('days.day') }}
        order by ledger.fill_seq desc
        limit 1
    ) as state
    -- As of the day's end: the latest 1m close of this day or an earlier one.
    left join lateral (
        select marks.mark_price, marks.marked_at
        from marks
        where marks.instrument_id = days.instrument_id
            and marks.day <= days.day
        order by marks.day desc
        limit 1
    ) as mark on true
),

final as (
    select
        account_id,
        strategy_id,
        instrument_id,
        day,
        position_qty,
        avg_px,
        mark_price,
        marked_at,
        cumulative_realized_pnl,
        cumulative_fees,
        case when position_qty = 0 then 0
            else position_qty * (mark_price - avg_px) end as unrealized_pnl
    from at_day_end
)

select * from final
