"""MD makers: presets, supercells, VASP inputs and replayed VASP MD, real CHGNet MD through
``run_locally`` (checkpoint/resume, blow-ups as data), and the conductivity at the end.

Force-field runs use tiny cells and tens of steps: they test the machinery, not the physics.
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from jobflow import JobStore, run_locally
from maggma.stores import MemoryStore
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Incar, Kpoints, Poscar

from superionic.md.workflow.forcefield import ForceFieldSegmentMaker
from superionic.md.workflow.makers import ConductivityMDMaker
from superionic.md.presets import QUICK, SEED, MDPreset, get_preset
from superionic.md.engines.supercell import image_distance, make_md_supercell, perpendicular_widths
from superionic.schemas.md_runs import MDRunDoc, MDSegmentDoc

KANG_CELLS = "corpus/mp_structures/kang2023_aimd_cells"
SI_MD = "vasp_md/atomate2_si_md"


def li2o(primitive: bool = True) -> Structure:
    conv = Structure.from_spacegroup("Fm-3m", Lattice.cubic(4.61), ["Li", "O"], [[0.25] * 3, [0, 0, 0]])
    return conv.get_primitive_structure() if primitive else conv


def tiny_preset(**changes) -> MDPreset:
    """A few tens of steps on the bare input cell: machinery tests only."""
    base = dict(
        name="test", is_quick=True, temperatures=(1000.0,), equilibration_steps=10,
        production_steps=20, segment_steps=10, save_interval_steps=5, min_image_distance=0.0,
    )
    base.update(changes)
    return MDPreset(**base)


def memory_job_store() -> JobStore:
    return JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})


def monty_job_store(path: Path) -> JobStore:
    from maggma.stores import MontyStore

    def store(name, key):
        return MontyStore(collection_name=name, database_path=str(path), database_name="md", storage="sqlite", key=key)

    js = JobStore(store("jobs", "uuid"), additional_stores={"data": store("data", "blob_uuid")})
    js.connect()
    return js


def outputs_by_name(flow, responses) -> dict:
    out = {}
    for job, _ in flow.iterflow():
        if job.uuid in responses:
            by_index = responses[job.uuid]
            out[job.name] = by_index[max(by_index)].output
    return out


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test (weights must be local)."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# ------------------------------------------------------------------------------------------
# presets and supercells (pure)
# ------------------------------------------------------------------------------------------
def test_seed_preset_is_the_seed_protocol():
    assert SEED.temperatures == (600.0, 800.0, 1000.0, 1200.0)
    assert SEED.time_step_fs == 2.0
    assert (SEED.equilibration_steps, SEED.production_steps) == (3000, 10000)
    assert (SEED.ensemble, SEED.thermostat) == ("nvt", "nose-hoover")
    assert SEED.min_image_distance == pytest.approx(10.0)
    assert not SEED.is_quick and QUICK.is_quick and "QUICK" in QUICK.label()
    assert sum(SEED.segment_lengths("production")) == 10000
    assert get_preset("quick") is QUICK


def test_preset_validation_and_overrides():
    with pytest.raises(ValueError, match="multiple of save_interval"):
        SEED.with_overrides(production_steps=10005)
    with pytest.raises(ValueError, match="> 0 K"):
        SEED.with_overrides(temperatures=(0.0, 800.0))
    with pytest.raises(ValueError, match="unknown MD preset"):
        get_preset("fast")
    assert SEED.with_overrides(temperatures=(900.0,)).name == "seed"
    assert SEED.with_overrides(production_steps=2000).name == "seed+prod=2000"
    # the seed recipe's own values keep the name (it was 'seed+custom', so {"preset": "seed"} found nothing)
    same = SEED.with_overrides(temperatures=(600.0, 800.0, 1000.0, 1200.0), equilibration_steps=3000,
                               production_steps=10000)
    assert same.name == "seed" and same == SEED
    assert SEED.with_overrides(time_step_fs=1.0, equilibration_steps=3000).name == "seed+dt_fs=1"
    assert SEED.with_overrides(segment_steps=3000).segment_lengths("production") == [3000, 3000, 3000, 1000]


def test_supercell_reaches_the_image_distance_deterministically():
    s = li2o()
    a = make_md_supercell(s, 10.0)
    b = make_md_supercell(s.copy(), 10.0)
    assert a.reached_target and a.image_distance >= 10.0
    assert a.structure == b.structure and a.scaling == b.scaling
    # the smallest repeat: one fewer on any axis misses the target
    widths = perpendicular_widths(s.lattice)
    for axis in range(3):
        assert (a.scaling[axis] - 1) * widths[axis] < 10.0
    m = a.structure.lattice.matrix  # ASE upper-triangular form, same crystal
    assert abs(m[1, 0]) < 1e-8 and abs(m[2, 0]) < 1e-8 and abs(m[2, 1]) < 1e-8
    assert a.structure.volume == pytest.approx(s.volume * np.prod(a.scaling))
    assert a.structure.composition.reduced_formula == "Li2O"


def test_supercell_cap_and_oversized_input(shared_data):
    capped = make_md_supercell(li2o(), 10.0, max_atoms=40)
    assert len(capped.structure) <= 40 and capped.capped and not capped.reached_target
    assert capped.image_distance == pytest.approx(image_distance(capped.structure.lattice))
    cell = Structure.from_file(shared_data / KANG_CELLS / "mp-1106183_aimd_cell.json")  # 128 sites
    big = make_md_supercell(cell, 8.0, max_atoms=64)
    assert len(big.structure) == 128 and "cannot be brought under" in big.note


# ------------------------------------------------------------------------------------------
# VASP: inputs the maker writes, and a replayed MD
# ------------------------------------------------------------------------------------------
def _vasp_md_jobs(flow):
    return [j for j, _ in flow.iterflow() if j.name.startswith("vasp md ")]


def test_vasp_inputs_follow_the_seed(shared_data, tmp_path):
    structure = Structure.from_file(shared_data / KANG_CELLS / "mp-19896_aimd_cell.json")
    # one temperature of the seed protocol (building all four only repeats it, slowly: jobflow
    # validates every output reference against atomate2's large TaskDoc schema)
    flow = ConductivityMDMaker(engine="vasp", preset="seed", temperatures=(1200.0,)).make(structure, material_id="mp-19896")
    jobs = _vasp_md_jobs(flow)
    assert len(jobs) == SEED.n_segments() == 13  # 3 equilibration + 10 production segments of 1,000 steps
    names = [j.name for j in jobs]
    assert names[0] == "vasp md 1200K equilibration 1" and names[-1] == "vasp md 1200K production 13"

    cell = make_md_supercell(structure, 10.0).structure
    for job in (jobs[0], jobs[-1]):
        generator = job.maker.input_set_generator
        generator.structure = cell
        folder = tmp_path / job.name.replace(" ", "_")
        generator.write_input(folder, potcar_spec=True)
        incar = Incar.from_file(folder / "INCAR")
        temperature = float(job.name.split()[2].rstrip("K"))
        assert incar["GGA"].upper() == "PE" and incar["ENCUT"] == 400
        assert incar["POTIM"] == 2 and incar["IBRION"] == 0 and incar["ISYM"] == 0
        assert incar["MDALGO"] == 2 and incar["SMASS"] == 0 and incar["ISIF"] == 2
        assert incar["TEBEG"] == incar["TEEND"] == temperature
        assert incar["NSW"] == 1000
        for unwanted in ("LAECHG", "LVTOT", "LORBIT", "EDIFFG"):
            assert unwanted not in incar, unwanted
        kpoints = Kpoints.from_file(folder / "KPOINTS")
        assert kpoints.style == Kpoints.supported_modes.Gamma and tuple(kpoints.kpts[0]) == (1, 1, 1)
        poscar = Poscar.from_file(folder / "POSCAR")
        assert len(poscar.structure) == len(cell) == 128
        assert np.allclose(poscar.structure.frac_coords, cell.frac_coords, atol=1e-6)
        spec = (folder / "POTCAR.spec").read_text().split()
        assert [s.split("_")[0] for s in spec] == poscar.site_symbols
        assert not (folder / "POTCAR").exists()


@pytest.fixture
def mock_vasp(monkeypatch, reference_data):
    """atomate2's own VASP replay (``atomate2.utils.testing.vasp``) on its shipped recordings."""
    from atomate2.utils.testing.vasp import monkeypatch_vasp

    yield from monkeypatch_vasp(monkeypatch, reference_data / SI_MD)


