"""Report cells: one table cell per (row, bits, dataset, metric), built from result files.

``build_cells`` turns result files into ``Cell`` values in the paper's row order (several seeds
give mean, std and a bootstrap interval over the test set, resampling sentences where the result
files record them; trained cells say whether their row was still climbing); ``COLUMNS`` says how each metric is
titled and printed. A pure function of the result files.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from benchmark.data.records import RECORDING
from benchmark.metrics import at_chance, bootstrap_ci
from benchmark.paper import paper_value
from benchmark.report.climbing import climbing_kinds, levelled_when_continued
from benchmark.results.files import Result
from benchmark.rows import Experiment, experiments
from quads.mct import budget_label

# metric -> (column title, decimals, tolerance for the agreement mark in % or None)
COLUMNS: dict[str, tuple[str, int, float | None]] = {
    "params_m": ("#Param (M) ↓", 2, 0.5),
    "size_mb": ("Model Size (MB) ↓", 2, 0.5),
    "size_file_mb": ("File (MB, measured) ↓", 2, None),
    "gmacs": ("GMACs ↓ (30 s)", 2, 0.5),
    "accuracy": ("Accuracy ↑", 2, None),
    "f1": ("F1-Score ↑", 2, None),
    "energy_j": ("Energy (J/utt) ↓", 3, None),
}
TABLE2_COLUMNS = ("size_mb", "size_file_mb", "f1")
TASK_METRICS = ("accuracy", "f1")  # cells with bootstrap intervals


@dataclass(frozen=True)
class Cell:
    """One cell of a table: what we measured beside what the paper printed."""

    row: str
    bits: int
    dataset: str
    corpus: str | None
    metric: str
    measured: float | None
    paper: float | None
    note: str
    std: float | None = None
    n_seeds: int = 0
    init: str | None = None
    strategy: str | None = None
    # 95 % bootstrap interval over the test set (resampled by ``resampled_by``) of the
    # (seed-mean) value; accuracy / F1 only
    ci: tuple[float, float] | None = None
    values: tuple[float, ...] = ()  # one value per seed, in seed order
    chance: bool = False  # the row's test accuracy is indistinguishable from chance
    schedule: str | None = None  # training budget, e.g. "D4 + Q3" (distill / quantize epochs)
    # still improving when its budget ended (``climbing``); None for rows that did not train
    climbing: bool | None = None
    climbing_seeds: tuple[int, ...] = ()  # the seeds whose curve still climbed
    # the seeds flagged at the end of their budget that levelled off when continued past it
    # (``report.continued``); they are not in ``climbing_seeds``
    levelled_seeds: tuple[int, ...] = ()
    # the bootstrap's resampling unit: "recording", or the corpus' sentence unit
    # ("source_id" = SLURP slurp_id, "transcription"; ``records.sentence_unit``)
    resampled_by: str | None = None

    @classmethod
    def of_our_seeds(
        cls,
        row: str,
        bits: int,
        dataset: str,
        corpus: str | None,
        metric: str,
        values: list[float],
        note: str,
        **extra,
    ) -> Cell:
        """A cell of our own study (no paper value) from one value per seed, in seed order:
        the seed mean, the std when there are two or more, and the values themselves."""
        return cls(
            row=row,
            bits=bits,
            dataset=dataset,
            corpus=corpus,
            metric=metric,
            measured=statistics.fmean(values),
            paper=None,
            note=note,
            std=statistics.stdev(values) if len(values) > 1 else None,
            n_seeds=len(values),
            values=tuple(values),
            **extra,
        )

    def to_json(self, table: str) -> dict[str, object]:
        d: dict[str, object] = {
            "row": self.row,
            "bits": self.bits,
            "dataset": self.dataset,
            "corpus": self.corpus,
            "metric": self.metric,
            "measured": round_value(self.measured),
            "paper": self.paper,
            "note": self.note,
        }
        if table == "table2":
            d["init"] = self.init
            d["strategy"] = self.strategy
        if self.n_seeds > 1:
            d["std"] = round_value(self.std)
            d["n_seeds"] = self.n_seeds
        if self.ci is not None:
            d["ci"] = [round_value(self.ci[0]), round_value(self.ci[1])]
            d["resampled_by"] = self.resampled_by
        if self.chance:
            d["chance"] = True
        if self.schedule is not None and self.metric in TASK_METRICS:
            d["schedule"] = self.schedule
        if self.climbing is not None:
            d["climbing"] = self.climbing
            d["climbing_seeds"] = list(self.climbing_seeds)
            if self.levelled_seeds:
                d["levelled_when_continued_seeds"] = list(self.levelled_seeds)
        return d


def round_value(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def shared_groups(group_lists: Sequence[Sequence[int] | None]) -> list[int] | None:
    """The sentence ids (N,) every run stored, when all stored the same; else None (a run
    without ids, e.g. an older file, or runs on differently grouped test sets)."""
    if not group_lists or not group_lists[0] or any(g != group_lists[0] for g in group_lists):
        return None
    return list(group_lists[0])


def resampling_unit(runs: Sequence[Result]) -> str:
    """What the bootstrap resamples for these runs: the corpus' sentence unit when every file
    holds the same sentence ids (``predictions["group"]``), else "recording" (older files)."""
    if shared_groups([r.predictions.get("group") for r in runs]) is None:
        return RECORDING
    return str(runs[0].data.get("sentence_unit", "sentence"))


def _uncertainty(runs: Sequence[Result]) -> tuple[dict[str, tuple[float, float]], bool, str]:
    """Bootstrap intervals of the seed-mean accuracy / F1, whether the row is at chance
    (``metrics.at_chance`` of their lower ends) and the resampling unit. Empty without stored
    predictions."""
    preds = [r.predictions for r in runs if r.predictions.get("pred")]
    if not preds or len(preds) != len(runs):
        return {}, False, RECORDING
    truth = preds[0]["truth"]
    if any(p["truth"] != truth for p in preds):
        return {}, False, RECORDING
    unit = resampling_unit(runs)
    groups = None if unit == RECORDING else preds[0]["group"]
    num_classes = runs[0].config.get("num_classes")
    ci = bootstrap_ci(truth, [p["pred"] for p in preds], groups=groups, num_classes=num_classes)
    return ci, at_chance(truth, ci["accuracy"][0], ci["f1"][0]), unit


def _climbing(runs: Sequence[Result]) -> tuple[bool | None, tuple[int, ...]]:
    """Whether any seed of a row still climbed (``climbing``), and which; None if none trained."""
    kinds = [(r.seed, climbing_kinds(r)) for r in runs]
    trained = [(seed, k) for seed, k in kinds if k is not None]
    if not trained:
        return None, ()
    seeds = tuple(seed for seed, k in trained if k)
    return bool(seeds), seeds


def _schedule(runs: Sequence[Result], exp: Experiment) -> str | None:
    phases = runs[0].training.get("phases") if runs else None
    if not phases:
        return None
    return budget_label(phases) + (" + PTQ" if exp.strategy == "PTQ" else "")


@dataclass(frozen=True)
class Selection:
    """The rows and datasets a run selected (``--rows``, ``--datasets``; None: all of them)."""

    rows: tuple[str, ...] | None = None
    datasets: tuple[str, ...] | None = None


def not_run_note(exp: Experiment, selection: Selection | None) -> str:
    """Why a cell has no result file: not selected with a flag when the selection is known,
    else the neutral wording (the report does not know whether the run selected it)."""
    if selection is not None:
        if selection.rows is not None and exp.row not in selection.rows:
            return "not run in this run: not selected with --rows"
        if selection.datasets is not None and exp.dataset not in selection.datasets:
            return "not run in this run: not selected with --datasets"
    return "not run in this run (not selected, or no result file)"


def build_cells(
    table: str, results: Sequence[Result], selection: Selection | None = None
) -> list[Cell]:
    """Cells in the paper's row order; several seeds of one cell give mean and std. A cell
    without result files says why (``not_run_note``: ``selection`` is the run's, when known)."""
    by_exp: dict[Experiment, list[Result]] = defaultdict(list)
    for r in results:
        by_exp[r.experiment].append(r)
    metrics = tuple(COLUMNS) if table == "table1" else TABLE2_COLUMNS
    cells = []
    for exp in experiments(table):
        runs = sorted(by_exp.get(exp, []), key=lambda r: r.seed)
        ci, chance, unit = _uncertainty(runs)
        schedule = _schedule(runs, exp)
        climbing, climbing_seeds = _climbing(runs)
        levelled = tuple(r.seed for r in runs if levelled_when_continued(r))
        for metric in metrics:
            values = [r.metrics.get(metric) for r in runs]
            values = [v for v in values if v is not None]
            notes = sorted({r.notes[metric] for r in runs if metric in r.notes})
            note = "; ".join(notes) if runs else not_run_note(exp, selection)
            task = metric in TASK_METRICS and bool(values)
            cells.append(
                Cell(
                    row=exp.row,
                    bits=exp.bits,
                    dataset=exp.dataset,
                    corpus=runs[0].corpus if runs else None,
                    metric=metric,
                    measured=statistics.fmean(values) if values else None,
                    paper=paper_value(
                        table, exp.row, exp.bits, exp.dataset, metric, exp.init, exp.strategy
                    ),
                    note=note,
                    std=statistics.stdev(values) if len(values) > 1 else None,
                    n_seeds=len(values),
                    init=exp.init if table == "table2" else None,
                    strategy=exp.strategy if table == "table2" else None,
                    ci=ci.get(metric) if task else None,
                    values=tuple(values),
                    chance=chance and task,
                    schedule=schedule,
                    climbing=climbing if task else None,
                    climbing_seeds=climbing_seeds if task else (),
                    levelled_seeds=levelled if task else (),
                    resampled_by=unit if task and metric in ci else None,
                )
            )
    return cells


def cell_key(c: Cell) -> tuple:
    return (c.row, c.bits, c.dataset, c.metric, c.init, c.strategy)
