"""Research: pure functions behind backtests, sweeps, walk-forward and model training.

Dagster assets (``orchestration/``) and the CLI call these; they read nothing themselves but
what they are handed (bars as a columnar ``BarFrame``, feature tables), except
``versioning``/``discovery``, which read the installed code. Imports: ``domain``,
``strategies``, ``risk``, ``engine``, numpy, polars, scikit-learn; never ``adapters``, ``live``,
``api``, ``orchestration`` or ``cli``. Nothing is imported here, so importing one module stays
cheap.
"""
