{#
    Fails on every value outside [min_value, max_value] (either bound may be omitted).
    Null values pass. A portable stand-in for dbt_utils.accepted_range, which needs a
    package download.
#}
{% test value_between(model, column_name, min_value=none, max_value=none) %}

select {{ column_name }} as out_of_range_value
from {{ model }}
where
    {{ column_name }} is not null
    and (
        {% if min_value is not none %}{{ column_name }} < {{ min_value }}{% else %}false{% endif %}
        or {% if max_value is not none %}{{ column_name }} > {{ max_value }}{% else %}false{% endif %}
    )

{% endtest %}
