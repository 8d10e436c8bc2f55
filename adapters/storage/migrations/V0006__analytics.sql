-- What the dbt project (dbt_project/) needs from the raw schema.
--
-- ingest_xid: the transaction that stored each trade. An incremental candle build remembers
-- the oldest transaction still running when it chose what to read; the next build rebuilds
-- only the minutes holding trades of newer transactions, late trades (an old traded_at)
-- included. Transaction ids, unlike timestamps, need no look-back window: a transaction that
-- commits long after it began still has an id the next build has not covered.
-- (On TimescaleDB, adding a column needs the hypertable uncompressed: this runs before any
-- compression policy does.)
alter table trades add column ingest_xid xid8 not null default pg_current_xact_id();
create index trades_ingest_xid_idx on trades (ingest_xid);

-- The schema dbt builds into; the application role owns what it builds there (grants.sql).
create schema if not exists analytics;