REPLAY_INCAR_KEYS = ["NSW", "POTIM", "MDALGO", "IBRION", "ISIF", "SMASS", "TEBEG", "ISYM"]


def test_vasp_md_chain_replayed(mock_vasp, reference_data, tmp_path, monkeypatch):
    """Equilibration + two production segments at one temperature: atomate2's recorded Si
    multi-MD (run 2 continues run 1, run 3 continues run 2), 1 fs, 3 steps each."""
    ref = reference_data / SI_MD / "Si_multi_md"
    si = Structure.from_file(ref / "molecular_dynamics_1/inputs/POSCAR.gz")
    preset = MDPreset(name="replay", temperatures=(300.0,), time_step_fs=1.0, equilibration_steps=3,
                      production_steps=6, segment_steps=3, save_interval_steps=1, min_image_distance=0.0)
    flow = ConductivityMDMaker(engine="vasp", preset=preset).make(si, material_id="si-replay")
    ref_paths = {
        "vasp md 300K equilibration 1": "Si_multi_md/molecular_dynamics_1",
        "vasp md 300K production 2": "Si_multi_md/molecular_dynamics_2",
        "vasp md 300K production 3": "Si_multi_md/molecular_dynamics_3",
    }
    # KPOINTS are not compared: the recordings used 3x3x3, the seed's AIMD uses Gamma 1x1x1.
    check = {"incar_settings": REPLAY_INCAR_KEYS, "check_inputs": ["incar", "poscar", "potcar"]}
    mock_vasp(ref_paths, {name: check for name in ref_paths})
    monkeypatch.chdir(tmp_path)
    store = memory_job_store()
    responses = run_locally(flow, store=store, create_folders=True, ensure_success=True, log=False)
    outputs = outputs_by_name(flow, responses)
    run = outputs["md run 300K"]
    assert isinstance(run, MDRunDoc) and run.status == "completed" and run.engine == "vasp"
    assert run.n_frames == 6 and run.production_steps_done == 6 and run.frame_interval_fs == 1.0
    # the production trajectory is runs 2 and 3 of the recording, frame for frame
    from pymatgen.io.vasp import Vasprun

    recorded = []
    for k in (2, 3):
        vr = Vasprun(ref / f"molecular_dynamics_{k}/outputs/vasprun.xml.gz", parse_potcar_file=False)
        recorded.extend(vr.structures)
    from superionic.md.workflow.segment_store import run_trajectory

    traj = run_trajectory(run, store)  # read from the VASP task documents it points at
    assert np.allclose(np.asarray(traj.coords) % 1.0, [s.frac_coords % 1.0 for s in recorded], atol=1e-8)
    # Si has no Li: the analysis records why instead of failing the flow
    # the functional is what the recorded VASP runs report (atomate2's recordings are PBEsol;
    # superionic's own inputs ask for PBE, GGA = PE); it is part of the documents' keys
    assert run.functional == "PBEsol"
    diffusion = outputs["diffusion 300K"]
    assert not diffusion.usable and diffusion.reason
    assert diffusion.doc_id == "si-replay:vasp:PBEsol:replay:300K" and diffusion.potential == "PBEsol"
    conductivity = outputs["arrhenius conductivity"]
    assert conductivity.verdict == "insufficient data" and conductivity.conductivity_id == "si-replay:vasp:PBEsol:replay"
    # the run stores no trajectory, only pointers to the two production VASP task documents,
    # whose trajectories atomate2 routed to the data store
    run_doc = store.docs_store.query_one({"output.run_id": run.run_id})
    assert run_doc["output"]["trajectory"] is None
    refs = run_doc["output"]["production_segments"]
    assert [r["path"] for r in refs] == ["vasp_objects.trajectory"] * 2
    for ref in refs:
        task = store.docs_store.query_one({"uuid": ref["uuid"]})
        assert task["name"].startswith("vasp md 300K production")
        assert task["output"]["vasp_objects"]["trajectory"]["store"] == "data"
    # the DiffusionBuilder: superionic's run is the document; atomate2's MultiMDOutput of the
    # same MD (inside the flow) is not analysed twice
    from superionic.builders.diffusion import DiffusionBuilder
    from superionic.builders.registry import run_builder

    def build() -> dict:
        target = MemoryStore("diffusion")
        assert not run_builder(DiffusionBuilder(store.docs_store, store.additional_stores["data"], target)).failures
        target.connect()
        return {d["doc_id"]: d for d in target.query()}

    assert list(build()) == ["si-replay:vasp:PBEsol:replay:300K"]
    # without superionic's documents, atomate2's own MultiMDOutput is read: TEBEG and the
    # functional from its VASP task documents, every ionic step of its 3 runs (9 frames)
    assert store.docs_store.count({"output.@class": "MultiMDOutput"}) == 1
    store.docs_store.remove_docs({"output.@class": {"$in": ["MDRunDoc", "DiffusionDoc"]}})
    from superionic.builders import atomate2_md

    keyed = []  # the output is keyed (its VASP task documents queried) once, not again to load it
    monkeypatch.setattr(atomate2_md, "identity", lambda job, jobs=None, _f=atomate2_md.identity: keyed.append(1) or _f(job, jobs))
    atomate2_docs = build()
    assert len(keyed) == 1
    assert list(atomate2_docs) == ["si-replay:vasp:PBEsol:atomate2:300K"]
    doc = atomate2_docs["si-replay:vasp:PBEsol:atomate2:300K"]
    assert doc["n_frames"] == 9 and not doc["usable"] and "no_li" in doc["reason"]


