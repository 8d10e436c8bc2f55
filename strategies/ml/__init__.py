"""A small machine-learning strategy: a logistic model trained offline, run bar by bar.

``research.training`` fits the model on a point-in-time feature table and serialises it as a
versioned artifact (canonical JSON bytes plus their sha256); the caller hands the artifact to
``MLConfig.from_artifact`` and the strategy computes the same features incrementally in the
kernel and scores them with a dot product. No pickle, no I/O, no scikit-learn at run time.
"""

from strategies.ml.features import FeatureSpec, FeatureState
from strategies.ml.model import LinearModel, decode_model, encode_model, sha256_hex
from strategies.ml.strategy import LogisticSignal, MLConfig

__all__ = ["FeatureSpec", "FeatureState", "LinearModel", "LogisticSignal", "MLConfig",
           "decode_model", "encode_model", "sha256_hex"]
