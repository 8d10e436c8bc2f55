"""Tests of the dbt project (dbt_project/) against the real PostgreSQL server."""
