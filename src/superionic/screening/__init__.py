"""Screening: composable criteria (element set, band gap, E_hull, oxidation voltage),
the stability-window machinery (``voltage``, ``bundled_entries``, ``published_windows``,
``window_lookup``) and the anion-type classification (``anions``).

Import from the submodules; this package file stays free of heavy imports.
"""
