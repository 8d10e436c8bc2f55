"""Secret providers: environment, mounted files, and a chain over them (Key Vault joins later).

Every error and log line names the secret (and where it was looked for), never its value.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from adapters.secrets.value import Secret

log = logging.getLogger(__name__)

ENV_PREFIX: Final = "LOCKGATE_SECRET_"
SECRETS_DIR_ENV: Final = "LOCKGATE_SECRETS_DIR"
DEFAULT_SECRETS_DIR: Final = Path("/run/secrets/lockgate")

# One portable spelling that maps onto env names, file names and Key Vault names; no path
# separators, so a name can never reach outside the secrets directory.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,126}$")


class SecretError(Exception):
    """A secret could not be read; the message names the secret, never its value."""


class MissingSecret(SecretError):
    """No provider holds the secret asked for."""


def check_secret_name(name: str) -> str:
    """Return ``name`` if it is a valid secret name, else raise `SecretError`."""
    if not _NAME.match(name):
        raise SecretError(
            f"invalid secret name {name!r}: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit")
    return name


@runtime_checkable
class SecretProvider(Protocol):
    """Where secrets come from: return the named secret, or None when this source lacks it."""

    def get(self, name: str) -> Secret | None:
        """Return the secret called ``name``, or None when this provider does not hold it."""
        ...


class EnvSecretProvider:
    """Read ``<prefix><NAME>`` from the environment (``LOCKGATE_SECRET_BINANCE_API_KEY``).

    The name is upper-cased and '-' or '.' become '_'. An empty variable counts as unset,
    because shells and compose files write ``NAME=`` to mean exactly that.
    """

    def __init__(self, prefix: str = ENV_PREFIX, environ: Mapping[str, str] | None = None) -> None:
        self._prefix = prefix
        # None means "the live process environment", read at each lookup, not a snapshot.
        self._environ = environ

    def variable(self, name: str) -> str:
        """Return the environment variable that holds secret ``name``."""
        return self._prefix + re.sub(r"[^A-Z0-9_]", "_", check_secret_name(name).upper())

    def get(self, name: str) -> Secret | None:
        """Return the secret from its environment variable, or None when unset or empty."""
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(self.variable(name))
        if not value:
            return None
        log.debug("secret %s read from environment variable %s", name, self.variable(name))
        return Secret(value)

    def __repr__(self) -> str:
        return f"EnvSecretProvider(prefix={self._prefix!r})"


class FileSecretProvider:
    """Read mounted secret files: one file per secret in ``directory``, named after it.

    This is the Docker/Kubernetes layout (``/run/secrets/lockgate/database_url``); symlinks, as
    Kubernetes mounts them, are followed. One trailing newline is stripped, since editors and
    ``echo`` add it. A file that others may read is reported by a warning, or refused with
    ``refuse_world_readable=True``: Kubernetes mounts secret volumes 0644 unless the chart sets
    ``defaultMode``, so refusing by default would break every unmodified deployment.
    """

    def __init__(self, directory: Path, *, refuse_world_readable: bool = False) -> None:
        self._directory = directory
        self._refuse_world_readable = refuse_world_readable
        self._warned: set[Path] = set()

    @property
    def directory(self) -> Path:
        """Return the directory searched."""
        return self._directory

    def get(self, name: str) -> Secret | None:
        """Return the secret from ``directory/name``, or None when there is no such file."""
        path = self._directory / check_secret_name(name)
        try:
            mode = path.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise SecretError(f"secret {name!r}: cannot inspect {path}: {exc.strerror}") from None
        if not stat.S_ISREG(mode):
            raise SecretError(f"secret {name!r}: {path} is not a regular file")
        if mode & stat.S_IROTH:
            self._world_readable(name, path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise SecretError(f"secret {name!r}: cannot read {path}: {exc.strerror}") from None
        text = _decode(raw)
        # Raised outside any except block so no UnicodeDecodeError (which quotes the offending
        # byte) rides along as the exception's context.
        if text is None:
            raise SecretError(f"secret {name!r}: {path} is not valid UTF-8")
        text = text.removesuffix("\n").removesuffix("\r")
        if not text:
            raise SecretError(f"secret {name!r}: {path} is empty")
        log.debug("secret %s read from %s", name, path)
        return Secret(text)

    def _world_readable(self, name: str, path: Path) -> None:
        message = f"secret {name!r}: {path} is readable by every user; make it 0400 or 0440"
        if self._refuse_world_readable:
            raise SecretError(message)
        if path not in self._warned:
            self._warned.add(path)
            log.warning("%s", message)

    def __repr__(self) -> str:
        return f"FileSecretProvider({str(self._directory)!r})"


def _decode(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


class ChainSecretProvider:
    """Ask providers in order; the first that holds the secret wins."""

    def __init__(self, *providers: SecretProvider) -> None:
        self._providers = providers

    @property
    def providers(self) -> tuple[SecretProvider, ...]:
        """Return the providers in the order they are asked (to extend: build a new chain)."""
        return self._providers

    def get(self, name: str) -> Secret | None:
        """Return the secret from the first provider that holds it, or None."""
        check_secret_name(name)
        for provider in self._providers:
            found = provider.get(name)
            if found is not None:
                return found
        return None

    def require(self, name: str) -> Secret:
        """Return the secret, or raise `MissingSecret` listing where it was looked for."""
        found = self.get(name)
        if found is None:
            where = ", ".join(repr(p) for p in self._providers) or "no providers"
            raise MissingSecret(f"secret {name!r} not found (looked in: {where})")
        return found

    def __repr__(self) -> str:
        return f"ChainSecretProvider({', '.join(repr(p) for p in self._providers)})"


def default_secret_provider(environ: Mapping[str, str] | None = None) -> ChainSecretProvider:
    """Return the standard chain: ``LOCKGATE_SECRET_*`` variables, then mounted files.

    The files live in ``$LOCKGATE_SECRETS_DIR`` (default ``/run/secrets/lockgate``); a missing
    directory simply holds nothing.
    """
    env = os.environ if environ is None else environ
    directory = Path(env.get(SECRETS_DIR_ENV) or DEFAULT_SECRETS_DIR)
    return ChainSecretProvider(EnvSecretProvider(environ=environ), FileSecretProvider(directory))
