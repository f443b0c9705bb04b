"""The candidate warehouse: the raw snapshot and the dbt build."""
