{% test primary_key(model, columns) %}
{#- The columns identify a row: none of them null, and no two rows share their values. -#}
select {{ columns | join(', ') }}, count(*) as rows_sharing_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
    {%- for column in columns %} or {{ column }} is null{% endfor %}
{% endtest %}
