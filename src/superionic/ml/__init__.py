"""Machine learning: training data, the classifier study and the GB + LightGBM surrogate.

Layering (imports point down): ``training_sources`` / ``training_data`` (labelled
compositions) and ``dataset`` (labelled descriptor matrix) at the bottom; ``algorithms``,
``splits`` and ``metrics`` (pure building blocks); ``study`` (nested search over repeated
splits); ``surrogate`` (per-split ensemble, saved with its metadata); ``documents`` and
``predict`` (documents and the store shell) on top.
"""
