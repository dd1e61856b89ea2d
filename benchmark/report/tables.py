"""Result files -> Markdown tables and JSON cells. A pure function of the result files.

Regenerating from the same result files gives byte-identical output: nothing here reads the clock,
the machine or the environment; provenance comes from the result files themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tabulate import tabulate

from benchmark.paper import DATASETS
from benchmark.profiles import PROFILES
from benchmark.report.cells import (
    COLUMNS,
    TABLE2_COLUMNS,
    Cell,
    Selection,
    build_cells,
    cell_key,
    round_value,
)
from benchmark.report.claims import render_claims, table1_claims, table2_claims
from benchmark.report.climbing import (
    CONTINUED_RULE_TEXT,
    RULE_TEXT,
    climbing_kinds,
    levelled_when_continued,
)
from benchmark.report.continued import (
    CONTINUED,
    TWIN,
    attach,
    attach_twins,
    load_evidence,
    load_twins,
)
from benchmark.report.deviations import deviation_lines
from benchmark.report.strict_json import write_strict_json
from benchmark.results.files import Result
from benchmark.results.identity import precisions
from benchmark.results.reference import (
    AGREES,
    DIFFERS,
    NOT_COMPARED,
    agreement,
    setup_differences,
)
from benchmark.rows import AUTHORS_ROW, AUTHORS_STRATEGY, PTQ_ROW, experiments


class Comparison:
    """A user's cells beside the committed reference's (``benchmark.results.reference``); absent when a
    report renders the reference itself."""

    MARKS = {AGREES: "≈", DIFFERS: "≠", NOT_COMPARED: ""}

    def __init__(self, table: str, reference: Sequence[Result]) -> None:
        self.reference = list(reference)
        self.cells = {cell_key(c): c for c in build_cells(table, self.reference)}

    def ref(self, cell: Cell) -> Cell | None:
        return self.cells.get(cell_key(cell))

    def verdict(self, cell: Cell) -> str:
        return agreement(cell, self.ref(cell))

    def text(self, cell: Cell) -> str:
        ref = self.ref(cell)
        if ref is None or ref.measured is None:
            return " · ref n/m"
        decimals = COLUMNS[cell.metric][1]
        return f" · ref {ref.measured:.{decimals}f}{self.MARKS[self.verdict(cell)]}"

    def json_fields(self, cell: Cell) -> dict[str, object]:
        ref = self.ref(cell)
        return {
            "reference": round_value(ref.measured) if ref is not None else None,
            "agreement": self.verdict(cell),
        }

    def section(self, cells: Sequence[Cell], results: Sequence[Result]) -> list[str]:
        verdicts = [
            (c, self.verdict(c))
            for c in cells
            if c.measured is not None or (self.ref(c) and self.ref(c).measured is not None)
        ]
        counts = {v: sum(1 for _, x in verdicts if x == v) for v in (AGREES, DIFFERS, NOT_COMPARED)}
        commits = sorted({str(r.provenance.get("commit")) for r in self.reference})
        lines = [
            "## Agreement with the reference",
            "",
            f"The reference is the committed run in `reports/reference/` (commit(s) "
            f"{', '.join(f'`{c}`' for c in commits) or '–'}). Each cell shows `ref <value>` with "
            "≈ where ours agrees with it and ≠ where it does not: accuracy / F1 within the noise "
            "margin of the two cells (bootstrap intervals and seed spread, as for the claims), "
            "#params, sizes and GMACs within 0.5 %; energy depends on the machine and is not "
            "compared.",
            "",
            f"- {counts[AGREES]} cells agree, {counts[DIFFERS]} differ, {counts[NOT_COMPARED]} "
            "are not compared (energy, or not measured on one side).",
        ]
        differ = [(c, self.ref(c)) for c, v in verdicts if v == DIFFERS]
        if differ:
            lines.append(
                "- Differ: "
                + "; ".join(
                    f"{c.row} {c.bits} bit{'' if c.init is None else f' ({c.init}, {c.strategy})'} "
                    f"{c.dataset} {c.metric}: {c.measured:.2f} vs {r.measured:.2f}"
                    for c, r in differ
                )
                + "."
            )
        lines.append(
            "- Setup differences: " + "; ".join(setup_differences(results, self.reference)) + "."
        )
        return [*lines, ""]


def format_cell(cell: Cell, footnotes: dict[str, int], comparison: Comparison | None = None) -> str:
    title, decimals, tol = COLUMNS[cell.metric]
    paper = "–" if cell.paper is None else f"{cell.paper:g}"
    ref = comparison.text(cell) if comparison is not None else ""
    if cell.measured is None:
        note = footnotes.setdefault(cell.note or "not measured", len(footnotes) + 1)
        return f"n/m [{note}]{ref} · paper {paper}"
    text = f"{cell.measured:.{decimals}f}"
    if cell.std is not None:
        text += f" ± {cell.std:.{decimals}f}"
    if cell.ci is not None:
        text += f" [{cell.ci[0]:.1f}, {cell.ci[1]:.1f}]"
    if cell.chance:
        text += " (chance)"
    if cell.climbing:
        text += " ↗"
    text += ref
    if cell.paper is None:
        return f"{text} · paper –"
    diff = (cell.measured - cell.paper) / cell.paper * 100 if cell.paper else 0.0
    mark = " ✓" if tol is not None and abs(diff) <= tol else ""
    return f"{text} · paper {paper} ({diff:+.1f} %){mark}"


DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # a result file's provenance.date (benchmark.run.provenance)


def _when(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def run_span(results: Sequence[Result]) -> str:
    """When the runs behind ``results`` started and ended: a result file stores its end
    (``provenance.date``) and its duration (``wall_seconds``), so a run started at date -
    wall_seconds."""
    ends = [(_when(str(r.provenance.get("date"))), r.wall_seconds) for r in results]
    if not ends or any(end is None for end, _ in ends):
        dates = sorted(str(r.provenance.get("date")) for r in results)
        return f"- Results written between {dates[0]} and {dates[-1]}"
    start = min(end - timedelta(seconds=float(wall or 0.0)) for end, wall in ends)
    end = max(end for end, _ in ends)
    return (
        f"- Run from {start.strftime(DATE_FORMAT)} (start of the first run) to "
        f"{end.strftime(DATE_FORMAT)} (end of the last)"
    )


def compute_line(results: Sequence[Result]) -> str:
    """The run-minutes behind ``results``: the sum of their wall times (``wall_seconds``, the
    process that wrote each file), with what that sum leaves out."""
    minutes = sum(float(r.wall_seconds or 0.0) for r in results) / 60
    how = [(r.training or {}).get("resumed_from") for r in results]
    resumed, shared = how.count("checkpoint"), how.count("prefix cache")
    left_out = []
    if resumed:
        left_out.append(f"{resumed} resumed from an epoch checkpoint count only their last segment")
    if shared:
        left_out.append(f"{shared} reuse a first phase another row trained, which counts it once")
    return (
        f"- Compute: {minutes:.0f} run-minutes (the sum of the result files' wall times"
        + (f"; {'; '.join(left_out)}" if left_out else "")
        + ")"
    )


def corpora_of(results: Sequence[Result]) -> tuple[str, ...]:
    return tuple(sorted({r.corpus for r in results}))


def _provenance_lines(results: Sequence[Result], profile: str) -> list[str]:
    if not results:
        return [f"- Profile: `{profile}`", "- No result files yet."]
    commits = sorted({str(r.provenance.get("commit")) for r in results})
    versions = sorted(
        {
            ", ".join(f"{k} {v}" for k, v in sorted(r.provenance.get("versions", {}).items()))
            for r in results
        }
    )
    hardware = sorted(
        {
            "{cpu} ({cpu_count} cores, {torch_threads} torch threads, GPU: {gpu})".format(
                **r.provenance.get("hardware", {})
            )
            for r in results
        }
    )
    corpora = sorted({r.corpus for r in results})
    seeds = sorted({r.seed for r in results})
    return [
        f"- Profile: `{profile}`; corpora: {', '.join(f'`{c}`' for c in corpora)}; seeds: {seeds}",
        f"- Training precision: {' and '.join(precisions(results)) or 'not recorded'} "
        "(result files of another precision are never averaged into these cells)",
        f"- Commit(s): {', '.join(f'`{c}`' for c in commits)}",
        run_span(results),
        f"- Versions: {'; '.join(versions)}",
        f"- Hardware: {'; '.join(hardware)}",
        f"- Result files: {len(results)}",
    ]


def _notes_section(
    notes: Sequence[str], footnotes: dict[str, int], extra: Sequence[str] = ()
) -> list[str]:
    lines = ["## Notes", "", *(f"- {n}" for n in notes), *extra]
    if footnotes:
        lines += ["", "Why cells are not measured:", ""]
        lines += [f"{i}. {text}" for text, i in footnotes.items()]
    return [*lines, ""]


TABLE1_NOTES = (
    "Each cell reads `ours · paper value (relative difference)`; ✓ marks agreement within 0.5 % "
    "(efficiency columns only). `n/m` = not measured, with the reason in the numbered notes.",
    "Accuracy and F1 cells read `mean ± std over seeds [95 % bootstrap interval]`: the interval "
    "resamples the test set (1000 resamples) by the unit the header names (whole sentences with "
    "all their recordings where the result files record sentence ids, else recordings) and "
    "scores the seed-mean, so it shows the test-set noise; the std shows the seed spread. "
    "`(chance)` marks a row whose accuracy interval reaches the most-frequent-class rate; ↗ a "
    "row still climbing when its budget ended (rule in the notes below).",
    "Budget: training epochs of the row, e.g. `D2 + Q3` = 2 distillation + 3 quantization "
    "epochs, `FT3` = 3 fine-tuning epochs. Equal budgets: every QUADS bit width, the PTQ control "
    "and every Table 2 strategy distill for the same epochs, and the QUADS rows train for the "
    "same epochs in all, so a difference between them is the cost of quantization.",
    "#Param counts trainable parameters (Whisper's sinusoidal positional table is frozen). Model "
    "size is the paper's formula, #params × bits / 8 / 2^20 (MiB, no codebook overhead). File "
    "(MB, measured) is the size of the exported file of a quantized row, each tensor in its "
    "smallest lossless form: packed b-bit indices + codebook at 4 and 8 bits, fp16 values at 16 "
    "bits (a 16-bit model is stored and evaluated with fp16 weights; 65,536-entry codebooks "
    "would be larger than fp16).",
    "QUADS at 32 bits is MCT's float twin: the same phases and epochs as the quantized rows, "
    "with CE fine-tuning of the float weights in place of each quantization phase, so the 16/8/4 "
    "bit rows differ from it only by quantization.",
    f"{PTQ_ROW}: our control, not a row of the paper: the 32-bit QUADS student quantized with "
    "k-means codebooks and no retraining, so the pure quantization error sits beside MCT's.",
    f"{AUTHORS_ROW}: not a row of the paper: the authors' code (github BASHLab/QUADS, train.py) "
    "as a strategy of its own: one k-means per weight tensor before training, labels never "
    "recomputed; distillation epochs on float weights (Adam 1e-5 / 1e-3, 1e-6 · L1 + CE); "
    "quantization epochs on CE with a fresh SGD (0.01, momentum 0.9, cosine of period 6 steps) "
    "each epoch, every weight reset to its cluster's mean after every step. Its epochs are the "
    "authors' D3 Q3 D6 Q8 scaled to the row's budget (same D and Q as MCT: D1 = round(D/3), "
    "Q1 = round(3Q/11)).",
    "GMACs: fvcore, one utterance at 80 × 3000 log-mel frames (30 s, the paper's setting), eager "
    "attention so the attention matmuls are counted; cross-checked against "
    "torch.utils.flop_counter (within 0.2 %, it skips layer_norm).",
    "Energy: codecarbon offline tracker, inference at batch 1 at the profile's input length, CPU + "
    "RAM energy per utterance, measured once per model and class count in a run. On machines "
    "without RAPL access codecarbon estimates CPU power from load × TDP (mode in `table1.json` "
    "notes), so treat it as an estimate. Quantized rows compute with dequantized fp32 weights "
    "here, so their energy is the float student's; the paper's energy savings from low bit "
    "widths are not measurable on this path.",
    "The paper's SLURP QUADS row (7.25 M params, 15.6 GMACs) matches no Whisper-tiny-sized "
    "configuration we tried, while its FSC row (7.64 M, 18.48 GMACs) is exactly a tiny encoder "
    "with a 31-class head at 30 s; a tiny student for SLURP's class count has about 7.65 M. The "
    "paper's Table 2 sizes also disagree with Table 1 (FSC MCT 16-bit: 37.83 MB vs 14.58 MB).",
)


def _run_label(r: Result) -> str:
    e = r.experiment
    return f"{e.row} {e.bits} bit" + (f" ({e.init}, {e.strategy})" if e.table == "table2" else "")


def _climbing_runs(results: Sequence[Result]) -> tuple[dict[tuple[str, str], list[str]], int]:
    """(dataset, row label) -> ["seed s (kinds)", ...] of runs still climbing, and the number
    of trained (row, seed) runs."""
    climbing: dict[tuple[str, str], list[str]] = defaultdict(list)
    trained = 0
    for r in sorted(results, key=lambda r: r.seed):
        kinds = climbing_kinds(r)
        if kinds is None:
            continue
        trained += 1
        if kinds:
            continued = r.training.get(CONTINUED)
            past = (
                f"; still rising {continued['epochs']} epochs past the budget" if continued else ""
            )
            climbing[(r.experiment.dataset, _run_label(r))].append(
                f"{r.seed} ({' + '.join(kinds)}{past}{_twin_text(r.training.get(TWIN))})"
            )
    return climbing, trained


TWIN_TEXT = (
    "A twin is that run trained again in another precision on a machine that could not make the "
    "result file's configuration, then continued to the cap (`quads-bench continue --twin`): "
    "evidence about the recipe, not about the run, so its cell stays climbing."
)


def _twin_text(twin: dict | None) -> str:
    """What a climbing run's twin (``report.continued.load_twins``) showed; "" without one."""
    if not twin:
        return ""
    verdict = "still rising" if twin.get("climbing") else "levelled off"
    return (
        f"; its {twin['precision']} twin, another configuration: {verdict} "
        f"{twin['epochs']} epochs past its budget, best {max(twin['continued']):.1f} % "
        f"(`{twin['source']}`)"
    )


