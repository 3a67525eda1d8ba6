{#
    Fails on every value that still carries what stg normalization removes: invisible
    format characters, HTML entities, line-break tags, leading/trailing or doubled
    whitespace. Null values pass (use not_null for those).
#}
{% test is_clean_text(model, column_name) %}

select {{ column_name }} as dirty_value
from {{ model }}
where
    {{ column_name }} is not null
    and (
        {{ regex_contains(column_name, invisible_chars_class()) }}
        or {{ regex_contains(column_name, html_entity_pattern()) }}
        or {{ regex_contains(column_name, line_break_tag_pattern()) }}
        or {{ regex_contains(column_name, '(^[\\s\\p{Z}])|([\\s\\p{Z}]$)|([\\s\\p{Z}]{2})') }}
    )

{% endtest %}
