{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert_window',
        tags=['daily'],
    )
}}

with source_rows as (
    select
        comment_id,
        author,
        text,
        published_at,
        source,
        partition_date,
        landed_date,
        source_file,
        source_record,
        source_line,
        policy_version
    from {{ source('raw', 'comments') }}
    where {{ partition_window('partition_date') }}
),

-- A comment that landed twice for the same day keeps its latest copy. Deduplicating within
-- a day (not across the window) keeps the result independent of how days are batched.
ranked as (
    select
        *,
        row_number() over (
            partition by comment_id, partition_date
            order by landed_date desc, source_file desc, source_record desc
        ) as copy_rank
    from source_rows
)

select
    cast(comment_id as {{ dbt.type_string() }}) as comment_id,
    nullif({{ normalize_text('author') }}, '') as author,
    {{ normalize_text('text') }} as text,
    cast(text as {{ dbt.type_string() }}) as text_raw,
    cast(published_at as {{ dbt.type_timestamp() }}) as published_at,
    cast(source as {{ dbt.type_string() }}) as source,
    cast(partition_date as date) as partition_date,
    cast(landed_date as date) as landed_date,
    cast(source_file as {{ dbt.type_string() }}) as source_file,
    cast(source_record as {{ dbt.type_bigint() }}) as source_record,
    cast(source_line as {{ dbt.type_bigint() }}) as source_line,
    cast(policy_version as {{ dbt.type_string() }}) as policy_version
from ranked
where copy_rank = 1
