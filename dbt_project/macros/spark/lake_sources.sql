{#
    The raw tables on Spark: external Parquet tables over the lake that ingest writes
    (storage/lake.py: <lake>/<table>/dt=YYYY-MM-DD/part-0.parquet). The files carry
    partition_date themselves, so the tables read every file below their folder
    (recursiveFileLookup) instead of registering partitions: a day ingested after the table
    was declared is read without any `msck repair`. Run once per catalog, before the first
    build (`dbt run-operation create_lake_sources --target spark`), or as an on-run-start
    hook. The lake root is SLUICE_LAKE (s3:// becomes Hadoop's s3a://), else
    $SLUICE_DATA_DIR/lake. Columns and types follow ingest/raw_tables.py and
    ingest/gold_labels.py.
#}
{% macro lake_root() -%}
    {%- set root = env_var('SLUICE_LAKE', env_var('SLUICE_DATA_DIR', '../data') ~ '/lake') -%}
    {{- return(root.rstrip('/') | replace('s3://', 's3a://', 1)) -}}
{%- endmacro %}

{% macro create_lake_sources() %}
    {%- if target.type != 'spark' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tables = {
        'raw.comments': (
            'comment_id string, author string, text string, published_at timestamp_ntz, '
            ~ 'source string, partition_date date, landed_date date, source_file string, '
            ~ 'source_record bigint, source_line bigint, policy_version string',
            'raw/comments'),
        'raw.comments_quarantine': (
            'partition_date date, landed_date date, source_file string, source_record bigint, '
            ~ 'source_line bigint, reason string, detail string, comment_id string, '
            ~ 'author string, text string, raw_record string, policy_version string',
            'raw/comments_quarantine'),
        'raw.gold_labels': (
            'comment_id string, label int, split string, source_file string',
            'raw/gold_labels'),
    } -%}
    {%- do run_query('create schema if not exists raw') -%}
    {%- for name, (columns, folder) in tables.items() -%}
        {%- set ddl -%}
            create table if not exists {{ name }} ({{ columns }})
            using parquet
            options (recursiveFileLookup 'true')
            location {{ spark_string_literal(lake_root() ~ '/' ~ folder) }}
        {%- endset -%}
        {%- do run_query(ddl) -%}
        {%- do log('lake source ' ~ name ~ ' -> ' ~ lake_root() ~ '/' ~ folder, info=true) -%}
    {%- endfor -%}
{% endmacro %}
