{#
    Text normalization, the one definition shared by stg_comments and the is_clean_text
    test. Steps, in this order (each one relies on the previous):
      1. decode HTML entities: `&amp;` first, at any depth (the data holds `&amp;#39;`),
         then named and numeric references;
      2. `<br>` and `<br />` (also the escaped `&lt;br /&gt;`, decoded in step 1) become
         spaces, every other tag is dropped and its inner text kept (`<a href=...>x</a>`
         -> `x`);
      3. drop invisible format characters: U+FEFF, zero-width space, bidi marks and
         embeddings, word joiners, soft hyphen, C0 controls. ZWJ/ZWNJ (U+200D/U+200C)
         and variation selectors stay: emoji sequences and several scripts need them;
      4. every run of whitespace, including U+00A0 and other Unicode spaces, becomes one
         space; trim; Unicode NFC.
    Case is kept (uppercase_ratio needs it).
#}

{% macro invisible_chars_class() -%}
    [\x{00AD}\x{180E}\x{200B}\x{200E}\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}\x{2066}-\x{2069}\x{FEFF}\x{0000}-\x{0008}\x{000B}\x{000C}\x{000E}-\x{001F}\x{007F}]
{%- endmacro %}

{% macro html_entity_pattern() -%}
    &(#[0-9]+|#[xX][0-9a-fA-F]+|amp|lt|gt|quot|apos|nbsp);
{%- endmacro %}

{% macro line_break_tag_pattern() -%}
    (?i)<br\s*/?>
{%- endmacro %}

{% macro html_tag_pattern() -%}
    </?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>
{%- endmacro %}

{% macro normalize_text(expr) -%}
    {%- set decoded = decode_numeric_entities(regex_replace_all(expr, '&(amp;)+', '&')) -%}
    {%- set decoded -%}
        replace(replace(replace(replace(replace(
            {{ decoded }},
            '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&apos;', ''''), '&nbsp;', ' ')
    {%- endset -%}
    {%- set untagged = regex_replace_all(
        regex_replace_all(decoded, line_break_tag_pattern(), ' '), html_tag_pattern(), '') -%}
    {#- Steps 1 and 2 change only a text holding '&' or '<': most texts skip them. -#}
    {%- set markup_free -%}
        case
            when {{ dbt.position("'&'", expr) }} > 0 or {{ dbt.position("'<'", expr) }} > 0
                then {{ untagged }}
            else {{ expr }}
        end
    {%- endset -%}
    {%- set visible = regex_replace_all(markup_free, invisible_chars_class(), '') -%}
    {{ unicode_nfc('trim(' ~ regex_replace_all(visible, '[\\s\\p{Z}\\x{0085}]+', ' ') ~ ')') }}
{%- endmacro %}

{# The key under which two texts count as the same text: case-folded, hashed. #}
{% macro text_key(expr) -%}
    {{ dbt.hash('lower(' ~ expr ~ ')') }}
{%- endmacro %}