def _continuation_reports(results: Sequence[Result], table: str) -> str:
    """The continuation reports the tables' evidence came from, as Markdown code spans."""
    sources = sorted(
        {(r.training.get(CONTINUED) or {}).get("source") for r in results} - {None}
    ) or [f"continuation-{table}.md"]
    return " and ".join(f"`{s}`" for s in sources)


def _levelled_runs(results: Sequence[Result]) -> dict[tuple[str, str], list[str]]:
    """(dataset, row label) -> ["s", ...]: seeds flagged at the end of their budget that
    levelled off when continued past it (``report.continued``)."""
    levelled: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in sorted(results, key=lambda r: r.seed):
        if levelled_when_continued(r):
            levelled[(r.experiment.dataset, _run_label(r))].append(str(r.seed))
    return levelled


def _listing(runs: dict[tuple[str, str], list[str]]) -> str:
    return "; ".join(
        f"{label} on {ds} (seed {', '.join(seeds)})" for (ds, label), seeds in sorted(runs.items())
    )


QUICK_LOOK = 0.25  # above this share of climbing runs, the header calls the verdicts a quick look
QUICK_LOOK_TEXT = (
    " The verdicts below are a quick look at students that had not finished learning, not "
    "conclusions about converged ones."
)
# a profile whose budgets were chosen from the float student's validation plateau (`converged`)
PLATEAU_BUDGET_TEXT = (
    " Their budget is the epoch where the float student's validation accuracy plateaued "
    "(`quads-bench plateau`, equal for every strategy and bit width): a run that ends where that "
    "plateau starts cannot show it in its own curve, and MCT's float and quantized epochs each "
    "see only part of the budget. The verdicts below judge students at this budget; a verdict "
    "detail marks each climbing cell it reads ↗: more training could change that comparison."
)


