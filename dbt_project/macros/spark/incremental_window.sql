{#
    How a day-windowed model replaces its days, per engine, for the models' config blocks:

        config(materialized='incremental', incremental_strategy=window_strategy(),
               partition_by=window_partition_by(), pre_hook=window_pre_hook(), tags=['daily'])

    DuckDB keeps delete_insert_window (macros/delete_insert_window.sql). Spark tables are
    partitioned by day and written with insert_overwrite under dynamic partition overwrite,
    which replaces only the days present in the new rows; so a pre-hook first drops every
    day of the run's window, and a day that became empty upstream ends empty on both engines.
#}

{% macro window_strategy() -%}
    {{ return(adapter.dispatch('window_strategy')()) }}
{%- endmacro %}

{% macro default__window_strategy() -%}
    {{ return('delete_insert_window') }}
{%- endmacro %}

{% macro spark__window_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro window_partition_by() -%}
    {{ return(adapter.dispatch('window_partition_by')()) }}
{%- endmacro %}

{% macro default__window_partition_by() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__window_partition_by() -%}
    {{ return(['partition_date']) }}
{%- endmacro %}

{% macro window_pre_hook() -%}
    {{ return(adapter.dispatch('window_pre_hook')()) }}
{%- endmacro %}

{% macro default__window_pre_hook() -%}
    {{ return([]) }}
{%- endmacro %}

{% macro spark__window_pre_hook() -%}
    {{ return(["{{ drop_window_partitions() }}"]) }}
{%- endmacro %}

{#
    Drop the day partitions of the run's window from the model's table, when it exists and
    this is an incremental run (a first build or --full-refresh rewrites the whole table).
    No window (a plain build) drops nothing: insert_overwrite then replaces every day that
    has rows.
#}
{% macro drop_window_partitions() %}
    {%- set bounds = partition_window_bounds() -%}
    {%- if not execute or bounds is none or not is_incremental() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set days = [] -%}
    {%- for offset in range((bounds[1] - bounds[0]).days) -%}
        {%- do days.append(bounds[0] + modules.datetime.timedelta(days=offset)) -%}
    {%- endfor -%}
    alter table {{ this }} drop if exists
    {% for day in days -%}
        partition (partition_date = '{{ day }}'){{ ',' if not loop.last }}
    {% endfor %}
{% endmacro %}
