"""Dagster orchestration: the code location (`orchestration.definitions`), one folder per domain
under `orchestration.defs`, the Dagster instance in Lockgate's PostgreSQL
(`orchestration.instance`), the UI supervisor (`orchestration.serve`) and ``lockgate build``
(`orchestration.build`)."""
