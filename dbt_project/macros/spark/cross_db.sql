{#
    Spark SQL implementations of the cross_db macros (dbt-spark, Spark 3.5).

    Spark's string literals treat a backslash as an escape ('\d' is 'd') and its regular
    expressions are Java's, not RE2: every pattern goes through spark_regex_literal, which
    asks Java for RE2's Unicode case folding under (?i) and escapes the literal. The patterns
    the project uses (\p{..} classes, \x{..} code points, \s, (?i)) mean the same in both
    engines up to their Unicode versions; labeling functions never rely on Spark's regular
    expressions (they run as Arrow batches with RE2, see weak_supervision/spark_votes.py).
#}

{% macro spark_string_literal(text) -%}
    '{{ text | replace('\\', '\\\\') | replace("'", "\\'") }}'
{%- endmacro %}

{% macro spark_regex_literal(pattern) -%}
    {{ spark_string_literal(pattern | replace('(?i)', '(?iu)')) }}
{%- endmacro %}

{% macro spark__regex_replace_all(expr, pattern, replacement) -%}
    {#- Spark replaces every match; the replacement is literal text (Java's $ and \ escaped). -#}
    regexp_replace({{ expr }}, {{ spark_regex_literal(pattern) }},
        {{ spark_string_literal(replacement | replace('\\', '\\\\') | replace('$', '\\$')) }})
{%- endmacro %}

{% macro spark__regex_count(expr, pattern) -%}
    regexp_count({{ expr }}, {{ spark_regex_literal(pattern) }})
{%- endmacro %}

{#- Java's find(): a match anywhere, as RE2's partial match in DuckDB's regexp_matches. -#}
{% macro spark__regex_contains(expr, pattern) -%}
    regexp_like({{ expr }}, {{ spark_regex_literal(pattern) }})
{%- endmacro %}

{#
    Spark 3.5 has no Unicode normalization function, java.text.Normalizer takes an enum that
    reflect() cannot pass, and a Python UDF cannot be evaluated inside the nested expressions
    of stg_comments (Spark 3.5 fails with "Cannot evaluate expression"). The var
    `spark_nfc_function` names a function that does it (a Hive UDF registered on the
    cluster). Unset, the text is left as it is: ingest already stores NFC text (policy
    `unicode_form: NFC`), so this differs from DuckDB only where decoding an entity or
    dropping a tag puts a combining mark after a base character.
#}
{% macro spark__unicode_nfc(expr) -%}
    {%- set function = var('spark_nfc_function', none) -%}
    {%- if function is none -%}
        ({{ expr }})
    {%- elif modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_.]*', function) -%}
        {{ function }}({{ expr }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("spark_nfc_function must be a function name, got " ~ function) }}
    {%- endif -%}
{%- endmacro %}

{#
    Code point -> one-character string: Spark's chr() covers only 0-255, so the code point
    is written as UTF-32BE bytes and decoded. Invalid code points become U+FFFD.
#}
{% macro spark_code_point_char(code) -%}
    case
        when {{ code }} between 1 and 1114111 and {{ code }} not between 55296 and 57343
            then decode(unhex(lpad(hex({{ code }}), 8, '0')), 'UTF-32BE')
        else decode(unhex('0000FFFD'), 'UTF-32BE')
    end
{%- endmacro %}

{% macro spark__decode_numeric_entities(expr) -%}
    {%- set pattern = spark_string_literal('&#([0-9]{1,7}|[xX][0-9a-fA-F]{1,6});') -%}
    {%- set code -%}
        cast(case
            when lower(entity) like 'x%' then conv(substr(entity, 2), 16, 10)
            else entity
        end as bigint)
    {%- endset -%}
    transform(array({{ expr }}), entity_text -> array_join(
        transform(
            split(entity_text, {{ pattern }}, -1),
            (part, i) -> case
                when i = 0 then part
                else transform(
                    array(regexp_extract_all(entity_text, {{ pattern }}, 1)[i - 1]),
                    entity -> {{ spark_code_point_char(code) }}
                )[0] || part
            end
        ),
        ''
    ))[0]
{%- endmacro %}

{#- Longest run of one repeated code point: the runs are the matches of (.)\1*; NULL stays NULL. -#}
{% macro spark__max_char_run(expr) -%}
    transform(array({{ expr }}), run_text -> case
        when run_text is null then null
        else coalesce(array_max(transform(
            regexp_extract_all(run_text, {{ spark_string_literal('((?s).)\\1*') }}, 0),
            one_run -> length(one_run)
        )), 0)
    end)[0]
{%- endmacro %}
