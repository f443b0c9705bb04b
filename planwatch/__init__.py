"""planwatch: track what a Five-Year Plan promised against what the statistics show.

The package holds all logic; `dags/` only wires it into Airflow. Modules import their heavy
dependencies (duckdb, pandas, dbt, great_expectations) inside functions so that parsing a DAG
file stays cheap.
"""

__version__ = "0.1.0"
