"""dbt's cross-database macros (`dbt.type_string()` ...) as fixed DuckDB spellings."""


def type_string() -> str:
    return "varchar"


def type_timestamp() -> str:
    return "timestamp"


def type_bigint() -> str:
    return "bigint"


def type_int() -> str:
    return "integer"


def hash(expression: str) -> str:
    return f"md5(cast({expression} as varchar))"
