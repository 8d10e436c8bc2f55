{% macro trade_id_order(column, direction='asc') -%}
    {#- Sort keys for exchange trade ids, which are text: numeric ids in numeric order
        ('9' before '10'), then any other ids in byte order, so ties on time break the same
        way on every server. -#}
    ({{ column }} !~ '^[0-9]+$') {{ direction }},
    (case when {{ column }} ~ '^[0-9]+$' then {{ column }}::numeric end) {{ direction }},
    {{ column }} collate "C" {{ direction }}
{%- endmacro %}
