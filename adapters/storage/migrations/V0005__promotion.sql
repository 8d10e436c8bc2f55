-- Promotion (ARCHITECTURE.md decision 6): recorded evidence per strategy version, thresholds per
-- strategy, and the one function that changes strategy_registry.state.
--
-- The rule itself is the domain policy (domain/promotion.py); adapters/storage/promotion.py
-- runs it under the registry row's lock (strategy_lock_version) and hands its decision to
-- strategy_transition() below, which is the only path to a state change:
--   * strategy_transition() is SECURITY DEFINER; the application role may execute it, and a
--     trigger refuses every other UPDATE/DELETE of a registry row by a role that does not own
--     the table (so a plain UPDATE by the application fails whatever grants.sql grants), and a
--     state change by anyone outside the function (owner and admins included);
--   * a new version always starts in research;
--   * the function writes the audit_log entry (with the decision and its evidence) and, for a
--     move, the outbox row of the event in the same transaction: no state change without both;
--   * as a backstop it re-reads what it can judge without the thresholds: a promotion needs the
--     live-path analysis on record with no feature missing a live path (decision 2, no
--     override), and, unless overridden with a reason, no failing latest check.

-- Evidence ------------------------------------------------------------------------------------
-- Append-only histories; the latest result per check name (and the latest evidence per kind)
-- is what the rule reads. A check that passes again supersedes its failure, it does not erase it.
create table strategy_checks (
    id bigint generated always as identity primary key,
    version text not null references strategy_registry (version),
    check_name text not null check (check_name ~ '^\S(.{0,198}\S)?$'),
    passed boolean not null,
    detail jsonb not null default '{}' check (jsonb_typeof(detail) = 'object'),
    checked_at timestamptz not null default now()
);
create index strategy_checks_latest_idx
    on strategy_checks (version, check_name, checked_at desc, id desc);

-- kind: 'backtest' (walk-forward metrics), 'paper_drift' (paper vs backtest, for live),
-- 'live_path' ({"features_without_live_path": [...]}). Payloads are domain/promotion.py structs
-- as JSON, decimals as strings.
create table strategy_evidence (
    id bigint generated always as identity primary key,
    version text not null references strategy_registry (version),
    kind text not null check (kind in ('backtest', 'paper_drift', 'live_path')),
    payload jsonb not null check (jsonb_typeof(payload) = 'object'),
    recorded_at timestamptz not null default now()
);
create index strategy_evidence_latest_idx on strategy_evidence (version, kind, id desc);

create function lockgate_refuse_change() returns trigger
    language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op
        using errcode = 'insufficient_privilege',
              hint = 'record a new entry; the latest one counts';
end;
$$;
create trigger strategy_checks_append_only
    before update or delete or truncate on strategy_checks
    for each statement execute function lockgate_refuse_change();
create trigger strategy_evidence_append_only
    before update or delete or truncate on strategy_evidence
    for each statement execute function lockgate_refuse_change();

-- Thresholds per strategy name (domain PromotionThresholds as JSON); none stored = defaults.
-- Every promotion's audit entry records the thresholds it was judged by.
create table strategy_thresholds (
    strategy_name text primary key,
    thresholds jsonb not null check (jsonb_typeof(thresholds) = 'object'),
    updated_by text not null,
    updated_at timestamptz not null default now()
);

-- Outbox ----------------------------------------------------------------------------------------
-- Events written in the transaction that caused them, published to the bus after commit by
-- adapters/storage/promotion.py publish_outbox (at-least-once; consumers drop repeats by id).
create table outbox (
    id bigint generated always as identity primary key,
    stream text not null check (length(stream) between 1 and 200),
    envelope jsonb not null check (jsonb_typeof(envelope) = 'object'),
    created_at timestamptz not null default now(),
    published_at timestamptz
);
create index outbox_unpublished_idx on outbox (id) where published_at is null;

-- The registry guard ----------------------------------------------------------------------------
create function strategy_registry_guard() returns trigger
    language plpgsql as $$
declare
    owner oid := (select relowner from pg_class where oid = tg_relid);
begin
    if tg_op = 'INSERT' then
        if new.state <> 'research' then
            raise exception 'a strategy version is registered in research, not %', new.state
                using errcode = 'insufficient_privilege',
                      hint = 'promote it through the transition rule (lockgate promote)';
        end if;
        return new;
    end if;
    -- Inside strategy_transition() current_user is the function's owner, the table's owner.
    if not pg_has_role(current_user, owner, 'MEMBER') then
        raise exception 'strategy_registry: % refused for %', tg_op, current_user
            using errcode = 'insufficient_privilege',
                  hint = 'states change only through strategy_transition() (lockgate promote)';
    end if;
    if tg_op = 'DELETE' then
        raise exception 'strategy_registry keeps every version: DELETE refused'
            using errcode = 'insufficient_privilege', hint = 'retire the version instead';
    end if;
    if (new.version, new.name, new.params, new.created_at)
            is distinct from (old.version, old.name, old.params, old.created_at) then
        raise exception 'a strategy version is immutable: only its state changes'
            using errcode = 'insufficient_privilege';
    end if;
    -- Owners and admins too: the flag is set only by strategy_transition().
    if new.state is distinct from old.state
            and current_setting('lockgate.strategy_transition', true)
                is distinct from old.version then
        raise exception 'strategy_registry.state changes only through strategy_transition()'
            using errcode = 'insufficient_privilege';
    end if;
    return new;
