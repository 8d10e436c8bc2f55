-- The PostgreSQL message bus and hot state (ARCHITECTURE.md, decision 4): the embedded default,
-- so separate Lockgate processes talk through nothing but the database.
-- Semantics live in domain/messaging.py; the code is adapters/bus/postgres.py.

-- Streams -------------------------------------------------------------------------------------
-- One table for every stream; a message's id is its position. The id is assigned by the trigger
-- below rather than by a column default (which would run before the trigger could take the
-- stream lock), so the column is bigserial in all but the default.
create table events (
    id          bigint      primary key,
    stream      text        not null check (length(stream) between 1 and 200),
    -- The envelope exactly as the producer encoded it (msgspec JSON). Bytes rather than jsonb:
    -- every backend hands back what was sent, jsonb would reject a "\u0000" in a string, and a
    -- corrupt row is still stored so the reader can dead-letter it instead of the writer failing.
    -- Inspect with convert_from(envelope, 'UTF8')::jsonb.
    envelope    bytea       not null,
    appended_at timestamptz not null default now()
);
create sequence events_id_seq as bigint owned by events.id;
create index events_stream_id on events (stream, id);

-- Why a lock: sequence values are handed out at insert but become visible at commit, in any
-- order. A consumer that has read position 11 while 10 is still uncommitted would advance past
-- 10 and never deliver it. Holding a per-stream lock from taking the number until commit makes
-- positions within a stream visible in order. Appends to one stream serialise; others do not.
-- Done in a trigger so that every insert, also plain SQL from another tool, obeys it.
create function events_before_insert() returns trigger
language plpgsql as $$
begin
    -- 1651864320 = 'bus\0': a key space of its own, apart from the migration lock.
    perform pg_advisory_xact_lock(1651864320, hashtext(new.stream));
    new.id := nextval('events_id_seq');
    -- One channel, the stream as payload: a consumer process LISTENs once for every stream.
    -- Delivered only if the transaction commits; identical notifications in one transaction
    -- are folded into one.
    perform pg_notify('lockgate_bus', new.stream);
    return new;
end
$$;

create trigger events_before_insert before insert on events
    for each row execute function events_before_insert();

-- Consumer groups -----------------------------------------------------------------------------
-- One row per (stream, group). Consumers of a group lock this row (select ... for update) while
-- they take messages, so each message goes to exactly one consumer of the group.
create table event_consumer_groups (
    stream            text        not null,
    group_name        text        not null check (length(group_name) between 1 and 200),
    last_delivered_id bigint      not null default 0,
    created_at        timestamptz not null default now(),
    primary key (stream, group_name)
);

-- Delivered but not yet acknowledged; claim_stale hands these to another consumer.
create table event_pending (
    stream         text        not null,
    group_name     text        not null,
    message_id     bigint      not null,
    consumer       text        not null,
    delivered_at   timestamptz not null,
    delivery_count integer     not null default 1 check (delivery_count >= 1),
    primary key (stream, group_name, message_id),
    foreign key (stream, group_name) references event_consumer_groups on delete cascade
);

-- Messages whose envelope did not decode, moved out of events by the first reader to see them.
create table event_dead_letters (
    id               bigserial   primary key,
    stream           text        not null,
    message_id       bigint      not null,
    envelope         bytea       not null,
    error            text        not null,
    appended_at      timestamptz not null,
    dead_lettered_at timestamptz not null default now()
);
create index event_dead_letters_stream on event_dead_letters (stream, id);

-- Hot state -----------------------------------------------------------------------------------
-- Latest value per key (quotes, position snapshots, heartbeats). Rows past expires_at are
-- invisible to readers and removed lazily.
create table hot_state (
    namespace  text        not null,
    key        text        not null,
    value      jsonb       not null,
    expires_at timestamptz,
    updated_at timestamptz not null default now(),
    primary key (namespace, key)
);
create index hot_state_expiry on hot_state (expires_at) where expires_at is not null;

-- Grants: grants.sql (re-applied after every run) gives the application role select, insert,
-- update and delete on every table and usage on every sequence, which is what the bus needs.
