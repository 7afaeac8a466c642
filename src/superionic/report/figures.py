"""The report's figures: pure functions from documents to PNG bytes (matplotlib, Agg canvas).

Each function draws on its own ``Figure`` (no pyplot state, safe in any process) and returns
the PNG. Figure numbers refer to Kang et al., J. Phys. Chem. C 127, 19335 (2023).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from superionic.schemas.md import ConductivityDoc, DiffusionDoc
from superionic.schemas.ml import PredictionDoc, StudyDoc
from superionic.schemas.screening import FunnelStep

DPI = 110
POS, NEG = "#c0392b", "#2c7fb8"  # superionic / not superionic
ALGO_COLORS = {"gb": "#1b9e77", "lgbm": "#d95f02"}
OURS, SEED = "#3366aa", "#a0a0a0"
CM2_S_TO_A2_PS = 1e4  # 1 cm^2/s = 1e16 A^2 / 1e12 ps
PROTOCOL_ORDER = ("random", "grouped", "family")


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def algorithm_label(name: str) -> str:
    try:
        from superionic.ml.algorithms import ALGORITHMS

        return ALGORITHMS[name].label
    except Exception:  # noqa: BLE001 - a label is cosmetic
        return {"gb": "Gradient boosting", "lgbm": "LightGBM"}.get(name, name)


def protocols_of(studies: Sequence[StudyDoc]) -> list[str]:
    found = list(dict.fromkeys(s.protocol for s in studies))
    return sorted(found, key=lambda p: (PROTOCOL_ORDER.index(p) if p in PROTOCOL_ORDER else 9, p))


# --- training set (Fig. 2a, 2b) ------------------------------------------------------------


def conductivity_histogram(log_sigma: Sequence[float], bound: Sequence[str], label: Sequence[int],
                           threshold: float, title: str) -> bytes:
    """Fig. 2a: log10 sigma_RT histogram by class, upper bounds apart, threshold line."""
    x = np.asarray(log_sigma, dtype=float)
    bound = np.asarray(bound)
    label = np.asarray(label, dtype=int)
    edges = np.arange(math.floor(x.min()), math.ceil(x.max()) + 0.5, 0.5)
    groups = [
        (x[(label == 1) & (bound == "")], POS, "superionic (measured)"),
        (x[(label == 0) & (bound == "")], NEG, "not superionic (measured)"),
        (x[bound == "<"], "#7f7f7f", "upper bound '<' (at the bound)"),
        (x[bound == ">"], "#f1a340", "lower bound '>' (at the bound)"),
    ]
    groups = [g for g in groups if len(g[0])]
    fig = _figure(7.5, 3.6)
    ax = fig.add_subplot()
    ax.hist([g[0] for g in groups], bins=edges, stacked=True, color=[g[1] for g in groups],
            label=[f"{g[2]}: {len(g[0])}" for g in groups], edgecolor="white", linewidth=0.5)
    ax.axvline(math.log10(threshold), color="black", linestyle="--", linewidth=1.2)
    ax.text(math.log10(threshold) + 0.08, ax.get_ylim()[1] * 0.95, f"{threshold:.0e} S/cm",
            va="top", fontsize=9)
    ax.set_xlabel("log$_{10}$ $\\sigma_{RT}$ (S/cm)")
    ax.set_ylabel("compounds")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return to_png(fig)


def class_balance(label: Sequence[int], family: Sequence[str], title: str) -> bytes:
    """Fig. 2b: superionic vs not, overall and per structural family."""
    label = np.asarray(label, dtype=int)
    family = np.asarray(family)
    names = sorted(set(family), key=lambda f: -(family == f).sum())
    fig = _figure(8.5, max(3.0, 0.32 * len(names) + 1.2))
    ax_all, ax_fam = fig.subplots(1, 2, width_ratios=[1, 2.6])
    n_pos, n_neg = int(label.sum()), int((label == 0).sum())
    bars = ax_all.bar(["superionic", "not"], [n_pos, n_neg], color=[POS, NEG])
    for bar, n in zip(bars, (n_pos, n_neg)):
        ax_all.text(bar.get_x() + bar.get_width() / 2, n, f"{n}\n({n / max(len(label), 1):.0%})",
                    ha="center", va="bottom", fontsize=9)
    ax_all.set_ylim(0, max(n_pos, n_neg) * 1.25)
    ax_all.set_ylabel("compounds")
    ax_all.set_title("all", fontsize=10)
    y = np.arange(len(names))[::-1]
    pos = np.array([int(((family == f) & (label == 1)).sum()) for f in names])
    neg = np.array([int(((family == f) & (label == 0)).sum()) for f in names])
    ax_fam.barh(y, pos, color=POS, label="superionic")
    ax_fam.barh(y, neg, left=pos, color=NEG, label="not superionic")
    for yi, p, n in zip(y, pos, neg):
        ax_fam.text(p + n + 0.5, yi, f"{p}/{p + n}", va="center", fontsize=8)
    ax_fam.set_yticks(y, names, fontsize=8)
    ax_fam.set_xlim(0, (pos + neg).max() * 1.18)
    ax_fam.set_xlabel("compounds")
    ax_fam.set_title("by family (superionic / all)", fontsize=10)
    ax_fam.legend(fontsize=8, frameon=False, loc="lower right")
    fig.suptitle(title, fontsize=10)
    return to_png(fig)


# --- screening (Fig. 1b, 2c) ---------------------------------------------------------------


def funnel_chart(steps: Sequence[FunnelStep], title: str) -> bytes:
    """Fig. 1b: survivors after each step, ours beside the seed's, removals annotated."""
    n = len(steps)
    y = np.arange(n)[::-1].astype(float)
    fig = _figure(8.5, 0.62 * n + 1.4)
    ax = fig.add_subplot()
    ours = [max(s.survivors, 0.8) for s in steps]
    ax.barh(y + 0.2, ours, height=0.38, color=OURS, label="this run")
    seed = [(yi, s.seed_survivors) for yi, s in zip(y, steps) if s.seed_survivors is not None]
    if seed:
        ax.barh([yi - 0.2 for yi, _ in seed], [v for _, v in seed], height=0.38, color=SEED,
                label="seed (Kang 2023, MP 2022)")
        for yi, v in seed:
            ax.text(v * 1.08, yi - 0.2, f"{v:,}", va="center", fontsize=8, color="#555555")
    for yi, s in zip(y, steps):
        removed = "" if s.name == "corpus" else f"   (-{s.failed:,} fail, -{s.unknown:,} unknown)"
        ax.text(max(s.survivors, 0.8) * 1.08, yi + 0.2, f"{s.survivors:,}{removed}", va="center",
                fontsize=8)
    ax.set_xscale("log")
    values = [max(s.survivors, 1) for s in steps] + [v for _, v in seed]
    ax.set_xlim(10 ** math.floor(math.log10(min(values)) - 0.3), max(values + [10]) * 25)
    ax.set_yticks(y, [f"{s.name}\n{s.threshold}" for s in steps], fontsize=8)
    ax.set_xlabel("materials remaining (log scale)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    return to_png(fig)


def anion_types(counts: dict[str, int], title: str) -> bytes:
    """Fig. 2c: screening survivors per anion type."""
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    total = max(sum(counts.values()), 1)
    fig = _figure(6.5, 3.2)
    ax = fig.add_subplot()
    colors = colormaps["tab10"](np.arange(len(items)) % 10)
    bars = ax.bar([k for k, _ in items], [v for _, v in items], color=colors)
    for bar, (_, v) in zip(bars, items):
        ax.text(bar.get_x() + bar.get_width() / 2, v, f"{v} ({v / total:.0%})", ha="center",
                va="bottom", fontsize=8)
    ax.set_ylim(0, max(v for _, v in items) * 1.2)
    ax.set_ylabel("candidates")
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="x", labelsize=9)
    return to_png(fig)


