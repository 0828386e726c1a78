{#- Source precedence for Fitbit data: when both the Google Health API and the Fitbit export hold the same
    person's entity for the same local date (or minute), silver keeps the API's rows only. The API is what
    Google's servers hold now (re-processed sleep, late syncs); an export is a snapshot taken on its day. -#}

{% macro source_rank(partition_by) -%}
dense_rank() over (
    partition by {{ partition_by }}
    order by case data_source when 'google_health_api' then 0 else 1 end
)
{%- endmacro %}

{#- Local calendar date of a UTC instant in the person's IANA zone. -#}
{% macro local_date(instant, tz) -%}
({{ instant }} at time zone {{ tz }})::date
{%- endmacro %}

{#- The person's maximum heart rate on a date: the configured one, else 220 − age from the birth year. -#}
{% macro max_heart_rate(people, day) -%}
coalesce({{ people }}.max_heart_rate, 220 - (extract(year from {{ day }})::integer - {{ people }}.birth_year))
{%- endmacro %}

{#- Keep only the rows of the source silver uses for that person, entity and local date
    (int_health_sources_chosen_per_day), e.g. join_preferred_source('sessions', 'sleep', 'sessions.wake_date'). -#}
{% macro join_preferred_source(alias, entity, local_date_expr) -%}
inner join {{ ref('int_health_sources_chosen_per_day') }} as preferred_{{ entity }}
    on
        preferred_{{ entity }}.entity = '{{ entity }}'
        and {{ alias }}.person_id = preferred_{{ entity }}.person_id
        and {{ local_date_expr }} = preferred_{{ entity }}.local_date
        and {{ alias }}.data_source = preferred_{{ entity }}.data_source
{%- endmacro %}
