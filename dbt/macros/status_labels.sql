{#- The closed set of progress statuses with their Chinese and English labels, in display order.
    dim_status is built from this list; fct models join to it for labels. -#}
{% macro progress_statuses() -%}
    {{ return([
        {"status": "target_achieved",    "sort_order": 1, "label_zh": "已实现目标",   "label_en": "Target achieved"},
        {"status": "on_track",           "sort_order": 2, "label_zh": "进度正常",     "label_en": "On track"},
        {"status": "needs_acceleration", "sort_order": 3, "label_zh": "需加快进度",   "label_en": "Progress made, acceleration needed"},
        {"status": "limited_progress",   "sort_order": 4, "label_zh": "进展有限",     "label_en": "Limited progress"},
        {"status": "deterioration",      "sort_order": 5, "label_zh": "逆向变化",     "label_en": "Deterioration"},
        {"status": "target_not_achieved", "sort_order": 6, "label_zh": "未实现目标",  "label_en": "Target not achieved (final, at the target year)"},
        {"status": "insufficient_data",  "sort_order": 7, "label_zh": "数据不足",     "label_en": "Insufficient data"},
        {"status": "target_year_passed", "sort_order": 8, "label_zh": "目标年已过",   "label_en": "After the target year (the verdict stands at that year)"},
        {"status": "no_target",          "sort_order": 9, "label_zh": "无量化目标",   "label_en": "No quantified target"},
    ]) }}
{%- endmacro %}

{#- The rule that decided a status (status_basis), in plain language for the report and BI. -#}
{% macro status_bases() -%}
    {{ return([
        {"basis": "no_target",                "label_zh": "规划未给出覆盖该期的量化目标", "label_en": "no plan target covers this period"},
        {"basis": "after_target_year",        "label_zh": "目标年已过，结论以目标年为准", "label_en": "after the target year: the verdict given at that year stands"},
        {"basis": "meets_target",             "label_zh": "实际值已达到目标值", "label_en": "the value meets the target"},
        {"basis": "natural_limit",            "label_zh": "目标为自然上限，实际值已在容差内", "label_en": "within the margin of a natural limit that is the target"},
        {"basis": "final_at_target_year",     "label_zh": "目标年末仍未达到目标值", "label_en": "at the end of the target year the value falls short of the target"},
        {"basis": "too_few_points",           "label_zh": "数据点太少，不作推算", "label_en": "too few points to project"},
        {"basis": "target_not_ahead_of_base", "label_zh": "目标为保持水平，实际值已低于目标", "label_en": "the plan asks to keep a level, and the value no longer meets it"},
        {"basis": "ahead_of_expected",        "label_zh": "实际值不低于本期预期值", "label_en": "at or ahead of the expected value for the period"},
        {"basis": "ratio_undefined",          "label_zh": "无法计算进度比", "label_en": "no progress ratio can be computed"},
        {"basis": "binding_ratio",            "label_zh": "约束性指标落后于预期值，按推算进度比评定", "label_en": "binding, behind the expected value: graded by the projected ratio"},
        {"basis": "ratio",                    "label_zh": "按推算进度比评定", "label_en": "graded by the projected ratio (compound growth to the target year)"},
    ]) }}
{%- endmacro %}

{% macro progress_status_values() -%}
    {{ return(progress_statuses() | map(attribute='status') | list) }}
{%- endmacro %}

{% macro status_basis_label(column, language) -%}
    {#- the plain-language reading of a status_basis column, `language` zh or en -#}
    case {{ column }}
    {%- for b in status_bases() %}
        when '{{ b.basis }}' then '{{ b["label_" ~ language] }}'
    {%- endfor %}
    end
{%- endmacro %}
