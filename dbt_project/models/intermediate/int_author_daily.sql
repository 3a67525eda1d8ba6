{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert_window',
        tags=['daily'],
    )
}}

-- One row per author and active day: the day's own counts, never a running total, so each
-- day is independent of every other and days can be built in any order or in parallel.
select
    author,
    partition_date,
    count(*) as comment_count,
    min(published_at) as first_published_at,
    max(published_at) as last_published_at
from {{ ref('stg_comments') }}
where
    {{ partition_window('partition_date') }}
    and author is not null
group by author, partition_date
