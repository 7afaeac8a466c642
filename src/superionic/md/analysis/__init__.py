"""Trajectory analysis: pure functions from positions to D(T), Ea and sigma(300 K).

``trajectory`` (the in-memory ``LiTrajectory`` and joins), ``readers`` (files and objects
-> ``LiTrajectory``), ``msd``, ``diffusion`` (MSD -> D with an interval, hops, flags),
``bounds`` (upper bounds when hops are not resolved), ``arrhenius`` (Ea, D(300 K),
sigma(300 K)). Nothing here opens a store or imports jobflow.
"""
