"""How a surrogate is stored: skops, a format that holds no code.

A surrogate (its per-split pipelines, calibrator and applicability domain) is written with
`skops <https://skops.readthedocs.io>`_: a zip of a JSON schema and numpy arrays, no pickle,
deflated as a whole (skops's schema repeats itself per tree: zlib over the whole zip is 2-3x
smaller than skops's per-member compression).
Loading rebuilds only skops's default types (scikit-learn estimators, numpy, builtins) and
those of :data:`TRUSTED_TYPES`, and refuses a file that names any other type *before*
importing or building anything. LightGBM and XGBoost boosters are held as their own model
text / JSON (what their ``__getstate__`` gives), so whoever can write a document to a shared
store cannot make a machine that predicts run code.

Surrogates written before this format (a joblib pickle, which runs whatever its bytes name
when loaded) are refused unopened, with a message that says to retrain.
"""

from __future__ import annotations

import io
import zipfile
import zlib

TRUSTED_TYPES = [
    "numpy.dtype",
    "collections.OrderedDict",
    "sklearn.tree._tree.Tree",  # decision trees, forests, gradient boosting: node arrays
    "sklearn.neighbors._kd_tree.KDTree",  # k-NN classifier and the applicability domain
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.basic.Booster",  # rebuilt from LightGBM's text model
    "xgboost.sklearn.XGBClassifier",
    "xgboost.core.Booster",  # rebuilt from XGBoost's UBJSON model
    "superionic.ml.calibration.Calibrator",  # dataclasses of arrays and numbers
    "superionic.ml.calibration.DomainModel",
]
"""Types a stored surrogate may name beyond skops's defaults: those the nine algorithms of
:mod:`superionic.ml.algorithms`, the calibrator and the domain are made of, and no other."""

MAX_BYTES = 4 << 30
"""Largest decompressed surrogate read (a default surrogate is ~0.4 GB): no zlib bomb."""
RETRAIN = "retrain it with `superionic train` (or `superionic run`, which trains when none fits)"


class ModelMismatchError(ValueError):
    """A saved surrogate that does not fit the running featuriser or the given descriptors."""


class UnsafeModelError(ModelMismatchError):
    """Stored surrogate bytes that are not the code-free format, or name an untrusted type."""


def dumps(payload: dict) -> bytes:
    """``payload`` (models, calibrator, domain, metadata) as zlib-compressed skops bytes."""
    import skops.io  # imported here: it imports every scikit-learn estimator (seconds)

    return zlib.compress(skops.io.dumps(payload), 6)


def loads(content: bytes, source: str) -> dict:
    """The payload of :func:`dumps` bytes; refuses (unopened) anything else.

    ``source`` names the bytes in messages (e.g. "model X in the store").
    """
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    not_ours = UnsafeModelError(
        f"{source} is not a code-free surrogate (likely a pickle saved by an older superionic, which "
        f"could run code when loaded): refused, not loaded; {RETRAIN}."
    )
    try:
        inflate = zlib.decompressobj()
        content = inflate.decompress(content, MAX_BYTES)
    except zlib.error as exc:
        raise not_ours from exc
    if inflate.unconsumed_tail or not inflate.eof:
        raise UnsafeModelError(f"{source} is truncated or inflates beyond {MAX_BYTES / 2**30:.3g} GiB: "
                               f"refused; {RETRAIN}.")
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise not_ours
    try:
        return skops.io.loads(content, trusted=TRUSTED_TYPES)
    except UntrustedTypesFoundException as exc:
        raise UnsafeModelError(f"{source} names types this project does not trust ({exc}): refused, "
                               f"not loaded; {RETRAIN}.") from exc
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise UnsafeModelError(f"{source} is not a readable surrogate ({type(exc).__name__}: {exc}); "
                               f"{RETRAIN}.") from exc
