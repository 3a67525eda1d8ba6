{#
    The day window of a run, from var('min_date') (inclusive) and var('max_date')
    (exclusive): the half-open window of a Dagster time partition, so one day is
    {"min_date": "2015-05-01", "max_date": "2015-05-02"}. Windowed models read, delete and
    insert only these days. With no vars (a plain `dbt build`) or under --full-refresh the
    window is unbounded and every day is processed.
#}

{% macro partition_window_bounds() %}
    {%- if flags.FULL_REFRESH -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set min_date = var('min_date', none) -%}
    {%- set max_date = var('max_date', none) -%}
    {%- if min_date is none and max_date is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if min_date is none or max_date is none -%}
        {{ exceptions.raise_compiler_error(
            "Set both vars min_date and max_date (or neither), got min_date="
            ~ min_date ~ ", max_date=" ~ max_date) }}
    {%- endif -%}
    {%- set bounds = [] -%}
    {%- for value in [min_date, max_date] -%}
        {%- set text = value | string -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
            {{ exceptions.raise_compiler_error(
                "min_date and max_date must be ISO dates (YYYY-MM-DD), got '" ~ text ~ "'") }}
        {%- endif -%}
        {%- do bounds.append(modules.datetime.date.fromisoformat(text)) -%}
    {%- endfor -%}
    {%- if bounds[0] >= bounds[1] -%}
        {{ exceptions.raise_compiler_error(
            "min_date must be before max_date (max_date is exclusive), got "
            ~ bounds[0] ~ " and " ~ bounds[1]) }}
    {%- endif -%}
    {{ return(bounds) }}
{% endmacro %}

{% macro partition_window(column='partition_date') -%}
    {%- set bounds = partition_window_bounds() -%}
    {%- if bounds is none -%}
        (1 = 1)
    {%- else -%}
        ({{ column }} >= cast('{{ bounds[0] }}' as date) and {{ column }} < cast('{{ bounds[1] }}' as date))
    {%- endif -%}
{%- endmacro %}
