{#
    Incremental strategy `delete_insert_window`: delete every row of the run's day window
    from the target, then insert the new rows, in one transaction. Unlike the built-in
    delete+insert (which deletes only the keys present in the new rows), a day that
    became smaller or empty upstream is replaced exactly, so re-running a day is
    idempotent. Models using it must emit only rows inside partition_window().
#}
{% macro get_incremental_delete_insert_window_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ partition_window('partition_date') }};

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ source }}
{% endmacro %}
