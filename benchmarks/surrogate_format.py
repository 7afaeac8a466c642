"""Size and time of the code-free surrogate format (skops + zlib) against the joblib pickle it replaced.

Usage: python benchmarks/surrogate_format.py [N_SPLITS [FILE]]   (default 100 splits, the seed
recipe's; the quick recipe of ``superionic run`` has 20). FILE: also write the code-free bytes
there, e.g. to time a process that only reads them.

Fits N GB + N LightGBM pipelines (library defaults) on the bundled training set, then writes
and reads them both ways and checks the predictions agree bit for bit.
"""

from __future__ import annotations

import io
import sys
import time

import joblib
import numpy as np

from superionic.ml import model_format
from superionic.ml.algorithms import ALGORITHMS
from superionic.ml.dataset import training_matrix


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main(n_splits: int = 100, path: str | None = None) -> None:
    data = training_matrix()
    X, y = data.X.to_numpy(float), np.asarray(data.y, bool)
    payload = {"models": {a: [ALGORITHMS[a].pipeline(s).fit(X, y) for s in range(n_splits)] for a in ("gb", "lgbm")}}

    def pickle_bytes() -> bytes:
        buffer = io.BytesIO()
        joblib.dump(payload, buffer, compress=3)
        return buffer.getvalue()

    t_pickle_write, pickled = timed(pickle_bytes)
    t_pickle_read, _ = timed(lambda: joblib.load(io.BytesIO(pickled)))
    t_write, content = timed(lambda: model_format.dumps(payload))
    t_read, loaded = timed(lambda: model_format.loads(content, "benchmark"))
    same = all(np.array_equal(m.predict_proba(X), n.predict_proba(X))
               for a in payload["models"] for m, n in zip(payload["models"][a], loaded["models"][a]))
    print(f"{n_splits} splits x (gb, lgbm), {len(y)} training rows")
    print(f"joblib pickle (compress=3): {len(pickled) / 1e6:6.1f} MB  write {t_pickle_write:6.1f} s  "
          f"read {t_pickle_read:6.1f} s")
    print(f"skops + zlib (code-free):   {len(content) / 1e6:6.1f} MB  write {t_write:6.1f} s  read {t_read:6.1f} s")
    print(f"identical probabilities after the round trip: {same}")
    if path:
        with open(path, "wb") as f:
            f.write(content)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100, sys.argv[2] if len(sys.argv) > 2 else None)
