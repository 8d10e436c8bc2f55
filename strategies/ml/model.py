"""The logistic model as data: coefficients in canonical JSON, identified by their sha256.

JSON of plain numbers is the safest artifact for a linear model: nothing executes on loading
(unlike pickle), and the bytes are stable, so their hash names the model exactly.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from domain.errors import InvalidValue
from strategies.ml.features import FeatureSpec

FORMAT: Literal["lockgate.logistic/1"] = "lockgate.logistic/1"


class LinearModel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """P(up) = sigmoid(intercept + coef . features), with what it was trained on.

    ``horizon`` and ``threshold`` define the label (close ``horizon`` bars later above the
    close by more than ``threshold``); ``trained_*`` record the training rows and the time
    range their features and labels covered, so a walk-forward can prove it is in the past.
    """

    format: Literal["lockgate.logistic/1"] = FORMAT
    spec: FeatureSpec
    coef: tuple[float, ...]
    intercept: float
    horizon: Annotated[int, Meta(ge=1)]
    threshold: float
    trained_rows: Annotated[int, Meta(ge=1)]
    trained_from_ts: int
    trained_until_ts: int

    def __post_init__(self) -> None:
        names = self.spec.names()
        if len(self.coef) != len(names):
            raise InvalidValue(f"{len(self.coef)} coefficients for {len(names)} features")
        if not all(math.isfinite(v) for v in (*self.coef, self.intercept, self.threshold)):
            raise InvalidValue("model coefficients must be finite")
        if self.trained_until_ts < self.trained_from_ts:
            raise InvalidValue("the training range ends before it starts")

    def probability(self, features: Sequence[float]) -> float:
        """Return the modelled probability that the label is 1."""
        z = self.intercept + math.fsum(c * x for c, x in zip(self.coef, features, strict=True))
        # Split by sign so exp never overflows.
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


def encode_model(model: LinearModel) -> bytes:
    """Return the artifact bytes: compact JSON, fields in declaration order, shortest floats."""
    return msgspec.json.encode(model)


def sha256_hex(payload: bytes) -> str:
    """Return the hex sha256 of an artifact."""
    return hashlib.sha256(payload).hexdigest()


def decode_model(payload: bytes, sha256: str) -> LinearModel:
    """Check the bytes against their expected hash, then decode and validate them."""
    actual = sha256_hex(payload)
    if actual != sha256:
        raise InvalidValue(f"model artifact hash {actual} does not match the expected {sha256}")
    try:
        return msgspec.json.decode(payload, type=LinearModel)
    except msgspec.ValidationError as exc:
        raise InvalidValue(f"malformed model artifact: {exc}") from exc
