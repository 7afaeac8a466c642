"""superionic: find superionic Li solid-state electrolytes.

A database-centric discovery workflow: Materials Project corpus -> screening funnel ->
Magpie descriptors and a classifier ensemble -> force-field or VASP MD -> Arrhenius
conductivity, every step a pydantic document in maggma stores.
"""

__version__ = "0.1.0"
