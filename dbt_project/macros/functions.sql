{#- Window aggregates for recursive calculations, created before every run (on-run-start).

    PostgreSQL has no Python models; an aggregate used as a window function over
    `rows between unbounded preceding and current row` carries its state from one row to the
    next in O(1), like the incremental twins in strategies/indicators:

    - lockgate_ema(x, n): TA-Lib's EMA, seeded with the SMA of the first n inputs, then
      prev + (x - prev) * 2 / (n + 1), in double precision as TA-Lib computes it;
    - lockgate_wilder(x, n): Wilder's smoothing as TA-Lib's RSI and ATR do it: the mean of the
      first n inputs, then (prev * (n - 1) + x) / n; null inputs are skipped;
    - lockgate_avg_cost(side, qty, price, fee): a position's average-cost ledger in exact
      numeric, returning {position qty (signed), average price, cumulative realized P&L,
      realized P&L of this fill, cumulative fees}; fees are charged to realized P&L and kept out
      of the average price, as the engine's portfolio does.

    An advisory lock serialises concurrent runs, which would otherwise race on the catalog. -#}

{% macro create_lockgate_functions() -%}
{%- set s = target.schema -%}
select pg_advisory_xact_lock(hashtext('lockgate.dbt.functions'));

create or replace function {{ s }}.lockgate_ema_step(state float8[], x float8, period integer)
returns float8[] language plpgsql immutable strict parallel safe as $fn$
begin
    -- state: {inputs seen, sum of the first `period` inputs, value}
    if state[1] + 1 < period then
        return array[state[1] + 1, state[2] + x, null];
    elsif state[1] + 1 = period then
        return array[state[1] + 1, state[2] + x, (state[2] + x) / period];
    end if;
    return array[state[1] + 1, state[2], (x - state[3]) * (2.0::float8 / (period + 1)) + state[3]];
end
$fn$;

create or replace function {{ s }}.lockgate_wilder_step(state float8[], x float8, period integer)
returns float8[] language plpgsql immutable strict parallel safe as $fn$
begin
    -- state: {inputs seen, sum of the first `period` inputs, value}
    if state[1] + 1 < period then
        return array[state[1] + 1, state[2] + x, null];
    elsif state[1] + 1 = period then
        return array[state[1] + 1, state[2] + x, (state[2] + x) / period];
    end if;
    return array[state[1] + 1, state[2], (state[3] * (period - 1) + x) / period];
end
$fn$;

create or replace function {{ s }}.lockgate_float_state_value(state float8[])
returns float8 language sql immutable strict parallel safe as $fn$
    select state[3]
$fn$;

create or replace aggregate {{ s }}.lockgate_ema(float8, integer) (
    sfunc = {{ s }}.lockgate_ema_step, stype = float8[], initcond = '{0,0,NULL}',
    finalfunc = {{ s }}.lockgate_float_state_value
);

create or replace aggregate {{ s }}.lockgate_wilder(float8, integer) (
    sfunc = {{ s }}.lockgate_wilder_step, stype = float8[], initcond = '{0,0,NULL}',
    finalfunc = {{ s }}.lockgate_float_state_value
);

create or replace function {{ s }}.lockgate_avg_cost_step(
    state numeric[], side text, qty numeric, price numeric, fee numeric
) returns numeric[] language plpgsql immutable parallel safe as $fn$
declare
    held numeric := state[1];
    avg_px numeric := state[2];
    signed numeric := case side when 'buy' then qty else -qty end;
    realized numeric := 0;
begin
    if held = 0 or sign(held) = sign(signed) then
        -- Opening or adding: the average price moves, nothing is realized.
        avg_px := (avg_px * abs(held) + price * qty) / (abs(held) + qty);
    else
        -- Reducing: realize against the average; a flip opens the rest at this price.
        realized := least(qty, abs(held)) * (price - avg_px) * sign(held);
        if qty > abs(held) then
            avg_px := price;
        elsif qty = abs(held) then
            avg_px := 0;
        end if;
    end if;
    realized := realized - fee;
    return array[held + signed, avg_px, state[3] + realized, realized, state[5] + fee];
end
$fn$;

create or replace aggregate {{ s }}.lockgate_avg_cost(text, numeric, numeric, numeric) (
    sfunc = {{ s }}.lockgate_avg_cost_step, stype = numeric[], initcond = '{0,0,0,0,0}'
);
{%- endmacro %}