def _budget_from_plateau(profile: str) -> bool:
    """Whether ``profile``'s per-dataset budgets were chosen from data (the plateau study)."""
    known = PROFILES.get(profile)
    return bool(known is not None and known.budgets)


def _header_lines(results: Sequence[Result], cells: Sequence[Cell], profile: str) -> list[str]:
    """The climbing count and the bootstrap's resampling unit per dataset."""
    climbing, trained = _climbing_runs(results)
    n = sum(len(v) for v in climbing.values())
    lines = []
    if trained:
        levelled = sum(len(v) for v in _levelled_runs(results).values())
        text = (
            f"- Still climbing: {n} of {trained} trained (row, seed) runs were still improving "
            "when their budget ended (rule and list in the notes; cells marked ↗)."
        )
        if levelled:
            text = (
                f"- Still climbing: {n} of {trained} trained (row, seed) runs. {n + levelled} "
                f"were still improving when their budget ended; {levelled} of them levelled off "
                "when continued past it (`quads-bench continue`, validation only) and count as "
                "not climbing (rule and lists in the notes; cells marked ↗)."
            )
        if n > QUICK_LOOK * trained:
            text += PLATEAU_BUDGET_TEXT if _budget_from_plateau(profile) else QUICK_LOOK_TEXT
        lines.append(text)
    return lines + resampling_lines(cells)


