"""The local stack without Docker: PostgreSQL, Airflow's four components, Tansu, moto, dbt docs, demo APIs."""
