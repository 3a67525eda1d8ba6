-- Exact duplicate label rows (a comment listed twice with the same label) collapse to one;
-- a comment with conflicting labels or splits keeps two rows and fails the unique test.
select
    cast(comment_id as {{ dbt.type_string() }}) as comment_id,
    cast(label as {{ dbt.type_int() }}) as label,
    cast(split as {{ dbt.type_string() }}) as split,
    min(source_file) as source_file
from {{ source('raw', 'gold_labels') }}
group by comment_id, label, split