def resampling_lines(cells: Sequence[Cell]) -> list[str]:
    """The header's line naming the bootstrap's resampling unit of each dataset's cells."""
    units = []
    for ds in DATASETS:
        used = sorted({c.resampled_by for c in cells if c.dataset == ds and c.resampled_by})
        if used:
            units.append(f"{ds}: {', '.join(UNIT_TEXT.get(u, u) for u in used)}")
    return ["- Bootstrap resampling unit: " + "; ".join(units) + "."] if units else []


UNIT_TEXT = {
    "recording": "recording (the result files hold no sentence ids, so recordings of one "
    "sentence are resampled as if independent and the intervals may be too narrow)",
    "source_id": "sentence (SLURP `slurp_id`: all recordings of a drawn sentence)",
    "transcription": "sentence (same transcription, case and punctuation ignored: all "
    "recordings of a drawn phrasing)",
}


def _learning_curve_lines(results: Sequence[Result], table: str) -> list[str]:
    """The climbing rule and the runs it flags; with continuation evidence, its rule and the
    runs that levelled off when continued."""
    climbing, _ = _climbing_runs(results)
    levelled = _levelled_runs(results)
    continued = any(r.training.get(CONTINUED) for r in results)
    lines = [f"- Learning curves: {RULE_TEXT}"]
    if continued:
        lines[0] += " " + CONTINUED_RULE_TEXT.format(table=table)
    if not climbing:
        lines.append("- No trained run was still climbing when its budget ended.")
    else:
        lines.append(
            (
                "- Still climbing when the budget ended, and where continued past it, in the "
                "continued epochs (the kind of model whose curve climbs in brackets; the curves "
                "are in the result files, `training.history`, the continued epochs in "
                f"{_continuation_reports(results, table)}): "
                if continued
                else "- Still climbing when the budget ended (the kind of model whose curve "
                "climbs in brackets; the curves are in the result files, `training.history`): "
            )
            + _listing(climbing)
            + "."
        )
        if any(r.training.get(TWIN) for r in results):
            lines[-1] += " " + TWIN_TEXT
    if levelled:
        lines.append(
            "- Flagged at the end of the budget, levelled off when continued (the continued "
            f"curves are in {_continuation_reports(results, table)}): " + _listing(levelled) + "."
        )
    return lines


