{% test expression_is_true(model, expression, where=none) %}
{#- Every row satisfies `expression` (rows where it is null fail too). -#}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where %} and ({{ where }}){% endif %}
{% endtest %}
