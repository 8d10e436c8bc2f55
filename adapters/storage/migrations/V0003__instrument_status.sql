-- The venue's trading status of an instrument (Binance: TRADING, BREAK, HALT...), kept by
-- `lockgate instruments sync`; null for instruments only ever seen in loaded data.
alter table instruments add column status text;
alter table instruments add column synced_at timestamptz;
