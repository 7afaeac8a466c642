"""Molecular dynamics, in three rooms whose imports point down only.

``analysis``  (bottom; pure functions, no jobflow, no database): trajectories read into one
              in-memory form, MSD -> D with an honest interval, hops and flags, upper bounds,
              Arrhenius fit -> Ea, D(300 K), sigma(300 K).
``engines``   (middle; what computes forces and moves atoms): force-field calculators and the
              CHGNet speed path, the guarded Nose-Hoover dynamics, the MD supercell, the
              atomate2 VASP MD maker set-up.
``workflow``  (top; jobflow): the per-temperature makers and segment jobs, checkpoints, the
              extension rounds, collecting segments into runs, reading trajectories back
              from the JobStore, analysis jobs and the local runner.

``presets`` (the MD protocols: temperatures, steps, segments) sits beside them and imports
none of them.
"""