# --- classifier study (Fig. 3) -------------------------------------------------------------


def accuracy_distributions(studies: Sequence[StudyDoc], algorithms: Sequence[str]) -> bytes:
    """Fig. 3 (top): validation accuracy over splits, one panel per protocol."""
    protocols = protocols_of(studies)
    fig = _figure(4.2 * len(protocols) + 0.6, 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(protocols), sharey=False))
    accs = [sp.accuracy for s in studies for sp in s.splits]
    low = math.floor(min(accs) * 20) / 20 if accs else 0.5
    edges = np.linspace(low, 1.0, int(round((1.0 - low) / 0.025)) + 1)
    for ax, protocol in zip(axes, protocols):
        for algorithm in algorithms:
            doc = next((s for s in studies if s.protocol == protocol and s.algorithm == algorithm), None)
            if doc is None:
                continue
            values = [sp.accuracy for sp in doc.splits]
            color = ALGO_COLORS.get(algorithm)
            ax.hist(values, bins=edges, histtype="stepfilled", alpha=0.35, color=color)
            ax.hist(values, bins=edges, histtype="step", linewidth=1.5, color=color,
                    label=f"{algorithm_label(algorithm)}: {doc.summary.acc_mean:.3f} "
                    f"+/- {doc.summary.acc_std:.3f} (n={len(values)})")
            ax.axvline(doc.summary.acc_mean, color=color, linestyle="--", linewidth=1)
        ax.set_xlabel("validation accuracy")
        ax.set_ylabel("splits")
        ax.set_title(f"{protocol} splits", fontsize=10)
        ax.legend(fontsize=7.5, frameon=False, loc="upper left")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.35)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return to_png(fig)


