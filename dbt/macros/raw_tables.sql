{#- Spark only: declare the raw tables of the ingest store, exported as Parquet by
    planwatch.build.spark.export_raw_parquet (`<location>/<table>/`), as `raw.<table>`, so that the
    sources resolve. The same statements serve Spark in local mode and a cluster's Thrift server:

        dbt run-operation register_raw_tables --target spark_thrift \
            --args '{location: "hdfs:///planwatch/raw", tables: [regions, indicators, ...]}'

    DuckDB needs nothing: its candidate file holds the raw snapshot (planwatch.build.transform). -#}
{% macro register_raw_tables(location, tables) %}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error("register_raw_tables is for a Spark target; target " ~ target.name ~ " is " ~ target.type) }}
    {%- endif -%}
    {%- do run_query("create database if not exists raw") -%}
    {%- for table in tables -%}
        {%- do run_query("drop table if exists raw." ~ table) -%}
        {%- do run_query("create table raw." ~ table ~ " using parquet location '" ~ location ~ "/" ~ table ~ "'") -%}
    {%- endfor -%}
    {{ log("register_raw_tables: " ~ tables | length ~ " tables under " ~ location, info=true) }}
{% endmacro %}
