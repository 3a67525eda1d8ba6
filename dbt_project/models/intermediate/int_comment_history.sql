{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert_window',
        tags=['daily'],
    )
}}

{#-
    Point-in-time history of each comment of the window: what was published before it, by
    its author and with its text. Earlier days come from the per-day aggregates (only the
    rows of this window's authors and texts); earlier comments of the same day are counted
    here, in publication order. A comment without published_at sorts at the start of its
    day (its partition is its landing day, so everything before that day preceded it);
    ties are broken by arrival (landing day, file, record), so the counts are deterministic.
-#}

with day_comments as (
    select
        comment_id,
        partition_date,
        author,
        text <> '' as has_text,
        {{ text_key('text') }} as text_key,
        coalesce(published_at, cast(partition_date as {{ dbt.type_timestamp() }})) as ordered_at,
        landed_date,
        source_file,
        source_record
    from {{ ref('stg_comments') }}
    where {{ partition_window('partition_date') }}
),

sequenced as (
    select
        comment_id,
        partition_date,
        author,
        has_text,
        text_key,
        row_number() over (
            partition by author, partition_date
            order by ordered_at, landed_date, source_file, source_record, comment_id
        ) - 1 as author_earlier_same_day,
        row_number() over (
            partition by text_key, partition_date
            order by ordered_at, landed_date, source_file, source_record, comment_id
        ) - 1 as text_earlier_same_day
    from day_comments
),

author_days as (
    select distinct
        author,
        partition_date
    from day_comments
    where author is not null
),

author_history as (
    select
        author_days.author,
        author_days.partition_date,
        cast(sum(earlier.comment_count) as {{ dbt.type_bigint() }}) as prior_comments,
        count(*) as prior_days
    from author_days
    inner join {{ ref('int_author_daily') }} as earlier
        on
            author_days.author = earlier.author
            and author_days.partition_date > earlier.partition_date
    group by author_days.author, author_days.partition_date
),

text_days as (
    select distinct
        text_key,
        partition_date
    from day_comments
    where has_text
),

text_history as (
    select
        text_days.text_key,
        text_days.partition_date,
        cast(sum(earlier.comment_count) as {{ dbt.type_bigint() }}) as prior_comments
    from text_days
    inner join {{ ref('int_text_daily') }} as earlier
        on
            text_days.text_key = earlier.text_key
            and text_days.partition_date > earlier.partition_date
    group by text_days.text_key, text_days.partition_date
)

select
    sequenced.comment_id,
    sequenced.partition_date,
    case
        when sequenced.author is null then 0
        else coalesce(author_history.prior_comments, 0) + sequenced.author_earlier_same_day
    end as author_prior_comments,
    coalesce(author_history.prior_days, 0) as author_prior_days,
    case
        when sequenced.has_text
            then coalesce(text_history.prior_comments, 0) + sequenced.text_earlier_same_day
        else 0
    end as text_prior_count
from sequenced
left join author_history
    on
        sequenced.author = author_history.author
        and sequenced.partition_date = author_history.partition_date
left join text_history
    on
        sequenced.text_key = text_history.text_key
        and sequenced.partition_date = text_history.partition_date
