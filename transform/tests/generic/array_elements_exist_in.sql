{#- relationships for a JSON array of ids: fails for each element of ``column_name`` that is not
    a value of ``field`` in ``to``. -#}
{% test array_elements_exist_in(model, column_name, to, field) %}
    with elements as (
        {{ staging_json_array_elements(column_name, model) }}
    )
    select element
    from elements
    where element not in (
        select cast({{ field }} as varchar) from {{ to }} where {{ field }} is not null
    )
{% endtest %}
