with

positions as (
    select * from {{ ref('int_daily_position_pnl') }}
),

snapshots as (
    select * from {{ ref('stg_lockgate__equity_snapshots') }}
),

daily as (
    select
        account_id,
        day,
        sum(cumulative_realized_pnl) as cumulative_realized_pnl,
        -- Null while an open position has no mark: a partial sum would mislead.
        case when bool_and(unrealized_pnl is not null) then sum(unrealized_pnl) end
            as unrealized_pnl,
        sum(cumulative_fees) as cumulative_fees,
        count(*) filter (where position_qty <> 0) as open_positions,
        count(*) filter (where position_qty <> 0 and mark_price is null) as unmarked_positions
    from positions
    group by account_id, day
),

with_totals as (
    select
        daily.*,
        cumulative_realized_pnl + unrealized_pnl as cumulative_pnl
    from daily
),

final as (
    select
        account_id,
        day,
        cumulative_realized_pnl - coalesce(lag(cumulative_realized_pnl) over by_day, 0)
            as realized_pnl,
        unrealized_pnl,
        cumulative_pnl - coalesce(lag(cumulative_pnl) over by_day, 0) as daily_pnl,
        cumulative_pnl,
        cumulative_fees - coalesce(lag(cumulative_fees) over by_day, 0) as fees,
        open_positions,
        unmarked_positions,
        (
            select snapshots.equity
            from snapshots
            where snapshots.account_id = with_totals.account_id
                and snapshots.snapshot_at < {{ utc_day_end('with_totals.day') }}
            order by snapshots.snapshot_at desc
            limit 1
        ) as recorded_equity
    from with_totals
    window by_day as (partition by account_id order by day)
)

select * from final
