"""Decide which PostgreSQL Lockgate uses: the configured URL, or the embedded server.

Two connections, two roles (ARCHITECTURE.md decision 3):

- the **admin DSN** (`DatabaseTarget.admin_dsn`) belongs to the database's owner or a superuser.
  Only migrations use it (``adapters.storage.migrate.migrate``); they create the application
  role (``LOGIN``, no superuser) and grant it what it may do.
- the **application DSN** (`DatabaseTarget.app_dsn`, built by ``adapters.storage.connect``) is
  the admin DSN with the user replaced by ``settings.app_role`` and the password by
  ``settings.app_password``. Everything else (the API, the runner, Dagster, dbt) connects with it
  (``connect.connect_app`` refuses a superuser), so grants such as an append-only audit_log hold.

With a configured ``database_url`` the server authenticates the role by its password, which
migrations set from ``app_password``. The embedded server trusts local socket connections, so
there the role connects without a password; the socket directory's permissions guard it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from adapters.config import LockgateSettings
from adapters.secrets import Secret
from adapters.storage.connect import app_dsn
from adapters.storage.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """Where the database is: the admin DSN, and whether it is the embedded server."""

    admin_dsn: Secret
    embedded: bool

    def app_dsn(self, role: str, password: Secret | None = None) -> Secret:
        """Return the DSN for the application role: same server and database, other user.

        The password is left out for the embedded server, which trusts socket connections.
        """
        plain = None if self.embedded or password is None else password.reveal()
        return Secret(app_dsn(self.admin_dsn.reveal(), role, plain))


def resolve_database(settings: LockgateSettings) -> DatabaseTarget:
    """Return the configured database, or start (or join) the embedded server.

    Blocks while the embedded server starts (about a second on first use); from async code call
    it via ``asyncio.to_thread``.
    """
    if settings.database_url is not None:
        # Log where, never the URL itself: it may carry a password.
        log.debug("using the configured database_url")
        return DatabaseTarget(admin_dsn=settings.database_url, embedded=False)
    dsn = EmbeddedPostgres(settings.home).ensure_running()
    return DatabaseTarget(admin_dsn=Secret(dsn), embedded=True)
