"""Stand-ins for dbt's Jinja context, so sqlfluff lints the models offline without dbt.

sqlfluff's Jinja templater renders each model with these instead of compiling it through
dbt (which would need a warehouse connection). Loaded through `library_path` in the
repo's .sqlfluff; the project's own macros are stubbed in that file.
"""
