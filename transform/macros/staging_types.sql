{#- Types and conversions whose spelling differs between DuckDB and PostgreSQL. -#}

{#- Exact decimals for JSON numbers (DuckDB's bare NUMERIC is DECIMAL(18,3)). -#}
{% macro staging_numeric() %}{{ return(adapter.dispatch('staging_numeric')()) }}{% endmacro %}
{% macro default__staging_numeric() %}numeric{% endmacro %}
{% macro duckdb__staging_numeric() %}decimal(38, 9){% endmacro %}

{#- A loaded date-time column as timestamp with time zone. Both loaders store date-time
    strings as timestamps without time zone, in UTC. -#}
{% macro staging_timestamp(expression) %}{{ return(adapter.dispatch('staging_timestamp')(expression)) }}{% endmacro %}
{% macro default__staging_timestamp(expression) %}(cast({{ expression }} as timestamp) at time zone 'UTC'){% endmacro %}
{% macro duckdb__staging_timestamp(expression) %}timezone('UTC', cast({{ expression }} as timestamp)){% endmacro %}

{#- An ISO-8601 string (from inside a JSON object) as timestamp with time zone. -#}
{% macro staging_timestamp_from_text(expression) %}{{ return(adapter.dispatch('staging_timestamp_from_text')(expression)) }}{% endmacro %}
{% macro default__staging_timestamp_from_text(expression) %}cast({{ expression }} as timestamp with time zone){% endmacro %}
