"""MD engines: what computes forces and integrates, independent of any workflow manager.

``calculators`` (lean CHGNet ASE calculator), ``chgnet_graph`` / ``chgnet_forward`` (the CHGNet
speed path), ``dynamics`` (guarded Nose-Hoover NVT), ``progress`` (step reporting),
``supercell`` (the MD cell), ``vasp`` (atomate2 VASP MD makers from a preset).
"""
