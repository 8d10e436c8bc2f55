{% macro asof_join(relation, alias, match, at, columns, tiebreak=none) -%}
    {#- Point-in-time lookup: the latest row of `relation` (matched by `match`, written against
        `alias`) whose available_at is at or before `at`, never by timestamp equality. Adds
        `columns` and `<alias>_available_at`; null when nothing was available yet. `tiebreak`
        orders rows that became available at the same time. -#}
    left join lateral (
        select
            {%- for column in columns %}
            {{ alias }}.{{ column }},
            {%- endfor %}
            {{ alias }}.available_at as {{ alias }}_available_at
        from {{ relation }} as {{ alias }}
        where {{ match }} and {{ alias }}.available_at <= {{ at }}
        order by {{ alias }}.available_at desc{% if tiebreak %}, {{ tiebreak }}{% endif %}
        limit 1
    ) as {{ alias }} on true
{%- endmacro %}