end;
$$;
create trigger strategy_registry_guard
    before insert or update or delete on strategy_registry
    for each row execute function strategy_registry_guard();
create trigger strategy_registry_no_truncate
    before truncate on strategy_registry
    for each statement execute function lockgate_refuse_change();

-- The moves of domain/promotion.py MOVES (tests/adapters/storage compares the two).
create function strategy_move_kind(from_state text, to_state text) returns text
    language sql immutable as $$
    select case
        when (from_state, to_state) in (('research', 'paper'), ('paper', 'live'))
            then 'promotion'
        when (from_state, to_state) in (('paper', 'research'), ('live', 'paper'),
                                        ('live', 'research'))
            then 'demotion'
        when from_state in ('research', 'paper', 'live') and to_state = 'retired'
            then 'retirement'
    end
$$;

-- The registry row's lock for the rule's transaction: through a function so that the
-- application needs no UPDATE privilege on strategy_registry (SELECT ... FOR UPDATE would).
create function strategy_lock_version(p_version text) returns table (name text, state text)
    language plpgsql security definer
    set search_path = public, pg_temp
as $$
begin
    return query select r.name, r.state from strategy_registry r
        where r.version = p_version for update;
end;
$$;
revoke all on function strategy_lock_version(text) from public;
grant execute on function strategy_lock_version(text) to {{app_role}};

-- The one state change. p_allowed and p_detail are the domain rule's decision; a refused
-- decision is audited too. p_from_state makes it compare-and-set: the caller decided over this
-- state while holding the row lock.
create function strategy_transition(
    p_version text, p_from_state text, p_to_state text, p_allowed boolean,
    p_override boolean, p_actor text, p_reason text, p_detail jsonb
) returns table (audit_id bigint, move_kind text, transitioned_at timestamptz)
    language plpgsql security definer
    set search_path = public, pg_temp
as $$
declare
    v_state text;
    v_name text;
    v_kind text := strategy_move_kind(p_from_state, p_to_state);
    v_audit bigint;
    v_now timestamptz := now();
    v_failing text;
    v_no_live_path jsonb;
begin
    select r.state, r.name into v_state, v_name
    from strategy_registry r where r.version = p_version for update;
    if not found then
        raise exception 'unknown strategy version %', p_version using errcode = 'no_data_found';
    end if;
    if v_state is distinct from p_from_state then
        raise exception 'strategy version % is %, not %: decide again', p_version, v_state,
            p_from_state using errcode = 'serialization_failure';
    end if;
    if nullif(btrim(p_actor), '') is null then
        raise exception 'a transition needs an actor' using errcode = 'check_violation';
    end if;
    if p_allowed then
        if v_kind is null then
            raise exception 'no move from % to %', p_from_state, p_to_state
                using errcode = 'check_violation';
        end if;
        if (v_kind <> 'promotion' or p_override) and nullif(btrim(p_reason), '') is null then
            raise exception '% needs a reason',
                case when p_override then 'an override' else 'a ' || v_kind end
                using errcode = 'check_violation';
        end if;
        if v_kind = 'promotion' then
            select e.payload -> 'features_without_live_path' into v_no_live_path
            from strategy_evidence e
            where e.version = p_version and e.kind = 'live_path'
            order by e.id desc limit 1;
            if v_no_live_path is null or v_no_live_path <> '[]'::jsonb then
                raise exception 'promotion of % refused: features without a live path: %',
                    p_version, coalesce(v_no_live_path::text, 'not analysed')
                    using errcode = 'check_violation';
            end if;
            if not p_override then
                select string_agg(l.check_name, ', ' order by l.check_name) into v_failing
                from (select distinct on (c.check_name) c.check_name, c.passed
                      from strategy_checks c where c.version = p_version
                      order by c.check_name, c.checked_at desc, c.id desc) l
                where not l.passed;
                if v_failing is not null then
                    raise exception 'promotion of % refused: failing check(s) %',
                        p_version, v_failing using errcode = 'check_violation';
                end if;
            end if;
        end if;
        perform set_config('lockgate.strategy_transition', p_version, true);
        update strategy_registry set state = p_to_state, updated_at = v_now
        where version = p_version;
        perform set_config('lockgate.strategy_transition', '', true);
    end if;
    insert into audit_log (actor, action, subject, detail)
    values (p_actor,
            case when p_allowed then 'strategy.transitioned'
                 else 'strategy.transition_refused' end,
            p_version, p_detail)
    returning id into v_audit;
    if p_allowed then
        -- domain/messaging.py Envelope; payload domain/promotion.py StrategyTransitioned.
        insert into outbox (stream, envelope) values ('strategy.transitions', jsonb_build_object(
            'id', 'strategy/' || p_version || '/transition/' || v_audit,
            'type', 'strategy.transitioned',
            'schema_version', 1,
            'ts_event', (extract(epoch from v_now) * 1000000000)::bigint,
            'trace', '{}'::jsonb,
            'payload', jsonb_build_object(
                'version', p_version, 'name', v_name, 'from_state', p_from_state,
                'to_state', p_to_state, 'kind', v_kind, 'override', p_override,
                'actor', p_actor, 'audit_id', v_audit)));
    end if;
    return query select v_audit, v_kind, v_now;
end;
$$;
revoke all on function strategy_transition(text, text, text, boolean, boolean, text, text, jsonb)
    from public;
grant execute on function strategy_transition(text, text, text, boolean, boolean, text, text,
    jsonb) to {{app_role}};
