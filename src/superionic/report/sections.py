"""The report's sections: what each shows from ``ReportData``, and what it says when data are missing.

Every builder returns a :class:`Section`; :func:`build_sections` runs them all and turns an
unexpected error inside one into a visible problem note in that section, so one odd document
never costs the whole report.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable

from superionic.report import figures as fg
from superionic.report.gather import ReportData, summary_rows
from superionic.results import screening_note
from superionic.report.html_writer import (
    BulletList,
    Details,
    FigureBlock,
    FigureRow,
    Heading,
    Note,
    Paragraph,
    Problem,
    Section,
    Table,
)

logger = logging.getLogger(__name__)

MAX_VOTE_ROWS = 60
TABLE_TOP = 20
"""Classified candidates listed before the rest of the table is folded away."""
SEED_ACC = {"gb": 0.843, "lgbm": 0.829}
"""The seed's mean random-split accuracies (Kang 2023), as in ``superionic train``'s table."""
ENSEMBLE = ("gb", "lgbm")

HINT_SCREEN = "Not computed yet: run `superionic screen` (or `superionic run`)."
HINT_TRAIN = "Not computed yet: run `superionic train` (or `superionic run`)."
HINT_PREDICT = "Not computed yet: run `superionic predict` after `superionic train` (or `superionic run`)."
HINT_MD = ("Not computed yet: run `superionic md MATERIAL_ID` for a candidate (or `superionic run`, "
           "whose MD stage covers the top candidates).")


def slug(text: str) -> str:
    """A file-name-safe form of an id ('files:/a b' -> 'files_a_b')."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_") or "x"