REPLAYED_SI_MD_JOB = "vasp md 300K production 1"


def replay_si_md(mock_vasp, reference_data, tmp_path, monkeypatch):
    """atomate2's recorded Si MD (3 steps at 2 fs) replayed through the VASP engine's flow:
    (flow, JobStore, responses); the VASP job is ``REPLAYED_SI_MD_JOB``."""
    ref = reference_data / SI_MD / "Si_molecular_dynamics/molecular_dynamics"
    si = Structure.from_file(ref / "inputs/POSCAR.gz")
    preset = MDPreset(name="replay", temperatures=(300.0,), equilibration_steps=0, production_steps=3,
                      segment_steps=3, save_interval_steps=1, min_image_distance=0.0)
    flow = ConductivityMDMaker(engine="vasp", preset=preset, analyze=False).make(si)
    name = REPLAYED_SI_MD_JOB
    mock_vasp({name: "Si_molecular_dynamics/molecular_dynamics"},
              {name: {"incar_settings": REPLAY_INCAR_KEYS, "check_inputs": ["incar", "poscar", "potcar"]}})
    monkeypatch.chdir(tmp_path)
    store = memory_job_store()
    responses = run_locally(flow, store=store, create_folders=True, ensure_success=True, log=False)
    return flow, store, responses


def test_vasp_md_energies_replayed(mock_vasp, reference_data, tmp_path, monkeypatch):
    """atomate2's recorded Si MD at 2 fs: the energies atomate2's own test expects."""
    flow, store, responses = replay_si_md(mock_vasp, reference_data, tmp_path, monkeypatch)
    run = outputs_by_name(flow, responses)["md run 300K"]
    from superionic.md.workflow.segment_store import run_trajectory

    energies = [p["energy"] for p in run_trajectory(run, store).frame_properties]
    assert energies == pytest.approx([-11.47041923, -11.46905352, -11.46520398], abs=1e-6)


# ------------------------------------------------------------------------------------------
# force field: the calculator, real short runs, resume, blow-ups
# ------------------------------------------------------------------------------------------
def test_lean_chgnet_calculator_matches_stock(no_network):
    from chgnet.model.dynamics import CHGNetCalculator

    from superionic.md.engines.calculators import CHGNetMDCalculator, load_chgnet

    model = load_chgnet()
    structure = li2o(primitive=False)
    structure.perturb(0.1, min_distance=0.05)
    stock, lean = structure.to_ase_atoms(), structure.to_ase_atoms()
    stock.calc = CHGNetCalculator(model=model, use_device="cpu")
    lean.calc = CHGNetMDCalculator(model=model)
    assert lean.get_potential_energy() == pytest.approx(stock.get_potential_energy(), abs=1e-4)
    forces = stock.get_forces()
    assert np.abs(forces).max() > 0.1  # perturbed: forces are not trivially zero
    assert np.allclose(lean.get_forces(), forces, atol=1e-3)