def _cells_json(
    table: str, cells: Sequence[Cell], comparison: Comparison | None
) -> list[dict[str, object]]:
    out = []
    for c in cells:
        d = c.to_json(table)
        if comparison is not None:
            d.update(comparison.json_fields(c))
        out.append(d)
    return out


CURVES_LINES = (
    "## Learning curves",
    "",
    "Validation accuracy per epoch of the claim rows (mean over seeds; ○ float student, ■ "
    "quantized student; ↗ a row still climbing, see the notes):",
    "",
)


def _curve_lines(table: str) -> list[str]:
    return [*CURVES_LINES, f"![learning curves]({table}_curves.png)", ""]


def render_table1(
    results: Sequence[Result],
    profile: str,
    comparison: Comparison | None = None,
    selection: Selection | None = None,
) -> tuple[str, list[dict[str, object]]]:
    cells = build_cells("table1", results, selection)
    footnotes: dict[str, int] = {}
    lines = [
        "# Table 1: QUADS vs prior methods (reproduced)",
        "",
        "Generated by `quads-bench report` from result files; do not edit by hand.",
        "",
        *_provenance_lines(results, profile),
        *([compute_line(results)] if results else []),
        *_header_lines(results, cells, profile),
        "",
    ]
    index = {(c.row, c.bits, c.dataset, c.metric): c for c in cells}
    exps = experiments("table1")
    for ds in DATASETS:
        corpora = sorted({c.corpus for c in cells if c.dataset == ds and c.corpus})
        ran_on = f" (ran on {', '.join(f'`{c}`' for c in corpora)})" if corpora else ""
        lines += [f"## {ds}{ran_on}", ""]
        rows = []
        for exp in (e for e in exps if e.dataset == ds):
            budget = index[(exp.row, exp.bits, ds, "f1")].schedule or "–"
            rows.append(
                [exp.row, exp.bits, budget]
                + [
                    format_cell(index[(exp.row, exp.bits, ds, m)], footnotes, comparison)
                    for m in COLUMNS
                ]
            )
        headers = ["Baseline", "Bits", "Budget"] + [COLUMNS[m][0] for m in COLUMNS]
        lines += [tabulate(rows, headers=headers, tablefmt="github"), ""]
    if comparison is not None:
        lines += comparison.section(cells, results)
    lines += render_claims(table1_claims(cells), corpora_of(results))
    lines += deviation_lines()
    lines += [
        "## Figure",
        "",
        "F1 against energy per utterance, bubble area = model size (the paper's Figure 3):",
        "",
        "![F1 vs energy per utterance](figure3.png)",
        "",
        *_curve_lines("table1"),
    ]
    lines += _notes_section(TABLE1_NOTES, footnotes, _learning_curve_lines(results, "table1"))
    return "\n".join(lines), _cells_json("table1", cells, comparison)


