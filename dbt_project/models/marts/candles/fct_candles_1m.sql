{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['instrument_id', 'open_at'],
    on_schema_change='fail',
    pre_hook=["{{ candle_session_settings() }}"],
    indexes=[
        {'columns': ['instrument_id', 'open_at'], 'unique': true},
        {'columns': ['_written_xid']},
        {'columns': ['_watermark_xid']},
    ],
    post_hook=["{{ stamp_written_xid() }}"],
) }}

{{ candles_from_trades('1 minute') }}
