-- Raw vendor data (issue 5): prices and market caps, news posts, on-chain metrics, exactly as
-- the vendors reported them. dbt builds the point-in-time features on these tables (hourly news
-- sentiment, market-cap rank), joining as of available_at: the moment Lockgate received a value,
-- as opposed to the vendor's own observed_at/published_at.
--
-- Prices, caps, volumes and metric values are unconstrained numeric (stored exactly as sent);
-- upper bounds of 'Infinity' also refuse NaN, which PostgreSQL sorts above Infinity. Assets and
-- currencies are Lockgate's upper-case codes whatever the vendor spells them. available_at is
-- not checked against observed_at: vendors' clocks run a little ahead of ours at times, and a
-- value stamped a second "in the future" is still a value.
--
-- raw_vendor_prices and raw_vendor_metrics keep their time column in the primary key, so the
-- TimescaleDB post-step could make them hypertables; raw_vendor_news is small and stays plain.

create table raw_vendor_prices (
    vendor text not null check (vendor ~ '^[a-z][a-z0-9_]*$'),
    asset text not null check (asset <> '' and asset = upper(asset)),
    vs_currency text not null check (vs_currency <> '' and vs_currency = upper(vs_currency)),
    price numeric not null check (price > 0 and price < 'Infinity'),
    market_cap numeric check (market_cap >= 0 and market_cap < 'Infinity'),
    volume_24h numeric check (volume_24h >= 0 and volume_24h < 'Infinity'),
    market_cap_rank integer check (market_cap_rank >= 1),
    observed_at timestamptz not null,
    available_at timestamptz not null,
    primary key (vendor, asset, vs_currency, observed_at)
);
-- As-of joins: the latest value per asset available at a time.
create index raw_vendor_prices_asof_idx on raw_vendor_prices (asset, vs_currency, available_at);

create table raw_vendor_news (
    vendor text not null check (vendor ~ '^[a-z][a-z0-9_]*$'),
    post_id text not null check (post_id <> ''),
    title text not null check (title <> ''),
    url text not null check (url <> ''),
    source text,
    published_at timestamptz not null,
    available_at timestamptz not null,
    currencies text[] not null default '{}'
        check (array_position(currencies, null) is null),
    votes_positive integer not null default 0 check (votes_positive >= 0),
    votes_negative integer not null default 0 check (votes_negative >= 0),
    primary key (vendor, post_id)
);
-- Hourly sentiment buckets by publication; as-of reads by arrival.
create index raw_vendor_news_published_idx on raw_vendor_news (published_at);
create index raw_vendor_news_available_idx on raw_vendor_news (available_at);

create table raw_vendor_metrics (
    vendor text not null check (vendor ~ '^[a-z][a-z0-9_]*$'),
    metric text not null check (metric <> ''),
    asset text not null check (asset <> '' and asset = upper(asset)),
    observed_at timestamptz not null,
    value numeric not null check (value > '-Infinity' and value < 'Infinity'),
    available_at timestamptz not null,
    primary key (vendor, metric, asset, observed_at)
);
create index raw_vendor_metrics_asof_idx on raw_vendor_metrics (metric, asset, available_at);