TABLE2_NOTES = (
    "Each cell reads `ours · paper value (relative difference)`; `n/m` = not measured, with the "
    "reason in the numbered notes. F1 cells read `mean ± std over seeds [95 % bootstrap "
    "interval over the test set, resampled by the unit the header names]`; `(chance)` marks a "
    "row whose accuracy interval reaches the most-frequent-class rate; ↗ a row still climbing "
    "when its budget ended (rule in the notes below).",
    "Equal budgets (the Budget column): every strategy distills for the same epochs; QaD and MCT "
    "also quantize for the same epochs, so two strategies differ only in the order of their "
    "phases. Distillation: two distillation phases. Quantization after Distillation: the same "
    "distillation, then all quantization epochs. MCT: alternating distillation and quantization "
    "phases (at least two iterations), then the final quantization phase, in which the cluster "
    "assignments are frozen (no re-clustering) and only the centroids train. All strategies "
    "share their first distillation phase (computed once).",
    f"{AUTHORS_STRATEGY} (ours, not the paper's rows): the authors' train.py with the same D and "
    "Q: one k-means before training whose labels are never recomputed, float distillation "
    "epochs, and quantization epochs that reset every weight to its cluster's mean after each "
    "SGD step (see Table 1's notes). It does not share the first distillation phase (its "
    "weights are snapped to the k-means first).",
    "Model size is the paper's formula, #params × bits / 8 / 2^20 for the student "
    "(Whisper-tiny-sized encoder + head); File (MB, measured) is the exported file of a "
    "quantized row (fp16 values at 16 bits, packed indices + codebooks at 4 bits). The paper's "
    "Table 2 sizes do not follow from its Table 1 (e.g. FSC MCT 16-bit: 37.83 MB in Table 2 vs "
    "14.58 MB in Table 1; Distillation 16-bit: 137.39 MB), so size cells are not expected to "
    "agree.",
    "Distillation (16 bit): the distilled float student (distillation epochs only), evaluated "
    "with its weights rounded to fp16; Table 1's 32-bit QUADS row is another student (MCT's float "
    "twin, with fine-tuning epochs in place of the quantization epochs).",
    "Random initialisation trains the same student from scratch; pre-trained starts from "
    "Whisper tiny.en (offline package) — the teacher is named in the provenance above.",
    "Every row's schedule (phases, epochs, optimizer, learning rates) and per-epoch validation "
    "accuracy are in its result file (`training.phases`, `training.history`); the model "
    "reported is the best-on-validation epoch of the final phase.",
)


