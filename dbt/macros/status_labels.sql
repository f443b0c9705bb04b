{#- The closed set of progress statuses with their Chinese and English labels, in display order.
    dim_status is built from this list; fct models join to it for labels. -#}
{% macro progress_statuses() -%}
    {{ return([
        {"status": "target_achieved",    "sort_order": 1, "label_zh": "已实现目标",   "label_en": "Target achieved"},
        {"status": "on_track",           "sort_order": 2, "label_zh": "进度正常",     "label_en": "On track"},
        {"status": "needs_acceleration", "sort_order": 3, "label_zh": "需加快进度",   "label_en": "Progress made, acceleration needed"},
        {"status": "limited_progress",   "sort_order": 4, "label_zh": "进展有限",     "label_en": "Limited progress"},
        {"status": "deterioration",      "sort_order": 5, "label_zh": "逆向变化",     "label_en": "Deterioration"},
        {"status": "insufficient_data",  "sort_order": 6, "label_zh": "数据不足",     "label_en": "Insufficient data"},
        {"status": "no_target",          "sort_order": 7, "label_zh": "无量化目标",   "label_en": "No quantified target"},
    ]) }}
{%- endmacro %}

{% macro progress_status_values() -%}
    {{ return(progress_statuses() | map(attribute='status') | list) }}
{%- endmacro %}
