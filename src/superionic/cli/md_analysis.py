"""``superionic analyze``: D per temperature from MD trajectories, and Ea / sigma(300 K).

Heavy imports happen inside the command so that ``superionic --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

err = Console(stderr=True)


def _fmt(x: float | None, spec: str = ".3g") -> str:
    return "-" if x is None else format(x, spec)


def _interval(ci) -> str:
    return "-" if not ci else f"[{ci[0]:.2g}, {ci[1]:.2g}]"


def _temperatures(values: list[float] | None, n_files: int) -> list[float | None]:
    if not values:
        return [None] * n_files
    if len(values) == 1:
        return list(values) * n_files
    if len(values) != n_files:
        raise typer.BadParameter(
            f"{len(values)} temperatures for {n_files} files: give one for all or one per file.",
            param_hint="--temperature",
        )
    return list(values)


def analyze(
    trajectories: list[Path] = typer.Argument(
        ..., help="Trajectory files of ONE material (XDATCAR, vasprun.xml, pymatgen Trajectory "
        "or DiffusionAnalyzer JSON, ASE .traj; gzip ok), at one or several temperatures."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print only JSON documents on stdout."),
    temperature: list[float] = typer.Option(
        None, "--temperature", "-T",
        help="Temperature (K) for files that do not record it: once for all files or once per "
        "file. Overrides a recorded value.",
    ),
    time_step: float = typer.Option(
        None, "--time-step", help="MD time step (fs) for files that do not record it (XDATCAR)."
    ),
    step_skip: int = typer.Option(
        None, "--step-skip", help="MD steps between stored frames (with --time-step)."
    ),
    join: bool = typer.Option(
        False, "--join", help="Join the files of one temperature, in the order given, as "
        "consecutive runs (run1, run2, ...); broken joins are detected and kept apart."
    ),
    material_id: str = typer.Option(
        None, "--material-id", help="Label of the material (default: its reduced formula)."
    ),
    engine: str = typer.Option("unknown", "--engine", help="Engine label stored in the docs."),
) -> None:
    """D(Li) per temperature with 95 % intervals; Ea and sigma(300 K) from 2+ temperatures.

    Each run is flagged (too few hops, non-linear MSD, framework melting, ...) and runs that
    cannot be trusted are left out of the Arrhenius fit with the reason."""
    from rich.progress import Progress

    from superionic.md.analysis.arrhenius import conductivity_from_diffusion
    from superionic.md.analysis.diffusion import diffusion_from_trajectory
    from superionic.md.analysis.readers import load_trajectory
    from superionic.md.analysis.trajectory import join_trajectories

    missing = [str(p) for p in trajectories if not p.exists()]
    if missing:
        raise typer.BadParameter(f"no such file: {', '.join(missing)}", param_hint="TRAJECTORY")
    temps = _temperatures(temperature, len(trajectories))
    read = {"md_time_step_fs": time_step, "step_skip": step_skip}
    groups: dict[float, list] = {}
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("reading trajectories", total=len(trajectories))
        for path, t in zip(trajectories, temps):
            try:
                traj = load_trajectory(path, temperature=t, **read)
            except (ValueError, KeyError, OSError) as exc:
                raise typer.BadParameter(f"{path}: {exc}", param_hint="TRAJECTORY") from exc
            if traj.temperature is None:
                raise typer.BadParameter(f"{path} does not record its temperature: pass "
                                         "--temperature.", param_hint="--temperature")
            groups.setdefault(float(traj.temperature), []).append(traj)
            progress.advance(task)
        formulas = {tr.formula for group in groups.values() for tr in group}
        if len(formulas) > 1:
            raise typer.BadParameter(f"one material per call, got {sorted(formulas)}")
        for t, group in groups.items():
            if len(group) > 1 and not join:
                raise typer.BadParameter(f"{len(group)} files at {t:g} K: pass --join to join "
                                         "consecutive runs of one simulation.")
        mid = material_id or formulas.pop()
        task = progress.add_task("analysing", total=len(groups))
        docs = []
        for t in sorted(groups):
            traj = join_trajectories(groups[t]) if len(groups[t]) > 1 else groups[t][0]
            docs.append(diffusion_from_trajectory(traj, material_id=mid, temperature=t,
                                                  engine=engine))
            progress.advance(task)
    cond = conductivity_from_diffusion(docs) if len(docs) >= 2 else None

    if json_out:
        payload = {
            "diffusion": [d.model_dump(mode="json") for d in docs],
            "conductivity": cond.model_dump(mode="json") if cond else None,
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_tables(docs, cond)


def _print_tables(docs, cond) -> None:
    from superionic.results import sigma_text

    out = Console()
    table = Table(title=f"Li diffusion: {docs[0].formula} ({docs[0].material_id})")
    for col in ("T (K)", "ps", "D (cm2/s)", "95 % interval", "D bound", "fit (ps)", "hops", "use", "flags"):
        table.add_column(col, no_wrap=True)
    for d in docs:
        window = f"{d.fit_window.start_ps:.0f}-{d.fit_window.end_ps:.0f}" if d.fit_window else "-"
        table.add_row(
            f"{d.temperature:g}", f"{d.duration_ps:.0f}", _fmt(d.diffusivity, ".2e"),
            _interval(d.diffusivity_ci95),
            f"<= {d.diffusivity_upper95:.2e}" if d.d_status == "upper_bound" else "-",
            window, str(d.n_hops), "yes" if d.usable else "no",
            str(len(d.flags)),
        )
    out.print(table)
    for d in docs:
        for flag in d.flags:
            out.print(f"  {d.temperature:g} K  {flag}")
    if cond is None:
        out.print("One temperature: no Arrhenius fit (give two or more).")
        return
    summary = Table(title="Arrhenius extrapolation to 300 K (Nernst-Einstein, Haven ratio 1)")
    for col in ("used (K)", "Ea (eV)", "D300 (cm2/s)", "sigma300 (S/cm)", "range (S/cm)",
                "verdict"):
        summary.add_column(col, no_wrap=True)
    ea = "-" if cond.activation_energy is None else (
        f"{cond.activation_energy:.2f}+/-{cond.activation_energy_std:.2f}")
    summary.add_row(",".join(f"{t:g}" for t in cond.temperatures_used) or "-", ea,
                    _fmt(cond.d300, ".2e"), _fmt(cond.sigma300, ".2e"),
                    sigma_text(None, cond.sigma300_lower, cond.sigma300_upper, cond.sigma300_kind, 2)
                    or "-", cond.verdict)
    out.print(summary)
    out.print(f"  {cond.verdict_reason}")
    for e in cond.excluded:
        out.print(f"  excluded {e.temperature:g} K: {e.reason}")
    for flag in cond.flags:
        out.print(f"  {flag}")


def register(app: typer.Typer) -> None:
    """Add ``analyze`` to the superionic command line."""
    app.command("analyze")(analyze)
