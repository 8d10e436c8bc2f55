{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['instrument_id', 'open_at'],
    on_schema_change='fail',
    pre_hook=["{{ candle_session_settings() }}"],
    indexes=[{'columns': ['instrument_id', 'open_at'], 'unique': true}],
) }}

{{ candle_rollup('1 day') }}
