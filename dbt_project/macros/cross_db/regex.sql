{#
    Regular-expression helpers. Engines disagree on these: DuckDB and Postgres replace
    only the first match unless given the 'g' flag, and DuckDB has no regexp_count.
    Patterns are RE2/Java style (\p{...} classes, \x{...} code points), which DuckDB,
    Trino, Spark and BigQuery accept.
#}

{% macro regex_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro duckdb__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro regex_count(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_count')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_count(expr, pattern) -%}
    regexp_count({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_count(expr, pattern) -%}
    len(regexp_extract_all({{ expr }}, '{{ pattern }}'))
{%- endmacro %}

{#
    Number of characters of `expr` in one character class ('\\p{Lu}', '[0-9]'): the length
    lost when every run of them is removed. One pass that builds no list of matches (what
    regex_count allocates), and portable wherever regex_replace_all is.
#}
{% macro count_class_chars(expr, char_class) -%}
    (length({{ expr }}) - length({{ regex_replace_all(expr, char_class ~ '+', '') }}))
{%- endmacro %}

{# Whether `pattern` matches anywhere in `expr` (no count: the search stops at the first). #}
{% macro regex_contains(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_contains')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_contains(expr, pattern) -%}
    ({{ regex_count(expr, pattern) }} > 0)
{%- endmacro %}

{% macro duckdb__regex_contains(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}
