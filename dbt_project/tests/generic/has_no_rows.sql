{% test has_no_rows(model) %}
{#- The model is empty. Used with severity warn on models that list problems which are facts of
    the data (gaps in trading), so each build reports how many there are without failing. -#}
select * from {{ model }}
{% endtest %}
