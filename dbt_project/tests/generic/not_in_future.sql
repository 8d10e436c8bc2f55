{% test not_in_future(model, column_name) %}
{#- No row is stamped after the moment the test runs (a bar cannot open in the future). -#}
select *
from {{ model }}
where {{ column_name }} > now()
{% endtest %}
