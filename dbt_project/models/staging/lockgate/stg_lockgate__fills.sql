with

source as (
    select * from {{ source('lockgate', 'fills') }}
),

renamed as (
    select
        account_id,
        strategy_id,
        instrument_id,
        trade_id,
        client_order_id,
        side,
        filled_at,
        qty,
        price,
        fee,
        fee_asset,
        liquidity
    from source
)

select * from renamed
