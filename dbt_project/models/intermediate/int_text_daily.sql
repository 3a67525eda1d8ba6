{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert_window',
        tags=['daily'],
    )
}}

-- One row per distinct (case-folded) text and day; empty texts have no identity to repeat.
select
    text_key,
    partition_date,
    count(*) as comment_count,
    count(distinct author) as author_count
from (
    select
        {{ text_key('text') }} as text_key,
        partition_date,
        author
    from {{ ref('stg_comments') }}
    where
        {{ partition_window('partition_date') }}
        and text <> ''
) as keyed
group by text_key, partition_date
