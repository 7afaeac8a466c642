"""jobflow Flows: the discovery workflow (Maker dataclasses, atomate2 style)."""