def accuracy_boxplot(studies: Sequence[StudyDoc]) -> bytes:
    """Accuracy over splits of every algorithm studied, one box per algorithm and protocol."""
    protocols = protocols_of(studies)
    algorithms = list(dict.fromkeys(s.algorithm for s in studies))
    fig = _figure(max(6.0, 0.75 * len(algorithms) * len(protocols) + 1.5), 3.4)
    ax = fig.add_subplot()
    width = 0.8 / len(protocols)
    colors = colormaps["Set2"](np.arange(len(protocols)))
    for j, protocol in enumerate(protocols):
        data, positions = [], []
        for i, algorithm in enumerate(algorithms):
            doc = next((s for s in studies if s.protocol == protocol and s.algorithm == algorithm), None)
            if doc is not None:
                data.append([sp.accuracy for sp in doc.splits])
                positions.append(i + (j - (len(protocols) - 1) / 2) * width)
        if data:
            parts = ax.boxplot(data, positions=positions, widths=width * 0.85, patch_artist=True,
                               manage_ticks=False)
            for box in parts["boxes"]:
                box.set_facecolor(colors[j])
            ax.plot([], [], color=colors[j], linewidth=6, label=protocol)
    ax.set_xticks(range(len(algorithms)), [algorithm_label(a) for a in algorithms], fontsize=8,
                  rotation=20)
    ax.set_ylabel("validation accuracy")
    ax.set_title("Accuracy of every algorithm studied", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return to_png(fig)


def confusion_matrices(studies: Sequence[StudyDoc], algorithms: Sequence[str]) -> bytes:
    """Fig. 3 (bottom): confusion matrices summed over splits, rows protocols, columns models."""
    protocols = protocols_of(studies)
    fig = _figure(3.3 * len(algorithms) + 0.4, 3.0 * len(protocols) + 0.3)
    axes = np.array(fig.subplots(len(protocols), len(algorithms), squeeze=False))
    names = ["not superionic", "superionic"]
    for r, protocol in enumerate(protocols):
        for c, algorithm in enumerate(algorithms):
            ax = axes[r, c]
            doc = next((s for s in studies if s.protocol == protocol and s.algorithm == algorithm), None)
            if doc is None:
                ax.set_axis_off()
                ax.text(0.5, 0.5, f"{algorithm_label(algorithm)}\nnot studied ({protocol})",
                        ha="center", va="center", fontsize=9)
                continue
            matrix = np.asarray(doc.confusion_total, dtype=float)
            rows = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
            ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
            for i in range(2):
                for j in range(2):
                    ax.text(j, i, f"{int(matrix[i, j])}\n{rows[i, j]:.0%}", ha="center",
                            va="center", fontsize=9, color="white" if rows[i, j] > 0.6 else "black")
            ax.set_xticks([0, 1], names, fontsize=8)
            ax.set_yticks([0, 1], names, fontsize=8, rotation=90, va="center")
            ax.set_xlabel("predicted", fontsize=8)
            ax.set_ylabel("true", fontsize=8)
            ax.set_title(f"{algorithm_label(algorithm)}, {protocol} ({doc.summary.n_splits} splits)",
                         fontsize=9)
    return to_png(fig)


# --- predictions (Fig. 4) ------------------------------------------------------------------


def votes_chart(predictions: Sequence[PredictionDoc], title: str) -> bytes:
    """Fig. 4: votes of GB and LightGBM per candidate (out of N splits), seed verdict marked."""
    preds = list(predictions)
    n = len(preds)
    y = np.arange(n)[::-1].astype(float)
    n_splits = max(p.n_splits for p in preds)
    fig = _figure(8.0, 0.24 * n + 1.6)
    ax = fig.add_subplot()
    ax.barh(y + 0.19, [p.votes_gb or 0 for p in preds], height=0.36, color=ALGO_COLORS["gb"],
            label="gradient boosting")
    ax.barh(y - 0.19, [p.votes_lgbm or 0 for p in preds], height=0.36, color=ALGO_COLORS["lgbm"],
            label="LightGBM")
    hits = [yi for yi, p in zip(y, preds) if p.seed_verdict]
    if hits:
        ax.plot([n_splits * 1.04] * len(hits), hits, marker="*", linestyle="none", color=POS,
                markersize=9, label="seed verdict: superionic in all splits of both")
    ax.axvline(n_splits, color="black", linewidth=0.8, linestyle=":")
    labels = [f"{p.formula}  ({p.material_id})" for p in preds]
    ax.set_yticks(y, labels, fontsize=7.5)
    for tick, p in zip(ax.get_yticklabels(), preds):
        if p.seed_verdict:
            tick.set_color(POS)
    ax.set_xlim(0, n_splits * 1.1)
    ax.set_ylim(-0.7, n - 0.3)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"superionic votes (of {n_splits} split models)")
    ax.set_title(title, fontsize=10)
    fig.legend(fontsize=8, frameon=False, loc="outside upper center", ncol=3)
    return to_png(fig)


