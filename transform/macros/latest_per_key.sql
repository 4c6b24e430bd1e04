{#- Deduplication of the raw tables: the loaders may hold one key more than once (append-only
    loads, at-least-once re-reads). -#}

{#- The metadata columns that order the versions of a key, newest first: the extraction time,
    then the loaders' batch and receive times and sequence as tie-breaks (target-duckdb writes
    _sdc_extracted_at and _sdc_batched_at; target-postgres all four). -#}
{% macro staging_version_columns(relation) %}
  {%- set wanted = ['_sdc_extracted_at', '_sdc_batched_at', '_sdc_received_at', '_sdc_sequence'] -%}
  {%- if not execute -%}
    {{ return(wanted[:2]) }}
  {%- endif -%}
  {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
  {%- set found = wanted | select('in', present) | list -%}
  {%- if '_sdc_extracted_at' not in found -%}
    {{ exceptions.raise_compiler_error(relation ~ " has no _sdc_extracted_at column: load it with "
       ~ "the loader's metadata columns on (target-duckdb add_metadata_columns, target-postgres "
       ~ "add_record_metadata)") }}
  {%- endif -%}
  {{ return(found) }}
{% endmacro %}

{#- Every column of the latest version of each key of ``relation``. -#}
{% macro latest_per_key(relation, key_columns) %}
  {%- set order_by = [] -%}
  {%- for column in staging_version_columns(relation) -%}
    {%- do order_by.append(adapter.quote(column) ~ ' desc nulls last') -%}
  {%- endfor -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {% for key in key_columns %}{{ adapter.quote(key) }}{{ ", " if not loop.last }}{% endfor %}
                order by {{ order_by | join(', ') }}
            ) as _staging_version_rank
        from {{ relation }}
    ) as ranked
    where _staging_version_rank = 1
{%- endmacro %}
