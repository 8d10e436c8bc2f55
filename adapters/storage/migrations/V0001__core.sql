-- Core schema: raw market inputs and trading state (ARCHITECTURE.md, decision 3).
-- Timestamps are timestamptz named <event>_at; money, prices and sizes are unconstrained numeric
-- so every value is stored exactly as written. The bus's events table belongs to V0002.
--
-- Time-series tables (trades, exchange_candles, signals, equity_snapshots) become hypertables
-- where TimescaleDB exists (adapters/storage/timescale.py), so each unique index of theirs
-- includes the time column. They carry no foreign keys: the per-row check (and its row lock on
-- the instrument) doubled bulk-load time; their loaders register the instrument first.
-- Trading-state tables are small and keep foreign keys to instruments.

create table instruments (
    id text primary key,
    venue text not null,
    base text not null,
    quote text not null,
    settle text,
    kind text not null default 'spot' check (kind in ('spot', 'perpetual')),
    price_precision smallint not null check (price_precision between 0 and 18),
    size_precision smallint not null check (size_precision between 0 and 18),
    tick_size numeric check (tick_size > 0 and tick_size < 'Infinity'),
    step_size numeric check (step_size > 0 and step_size < 'Infinity'),
    min_qty numeric check (min_qty > 0 and min_qty < 'Infinity'),
    min_notional numeric check (min_notional > 0 and min_notional < 'Infinity'),
    max_leverage numeric not null default 1 check (max_leverage >= 1 and max_leverage < 'Infinity'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint instruments_id_spelling
        check (id = venue || ':' || base || '/' || quote || coalesce(':' || settle, ''))
);

-- Upper bounds of 'Infinity' also refuse NaN, which PostgreSQL sorts above Infinity.
create table trades (
    instrument_id text not null,
    trade_id text not null,
    traded_at timestamptz not null,
    price numeric not null check (price > 0 and price < 'Infinity'),
    qty numeric not null check (qty > 0 and qty < 'Infinity'),
    aggressor text not null check (aggressor in ('buy', 'sell')),
    primary key (instrument_id, trade_id, traded_at)
);
create index trades_instrument_time_idx on trades (instrument_id, traded_at);

-- The primary key is also the (instrument, timeframe, time) index that range reads use.
create table exchange_candles (
    instrument_id text not null,
    timeframe text not null check (timeframe ~ '^[1-9][0-9]*[smhdw]$'),
    open_at timestamptz not null,
    open numeric not null,
    high numeric not null,
    low numeric not null,
    close numeric not null,
    volume numeric not null,
    primary key (instrument_id, timeframe, open_at),
    constraint exchange_candles_high
        check (high >= greatest(open, close, low) and high < 'Infinity'),
    constraint exchange_candles_low check (low <= least(open, close) and low > 0),
    constraint exchange_candles_volume check (volume >= 0 and volume < 'Infinity')
);

-- One row per decision a strategy version took in a run; "values" holds the indicator values
-- it decided on. The natural key makes a redelivered signal a no-op.
create table signals (
    run_id uuid not null,
    strategy_version text not null,
    instrument_id text not null,
    signalled_at timestamptz not null,
    kind text not null,
    side text check (side in ('buy', 'sell')),
    values jsonb not null default '{}' check (jsonb_typeof(values) = 'object'),
    primary key (run_id, strategy_version, instrument_id, signalled_at, kind)
);
create index signals_instrument_time_idx on signals (instrument_id, signalled_at);

create table risk_decisions (
    id bigint generated always as identity primary key,
    decided_at timestamptz not null,
    account_id text not null,
    strategy_id text not null,
    instrument_id text not null references instruments (id),
    client_order_id text not null,
    approved boolean not null,
    reason text,
    constraint risk_decisions_denial_has_reason check (approved or reason is not null)
);
create index risk_decisions_instrument_time_idx on risk_decisions (instrument_id, decided_at);
create index risk_decisions_order_idx on risk_decisions (account_id, client_order_id);

-- An account is a venue account in live trading and a run's simulated account in paper and
-- backtests; client order ids are unique within one. Trading times come from the kernel's
-- clock (a backtest runs in the past), so they have no database default.
create table orders (
    account_id text not null,
    client_order_id text not null,
    venue_order_id text,
    strategy_id text not null,
    instrument_id text not null references instruments (id),
    side text not null check (side in ('buy', 'sell')),
    type text not null check (type in ('market', 'limit', 'stop_market', 'stop_limit')),
    time_in_force text not null default 'gtc' check (time_in_force in ('gtc', 'ioc', 'fok')),
    quantity numeric check (quantity > 0),
    quote_amount numeric check (quote_amount > 0),
    price numeric check (price > 0),
    trigger_price numeric check (trigger_price > 0),
    reduce_only boolean not null default false,
    parent_id text,
    status text not null check (status in (
        'initialized', 'denied', 'submitted', 'accepted', 'rejected', 'triggered',
        'partially_filled', 'filled', 'pending_cancel', 'canceled', 'expired')),
    filled_qty numeric not null default 0 check (filled_qty >= 0),
    avg_px numeric check (avg_px > 0),
    created_at timestamptz not null,
    updated_at timestamptz not null,
    primary key (account_id, client_order_id)
);
create index orders_instrument_time_idx on orders (instrument_id, created_at);
create index orders_venue_order_idx on orders (account_id, venue_order_id);
-- Reconciliation asks for the working orders only.
create index orders_working_idx on orders (account_id, instrument_id)
    where status in ('submitted', 'accepted', 'triggered', 'partially_filled', 'pending_cancel');

-- No foreign key to orders: the stages that write orders and fills may run as separate
-- processes joined by streams, so a fill can be stored before its order.
create table fills (
    account_id text not null,
    instrument_id text not null references instruments (id),
    trade_id text not null,
    client_order_id text not null,
    venue_order_id text,
    strategy_id text not null,
    side text not null check (side in ('buy', 'sell')),
    filled_at timestamptz not null,
    qty numeric not null check (qty > 0),
    price numeric not null check (price > 0),
    fee numeric not null default 0,
    fee_asset text,  -- null: the quote asset; Binance may charge in another (BNB)
    liquidity text not null check (liquidity in ('maker', 'taker')),
    primary key (account_id, instrument_id, trade_id)
);
create index fills_instrument_time_idx on fills (instrument_id, filled_at);
create index fills_order_idx on fills (account_id, client_order_id);

-- The current position; its history is the fills. qty is signed (short perpetuals).
create table positions (
    account_id text not null,
    strategy_id text not null,
    instrument_id text not null references instruments (id),
    qty numeric not null default 0,
    avg_px numeric not null default 0 check (avg_px >= 0),
    realized_pnl numeric not null default 0,
    updated_at timestamptz not null,
    primary key (account_id, strategy_id, instrument_id)
);

create table equity_snapshots (
    account_id text not null,
    snapshot_at timestamptz not null,
    equity numeric not null,
    primary key (account_id, snapshot_at)
);

-- Identity "always": the application cannot choose or reuse an entry's number.
create table audit_log (
    id bigint generated always as identity primary key,
    logged_at timestamptz not null default now(),
    actor text not null,
    action text not null,
    subject text,
    detail jsonb not null default '{}'
);
create index audit_log_logged_at_idx on audit_log (logged_at);
create index audit_log_subject_idx on audit_log (subject, logged_at);

-- Grants already keep the application role from changing the log; the trigger also stops the
-- owner and admins (short of dropping the trigger, which needs the table's owner).
create function audit_log_refuse_change() returns trigger
    language plpgsql as $$
begin
    raise exception 'audit_log is append-only: % refused', tg_op
        using hint = 'record a new entry that corrects the earlier one';
end;
$$;
create trigger audit_log_append_only
    before update or delete or truncate on audit_log
    for each statement execute function audit_log_refuse_change();

-- A version is the hash of the strategy's source module and its parameters (decision 6).
create table strategy_registry (
    version text primary key,
    name text not null,
    params jsonb not null default '{}',
    state text not null default 'research'
        check (state in ('research', 'paper', 'live', 'retired')),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index strategy_registry_name_idx on strategy_registry (name, state);

create table backtest_runs (
    run_id uuid primary key,
    strategy text not null,
    strategy_version text,
    params jsonb not null default '{}',
    instrument_id text not null references instruments (id),
    timeframe text not null check (timeframe ~ '^[1-9][0-9]*[smhdw]$'),
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    metrics jsonb
);
create index backtest_runs_strategy_idx on backtest_runs (strategy, started_at);
