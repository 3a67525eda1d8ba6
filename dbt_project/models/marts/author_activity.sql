{#-
    One row per author over all built days. Rebuilt in full (a small aggregate of the
    narrow int_author_daily table), so it is always consistent with the days built so far,
    whatever order they were built in; the per-day work never waits on it.
-#}
select
    author,
    min(partition_date) as first_active_date,
    max(partition_date) as last_active_date,
    count(*) as active_days,
    cast(sum(comment_count) as {{ dbt.type_bigint() }}) as comment_count,
    min(first_published_at) as first_published_at,
    max(last_published_at) as last_published_at,
    {{ safe_ratio('sum(comment_count)', 'count(*)') }} as comments_per_active_day
from {{ ref('int_author_daily') }}
group by author