def test_numpy_graph_builder_matches_chgnet_converter_on_a_real_cell(shared_data, no_network):
    """The numpy crystal graph equals CHGNet's converter's bit for bit; so do energy and forces."""
    import torch
    from pymatgen.io.ase import AseAtomsAdaptor

    from superionic.md.engines.calculators import CHGNetMDCalculator, load_chgnet
    from superionic.md.engines.chgnet_graph import crystal_graph_from_atoms

    path = shared_data / "corpus/mp_structures/kang2023_aimd_cells/mp-19896_aimd_cell.json"
    if not path.exists():
        pytest.skip(f"{path} missing")
    model = load_chgnet()
    atoms = Structure.from_file(path).to_ase_atoms()
    rng = np.random.default_rng(7)
    fields = ("atomic_number", "atom_frac_coord", "atom_graph", "neighbor_image", "directed2undirected",
              "undirected2directed", "bond_graph", "lattice")
    # as built, thermally displaced, and displaced + shifted out of the cell (unwrapped MD coordinates)
    for displacement, shift in ((0.0, 0.0), (0.15, 0.0), (0.3, 7.0)):
        moved = atoms.copy()
        moved.positions += rng.normal(0, displacement, moved.positions.shape) + shift
        structure = AseAtomsAdaptor.get_structure(moved)
        stock_graph = model.graph_converter(structure)
        graph = crystal_graph_from_atoms(model.graph_converter, moved.numbers, moved.positions,
                                         moved.cell.array, composition=structure.composition.formula)
        assert graph is not None
        assert len(graph.bond_graph) > 100  # angles present: the line graph is exercised
        for name in fields:
            assert torch.equal(getattr(graph, name), getattr(stock_graph, name)), name
        assert graph.composition == stock_graph.composition

        old, new = moved.copy(), moved.copy()
        old.calc = CHGNetMDCalculator(model=model, graph_builder="stock", split_atom_conv=False)
        new.calc = CHGNetMDCalculator(model=model, split_atom_conv=False)
        forces = old.get_forces()
        assert np.abs(forces).max() > 0.1
        assert np.abs(new.get_forces() - forces).max() <= 1e-5 * max(1.0, np.abs(forces).max())
        assert new.get_potential_energy() == pytest.approx(old.get_potential_energy(), rel=1e-6)

    with pytest.raises(ValueError, match="graph_builder"):
        CHGNetMDCalculator(model=model, graph_builder="fast")


def test_numpy_graph_builder_on_a_cell_smaller_than_the_cutoff(no_network):
    """A 3-atom Li2O cell: every atom bonds to its own periodic images (self-edges)."""
    import torch
    from pymatgen.io.ase import AseAtomsAdaptor

    from superionic.md.engines.calculators import load_chgnet
    from superionic.md.engines.chgnet_graph import crystal_graph_from_atoms

    model = load_chgnet()
    atoms = li2o(primitive=True).to_ase_atoms()
    atoms.positions += np.random.default_rng(0).normal(0, 0.1, atoms.positions.shape)
    stock = model.graph_converter(AseAtomsAdaptor.get_structure(atoms))
    graph = crystal_graph_from_atoms(model.graph_converter, atoms.numbers, atoms.positions, atoms.cell.array,
                                     composition="Li2 O1")
    assert bool((stock.atom_graph[:, 0] == stock.atom_graph[:, 1]).any())  # self-image edges present
    for name in ("atom_graph", "directed2undirected", "undirected2directed", "bond_graph", "neighbor_image"):
        assert torch.equal(getattr(graph, name), getattr(stock, name)), name


def test_split_atom_conv_is_chgnets_forward_pass_up_to_round_off(shared_data, no_network):
    """Old path (stock converter + CHGNet._compute) vs new (numpy graph + split atom convs).

    float32 forces agree to round-off: no further apart than either is from the float64
    evaluation of the same model; in float64 the two formulations agree to ~1e-12.
    """
    import copy

    from superionic.md.engines.calculators import CHGNetMDCalculator, chgnet_energy_forces_of_graph, load_chgnet
    from superionic.md.engines.chgnet_forward import supports_split
    from superionic.md.engines.chgnet_graph import crystal_graph_from_atoms

    path = shared_data / "corpus/mp_structures/kang2023_aimd_cells/mp-532413_aimd_cell.json"  # Li5B7S13
    if not path.exists():
        pytest.skip(f"{path} missing")
    model = load_chgnet()
    assert supports_split(model)
    atoms = Structure.from_file(path).to_ase_atoms()
    atoms.positions += np.random.default_rng(3).normal(0, 0.1, atoms.positions.shape)

    old, new = atoms.copy(), atoms.copy()
    old.calc = CHGNetMDCalculator(model=model, graph_builder="stock", split_atom_conv=False)
    new.calc = CHGNetMDCalculator(model=model)
    assert new.calc.split_atom_conv
    f_old, f_new = old.get_forces(), new.get_forces()
    assert np.abs(f_old).max() > 0.5

    # float64 evaluation of the same model and graph: the round-off scale of float32
    model64 = copy.deepcopy(model).double()
    model64.composition_model = None  # a per-element constant (its features are float32): no force
    graph = crystal_graph_from_atoms(model.graph_converter, atoms.numbers, atoms.positions, atoms.cell.array,
                                     composition="")
    for name in ("atom_frac_coord", "lattice"):
        setattr(graph, name, getattr(graph, name).detach().double().requires_grad_(True))
    graph.neighbor_image = graph.neighbor_image.double()
    e64_stock, f64_stock = chgnet_energy_forces_of_graph(model64, graph)
    e64_split, f64_split = chgnet_energy_forces_of_graph(model64, graph, split_atom_conv=True)
    assert np.abs(f64_split - f64_stock).max() < 1e-9  # the same function
    assert e64_split == pytest.approx(e64_stock, abs=1e-9)

    round_off = np.abs(f_old - f64_stock).max()
    assert round_off < 1e-3
    assert np.abs(f_new - f_old).max() <= 3 * round_off
    assert np.abs(f_new - f64_stock).max() <= 3 * round_off
    assert new.get_potential_energy() == pytest.approx(old.get_potential_energy(), abs=1e-3)

    model.train()
    try:
        assert not supports_split(model)  # training mode: leave it to CHGNet
    finally:
        model.eval()


