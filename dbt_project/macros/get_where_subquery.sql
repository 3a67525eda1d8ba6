{#
    Overrides dbt's get_where_subquery (the hook behind the `where` test config) so that
    every generic test on a day-windowed model checks only the run's window. Without it a
    day's build would re-test the whole history and its cost would grow with it. A plain
    `dbt build`/`dbt test` (no vars) has an unbounded window and tests everything. A test's
    own `where` config still applies on top.
#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- if config.get('where') -%}
        {%- do conditions.append('(' ~ config.get('where') ~ ')') -%}
    {%- endif -%}
    {%- if execute and model.get('attached_node') -%}
        {%- set tested = graph.nodes.get(model.attached_node) -%}
        {%- if tested and tested.config.get('incremental_strategy') == 'delete_insert_window' -%}
            {%- do conditions.append(partition_window('partition_date')) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) as dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
