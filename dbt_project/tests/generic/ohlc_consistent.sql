{% test ohlc_consistent(model) %}
{#- A bar's prices agree with each other: low <= least(open, close), high >= greatest(open,
    close), low > 0, and none of them is NaN or infinite. -#}
select *
from {{ model }}
where not (
    low <= least(open, close)
    and high >= greatest(open, close)
    and low > 0
    and high < 'Infinity'
)
    or open is null or high is null or low is null or close is null
{% endtest %}
