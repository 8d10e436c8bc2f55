"""Connections for the application: its own role, never a superuser, sessions in UTC.

The migrations run as an admin and create the application role (``migrate.py``); everything
else connects through here with the DSN ``app_dsn`` derives from the admin's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import asyncpg

from adapters.storage.migrate import check_role

# Server-side text of timestamptz (COPY ... csv, ::text, date_trunc) follows the session's
# time zone; UTC keeps it equal to what Python reads.
_TIME_ZONE = {"timezone": "UTC"}
_SCHEMES = ("postgresql", "postgres")


class SuperuserRefused(RuntimeError):
    """The application was about to connect as a superuser."""


def app_dsn(admin_dsn: str, role: str, password: str | None = None) -> str:
    """Return ``admin_dsn`` (same server, database and options) with ``role`` as the user.

    The admin's user name and password are dropped, from the authority part and from the query
    string alike; ``password`` is set when the role has one.
    """
    parts = urlsplit(admin_dsn)
    if parts.scheme not in _SCHEMES:
        raise ValueError("expected a postgresql:// URL as the admin DSN")
    host = parts.netloc.rpartition("@")[2]
    user = quote(check_role(role), safe="")
    if password is not None:
        user += ":" + quote(password, safe="")
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
             if key not in ("user", "password")]
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, urlencode(query, safe="/"),
                       parts.fragment))


async def connect_app(dsn: str, **kwargs: Any) -> asyncpg.Connection:
    """Open one application connection (session time zone UTC); refuse a superuser.

    Extra keyword arguments go to ``asyncpg.connect``.
    """
    settings = _settings(kwargs)
    conn = await asyncpg.connect(dsn, server_settings=settings, **kwargs)
    try:
        _refuse_superuser(conn)
    except SuperuserRefused:
        await conn.close()
        raise
    return conn


async def create_app_pool(
    dsn: str, min_size: int = 1, max_size: int = 10, **kwargs: Any
) -> asyncpg.Pool:
    """Create a pool of application connections (session time zone UTC; no superuser).

    Extra keyword arguments go to ``asyncpg.create_pool``; an ``init`` callback given there
    still runs, after the superuser check.
    """
    init = kwargs.pop("init", None)
    settings = _settings(kwargs)

    async def checked_init(conn: asyncpg.Connection) -> None:
        _refuse_superuser(conn)
        if init is not None:
            await init(conn)

    return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size,
                                     server_settings=settings, init=checked_init,
                                     **kwargs)


def _settings(kwargs: dict[str, Any]) -> dict[str, str]:
    given = kwargs.pop("server_settings", None) or {}
    return {"application_name": "lockgate", **given, **_TIME_ZONE}


def _refuse_superuser(conn: asyncpg.Connection) -> None:
    # The server reports is_superuser when the session starts: no extra round trip.
    if conn.get_settings().is_superuser == "on":
        raise SuperuserRefused(
            "the application must not connect as a superuser (ARCHITECTURE.md, decision 3); "
            "use app_dsn() with the role the migrations created")
