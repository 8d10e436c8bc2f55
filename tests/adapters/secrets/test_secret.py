"""The Secret value type: every text and data form hides the value; reveal() is the way out."""

from __future__ import annotations

import copy
import json
import logging
import pickle
import traceback
from collections.abc import Callable

import msgspec
import pytest
from pydantic import BaseModel, ValidationError

from adapters.secrets import MASK, Secret, redact_secrets

PLANTED = "planted-s3cr3t-7f3a9c"


class _Model(BaseModel):
    token: Secret
    optional: Secret | None = None


def test_reveal_returns_the_value() -> None:
    assert Secret(PLANTED).reveal() == PLANTED


@pytest.mark.parametrize("render", [
    str, repr, ascii,
    lambda s: f"{s}", lambda s: f"{s!r}", lambda s: f"{s:>30}", lambda s: f"{s!s:_<12}",
    lambda s: "%s" % s, lambda s: "%r" % s, "{}".format,  # noqa: UP031
    lambda s: str([s, {"k": s}, (s,)]),
])
def test_every_text_form_shows_the_mask_only(render: Callable[[Secret], str]) -> None:
    text = render(Secret(PLANTED))

    assert PLANTED not in text
    assert MASK in text


def test_format_spec_pads_the_mask() -> None:
    assert f"{Secret(PLANTED):>12}" == "  " + MASK


def test_equal_values_are_equal_and_hash_alike() -> None:
    assert Secret(PLANTED) == Secret(PLANTED)
    assert Secret(PLANTED) != Secret("other")
    assert Secret(PLANTED) != PLANTED  # a Secret never equals a bare str
    assert len({Secret(PLANTED), Secret(PLANTED)}) == 1


def test_is_immutable() -> None:
    secret = Secret(PLANTED)

    with pytest.raises(AttributeError):
        secret._value = "x"
    assert secret.reveal() == PLANTED


def test_refuses_a_non_str_without_echoing_it() -> None:
    with pytest.raises(TypeError) as raised:
        Secret(PLANTED.encode())  # type: ignore[arg-type]

    assert PLANTED not in str(raised.value)


def test_logging_never_shows_the_value(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("lockgate.test")
    secret = Secret(PLANTED)

    with caplog.at_level(logging.DEBUG):
        log.info("connecting with %s", secret)
        log.warning("settings %r", {"password": secret})
        log.error("formatted %s", f"{secret}")

    assert len(caplog.records) == 3
    assert PLANTED not in caplog.text
    assert all(PLANTED not in record.getMessage() for record in caplog.records)


def test_exceptions_and_tracebacks_never_show_the_value() -> None:
    secret = Secret(PLANTED)

    def fail() -> None:
        password = secret  # a local in the frame, as a traceback with locals would show it
        raise ValueError(f"login failed with {password} ({password!r})")

    with pytest.raises(ValueError) as raised:
        fail()

    assert PLANTED not in str(raised.value)
    rendered = "".join(traceback.TracebackException.from_exception(
        raised.value, capture_locals=True).format())
    assert PLANTED not in rendered
    assert MASK in rendered


def test_pickle_refuses_and_does_not_leak() -> None:
    for payload in (Secret(PLANTED), [Secret(PLANTED)], {"k": Secret(PLANTED)}):
        with pytest.raises(TypeError) as raised:
            pickle.dumps(payload)
        assert PLANTED not in str(raised.value)


def test_copies_stay_usable_in_process() -> None:
    secret = Secret(PLANTED)

    assert copy.copy(secret) is secret
    assert copy.deepcopy({"k": secret})["k"].reveal() == PLANTED


def test_json_refuses_by_default_and_redacts_on_request() -> None:
    with pytest.raises(TypeError) as raised:
        json.dumps({"password": Secret(PLANTED)})
    assert PLANTED not in str(raised.value)

    text = json.dumps({"password": Secret(PLANTED)}, default=redact_secrets)

    assert json.loads(text) == {"password": MASK}


def test_msgspec_refuses_by_default_and_redacts_with_the_hook() -> None:
    with pytest.raises(TypeError) as raised:
        msgspec.json.encode({"password": Secret(PLANTED)})
    assert PLANTED not in str(raised.value)

    encoded = msgspec.json.encode({"password": Secret(PLANTED)}, enc_hook=redact_secrets)

    assert PLANTED.encode() not in encoded
    assert msgspec.json.decode(encoded) == {"password": MASK}


def test_redact_hook_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        json.dumps({"x": object()}, default=redact_secrets)


def test_pydantic_validates_from_str_and_dumps_the_mask_in_json() -> None:
    model = _Model(token=PLANTED)  # type: ignore[arg-type]

    assert model.token.reveal() == PLANTED
    assert model.model_dump()["token"] == Secret(PLANTED)  # Python mode keeps the object
    dumped = model.model_dump_json()
    assert PLANTED not in dumped
    assert json.loads(dumped) == {"token": MASK, "optional": None}
    assert PLANTED not in repr(model)
    assert PLANTED not in str(model.model_dump(mode="json"))


def test_pydantic_accepts_a_secret_and_json_input() -> None:
    assert _Model(token=Secret(PLANTED)).token == Secret(PLANTED)
    assert _Model.model_validate_json(f'{{"token": "{PLANTED}"}}').token.reveal() == PLANTED


def test_pydantic_errors_do_not_echo_the_input_when_hidden() -> None:
    class Strict(BaseModel, hide_input_in_errors=True):
        token: Secret
        count: int

    with pytest.raises(ValidationError) as raised:
        Strict(token=PLANTED, count="not a number")  # type: ignore[arg-type]

    assert PLANTED not in str(raised.value)


def test_json_schema_marks_the_field_write_only() -> None:
    schema = _Model.model_json_schema()["properties"]["token"]

    assert schema == {"format": "password", "title": "Token", "type": "string",
                      "writeOnly": True}