def _num(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _votes(votes: int | None, n: int | None) -> str:
    return "-" if votes is None else f"{votes}/{n}"


# --- sections --------------------------------------------------------------------------


def summary_section(data: ReportData) -> Section:
    section = Section("summary", "Candidates")
    rows = summary_rows(data)
    if not rows:
        section.blocks.append(Note(f"No candidates classified or simulated yet. {HINT_PREDICT}"))
        return section
    section.blocks.append(Paragraph(
        "One row per candidate: MD-validated ones first, then by the classifier's rank. Votes are "
        "split models calling the composition superionic; probability is the calibrated probability "
        "(the mean of the GB and LightGBM mean probabilities where no calibrator exists); sigma(300 K) is the Arrhenius extrapolation with its 95 % "
        "interval (Nernst-Einstein, Haven ratio 1); the verdict is the MD one where MD ran, else "
        "the ML one, naming its rule (calibrated p >= 0.5, flagged when out of the applicability "
        "domain); the seed's unanimity rule has its own column."))
    headers = ["candidate", "formula", "anion type", "votes GB", "votes LGBM", "probability",
               "sigma(300 K) S/cm [95 %]", "verdict", "seed rule", "domain"]
    cells = [[r["material_id"], r["formula"], r["anion_type"] or "-",
              _votes(r["votes_gb"], r["n_splits"]), _votes(r["votes_lgbm"], r["n_splits"]),
              _num(r["probability"]), r["sigma300_text"] or "-", r["verdict"] or "-",
              "-" if r.get("seed_rule") is None else r["seed_rule"].removeprefix("seed rule: "),
              {True: "in", False: "OUT", None: "-"}[r.get("in_domain")]] for r in rows]
    n_first = len(data.md_materials) + TABLE_TOP
    section.blocks.append(Table(headers, cells[:n_first], numeric={3, 4, 5}))
    if len(cells) > n_first:
        section.blocks.append(Details(f"Show the other {len(cells) - n_first} candidates",
                                      [Table(headers, cells[n_first:], numeric={3, 4, 5})]))
    return section


def training_section(data: ReportData) -> Section:
    section = Section("training", "Training set (seed Fig. 2a, 2b)")
    view = data.training
    if view is None:
        section.blocks.append(Problem(f"The training set could not be loaded: {data.training_error}"))
        return section
    n, n_pos = len(view.label), sum(view.label)
    bounds = Counter(view.bound)
    title = f"{', '.join(view.sources)}: {n} compositions, {n_pos} superionic"
    section.blocks.append(FigureRow([
        FigureBlock("training_conductivity", fg.conductivity_histogram(
            view.log_sigma, view.bound, view.label, view.threshold, title),
            f"Fig. 2a: room-temperature conductivity of the training set ({n} compositions; "
            f"label superionic when sigma >= {view.threshold:.0e} S/cm, dashed line)."
            + (f" {bounds['<']} values are upper bounds such as '<1E-10' (below the threshold, "
               "not missing), drawn at the bound." if bounds.get("<") else "")),
        FigureBlock("training_classes", fg.class_balance(view.label, view.family, title),
                    f"Fig. 2b: class balance, {n_pos} superionic and {n - n_pos} not "
                    f"({n_pos / max(n, 1):.0%} positive), overall and per structural family."),
    ]))
    section.blocks.append(Paragraph(
        f"Source(s): {', '.join(view.sources)} (bundled, see superionic/data/training/PROVENANCE.md); "
        f"{view.n_merged_groups} compositions measured more than once were merged (geometric mean); "
        f"{view.n_skipped} rows skipped with a recorded reason."))
    if data.model and data.model.n_training_rows != n:
        section.blocks.append(Note(
            f"The stored surrogate {data.model.model_id} was trained on {data.model.n_training_rows} "
            f"rows; the set drawn here has {n} (another source list or merge setting)."))
    return section


def _voltage_blocks(funnel, data: ReportData) -> list:
    """The verdict's V_ox convention, and every survivor's physical V_ox beside it."""
    if not funnel.voltage_convention:
        return []
    sets = "; ".join(f"{k}: {v}" for k, v in funnel.energy_sets.items()) or "none"
    blocks = [Paragraph(
        f"V_ox verdict convention: {funnel.voltage_convention} ('seed' = V_ox + 1.909 V, the seed's "
        "reconstructed rule, 3.7 V = 1.79 V vs Li/Li+; 'li_metal' = physical V_ox vs Li/Li+). "
        f"Both values are in every ScreeningDoc. Energies used: {sets}.")]
    survivors = [data.screening[m] for m in funnel.survivor_ids if m in data.screening]
    rows = [[s.get("formula") or "", s["material_id"], _num(s.get("oxidation_limit_v")),
             _num(s.get("oxidation_voltage_seed_v")), screening_note(s) or ""] for s in survivors]
    if rows:
        low = sum(1 for s in survivors if (s.get("oxidation_limit_v") or 0) < 3.7)
        blocks.append(Details(
            f"V_ox of the {len(rows)} survivors ({low} oxidise below 3.7 V vs Li)",
            [Table(["formula", "material", "V_ox vs Li (V)", "V seed (V)", "screening"], rows,
                   numeric={2, 3})]))
    return blocks


def screening_section(data: ReportData) -> Section:
    section = Section("screening", "Screening funnel and anion types (seed Fig. 1b, 2c)")
    if not data.funnels:
        section.blocks.append(Note(HINT_SCREEN))
        return section
    if data.funnel_from_screening:
        section.blocks.append(Note("No FunnelDoc stored: counts recomputed from the ScreeningDocs."))
    for funnel in data.funnels:
        name = slug(funnel.funnel_id)
        if len(data.funnels) > 1:
            section.blocks.append(Heading(f"Source: {funnel.funnel_id}"))
        section.blocks.append(FigureBlock(
            f"funnel_{name}", fg.funnel_chart(funnel.steps, f"Screening funnel: {funnel.funnel_id}"
                                             + (f" (V_ox {funnel.voltage_convention} convention)"
                                                if funnel.voltage_convention else "")),
            "Fig. 1b: materials left after each criterion (log scale), this run beside the seed's "
            "counts (MP 2022); removals split into failed rule and unknown (data missing, never a "
            "silent pass)."))
        section.blocks.append(Table(
            ["step", "rule", "survivors", "failed", "unknown", "seed survivors"],
            [[s.name, s.threshold, f"{s.survivors:,}", f"{s.failed:,}", f"{s.unknown:,}",
              "-" if s.seed_survivors is None else f"{s.seed_survivors:,}"] for s in funnel.steps],
            numeric={2, 3, 4, 5}))
        if funnel.n_skipped_records:
            section.blocks.append(Note(f"{funnel.n_skipped_records} source records could not be read "
                                       "and are not in the funnel (see FunnelDoc.skipped)."))
        if funnel.window_methods:
            methods = ", ".join(f"{k}: {v}" for k, v in funnel.window_methods.items())
            section.blocks.append(Paragraph(f"How V_ox of the survivors was obtained: {methods}."))
        section.blocks.extend(_voltage_blocks(funnel, data))
        if funnel.anion_counts:
            section.blocks.append(FigureBlock(
                f"anions_{name}", fg.anion_types(funnel.anion_counts,
                                                 f"Candidates by anion type: {funnel.funnel_id}"),
                f"Fig. 2c: the {sum(funnel.anion_counts.values())} screening survivors by anion type."))
        else:
            section.blocks.append(Note("No material survived the screening: no anion types to show."))
    return section


def study_section(data: ReportData) -> Section:
    section = Section("classifier", "Classifier accuracy and confusion (seed Fig. 3)")
    studies = data.studies
    if not studies:
        section.blocks.append(Note(HINT_TRAIN))
        return section
    present = {s.algorithm for s in studies}
    shown = [a for a in ENSEMBLE if a in present] or sorted(present)
    protocols = fg.protocols_of(studies)
    section.blocks.append(Paragraph(
        f"{len(studies)} studies on training set {studies[0].training_set_hash[:12]} "
        f"({studies[0].n_rows} rows; featuriser {studies[0].featurizer_version}). "
        f"Hyper-parameters: {studies[0].tuning}."))
    section.blocks.append(FigureBlock(
        "accuracy", fg.accuracy_distributions(studies, shown),
        "Fig. 3: validation accuracy over splits, per protocol ('random': the seed's stratified "
        "80/20 splits; 'grouped': near-identical compositions kept on one side, the honest "
        "estimate). Dashed lines: means."))
    section.blocks.append(FigureBlock(
        "confusion", fg.confusion_matrices(studies, shown),
        "Fig. 3: confusion matrices summed over all splits (rows: true class; percentages per row)."))
    if len(present) > 2:
        section.blocks.append(FigureBlock("accuracy_all", fg.accuracy_boxplot(studies),
                                          "Validation accuracy of every algorithm studied."))
    for protocol in ("random", "grouped"):
        if protocol not in protocols:
            section.blocks.append(Note(
                f"The {protocol} protocol was not run: `superionic train --protocol both` runs it."))
    missing = [a for a in ENSEMBLE if a not in present]
    if missing:
        section.blocks.append(Note(f"Not studied: {', '.join(missing)} (the surrogate's models); "
                                   "`superionic train -a gb,lgbm` studies them."))
    order = {p: i for i, p in enumerate(protocols)}
    rows = sorted(studies, key=lambda s: (order.get(s.protocol, 9), s.algorithm))
    section.blocks.append(Table(
        ["protocol", "algorithm", "splits", "ACC", "ACC max", "ACC min", "STD", "F1", "ROC-AUC",
         "seed ACC"],
        [[s.protocol, fg.algorithm_label(s.algorithm), str(s.summary.n_splits),
          _num(s.summary.acc_mean), _num(s.summary.acc_max), _num(s.summary.acc_min),
          _num(s.summary.acc_std), _num(s.summary.f1_mean), _num(s.summary.roc_auc_mean),
          _num(SEED_ACC.get(s.algorithm)) if s.protocol == "random" else "-"] for s in rows],
        numeric=set(range(2, 10))))
    if data.study_note:
        section.blocks.append(Note(data.study_note))
    return section


def votes_section(data: ReportData) -> Section:
    section = Section("votes", "Superionic votes per candidate (seed Fig. 4)")
    preds = data.classified
    skipped = [p for p in data.predictions if p.skip_reason is not None or p.votes_gb is None]
    if not preds:
        section.blocks.append(Note(HINT_PREDICT))
        if skipped:
            section.blocks.append(Note(f"{len(skipped)} stored predictions could not classify their "
                                       "composition (see their skip_reason)."))
        return section
    shown = preds[:MAX_VOTE_ROWS]
    n_hits = sum(bool(p.seed_verdict) for p in preds)
    models = Counter(p.model_id for p in preds)
    more = f" (the best {len(shown)} of {len(preds)} shown; all are in the candidates table)" if len(preds) > len(shown) else ""
    top = f"top {len(shown)} of {len(preds)}" if len(preds) > len(shown) else f"{len(preds)} candidates"
    section.blocks.append(FigureBlock(
        "votes", fg.votes_chart(shown, f"Superionic votes per candidate ({top})"),
        f"Fig. 4: votes of gradient boosting and LightGBM per candidate, ranked by mean "
        f"probability{more}. Red: superionic in all splits of both models (the seed's verdict), "
        f"{n_hits} of {len(preds)} candidates."))
    section.blocks.append(Paragraph(f"Surrogate(s): {', '.join(f'{m} ({k} candidates)' for m, k in models.items())}."))
    if skipped:
        reasons = Counter(p.skip_reason or "no votes" for p in skipped)
        section.blocks.append(Note(f"{len(skipped)} candidates could not be classified: "
                                   + "; ".join(f"{r} ({k})" for r, k in reasons.most_common(5))))
    return section


def md_section(data: ReportData) -> Section:
    section = Section("md", "MD validation: MSD and Arrhenius extrapolation")
    ids = data.md_materials
    if not ids:
        section.blocks.append(Note(HINT_MD))
        return section
    for mid in ids:
        docs = data.diffusion.get(mid, [])
        cond = data.conductivity.get(mid)
        formula = (cond.formula if cond and cond.formula else "") or (docs[0].formula if docs else "")
        shown = cond if cond else docs[0]
        engine, preset = shown.engine, shown.preset
        section.blocks.append(Heading(f"{formula} ({mid}), engine {engine}"
                                      + (f" ({shown.potential})" if shown.potential else "")
                                      + (f", preset {preset}" if preset else ""), anchor=f"md-{slug(mid)}"))
        others = data.other_protocols.get(mid)
        if others:
            section.blocks.append(Note(f"Shown: the best MD protocol stored ({shown.protocol}); also in the "
                                       f"store: {', '.join(others)} (`superionic query --all-protocols`)."))
        if preset and (preset == "quick" or preset.startswith("quick+")):
            section.blocks.append(Note("Quick (laptop) MD protocol: short runs, not converged; "
                                       "use the seed preset for numbers to quote."))
        figures = []
        if docs:
            figures.append(FigureBlock(f"msd_{slug(mid)}", fg.msd_curves(docs, f"Li MSD: {formula}"),
                                       "Li MSD per temperature (all time origins, log-log), "
                                       "framework MSD dotted, fitted 6Dt + c over the fit window; "
                                       "excluded temperatures faded."))
        figures.append(FigureBlock(f"arrhenius_{slug(mid)}", fg.arrhenius_plot(docs, cond, f"Arrhenius: {formula}"),
                                   "Li tracer D with 95 % intervals (open markers: excluded), "
                                   "weighted Arrhenius fit and its extrapolation to 300 K with the "
                                   "interval; red bar: the D that gives 1e-4 S/cm at 300 K."))
        section.blocks.append(FigureRow(figures))
        if docs:
            section.blocks.append(Table(
                ["T (K)", "ps", "D (cm2/s)", "95 % interval", "D upper bound", "fit window (ps)", "hops",
                 "used", "flags"],
                [[f"{d.temperature:g}", f"{d.duration_ps:.0f}", _num(d.diffusivity, ".2e"),
                  "-" if not d.diffusivity_ci95 else f"[{d.diffusivity_ci95[0]:.2e}, {d.diffusivity_ci95[1]:.2e}]",
                  "-" if d.d_status != "upper_bound" else f"<= {d.diffusivity_upper95:.2e}",
                  "-" if not d.fit_window else f"{d.fit_window.start_ps:.1f}-{d.fit_window.end_ps:.1f}",
                  str(d.n_hops), "yes" if d.usable else "no", str(len(d.flags))] for d in docs],
                numeric={0, 1, 2, 6, 8}))
        if cond is None:
            section.blocks.append(Note("No ConductivityDoc: the Arrhenius fit has not been stored yet "
                                       "(the MD stage of `superionic md` / `superionic run` writes it)."))
        else:
            section.blocks.append(Paragraph(f"Verdict: {cond.verdict}. {cond.verdict_reason}"))
            if cond.cross_check:
                section.blocks.append(Paragraph(f"Second opinion: {cond.cross_check}."))
        items = [f"{d.temperature:g} K: {flag}" for d in docs for flag in d.flags]
        if cond:
            items += [f"excluded from the fit: {e.temperature:g} K ({e.reason.split(':', 1)[0]})"
                      for e in cond.excluded]
            items += list(cond.flags)
        if items:
            section.blocks.append(BulletList(items))
    return section


def calibration_section(data: ReportData) -> Section | None:
    """Calibration (reliability diagram, ECE), the applicability domain and the sanity panel."""
    model = data.model
    if model is None or not model.calibration:
        return None
    from superionic.ml.calibration import CALIBRATION_WORDS, calibration_method, ece_noise_text

    cal = model.calibration
    noise = f"; {text}" if (text := ece_noise_text(cal)) else ""
    section = Section("calibration", "Calibrated probability, applicability domain, sanity panel")
    section.blocks.append(Paragraph(
        f"The ranking score is the calibrated probability: the GB + LightGBM mean probability mapped "
        f"by {CALIBRATION_WORDS[calibration_method(cal)]} fitted on {cal.get('protocol')}. On "
        f"{cal.get('n_rows')} grouped out-of-fold rows: ECE {cal.get('ece_raw', 0):.3f} raw, "
        f"{cal.get('ece_calibrated', 0):.3f} calibrated (cross-fitted{noise}); ROC-AUC "
        f"{cal.get('roc_auc', 0):.3f}; balanced accuracy {cal.get('balanced_accuracy', 0):.3f}. Applicability domain: {model.domain_rule}; a candidate "
        "outside it is flagged 'out of domain' (its probability is an extrapolation). The seed's "
        "unanimity rule (every split model of both algorithms) is reported separately as 'seed rule'."))
    section.blocks.append(FigureBlock("reliability", fg.reliability_diagram(cal),
                                      "Reliability diagram: marker area grows with the rows in the bin."))
    if model.sanity_panel:
        section.blocks.append(Table(
            ["compound", "formula", "known", "calibrated p", "verdict", "seed rule", "domain", "in training"],
            [[r["name"], r["formula"], r["known"], _num(r.get("prob_calibrated")), r.get("verdict") or "-",
              r.get("seed_rule") or "-",
              f"{'in' if r.get('in_domain') else 'out'} ({_num(r.get('domain_distance'))})",
              "yes" if r.get("in_training") else "no"] for r in model.sanity_panel],
            numeric={3}))
    return section


def problems_section(data: ReportData) -> Section | None:
    if not data.problems:
        return None
    return Section("problems", "Documents left out", [Problem(p) for p in data.problems])


BUILDERS: list[tuple[str, str, Callable[[ReportData], Section | None]]] = [
    ("summary", "Candidates", summary_section),
    ("training", "Training set", training_section),
    ("screening", "Screening funnel", screening_section),
    ("classifier", "Classifier", study_section),
    ("calibration", "Calibration", calibration_section),
    ("votes", "Votes", votes_section),
    ("md", "MD validation", md_section),
    ("problems", "Documents left out", problems_section),
]


def build_sections(data: ReportData, on_section: Callable[[str], None] | None = None) -> list[Section]:
    """Every section; an error inside one becomes a problem note there, never a crash."""
    sections = []
    for key, title, builder in BUILDERS:
        try:
            section = builder(data)
        except Exception as exc:  # noqa: BLE001 - shown in the report, logged with traceback
            logger.exception("report section %s failed", key)
            section = Section(key, title, [Problem(
                f"This section could not be drawn: {type(exc).__name__}: {exc}. The stored "
                "documents may come from another superionic version; please report this.")])
        if section is not None:
            sections.append(section)
        if on_section is not None:
            on_section(key)
    return sections
