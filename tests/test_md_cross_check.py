"""A second potential's opinion on every force-field MD run (real potentials, real runs)."""

from __future__ import annotations

import pytest
from jobflow import run_locally

from superionic.md.analysis.arrhenius import conductivity_from_diffusion
from superionic.md.engines import cross_check as cc
from superionic.md.workflow.forcefield import ForceFieldSegmentMaker
from superionic.md.workflow.makers import ConductivityMDMaker
from superionic.schemas.md import CrossCheck, DiffusionDoc
from test_md_makers import li2o, memory_job_store, tiny_preset


def _li2s_frames(n: int = 4, amplitude: float = 0.05):
    import numpy as np
    from pymatgen.core import Lattice, Structure

    atoms = Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.72), ["Li", "S"], [[0.25] * 3, [0, 0, 0]]).to_ase_atoms()
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(n):
        frame = atoms.copy()
        frame.positions += rng.normal(0.0, amplitude, frame.positions.shape)
        frames.append(frame)
    return frames


def test_potential_labels_map_back_to_registry_names_and_the_other_family_checks():
    assert cc.potential_name("CHGNet") == "chgnet-0.3.0"
    assert cc.potential_name("SevenNet:7net-0") == "sevennet-0"
    assert cc.potential_name("MACE") is None
    assert cc.second_opinion_for("CHGNet") == "sevennet-0"
    assert cc.second_opinion_for("SevenNet:7net-mf-0:PBE") == "chgnet-0.3.0"
    assert cc.potential_name("CHGNet:ft-0123456789ab") == "finetuned:ft-0123456789ab"  # a fine-tuned CHGNet
    assert cc.second_opinion_for("CHGNet:ft-0123456789ab") == "sevennet-0"
    assert cc.sample_indices(101, 6) == [0, 20, 40, 60, 80, 100]


def test_two_independent_potentials_agree_on_thermal_frames_of_an_intact_crystal():
    check = cc.cross_check(_li2s_frames(), "chgnet-0.3.0", "sevennet-0", reference=_li2s_frames(1, 0.0)[0])
    assert check.reference == "relaxed start"
    assert check.energy_rise_primary > 0 and check.energy_rise_second > 0  # frames above the crystal under both
    assert set(check.force_mae) == {"Li", "S", "all"}
    assert 0 < check.force_mae["all"] < cc.FORCE_MAE_TOLERANCE
    assert abs(check.excess_energy) < cc.EXCESS_ENERGY_TOLERANCE
    assert check.agree and check.summary.startswith("cross-checked with SevenNet:7net-0: agree")
    # CHGNet is the softer of the two (its forces smaller on the same displacements)
    assert check.force_ratio < 1.0


def _run_with_check(structure, material_id: str, preset, **maker_kw):
    """A real force-field MD flow with the cross-check, run here: (DiffusionDoc, ConductivityDoc)."""
    from monty.json import MontyDecoder

    maker = ConductivityMDMaker(preset=preset, segment_maker=ForceFieldSegmentMaker(n_threads=1),
                                cross_check="sevennet-0", **maker_kw)
    flow = maker.make(structure, material_id=material_id)
    store = memory_job_store()
    run_locally(flow, store=store, ensure_success=True, log=False)
    diffusion = MontyDecoder().process_decoded(next(store.docs_store.query({"output.@class": "DiffusionDoc"}))["output"])
    return diffusion, MontyDecoder().process_decoded(store.get_output(flow.output.uuid, load=True))


def _shown_in_query_table_and_report(material_id: str, formula: str, diffusion, cond_doc, text: str) -> None:
    """``text`` is in the conductivity document's cross-check line, the query row, the candidates
    table and the report's MD section."""
    from rich.console import Console

    from superionic.cli.run import candidates_table
    from superionic.report.gather import ReportData
    from superionic.report.sections import md_section
    from superionic.results import join_row

    cond = cond_doc.model_dump()
    assert text in cond["cross_check"]
    row = join_row(material_id, {"formula": formula}, {}, cond)
    assert row["md_cross_check"] == cond["cross_check"]
    console = Console(record=True, width=600)
    console.print(candidates_table([{**row, "md_preset": "test", "probability": None, "votes_gb": None}]))
    assert text in console.export_text()
    section = md_section(ReportData(spec="memory://", diffusion={material_id: [diffusion]},
                                    conductivity={material_id: cond_doc}))
    assert text in " ".join(getattr(block, "text", "") for block in section.blocks)


