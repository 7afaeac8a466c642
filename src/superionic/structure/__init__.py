"""Structure-based evidence on candidates: molecular units (hydrates, ammonium salts),
anion-framework type, Li-sublattice geometry, BVSE barriers (issue 22)."""
