{#
    Text functions with no portable SQL spelling. DuckDB implementations use list
    lambdas (DuckDB >= 1.3 syntax `lambda x: ...`); another engine needs its own
    <adapter>__ version, and the default fails at compile time rather than silently.
#}

{% macro not_ported(name) -%}
    {{ exceptions.raise_compiler_error(
        "Macro " ~ name ~ " has no implementation for adapter '" ~ adapter.type()
        ~ "': add " ~ adapter.type() ~ "__" ~ name ~ " in macros/cross_db/") }}
{%- endmacro %}

{# Unicode NFC, so that composed and decomposed spellings of a text compare equal. #}
{% macro unicode_nfc(expr) -%}
    {{ return(adapter.dispatch('unicode_nfc')(expr)) }}
{%- endmacro %}

{% macro default__unicode_nfc(expr) -%}
    normalize({{ expr }}, NFC)
{%- endmacro %}

{% macro duckdb__unicode_nfc(expr) -%}
    nfc_normalize({{ expr }})
{%- endmacro %}

{#
    Decode numeric character references (&#39; &#x27;); code points that are not valid
    characters (0, surrogates, > U+10FFFF) become U+FFFD.
#}
{% macro decode_numeric_entities(expr) -%}
    {{ return(adapter.dispatch('decode_numeric_entities')(expr)) }}
{%- endmacro %}

{% macro default__decode_numeric_entities(expr) -%}
    {{ not_ported('decode_numeric_entities') }}
{%- endmacro %}

{% macro duckdb__decode_numeric_entities(expr) -%}
    {%- set pattern = '&#([0-9]{1,7}|[xX][0-9a-fA-F]{1,6});' -%}
    list_transform([{{ expr }}], lambda entity_text: array_to_string(
        list_transform(
            regexp_split_to_array(entity_text, '{{ pattern }}'),
            lambda part, i: case
                when i = 1 then part
                else list_transform(
                    [try_cast(replace(lower(
                        regexp_extract_all(entity_text, '{{ pattern }}', 1)[i - 1]
                    ), 'x', '0x') as integer)],
                    lambda code: case
                        when code between 1 and 1114111 and code not between 55296 and 57343
                            then chr(code)
                        else chr(65533)
                    end
                )[1] || part
            end
        ),
        ''
    ))[1]
{%- endmacro %}

{# Length of the longest run of one repeated character ('heeeey!!' -> 4); 0 for ''. #}
{% macro max_char_run(expr) -%}
    {{ return(adapter.dispatch('max_char_run')(expr)) }}
{%- endmacro %}

{% macro default__max_char_run(expr) -%}
    {{ not_ported('max_char_run') }}
{%- endmacro %}

{% macro duckdb__max_char_run(expr) -%}
    list_transform([{{ expr }}], lambda run_text: case
        when length(run_text) = 0 then 0
        else list_reduce(
            list_transform(
                string_split(run_text, ''),
                lambda ch: {'ch': ch, 'run': 1, 'best': 1}
            ),
            lambda acc, nxt: case
                when acc.ch = nxt.ch
                    then {'ch': nxt.ch, 'run': acc.run + 1, 'best': greatest(acc.best, acc.run + 1)}
                else {'ch': nxt.ch, 'run': 1, 'best': acc.best}
            end
        ).best
    end)[1]
{%- endmacro %}

{# Number of occurrences of one literal character, without regular expressions. #}
{% macro count_char(expr, character) -%}
    (length({{ expr }}) - length(replace({{ expr }}, '{{ character }}', '')))
{%- endmacro %}

{# A share in [0, 1]; 0 when the denominator is 0. #}
{% macro safe_ratio(numerator, denominator) -%}
    coalesce(cast({{ numerator }} as double precision) / nullif({{ denominator }}, 0), 0.0)
{%- endmacro %}
