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