@pytest.mark.slow
def test_forcefield_flow_runs_and_routes_trajectories(no_network, tmp_path):
    from superionic.md.workflow.segment_store import run_trajectory

    preset = tiny_preset(temperatures=(800.0, 1200.0))
    maker = ConductivityMDMaker(preset=preset, segment_maker=ForceFieldSegmentMaker(n_threads=1))
    flow = maker.make(li2o(), material_id="li2o-test")
    store = monty_job_store(tmp_path / "store")
    responses = run_locally(flow, store=store, ensure_success=True, log=False)
    outputs = outputs_by_name(flow, responses)
    for temperature in (800, 1200):
        run = outputs[f"md run {temperature}K"]
        assert run.status == "completed" and run.is_quick and run.preset == "test"
        assert run.production_steps_done == 20 and run.steps_run == 30 and run.n_segments == 3
        assert run.n_frames == 20 // 5 + 1 and run.frame_interval_fs == 10.0
        seg = outputs[f"forcefield md segment {temperature}K production 2/2"]
        assert isinstance(seg, MDSegmentDoc) and seg.start_step == 10 and seg.end_step == 20
        assert "velocities" in seg.final_structure.site_properties
        # chunk 2 starts where chunk 1 ended (positions), and the joined run contains both
        first = outputs[f"forcefield md segment {temperature}K production 1/2"]
        assert np.allclose(seg.trajectory.coords[0], first.trajectory.coords[-1])
        joined = run_trajectory(run, store)
        assert len(joined) == run.n_frames and np.allclose(joined.coords[-1], seg.trajectory.coords[-1])
    assert outputs["arrhenius conductivity"].material_id == "li2o-test"
    raw = store.docs_store.query_one({"output.run_id": {"$exists": True}})
    assert raw["output"]["trajectory"] is None and len(raw["output"]["production_segments"]) == 2
    seg_raw = store.docs_store.query_one({"output.segment_key": {"$exists": True}})
    assert seg_raw["output"]["trajectory"]["store"] == "data"


class _Interrupt(KeyboardInterrupt):
    """Ctrl-C in the middle of an MD segment."""


@pytest.mark.slow
def test_interrupted_flow_resumes_after_the_last_finished_segment(tmp_path):
    from monty.json import MontyDecoder

    from superionic.md.engines import progress

    preset = tiny_preset(production_steps=40)  # 1 equilibration + 4 production segments
    store_path = tmp_path / "store"

    def make_flow():
        maker = ConductivityMDMaker(preset=preset, analyze=False, segment_maker=ForceFieldSegmentMaker(n_threads=1))
        return maker.make(li2o(), material_id="li2o-resume")

    # run 1: interrupted halfway through production segment 3 (after segment 2 finished)
    def interrupt(event):
        if event.kind == "advance" and event.label.endswith("production 3/4"):
            raise _Interrupt

    progress.add_listener(interrupt)
    try:
        with pytest.raises(_Interrupt):
            run_locally(make_flow(), store=monty_job_store(store_path), log=False)
    finally:
        progress.remove_listener(interrupt)
    first_store = monty_job_store(store_path)
    finished = list(first_store.docs_store.query({"output.segment_key": {"$exists": True}}))
    assert sorted((d["output"]["stage"], d["output"]["index"]) for d in finished) == [
        ("equilibration", 0), ("production", 0), ("production", 1)
    ]

    # run 2: a fresh flow (new job uuids) on the reopened store continues at segment 3
    flow = make_flow()
    responses = run_locally(flow, store=monty_job_store(store_path), ensure_success=True, log=False)
    outputs = outputs_by_name(flow, responses)
    segments = {n: o for n, o in outputs.items() if isinstance(o, MDSegmentDoc)}
    steps_run = {n.split("segment ")[1]: s.steps_run for n, s in segments.items()}
    assert steps_run == {
        "1000K equilibration 1/1": 0, "1000K production 1/4": 0, "1000K production 2/4": 0,
        "1000K production 3/4": 10, "1000K production 4/4": 10,
    }
    reused = [s for s in segments.values() if s.reused_from]
    assert {s.reused_from for s in reused} == {d["uuid"] for d in finished}
    assert all(s.trajectory is None for s in reused)  # a pointer, not a second copy
    assert outputs["force-field relaxation"]["summary"].get("reused_from")  # same start cell
    run = outputs["md run 1000K"]
    assert run.steps_run == 20 and run.n_segments_reused == 3
    assert run.production_steps_done == 40 and run.n_frames == 40 // 5 + 1
    # the resumed production continues the stored one exactly
    stored_p2 = first_store.query_one({"output.segment_key": segments["forcefield md segment 1000K production 2/4"].segment_key,
                                       "output.reused_from": None}, load=True)
    p2 = MontyDecoder().process_decoded(stored_p2["output"])
    assert np.allclose(segments["forcefield md segment 1000K production 3/4"].trajectory.coords[0], p2.trajectory.coords[-1])


