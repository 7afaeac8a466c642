"""The structure of a MaterialDoc: inline (MP, user files) or the bundled MP CIF (snapshot)."""

from __future__ import annotations

from pymatgen.core import Structure

from superionic.schemas.material import MaterialDoc


def structure_of(material: MaterialDoc | dict) -> Structure | None:
    """Parsed structure of ``material``, or None when it has none."""
    doc = material if isinstance(material, dict) else material.model_dump(include={"material_id", "structure"})
    if doc.get("structure"):
        return Structure.from_dict(doc["structure"])
    from superionic.sources.structures import bundled_structure, has_bundled_structure

    material_id = str(doc.get("material_id") or "")
    if has_bundled_structure(material_id):
        return bundled_structure(material_id)
    return None
