{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert_window',
        tags=['daily'],
    )
}}

{#-
    One row per comment: the clean text and the generic features that labeling functions
    and the classifier read. Nothing here is derived from whether published_at is present
    (in the reference data that alone gives the label away).
-#}

{#- Patterns (RE2 syntax) over the clean text, where whitespace is already single spaces. -#}
{%- set pattern = {
    'word': '[^ ]+',
    'url': '(?i)(https?://|www\\.)[^ ]+',
    'mention': '(^|[^\\p{L}\\p{N}_@])@[\\p{L}\\p{N}_]',
    'hashtag': '(^|[^\\p{L}\\p{N}_&#])#[\\p{L}\\p{N}_]',
    'upper': '\\p{Lu}',
    'lower': '\\p{Ll}',
    'digit': '[0-9]',
    'non_ascii': '[^\\x{0000}-\\x{007F}]',
    'symbol': '\\p{So}',
    'line_break': '(?i)<br\\s*/?>|&lt;br\\s*/?&gt;|\\n',
} -%}

with comments as (
    select
        comment_id,
        partition_date,
        published_at,
        author,
        text,
        text_raw
    from {{ ref('stg_comments') }}
    where {{ partition_window('partition_date') }}
),

history as (
    select
        comment_id,
        partition_date,
        author_prior_comments,
        author_prior_days,
        text_prior_count
    from {{ ref('int_comment_history') }}
    where {{ partition_window('partition_date') }}
),

counted as (
    select
        comments.comment_id,
        comments.partition_date,
        comments.published_at,
        comments.author,
        comments.text,
        length(comments.text) as char_count,
        {{ regex_count('comments.text', pattern.word) }} as word_count,
        {{ regex_count('comments.text', pattern.url) }} as url_count,
        {{ regex_count('comments.text', pattern.mention) }} as mention_count,
        {{ regex_count('comments.text', pattern.hashtag) }} as hashtag_count,
        {{ count_class_chars('comments.text', pattern.upper) }} as uppercase_count,
        {{ count_class_chars('comments.text', pattern.lower) }} as lowercase_count,
        {{ max_char_run('comments.text') }} as max_char_run,
        {{ count_char('comments.text', '!') }} as exclamation_count,
        {{ count_char('comments.text', '?') }} as question_count,
        {{ count_class_chars('comments.text', pattern.digit) }} as digit_count,
        {{ count_class_chars('comments.text', pattern.non_ascii) }} as non_ascii_count,
        {{ count_class_chars('comments.text', pattern.symbol) }} as symbol_count,
        {{ regex_count('comments.text_raw', pattern.line_break) }} as line_break_count,
        history.author_prior_comments,
        history.author_prior_days,
        history.text_prior_count
    from comments
    inner join history
        on
            comments.comment_id = history.comment_id
            and comments.partition_date = history.partition_date
)

select
    comment_id,
    partition_date,
    published_at,
    author,
    text,
    char_count,
    word_count,
    url_count,
    url_count > 0 as has_url,
    mention_count,
    hashtag_count,
    {{ safe_ratio('uppercase_count', 'uppercase_count + lowercase_count') }} as uppercase_ratio,
    max_char_run,
    exclamation_count,
    question_count,
    digit_count,
    {{ safe_ratio('non_ascii_count', 'char_count') }} as non_ascii_ratio,
    symbol_count,
    line_break_count,
    author_prior_comments,
    author_prior_days,
    author_prior_comments = 0 as author_is_new,
    text_prior_count
from counted
