"""Secrets: the `Secret` value type and the provider chain (environment, files, Key Vault).

ARCHITECTURE.md decision 7: a secret value never appears in a log, an error, an API response or
the UI. Read secrets through a `SecretProvider`; hold them as `Secret`; call `Secret.reveal` only
where the value is handed to the client that needs it.
"""

from adapters.secrets.providers import (
    DEFAULT_SECRETS_DIR,
    ENV_PREFIX,
    SECRETS_DIR_ENV,
    ChainSecretProvider,
    EnvSecretProvider,
    FileSecretProvider,
    MissingSecret,
    SecretError,
    SecretProvider,
    check_secret_name,
    default_secret_provider,
)
from adapters.secrets.value import MASK, Secret, redact_secrets

__all__ = [
    "DEFAULT_SECRETS_DIR",
    "ENV_PREFIX",
    "MASK",
    "SECRETS_DIR_ENV",
    "ChainSecretProvider",
    "EnvSecretProvider",
    "FileSecretProvider",
    "MissingSecret",
    "Secret",
    "SecretError",
    "SecretProvider",
    "check_secret_name",
    "default_secret_provider",
    "redact_secrets",
]
