"""Train the ML strategy's logistic model offline; hand it over as a versioned artifact.

``train_logistic`` fits scikit-learn's ``LogisticRegression`` on standardised features of a
point-in-time table (``research.datasets``), folds the standardisation into the coefficients
(so inference is one dot product on raw features) and returns the model as canonical JSON
bytes with their sha256: the artifact a Dagster asset stores and a caller hands to
``MLConfig.from_artifact``. JSON of numbers is safe to load (pickle would execute code) and
stable to hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from domain.errors import InvalidValue
from research.bars import BarFrame
from research.datasets import feature_table, training_rows
from research.walkforward import Chooser
from strategies.ml.features import FeatureSpec
from strategies.ml.model import LinearModel, encode_model, sha256_hex
from strategies.ml.strategy import MLConfig


@dataclass(frozen=True, slots=True)
class ModelArtifact:
    """A trained model: its bytes (what is stored), their sha256 (its name), and the model."""

    payload: bytes
    sha256: str
    model: LinearModel

    def config(self, **params: Any) -> MLConfig:
        """Return the strategy config that runs this model (``params``: thresholds, stop)."""
        return MLConfig.from_artifact(self.payload, self.sha256, **params)


def train_logistic(table: pl.DataFrame, spec: FeatureSpec, horizon: int, threshold: float,
                   train: range | None = None, *, c: float = 1.0) -> ModelArtifact:
    """Fit P(label = 1) on the rows of ``train`` (all bars if None) whose labels end inside it.

    The table must have been built with the same ``spec``, ``horizon`` and ``threshold``
    (they are recorded in the model). Raise ``InvalidValue`` when the rows hold one class only.
    """
    if train is None:
        train = range(0, int(table["bar"].to_numpy().max()) + 1 if table.height else 0)
    rows = training_rows(table, train)
    names = list(spec.names())
    x = rows.select(names).to_numpy().astype(np.float64)
    y = rows["label"].to_numpy().astype(np.int64)
    if len(np.unique(y)) < 2:
        raise InvalidValue(f"{len(y)} training rows hold a single class: nothing to learn")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0  # a constant feature: leave it unscaled (its coefficient ~ 0)
    fitted = LogisticRegression(C=c, max_iter=1_000).fit((x - mean) / scale, y)
    coef = fitted.coef_[0] / scale
    intercept = float(fitted.intercept_[0]) - float(np.dot(coef, mean))
    model = LinearModel(
        spec=spec, coef=tuple(float(v) for v in coef), intercept=intercept, horizon=horizon,
        threshold=threshold, trained_rows=len(y),
        trained_from_ts=int(rows["ts"].to_numpy().min()),
        trained_until_ts=int(rows["label_ts"].to_numpy().max()),
    )
    payload = encode_model(model)
    return ModelArtifact(payload, sha256_hex(payload), model)


def trained_chooser(spec: FeatureSpec, horizon: int, threshold: float,
                    **params: Any) -> Chooser:
    """Return a walk-forward chooser that trains a model on each fold's training bars.

    The chooser builds the feature table from the training slice alone, so the labels of its
    last rows are null (their horizon reaches past the slice) and are left out of training.
    """

    def choose(train_bars: BarFrame) -> MLConfig:
        table = feature_table(train_bars, spec, horizon, threshold)
        return train_logistic(table, spec, horizon, threshold).config(**params)

    return choose