@pytest.mark.slow
def test_blow_up_is_recorded_and_other_temperatures_go_on():
    preset = tiny_preset(temperatures=(600.0, 1.0e9), equilibration_steps=0, production_steps=100, segment_steps=50)
    maker = ConductivityMDMaker(preset=preset, segment_maker=ForceFieldSegmentMaker(n_threads=1))
    flow = maker.make(li2o(), material_id="li2o-hot")
    responses = run_locally(flow, store=memory_job_store(), ensure_success=True, log=False)
    outputs = outputs_by_name(flow, responses)
    cool, hot = outputs["md run 600K"], outputs["md run 1000000000K"]
    assert cool.status == "completed" and cool.production_steps_done == 100
    # CHGNet at 1e9 K: atoms start at ~20 A/fs; the per-step check stops the run at its first
    # step, before the force field's neighbour graph can grow (it reached 16 GB without it)
    assert hot.status == "failed" and "MDBlowUpError" in hot.failure_reason
    assert "atoms flung at step 1" in hot.failure_reason, hot.failure_reason
    assert not outputs["diffusion 1000000000K"].usable and "md_failed" in outputs["diffusion 1000000000K"].reason
    conductivity = outputs["arrhenius conductivity"]
    assert conductivity.sigma300 is None and conductivity.sigma300_kind in (None, "upper_bound")
    assert conductivity.verdict != "insufficient data" or conductivity.sigma300_kind is None
    assert any("MDBlowUpError" in e.reason for e in conductivity.excluded)


def test_overlapping_atoms_fail_before_any_step():
    bad = li2o()
    bad.append("Li", bad[0].coords + [0.3, 0.0, 0.0], coords_are_cartesian=True)
    maker = ConductivityMDMaker(preset=tiny_preset(temperatures=(600.0, 900.0)), segment_maker=ForceFieldSegmentMaker(n_threads=1))
    flow = maker.make(bad, material_id="overlap")
    outputs = outputs_by_name(flow, run_locally(flow, store=memory_job_store(), ensure_success=True, log=False))
    for temperature in (600, 900):
        run = outputs[f"md run {temperature}K"]
        assert run.status == "failed" and "atoms too close before MD" in run.failure_reason
        assert run.steps_run == 0
        skipped = outputs[f"forcefield md segment {temperature}K production 2/2"]
        assert skipped.status == "skipped" and "previous segment" in skipped.failure_reason
    assert outputs["arrhenius conductivity"].verdict == "insufficient data"
    # the failed relaxation is on the result: unrelaxed start, per temperature and per material
    assert outputs["force-field relaxation"]["summary"]["relaxed"] is False
    for temperature in (600, 900):
        diffusion = outputs[f"diffusion {temperature}K"]
        assert diffusion.start_relaxed is False
        assert any(f.startswith("unrelaxed_start") and "too close" in f for f in diffusion.flags)
    assert any(f.startswith("unrelaxed_start") for f in outputs["arrhenius conductivity"].flags)


@pytest.mark.slow
def test_kang_structure_two_temperatures_to_a_stored_conductivity(shared_data, tmp_path, no_network):
    """One of the seed's nine AIMD cells (Li2GePbS4, 64 atoms) at two temperatures through the
    maker and the project stores, ending in a stored ConductivityDoc (tiny step counts)."""
    from superionic.engines.local import run_conductivity_md
    from superionic.stores import open_stores

    structure = Structure.from_file(shared_data / KANG_CELLS / "mp-19896_aimd_cell.json")
    preset = QUICK.with_overrides(equilibration_steps=5, production_steps=10, segment_steps=5, save_interval_steps=5)
    maker = ConductivityMDMaker(preset=preset, temperatures=(1000.0, 1200.0), segment_maker=ForceFieldSegmentMaker(n_threads=1))
    stores = open_stores(f"monty://{tmp_path / 'project'}")
    result = run_conductivity_md(structure, "mp-19896", maker=maker, job_store=stores.job_store())
    from superionic.builders import run_builders

    run_builders(stores, ["diffusion", "conductivity"], strict=False)  # as `superionic md` does
    assert not result.errors
    assert [r.status for r in result.runs] == ["completed", "completed"] and result.steps_run == 30
    assert all(r.n_sites == 64 and r.is_quick for r in result.runs)  # quick caps at the input cell
    stored = stores.conductivity.query_one({"material_id": "mp-19896"})
    assert stored is not None and stored["formula"] == "Li2GePbS4"
    assert "quick" in stored["preset"]  # the quick label travels into the stored result
    assert stores.diffusion.count({"material_id": "mp-19896"}) == 2