# --- MD (per candidate) --------------------------------------------------------------------


def _temperature_colors(temperatures: Sequence[float]) -> dict[float, tuple]:
    temps = sorted(set(temperatures))
    cmap = colormaps["coolwarm"]
    return {t: cmap(0.0 if len(temps) == 1 else i / (len(temps) - 1)) for i, t in enumerate(temps)}


def _flag_code(text: str | None) -> str:
    return (text or "not usable").split(":", 1)[0]


def msd_curves(docs: Sequence[DiffusionDoc], title: str) -> bytes:
    """Li (and framework) MSD vs lag time per temperature, with the fitted line."""
    colors = _temperature_colors([d.temperature for d in docs])
    fig = _figure(6.0, 4.2)
    ax = fig.add_subplot()
    for d in docs:
        s, color = d.msd_summary, colors[d.temperature]
        lag, li = np.asarray(s.lag_ps, float), np.asarray(s.msd_li, float)
        ok = (lag > 0) & (li > 0)
        if not ok.any():
            continue
        note = "" if d.usable else f" (excluded: {_flag_code(d.reason)})"
        ax.plot(lag[ok], li[ok], marker="o", markersize=3, color=color,
                alpha=1.0 if d.usable else 0.45, linestyle="-" if d.usable else "--",
                label=f"{d.temperature:g} K Li{note}")
        fw = np.asarray(s.msd_framework, float)
        if len(fw) == len(lag):
            good = ok & (fw > 0)
            ax.plot(lag[good], fw[good], color=color, linewidth=0.9, linestyle=":",
                    alpha=1.0 if d.usable else 0.45)
        if d.diffusivity and d.fit_window and d.msd_intercept is not None:
            t = np.linspace(d.fit_window.start_ps, d.fit_window.end_ps, 20)
            line = 6 * d.diffusivity * CM2_S_TO_A2_PS * t + d.msd_intercept
            ax.plot(t[line > 0], line[line > 0], color="black", linewidth=1.0, alpha=0.7)
    ax.plot([], [], color="gray", linestyle=":", label="framework (non-Li)")
    ax.plot([], [], color="black", linewidth=1.0, label="fit 6Dt + c (window)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("MSD ($\\AA^2$)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return to_png(fig)


def arrhenius_plot(docs: Sequence[DiffusionDoc], cond: ConductivityDoc | None, title: str) -> bytes:
    """D vs 1000/T with 95 % intervals, the Arrhenius fit, and D(300 K) extrapolated."""
    from superionic.md.analysis.arrhenius import K_B_EV, nernst_einstein

    colors = _temperature_colors([d.temperature for d in docs])
    used = set(cond.temperatures_used) if cond else {d.temperature for d in docs if d.usable}
    fig = _figure(6.0, 4.2)
    ax = fig.add_subplot()
    excluded: list[str] = []
    for d in docs:
        if d.d_status == "upper_bound" and d.diffusivity_upper95:  # hops not resolved: D <= bound
            ax.plot([1000.0 / d.temperature], [d.diffusivity_upper95], marker="v", markersize=8,
                    color=colors[d.temperature], linestyle="none")
            ax.annotate(f"{d.temperature:g} K (bound)", (1000.0 / d.temperature, d.diffusivity_upper95),
                        textcoords="offset points", xytext=(7, -4), fontsize=7)
            continue
        if not d.diffusivity or d.diffusivity <= 0:
            continue
        x, value = 1000.0 / d.temperature, d.diffusivity
        lo, hi = d.diffusivity_ci95 or (value, value)
        err = [[value - max(lo, value * 1e-3)], [max(hi - value, 0.0)]]
        inside = d.temperature in used
        ax.errorbar([x], [value], yerr=err, fmt="o", color=colors[d.temperature], capsize=3,
                    markerfacecolor=colors[d.temperature] if inside else "white", markersize=6)
        ax.annotate(f"{d.temperature:g} K", (x, value), textcoords="offset points",
                    xytext=(7, -4) if inside else (-4, 8), fontsize=7,
                    color="black" if inside else "#777777")
        if not inside:
            excluded.append(f"{d.temperature:g} K: {_flag_code(d.reason)}")
    lines = []
    if cond and cond.activation_energy is not None and cond.prefactor:
        t_used = sorted(cond.temperatures_used)
        x_fit = np.linspace(1000.0 / t_used[-1], 1000.0 / t_used[0], 20)
        x_ext = np.linspace(1000.0 / t_used[0], 1000.0 / 300.0, 20)
        fit = lambda x: cond.prefactor * np.exp(-cond.activation_energy * x / (1000.0 * K_B_EV))  # noqa: E731
        ax.plot(x_fit, fit(x_fit), color="black", linewidth=1.2, label="Arrhenius fit")
        ax.plot(x_ext, fit(x_ext), color="black", linewidth=1.0, linestyle="--",
                label="extrapolation")
        ea_std = f" +/- {cond.activation_energy_std:.2f}" if cond.activation_energy_std is not None else ""
        lines.append(f"Ea = {cond.activation_energy:.2f}{ea_std} eV")
    if cond and cond.d300:
        lo, hi = cond.d300_ci95 or (cond.d300, cond.d300)
        ax.errorbar([1000.0 / 300.0], [cond.d300], yerr=[[cond.d300 - lo], [hi - cond.d300]],
                    fmt="*", color=POS, markersize=11, capsize=4, label="D(300 K), 95 %")
    if cond and cond.li_density_cm3:
        d_threshold = cond.threshold / nernst_einstein(1.0, cond.li_density_cm3, 300.0)
        ax.plot([1000 / 300 - 0.12, 1000 / 300 + 0.12], [d_threshold] * 2, color=POS, linewidth=2)
        ax.annotate(f"$\\sigma$ = {cond.threshold:.0e} S/cm", (1000 / 300 - 0.12, d_threshold),
                    textcoords="offset points", xytext=(-4, -3), ha="right", va="center",
                    fontsize=7, color=POS)
    if cond and cond.sigma300_kind in ("upper_bound", "range") and cond.li_density_cm3:
        per_d = nernst_einstein(1.0, cond.li_density_cm3, 300.0)
        ax.plot([1000.0 / 300.0], [cond.sigma300_upper / per_d], marker="v", markersize=10,
                color=POS, linestyle="none", label="D(300 K) upper bound, 95 %")
        if cond.sigma300_lower:
            ax.plot([1000.0 / 300.0], [cond.sigma300_lower / per_d], marker="^", markersize=10,
                    color=POS, linestyle="none", label="D(300 K) lower bound")
        ea = cond.ea_limits[0] if cond.ea_limits else None
        lines.append(f"$\\sigma$(300 K) <= {cond.sigma300_upper:.1e} S/cm"
                     + (f" (Ea >= {ea:.2f} eV)" if ea else ""))
        if cond.sigma300_lower:
            lines.append(f"$\\sigma$(300 K) >= {cond.sigma300_lower:.1e} S/cm")
    if cond and cond.sigma300 is not None:
        ci = cond.sigma300_ci95
        lines.append(f"$\\sigma$(300 K) = {cond.sigma300:.2e} S/cm")
        if ci:
            lines.append(f"95 %: [{ci[0]:.1e}, {ci[1]:.1e}]")
    if cond:
        lines.append(f"verdict: {cond.verdict}")
    if lines:
        ax.text(0.98, 0.98, "\n".join(lines), transform=ax.transAxes, ha="right", va="top",
                fontsize=8, bbox={"facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.9})
    if excluded:
        ax.plot([], [], "o", color="gray", markerfacecolor="white",
                label="excluded: " + "; ".join(excluded))
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * 4)  # room for the labels above the hottest points
    hottest = max([d.temperature for d in docs] + [1000.0])
    ax.set_xlim(1000.0 / hottest - 0.15, 1000.0 / 300.0 + 0.2)  # always out to 300 K
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel("Li tracer D (cm$^2$/s)")
    top = ax.secondary_xaxis("top", functions=(lambda x: 1000.0 / np.maximum(x, 1e-6),
                                               lambda t: 1000.0 / np.maximum(t, 1e-6)))
    top.set_xticks([t for t in (300, 400, 500, 600, 800, 1000, 1400, 2000)
                    if ax.get_xlim()[0] <= 1000.0 / t <= ax.get_xlim()[1]])
    top.set_xlabel("T (K)", fontsize=8)
    top.tick_params(labelsize=7)
    ax.set_title(title, fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, frameon=False, loc="lower left")
    return to_png(fig)


# --- calibration (reliability diagram) -----------------------------------------------------


def reliability_diagram(calibration: dict) -> bytes:
    """Observed fraction superionic against predicted probability, raw and calibrated."""
    fig = _figure(4.6, 4.0)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    for key, label, color in (("reliability_raw", f"raw mean p (ECE {calibration.get('ece_raw', float('nan')):.3f})",
                               "tab:gray"),
                              ("reliability", f"calibrated (ECE {calibration.get('ece_calibrated', float('nan')):.3f})",
                               "tab:blue")):
        bins = calibration.get(key) or []
        if bins:
            x = [b["mean_probability"] for b in bins]
            y = [b["observed_fraction"] for b in bins]
            sizes = [12 + 0.6 * b["n"] for b in bins]
            ax.plot(x, y, color=color, linewidth=1.2)
            ax.scatter(x, y, s=sizes, color=color, alpha=0.7, label=label)
    band = [b for b in calibration.get("reliability") or [] if "consistency_low" in b]
    if band:  # where the observed fraction would fall (5-95 %) if the calibrated probabilities were exact
        ax.vlines([b["mean_probability"] for b in band], [b["consistency_low"] for b in band],
                  [b["consistency_high"] for b in band], color="tab:blue", alpha=0.35, linewidth=4,
                  label="5-95 % if exactly calibrated")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability (bin mean)")
    ax.set_ylabel("observed fraction superionic")
    ax.set_title("Reliability on grouped out-of-fold rows", fontsize=10)
    ax.legend(fontsize=7.5, frameon=False, loc="upper left")
    return to_png(fig)
