with

source as (
    select * from {{ source('lockgate', 'equity_snapshots') }}
),

renamed as (
    select
        account_id,
        snapshot_at,
        equity
    from source
)

select * from renamed