def test_cli_md_writes_vasp_inputs_and_rejects_unknown_ids(shared_data, tmp_path):
    from typer.testing import CliRunner

    from superionic.cli import app

    runner = CliRunner()
    cif = shared_data / KANG_CELLS / "mp-19896_aimd_cell.cif"
    out = tmp_path / "vasp"
    result = runner.invoke(app, ["md", str(cif), "--engine", "vasp", "--preset", "quick", "-T", "900,1100", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["1100K_equilibration_1", "900K_equilibration_1", "md_flow.json"]
    assert Incar.from_file(out / "900K_equilibration_1/INCAR")["TEBEG"] == 900
    from monty.serialization import loadfn

    flow = loadfn(out / "md_flow.json")
    assert len(_vasp_md_jobs(flow)) == 2 * QUICK.n_segments()

    spec = f"monty://{tmp_path / 'st'}"
    result = runner.invoke(app, ["md", "mp-0000", "--store", spec])
    assert result.exit_code == 2 and "neither a structure file nor a material_id" in result.output

    # a material_id found in the store's materials collection
    from superionic.stores import open_stores

    structure = Structure.from_file(cif)
    open_stores(spec).materials.update(
        [{"material_id": "mp-19896", "formula": "Li2GePbS4", "structure": structure.as_dict()}], key="material_id"
    )
    out_id = tmp_path / "by_id"
    result = runner.invoke(app, ["md", "mp-19896", "--engine", "vasp", "-T", "800", "--store", spec, "--output-dir", str(out_id)])
    assert result.exit_code == 0, result.output
    assert len(Poscar.from_file(out_id / "800K_equilibration_1/POSCAR").structure) == 128


@pytest.mark.slow
def test_cli_md_forcefield_runs_and_stores(tmp_path):
    from typer.testing import CliRunner

    from superionic.cli import app
    from superionic.stores import open_stores

    path = tmp_path / "li2o.json"
    li2o().to(filename=str(path))
    spec = f"monty://{tmp_path / 'st'}"
    args = ["md", str(path), "--preset", "quick", "-T", "800,1200", "--equilibration-steps", "5",
            "--production-steps", "10", "--min-image-distance", "0", "--threads", "1", "--store", spec,
            "--material-id", "li2o-cli"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "verdict" in result.output and "QUICK" in result.output
    preset = open_stores(spec).conductivity.query_one({"material_id": "li2o-cli"})["preset"]
    assert preset.startswith("quick+") and "prod=10" in preset  # named after its changes


def test_segment_output_is_json_round_trippable():
    from monty.json import MontyDecoder, jsanitize

    traj_structure = li2o()
    doc = MDSegmentDoc(
        material_id=None, formula="Li2O", engine="forcefield", force_field="CHGNet", preset="quick",
        is_quick=True, temperature=900.0, time_step_fs=2.0, save_interval_steps=5, n_sites=3,
        status="failed", failure_reason="x", segment_key="k", stage="production", index=0,
        n_segments_in_stage=1, start_step=0, n_steps=10, end_step=10, final_structure=traj_structure,
    )
    again = MDSegmentDoc.model_validate(MontyDecoder().process_decoded(jsanitize(doc, strict=True)))
    assert again.final_structure == traj_structure and again.failure_reason == "x"


def test_forcefield_flow_serialises_for_remote_managers(tmp_path):
    """jobflow-remote / FireWorks store flows as JSON: the segment jobs must survive it."""
    from jobflow import Flow
    from monty.serialization import dumpfn, loadfn

    flow = ConductivityMDMaker(preset=tiny_preset()).make(li2o(), material_id="li2o-json")
    dumpfn(flow, tmp_path / "flow.json")
    again = loadfn(tmp_path / "flow.json")
    assert isinstance(again, Flow)
    segments = [j for j, _ in again.iterflow() if j.name.startswith("forcefield md segment")]
    assert len(segments) == 3 and all(j.config.expose_store for j in segments)
    assert segments[0].maker.force_field_name == "CHGNet"


# ------------------------------------------------------------------------------------------
# MD that runs until it has decided (jobflow responses)
# ------------------------------------------------------------------------------------------
def _extending_flow(material_id: str, **policy):
    from superionic.md.workflow.extension import ExtensionPolicy

    maker = ConductivityMDMaker(
        preset=tiny_preset(production_steps=20),
        segment_maker=ForceFieldSegmentMaker(n_threads=1),
        extension=ExtensionPolicy(**{"extend_steps": 20, "max_production_steps": 60, "max_rounds": 5, **policy}),
        diffusion_settings={"temperature_tolerance": 10.0},  # 3 atoms: T fluctuates wildly
    )
    return maker.make(li2o(), material_id=material_id)


def _final_output(store, flow):
    decide = next(j for j in flow.jobs if j.name.startswith("md extension decision"))
    out = store.get_output(decide.uuid, which="last", load=True)
    return out if isinstance(out, dict) else out.model_dump()


def test_undecided_md_extends_itself_until_the_budget_is_spent():
    """3 Li atoms, 40 fs: D is only bounded, the verdict undecided, so production is extended
    by responses (20 steps a round) until the 60-step budget per temperature is spent."""
    store = memory_job_store()
    flow = _extending_flow("li2o-extend")
    run_locally(flow, store=store, ensure_success=True, log=False)
    final = _final_output(store, flow)
    assert final["verdict"].startswith("undecided (MD)"), final["verdict_reason"]
    assert any("md_extension: round 2: budget: 60 production steps" in f for f in final["flags"])
    runs = sorted((d["output"]["production_steps_done"], d["output"]["n_segments"])
                  for d in store.docs_store.query({"output.@class": "MDRunDoc"}))
    assert runs == [(20, 3), (40, 5), (60, 7)]  # one run doc per round, segments chained
    rounds = [d["output"] for d in store.docs_store.query({"output.@class": "DiffusionDoc"})]
    assert sorted(d["n_frames"] for d in rounds) == [5, 9, 13]


def test_a_wall_time_cap_is_a_safety_stop_that_the_verdict_names():
    """The budget is steps; a wall-time cap that fires first stops the run and says so."""
    store = memory_job_store()
    flow = _extending_flow("li2o-cap", max_wall_s=1e-6)
    run_locally(flow, store=store, ensure_success=True, log=False)
    final = _final_output(store, flow)
    assert any(f.startswith("wall_time_cap: safety stop: wall-time cap after") for f in final["flags"])
    assert "stopped early by the wall-time safety cap" in final["verdict_reason"]
    runs = [d["output"]["production_steps_done"] for d in store.docs_store.query({"output.@class": "MDRunDoc"})]
    assert runs == [20]  # no extension round after the cap fired


@pytest.mark.slow
def test_interrupted_extension_resumes_without_redoing_a_finished_segment(tmp_path):
    from superionic.md.engines import progress

    store_path = tmp_path / "store"

    def interrupt(event):  # in extension round 1, during its second segment
        if event.kind == "advance" and event.label.endswith("1000 K production 4/4"):
            raise _Interrupt

    progress.add_listener(interrupt)
    try:
        with pytest.raises(_Interrupt):
            run_locally(_extending_flow("li2o-ext-resume"), store=monty_job_store(store_path), log=False)
    finally:
        progress.remove_listener(interrupt)
    before = {d["output"]["segment_key"] for d in monty_job_store(store_path).docs_store.query(
        {"output.segment_key": {"$exists": True}, "output.status": "completed"})}
    assert len(before) == 4  # equilibration, production 1-2, extension segment 3

    store = monty_job_store(store_path)
    flow = _extending_flow("li2o-ext-resume")
    run_locally(flow, store=store, ensure_success=True, log=False)
    segments = [d["output"] for d in store.docs_store.query({"output.@class": "MDSegmentDoc"})]
    second = [s for s in segments if s["reused_from"] or s["segment_key"] not in before]
    integrated = sorted((s["index"], s["steps_run"]) for s in second if s["steps_run"])
    assert integrated == [(3, 10), (4, 10), (5, 10)]  # only what was not finished
    assert all(s["steps_run"] == 0 for s in second if s["segment_key"] in before)
    final = _final_output(store, flow)
    assert any("budget: 60 production steps" in f for f in final["flags"])


def test_extending_flow_serialises_for_remote_managers(tmp_path):
    """The extension decision travels as JSON with its segment maker (r2SCAN weights kept)."""
    from monty.serialization import dumpfn, loadfn

    from superionic.md.workflow.extension import ExtensionPolicy
    from superionic.md.workflow.forcefield import segment_maker_for

    maker = ConductivityMDMaker(preset=tiny_preset(), segment_maker=segment_maker_for("chgnet-r2scan"),
                                extension=ExtensionPolicy(max_production_steps=100))
    dumpfn(maker.make(li2o(), material_id="li2o-json"), tmp_path / "flow.json")
    again = loadfn(tmp_path / "flow.json")
    decide = next(j for j, _ in again.iterflow() if j.name.startswith("md extension decision"))
    context = decide.function_args[3]
    assert isinstance(context["segment_maker"], ForceFieldSegmentMaker)
    assert context["segment_maker"].calculator_kwargs == {"model_name": "r2scan"}
    assert context["policy"]["max_production_steps"] == 100
    with pytest.raises(ValueError, match="unknown force field"):
        segment_maker_for("mace")


# --- the guarded CHGNet speed path -------------------------------------------------------
@pytest.fixture
def fresh_self_check(monkeypatch):
    """Forget which models passed the speed path's self-check (it runs once per process)."""
    from weakref import WeakKeyDictionary

    from superionic.md.engines import calculators

    monkeypatch.setattr(calculators, "_VERIFIED", WeakKeyDictionary())
    return calculators


def _stock_forces(model, atoms):
    from chgnet.model.dynamics import CHGNetCalculator

    atoms = atoms.copy()
    atoms.calc = CHGNetCalculator(model=model, use_device="cpu")
    return atoms.get_forces()


def test_speed_path_passes_its_self_check_on_the_installed_chgnet(fresh_self_check, no_network, recwarn):
    calculators = fresh_self_check
    model = calculators.load_chgnet()
    diff = calculators.compare_with_stock(model)
    assert diff["force"] < calculators.FAST_PATH_TOLERANCE["force"]
    assert diff["energy_per_atom"] < calculators.FAST_PATH_TOLERANCE["energy_per_atom"]
    assert calculators.CHGNetMDCalculator(model=model).fallback_reason is None
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning) and "speed path" in str(w.message)]


def test_speed_path_mismatch_falls_back_to_chgnets_own_calculator(fresh_self_check, monkeypatch, no_network):
    calculators = fresh_self_check
    model = calculators.load_chgnet()
    real = calculators.chgnet_energy_forces_of_graph

    def off_by_a_little(*args, **kwargs):  # a speed path that drifted from CHGNet's
        energy, forces = real(*args, **kwargs)
        return energy, forces + 0.05

    monkeypatch.setattr(calculators, "chgnet_energy_forces_of_graph", off_by_a_little)
    with pytest.warns(RuntimeWarning, match="differs from CHGNet's own calculator"):
        calc = calculators.CHGNetMDCalculator(model=model)
    assert "force" in calc.fallback_reason
    atoms = calculators._check_cell()
    expected = _stock_forces(model, atoms)
    atoms.calc = calc
    assert np.abs(atoms.get_forces() - expected).max() < 1e-5  # the stock path answered


def test_speed_path_error_during_a_run_falls_back_instead_of_failing(fresh_self_check, monkeypatch, no_network):
    calculators = fresh_self_check
    model = calculators.load_chgnet()
    calc = calculators.CHGNetMDCalculator(model=model)
    assert calc.fallback_reason is None

    def broken(*args, **kwargs):
        raise IndexError("neighbour list out of range")

    monkeypatch.setattr(calculators, "crystal_graph_from_atoms", broken)
    atoms = calculators._check_cell()
    expected = _stock_forces(model, atoms)
    atoms.calc = calc
    with pytest.warns(RuntimeWarning, match="speed path raised IndexError"):
        forces = atoms.get_forces()
    assert np.abs(forces - expected).max() < 1e-5


def test_speed_path_off_for_an_unverified_chgnet_version(fresh_self_check, monkeypatch, no_network):
    calculators = fresh_self_check
    monkeypatch.setattr(calculators, "VERIFIED_CHGNET", ("9.9.",))
    with pytest.warns(RuntimeWarning, match="not a version the speed path was verified on"):
        calc = calculators.CHGNetMDCalculator(model=calculators.load_chgnet())
    assert calc.fallback_reason.startswith("chgnet ")
