{#- The closed set of progress statuses (macros/status_labels.sql), with labels for reports. -#}
with

statuses as (

    {% for s in progress_statuses() %}
    select
        '{{ s.status }}' as status,
        {{ s.sort_order }} as sort_order,
        '{{ s.label_zh }}' as status_zh,
        '{{ s.label_en }}' as status_en,
        {{ 'true' if s.status in ['target_achieved', 'on_track'] else 'false' }} as is_on_course
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from statuses
