"""The `Secret` value type: a string that never shows itself.

Decision 7 of ARCHITECTURE.md: a secret value never appears in a log, an error, an API response
or the UI. `Secret` makes that the default: every way of turning it into text (``str``, ``repr``,
``format``, f-strings, ``%`` logging, pydantic's JSON mode) gives the mask, and every way of
shipping it elsewhere as data (pickle, ``json``, msgspec) refuses. The one way out is
`Secret.reveal`, so a leak is a visible, greppable call.
"""

from __future__ import annotations

import hmac
from typing import Any, Final, NoReturn, final

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

MASK: Final = "**********"


@final
class Secret:
    """Wrap a secret string; show only `MASK` until `reveal` is called.

    Immutable and hashable; two secrets are equal when their values are (compared in constant
    time). Not a ``str`` subclass on purpose: string methods and concatenation would hand the
    value out without anyone calling `reveal`.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            # Name the type only: a bytes value would otherwise be echoed by the message.
            raise TypeError(f"Secret wraps a str, got {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the plain value; call it only where the value is handed to its consumer."""
        return self._value

    # -- text: always the mask -----------------------------------------------------------------
    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __format__(self, format_spec: str) -> str:
        # Honour alignment and width so tables still line up, but format the mask, not the value.
        return format(MASK, format_spec)

    # -- value semantics -------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError("Secret is immutable")

    # -- copying is fine (same process), shipping is not ----------------------------------------
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        # Refuse rather than pickle the mask: a worker that received '**********' as a password
        # would fail far from here with an authentication error that hides the cause.
        raise TypeError(
            "Secret values cannot be pickled; pass the secret's name and resolve it from a "
            "SecretProvider in the receiving process")

    def __reduce__(self) -> NoReturn:
        self.__reduce_ex__(None)

    # -- pydantic: validate from str; serialise as the mask in JSON mode ------------------------
    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler,
    ) -> core_schema.CoreSchema:
        """Accept a `Secret` or a str; dump as the object in Python mode, the mask in JSON."""
        from_str = core_schema.no_info_after_validator_function(cls, core_schema.str_schema())
        return core_schema.json_or_python_schema(
            json_schema=from_str,
            python_schema=core_schema.union_schema(
                [core_schema.is_instance_schema(cls), from_str]),
            serialization=core_schema.plain_serializer_function_ser_schema(
                _serialise, info_arg=True),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler,
    ) -> JsonSchemaValue:
        """Describe the field as a write-only password string."""
        json_schema = handler(schema)
        json_schema.update(type="string", format="password", writeOnly=True)
        return json_schema


def _serialise(value: Secret, info: core_schema.SerializationInfo) -> Secret | str:
    return MASK if info.mode_is_json() else value


def redact_secrets(obj: Any) -> Any:
    """Encode `Secret` as the mask; use as msgspec's ``enc_hook`` or ``json.dumps(default=...)``.

    Without it both encoders refuse a `Secret` (naming only its type), which is the safe default.
    """
    if isinstance(obj, Secret):
        return MASK
    # TypeError is json.dumps' convention for "not serialisable"; msgspec passes it through.
    raise TypeError(f"cannot encode objects of type {type(obj).__name__}")
