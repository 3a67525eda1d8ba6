{{ config(meta={'dagster': {'ref': {'name': 'stg_comments'}}}) }}

-- Nothing is dropped silently: for every day of the window, staging holds exactly one row
-- per distinct comment_id of raw.comments. Returns the days that disagree.
with raw_days as (
    select
        partition_date,
        count(distinct comment_id) as raw_comments
    from {{ source('raw', 'comments') }}
    where {{ partition_window('partition_date') }}
    group by partition_date
),

staged_days as (
    select
        partition_date,
        count(*) as staged_comments
    from {{ ref('stg_comments') }}
    where {{ partition_window('partition_date') }}
    group by partition_date
)

select
    coalesce(raw_days.partition_date, staged_days.partition_date) as partition_date,
    coalesce(raw_days.raw_comments, 0) as raw_comments,
    coalesce(staged_days.staged_comments, 0) as staged_comments
from raw_days
full outer join staged_days
    on raw_days.partition_date = staged_days.partition_date
where coalesce(raw_days.raw_comments, 0) <> coalesce(staged_days.staged_comments, 0)
