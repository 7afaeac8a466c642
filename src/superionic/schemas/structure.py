"""Structural evidence on a candidate: one document per material and method version."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from superionic.schemas.base import SuperionicDoc


class EvidenceSettings(BaseModel):
    """Parameters of the structural evidence (a recipe's ``structure`` section)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Compute the structural evidence at all (false: the structure builder "
                          "skips, saying so; stored documents stay).")
    bvse: bool = Field(False, description="Compute BVSE barriers (bvlain, extra 'bvse'; about 2-3 CPU-s per survivor, "
                       "minutes of wall time for the default run's survivors: off unless a recipe switches it on).")
    bvse_max_grid_points: int = Field(20_000, description="BVSE grid-point cap (memory ~ 13 kB per point).")
    max_anion_sites: int = Field(96, description="Anion sublattices larger than this are not matched.")
    framework_max_cpu_s: float = Field(10.0, description="CPU seconds for the anion-framework match of one structure.")
    li_max_cpu_s: float = Field(30.0, description="CPU seconds for the Li-sublattice geometry of one structure.")
    bvse_max_cpu_s: float = Field(60.0, description="CPU seconds for the BVSE barriers of one structure.")
    worker_max_memory_gb: float = Field(3.0, description="Data-segment cap of each worker process (GB): an "
                                        "allocation beyond it is a recorded MemoryError, not a killed process.")


class StructureEvidenceDoc(SuperionicDoc):
    """Anion framework, Li-sublattice geometry, BVSE barriers and Sendek-2017 descriptors of one
    material's structure (``superionic.structure.evidence``)."""

    evidence_id: str = Field("", description="Key: 'material_id|method_version'.")
    material_id: str = Field(description="The material's id (as in MaterialDoc).")
    formula: str = Field(description="Reduced formula.")
    method_version: str = Field(description="Version of the evidence methods (superionic.structure.evidence.METHOD_VERSION).")
    structure_hash: str = Field(description="SHA-256 of the structure (lattice, species, fractional coordinates "
                                "rounded to 1e-4): a changed structure is recomputed.")
    settings_hash: str = Field(description="SHA-256 of the settings below: changed settings are recomputed.")
    settings: dict[str, Any] = Field(description="The parameters used (grid cap, cutoffs, tolerances, bvse on/off).")
    nsites: int = Field(description="Sites in the structure (0: no readable structure).")
    anion_elements: list[str] = Field(default_factory=list, description="Anion elements of the framework (N O F S Cl Se Br Te I).")
    n_anion_sites: int = Field(0, description="Anion sites in the cell.")
    anion_framework: str = Field(description="Anion sublattice matched to 'bcc', 'fcc' or 'hcp' (Wang et al., Nat. Mater. "
                                 "2015; the closest of those that match), 'other' (none matched), 'none' (no anions) or "
                                 "'not_computed' (reason in not_computed or failures).")
    anion_framework_rms: dict[str, float | None] = Field(
        default_factory=dict, description="StructureMatcher normalised RMS displacement of the anion sublattice to each "
        "ideal lattice (None: no match within the tolerances).")
    n_li_sites: int = Field(0, description="Li sites in the cell.")
    li_li_min: float | None = Field(None, description="Shortest Li-Li distance (A).")
    li_li_mean_nearest: float | None = Field(None, description="Mean over Li sites of the nearest Li-Li distance (A).")
    li_network_dim: int | None = Field(None, description="Dimensionality (0-3) of the Li network with Li-Li edges < 3.5 A.")
    li_percolation_cutoff_1d: float | None = Field(None, description="Smallest Li-Li edge length (A) giving a 1D-periodic Li network.")
    li_percolation_cutoff_2d: float | None = Field(None, description="Smallest Li-Li edge length (A) giving a 2D-periodic Li network.")
    li_percolation_cutoff_3d: float | None = Field(None, description="Smallest Li-Li edge length (A) giving a 3D-periodic Li network.")
    free_volume_fraction: float | None = Field(None, description="1 - sum of atomic (Slater) spheres / cell volume.")
    volume_per_atom: float | None = Field(None, description="Cell volume per atom (A^3).")
    volume_per_anion: float | None = Field(None, description="Cell volume per anion site (A^3).")
    bvse_e1d: float | None = Field(None, description="BVSE Li+ percolation barrier in 1D (eV; bvlain).")
    bvse_e2d: float | None = Field(None, description="BVSE Li+ percolation barrier in 2D (eV).")
    bvse_e3d: float | None = Field(None, description="BVSE Li+ percolation barrier in 3D (eV).")
    bvse_resolution: float | None = Field(None, description="BVSE grid spacing used (A; widened above 0.2 A to cap memory).")
    bvse_status: str = Field("not_computed", description="'ok', 'failed' (reason recorded) or 'not_computed' (switched off, "
                             "no oxidation states, bvlain missing).")
    bvse_reason: str | None = Field(None, description="Why BVSE failed or was not computed.")
    bvse_seconds: float | None = Field(None, description="Wall time of the BVSE calculation (s).")
    oxidation_state_method: str | None = Field(None, description="How the oxidation states for BVSE were assigned.")
    sendek: dict[str, float] = Field(default_factory=dict, description="Sendek-2017 descriptors (LLB, SBI, AFC, LASD, LLSD) "
                                     "carried by the source (the snapshot CSV).")
    not_computed: dict[str, str] = Field(default_factory=dict, description="Method ('anion_framework', 'li_sublattice', "
                                         "'bvse') -> why it has no value: a CPU-time limit, a size cap, a switch.")
    failures: dict[str, str] = Field(default_factory=dict, description="Method -> error, for parts that failed (recorded, "
                                     "not raised); 'structure': the material has no readable structure.")
    wall_seconds: float = Field(description="Wall time of the whole evidence computation (s).")
    cpu_seconds: float | None = Field(None, description="CPU time of the whole evidence computation (s): the "
                                      "load-independent cost on a shared machine.")

    @model_validator(mode="after")
    def _key(self) -> StructureEvidenceDoc:
        self.evidence_id = evidence_key(self.material_id, self.method_version)
        return self


def evidence_key(material_id: str, method_version: str) -> str:
    """The ``evidence_id`` of a material's evidence under a method version."""
    return f"{material_id}|{method_version}"