def test_a_real_md_run_is_cross_checked_and_a_disowned_run_is_flagged_in_query_and_report(monkeypatch):
    """Tolerance 0: the second potential disowns the run. The DiffusionDoc, the ConductivityDoc,
    the query row and the report all say so, and the verdict cannot be 'superionic (MD)'."""
    monkeypatch.setattr(cc, "FORCE_MAE_TOLERANCE", 0.0)
    diffusion, cond_doc = _run_with_check(li2o(), "li2o-cross", tiny_preset(),
                                          diffusion_settings={"temperature_tolerance": 10.0})
    assert diffusion.cross_check is not None and diffusion.cross_check.potential == "SevenNet:7net-0"
    assert diffusion.cross_check.primary == "CHGNet" and not diffusion.cross_check.agree
    assert diffusion.cross_check.n_frames >= 2 and diffusion.cross_check.frame_indices[0] == 0
    assert diffusion.cross_check.reference == "relaxed start"
    assert any(f.startswith("cross_check_disagrees: cross-checked with SevenNet:7net-0: disagree") for f in diffusion.flags)
    assert cond_doc.cross_check.startswith("cross-checked with SevenNet:7net-0: disagree at 1000 K")
    assert cond_doc.verdict != "superionic (MD)"
    _shown_in_query_table_and_report("li2o-cross", "Li2O", diffusion, cond_doc,
                                     "cross-checked with SevenNet:7net-0: disagree")


def test_chgnet_melting_baLi_bs2_3_at_800_k_is_disowned_by_sevennet_and_flagged_in_query_and_report():
    """A real melt: CHGNet 0.3.0 melts BaLi(BS2)3's framework at 800 K within 3 ps (the seed's AIMD
    keeps it for 60 ps; benchmarks/results/forcefield_table.txt). The bundled 22-atom MP cell, the
    benchmark's protocol (0.5 ps + 2.5 ps, 2 fs), default tolerances: the melting detector fires,
    SevenNet-0 puts the melted frames far above CHGNet's own rise (calibrated: intact runs <= 0.05
    eV/atom, these ~0.1), and query and report say the framework melted where SevenNet would hold it."""
    from superionic.sources.structures import bundled_structure

    preset = tiny_preset(temperatures=(800.0,), equilibration_steps=250, production_steps=1250,
                         segment_steps=1250, velocity_seed=1, relax_steps=100)
    diffusion, cond_doc = _run_with_check(bundled_structure("mp-557892"), "mp-557892", preset)
    assert any(f.startswith("framework_melting") for f in diffusion.flags)
    check = diffusion.cross_check
    assert check.reference == "relaxed start" and check.excess_energy > cc.EXCESS_ENERGY_TOLERANCE
    assert not check.agree and any(f.startswith("melt_disowned: SevenNet:7net-0") for f in diffusion.flags)
    assert cond_doc.verdict != "superionic (MD)"
    _shown_in_query_table_and_report("mp-557892", "BaLi(BS2)3", diffusion, cond_doc,
                                     "framework melted where SevenNet:7net-0 would likely hold it at 800 K")


def _doc(t: float, check: CrossCheck, flags=(), **kw) -> DiffusionDoc:
    return DiffusionDoc(material_id="mp-x", formula="Li3X", temperature=t, engine="forcefield", potential="CHGNet",
                        preset="quick", cross_check=check, flags=list(flags), n_li=12, li_density_cm3=2e22, **kw)


def _check(agree: bool, excess: float) -> CrossCheck:
    return CrossCheck(potential="SevenNet:7net-0", primary="CHGNet", n_frames=6, agree=agree, excess_energy=excess,
                      summary=f"cross-checked with SevenNet:7net-0: {'agree' if agree else 'disagree'} (numbers)",
                      tolerances={"force_mae": 0.3, "excess_energy": 0.02})


def test_a_disowned_run_never_gives_superionic_and_a_disowned_melt_is_named():
    resolved = dict(usable=True, d_status="resolved", diffusivity=1e-4, diffusivity_ci95=(8e-5, 1.2e-4))
    hot = _doc(1000.0, _check(False, 0.001), **resolved)
    warm = _doc(800.0, _check(True, 0.001), usable=True, d_status="resolved", diffusivity=6e-5,
                diffusivity_ci95=(5e-5, 7e-5))
    cond = conductivity_from_diffusion([hot, warm])
    clean = conductivity_from_diffusion([hot.model_copy(update={"cross_check": _check(True, 0.0)}), warm])
    assert clean.verdict == "superionic (MD)"  # the same numbers with an agreeing check
    assert cond.verdict.startswith("undecided") and "disowns" in cond.verdict_reason
    assert cond.cross_check.startswith("cross-checked with SevenNet:7net-0: disagree at 1000 K")

    melted = _doc(1200.0, _check(True, 0.05), flags=["framework_melting: S 0.4", "melt_disowned: ..."],
                  reason="framework_melting")
    cond = conductivity_from_diffusion([warm, melted])
    assert "framework melted where SevenNet:7net-0 would likely hold it at 1200 K" in cond.cross_check


@pytest.mark.parametrize("bad", [[], [object()]])
def test_a_cross_check_needs_two_frames(bad):
    with pytest.raises(ValueError, match="two frames"):
        cc.cross_check(bad, "chgnet-0.3.0", "sevennet-0")
