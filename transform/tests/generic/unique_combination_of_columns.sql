{#- Fails for each combination of ``combination_of_columns`` held by more than one row (a
    composite primary key), like dbt_utils' test of the same name. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns = combination_of_columns | join(', ') %}
    select {{ columns }}, count(*) as rows_with_this_key
    from {{ model }}
    group by {{ columns }}
    having count(*) > 1
{% endtest %}
