{% test non_negative(model, column_name) %}
{#- The column is >= 0, and neither NaN nor infinite, wherever it is set. -#}
select *
from {{ model }}
where {{ column_name }} < 0 or ({{ column_name }})::text in ('NaN', 'Infinity')
{% endtest %}
