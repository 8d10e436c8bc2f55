"""The dbt project as Dagster sees it; nothing else lives here.

``dagster-dbt project prepare-and-package --file orchestration/dbt_project.py`` imports this file
to find the project and write its manifest; ``orchestration.manifest.ensure_manifest`` does the
same from Python (``lockgate build``, ``lockgate dagster``, the test set-up).
"""

from __future__ import annotations

from dagster_dbt import DbtProject

from orchestration.dbt_profile import DBT_PROJECT_DIR
from orchestration.manifest import TARGET_PATH

lockgate_dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=DBT_PROJECT_DIR,
    target_path=TARGET_PATH,
)
