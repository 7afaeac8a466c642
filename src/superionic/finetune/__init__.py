"""Fine-tuning a universal potential on DFT frames of the system at hand (issue: frames first).

``frames``: DFT frames with energies and forces from extxyz files, vasprun.xml files and
atomate2 VASP task documents, as one ``DFTFramesDoc`` per DFT method with its provenance.
"""
