"""Molecular dynamics: makers per temperature and the diffusion -> conductivity analysis.

Analysis modules (pure functions, no database): ``trajectory`` (readers into one in-memory
form), ``diffusion`` (MSD -> D with an honest interval, hops, flags), ``arrhenius``
(Ea, D(300 K), sigma(300 K)); ``analysis_jobs`` wraps them as jobflow jobs.
"""