def render_table2(
    results: Sequence[Result],
    profile: str,
    comparison: Comparison | None = None,
    selection: Selection | None = None,
) -> tuple[str, list[dict[str, object]]]:
    cells = build_cells("table2", results, selection)
    footnotes: dict[str, int] = {}
    index = {(c.init, c.bits, c.strategy, c.dataset, c.metric): c for c in cells}
    teachers = sorted({str(r.config.get("profile", {}).get("teacher")) for r in results})
    lines = [
        "# Table 2: initialisation × training strategy (reproduced)",
        "",
        "Generated by `quads-bench report` from result files; do not edit by hand.",
        "",
        *_provenance_lines(results, profile),
        *([compute_line(results)] if results else []),
        f"- Teacher: Whisper {', '.join(teachers) if results else '–'} (frozen, pooled features)",
        *_header_lines(results, cells, profile),
        "",
    ]
    rows, seen = [], set()
    for exp in experiments("table2"):
        key = (exp.init, exp.bits, exp.strategy)
        if key in seen:
            continue
        seen.add(key)
        row = [exp.init, exp.bits, exp.strategy, index[(*key, DATASETS[0], "f1")].schedule or "–"]
        for ds in DATASETS:
            for metric in TABLE2_COLUMNS:
                row.append(format_cell(index[(*key, ds, metric)], footnotes, comparison))
        rows.append(row)
    headers = ["Initialization", "Bits", "Training Strategy", "Budget"] + [
        f"{ds} {COLUMNS[m][0]}" for ds in DATASETS for m in TABLE2_COLUMNS
    ]
    lines += [tabulate(rows, headers=headers, tablefmt="github"), ""]
    if comparison is not None:
        lines += comparison.section(cells, results)
    lines += render_claims(table2_claims(cells), corpora_of(results))
    lines += deviation_lines()
    lines += _curve_lines("table2")
    lines += _notes_section(TABLE2_NOTES, footnotes, _learning_curve_lines(results, "table2"))
    return "\n".join(lines), _cells_json("table2", cells, comparison)


def write_report(
    table: str,
    results: Iterable[Result],
    profile: str,
    out_dir: Path,
    reference: Sequence[Result] | None = None,
    excluded: Sequence[str] = (),
    selection: Selection | None = None,
    continued: Sequence[dict] | None = None,
    twins: Sequence[dict] | None = None,
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<table>.md`` and ``<out_dir>/<table>.json``; returns both paths.

    ``reference``: the committed reference's results of the same table and profile, shown beside
    ours with a per-cell agreement mark and an "Agreement with the reference" section.
    ``excluded``: result files left out (``results.scan_results``), listed at the end.
    ``selection``: the rows and datasets the run selected, when known (cells of the others say
    "not selected with --rows"; without it, the wording is neutral).
    ``continued``: the continuation check's runs (``report.continued``); None: those recorded in
    ``<out_dir>/continuation-<table>.json`` and ``<out_dir>/to-the-cap/``, if any (the
    reference folder keeps them there).
    ``twins``: twins continued to the cap (``report.continued.load_twins``), named beside the
    climbing runs they are twins of; None: those in ``<out_dir>/to-the-cap-<precision>/``."""
    if continued is None:
        continued = load_evidence(out_dir, table, profile)
    results, unmatched = attach(list(results), continued)
    if twins is None:
        twins = load_twins(out_dir, table, profile)
    results = attach_twins(results, twins)
    renderers = {"table1": render_table1, "table2": render_table2}
    if table not in renderers:
        raise ValueError(f"no renderer for {table!r}; known: {', '.join(renderers)}")
    comparison = Comparison(table, reference) if reference else None
    markdown, cells = renderers[table](results, profile, comparison, selection)
    if excluded:
        markdown += "\n".join(
            [
                "## Excluded result files",
                "",
                "Left out of every table above (fix or delete them, then render again):",
                "",
                *(f"- {line}" for line in excluded),
                "",
            ]
        )
    if unmatched:
        markdown += "\n".join(
            [
                "## Continued runs without a result file",
                "",
                f"In `continuation-{table}.json` (or `to-the-cap/`) but matching no result file "
                "above (another run of that name, or its file left out); not used:",
                "",
                *(f"- {line}" for line in unmatched),
                "",
            ]
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path, json_path = out_dir / f"{table}.md", out_dir / f"{table}.json"
    md_path.write_text(markdown)
    write_strict_json(json_path, cells, indent=1, ensure_ascii=False)
    from benchmark.report.curves import write_curves

    write_curves(table, results, out_dir / f"{table}_curves.png")
    if table == "table1":
        from benchmark.report.figure import write_figure

        write_figure(build_cells("table1", results), out_dir / "figure3.png")
    return md_path, json_path
