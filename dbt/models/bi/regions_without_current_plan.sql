select * from {{ ref('fct_regions_without_current_plan') }}
