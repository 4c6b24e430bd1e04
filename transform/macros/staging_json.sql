{#- JSON access: PostgreSQL's jsonb operators, DuckDB's json functions. target-postgres stores an
    absent object as the JSON value null ('null'::jsonb); every macro here turns it into SQL NULL. -#}

{#- A JSON column (object or untyped value), JSON null as SQL NULL. -#}
{% macro staging_json(expression) %}{{ return(adapter.dispatch('staging_json')(expression)) }}{% endmacro %}
{% macro default__staging_json(expression) %}nullif(cast({{ expression }} as jsonb), 'null'::jsonb){% endmacro %}
{% macro duckdb__staging_json(expression) %}cast(nullif(cast({{ expression }} as varchar), 'null') as json){% endmacro %}

{#- An array column as a JSON array (target-postgres stores arrays as SQL arrays). -#}
{% macro staging_json_array(expression) %}{{ return(adapter.dispatch('staging_json_array')(expression)) }}{% endmacro %}
{% macro default__staging_json_array(expression) %}nullif(to_jsonb({{ expression }}), 'null'::jsonb){% endmacro %}
{% macro duckdb__staging_json_array(expression) %}{{ duckdb__staging_json(expression) }}{% endmacro %}

{#- One field of a JSON object, as text (NULL when absent or JSON null). -#}
{% macro staging_json_text(expression, field) %}{{ return(adapter.dispatch('staging_json_text')(expression, field)) }}{% endmacro %}
{% macro default__staging_json_text(expression, field) %}(cast({{ expression }} as jsonb) ->> '{{ field }}'){% endmacro %}
{% macro duckdb__staging_json_text(expression, field) %}json_extract_string({{ expression }}, '$."{{ field }}"'){% endmacro %}

{#- One field of a JSON object, as JSON (JSON null as SQL NULL). -#}
{% macro staging_json_field(expression, field) %}{{ return(adapter.dispatch('staging_json_field')(expression, field)) }}{% endmacro %}
{% macro default__staging_json_field(expression, field) %}nullif(cast({{ expression }} as jsonb) -> '{{ field }}', 'null'::jsonb){% endmacro %}
{% macro duckdb__staging_json_field(expression, field) %}cast(nullif(cast(json_extract({{ expression }}, '$."{{ field }}"') as varchar), 'null') as json){% endmacro %}

{#- The elements of a JSON array column, one row each, as text, in a column named element. -#}
{% macro staging_json_array_elements(column, relation) %}{{ return(adapter.dispatch('staging_json_array_elements')(column, relation)) }}{% endmacro %}
{% macro default__staging_json_array_elements(column, relation) %}
    select jsonb_array_elements_text({{ column }}) as element from {{ relation }} where {{ column }} is not null
{% endmacro %}
{% macro duckdb__staging_json_array_elements(column, relation) %}
    select unnest(from_json({{ column }}, '["VARCHAR"]')) as element from {{ relation }} where {{ column }} is not null
{% endmacro %}
