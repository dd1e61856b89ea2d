"""The committed reference run: where it lives, and whether a user's cells agree with it.

``reports/reference/`` holds the result files and reports of one full ``cpu`` run made by the
maintainers (``quads-bench run --as-reference``). A user's run writes to ``reports/`` and never
into the reference; its report puts each cell beside the reference's and says whether the two
agree within the reference's noise (``agreement``: ``AGREES``, ``DIFFERS``, ``NOT_COMPARED``).
The time estimate from the reference's wall times is ``benchmark.run.reference``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from benchmark.results.noise import margin

REFERENCE_DIR = (
    Path(__file__).resolve().parents[2] / "reports" / "reference"
)  # <repo>/reports/reference
# profiles whose committed reference has a folder of its own under REFERENCE_DIR (the `cpu`
# reference predates per-profile folders and stays at the top)
PROFILE_FOLDERS = {"converged": "converged"}


def reference_dir_for(profile: str) -> Path:
    """Where the committed reference of ``profile`` lives: its results, tables, calibration."""
    return REFERENCE_DIR / PROFILE_FOLDERS[profile] if profile in PROFILE_FOLDERS else REFERENCE_DIR


# deterministic metrics agree within this relative difference (fvcore counts, file sizes)
EFFICIENCY_TOLERANCE = 0.005
# compared with the noise margin of benchmark.results.noise (bootstrap interval and seed spread)
TASK_METRICS = ("accuracy", "f1")
EFFICIENCY_METRICS = ("params_m", "size_mb", "size_file_mb", "gmacs")
# energy depends on the machine (codecarbon's TDP estimate): shown, never judged


def is_inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def check_out_dir(out_dir: Path, as_reference: bool, reference_dir: Path = REFERENCE_DIR) -> None:
    """A user's run must not write into the reference; ``--as-reference`` must write only there."""
    inside = is_inside(out_dir, reference_dir)
    if inside and not as_reference:
        raise ValueError(
            f"{out_dir} is the committed reference ({reference_dir}); a run writes to reports/ "
            "(the default) or another --out folder. Maintainers regenerate the reference with "
            "--as-reference."
        )
    if as_reference and not inside:
        raise ValueError(f"--as-reference writes into {reference_dir}, not into {out_dir}")


# --- agreement ---------------------------------------------------------------------------------

AGREES, DIFFERS, NOT_COMPARED = "agrees", "differs", "not compared"


def agreement(ours, ref) -> str:
    """Does our cell agree with the reference's? Accuracy / F1: the difference lies within the
    noise margin of the two cells (``benchmark.results.noise.margin``: bootstrap intervals and seed
    spread); efficiency: within 0.5 %; energy and unmeasured cells are not compared."""
    if ours is None or ref is None or ours.measured is None or ref.measured is None:
        return NOT_COMPARED
    if ours.metric in TASK_METRICS:
        return AGREES if abs(ours.measured - ref.measured) <= margin(ours, ref) else DIFFERS
    if ours.metric in EFFICIENCY_METRICS:
        scale = max(abs(ref.measured), 1e-12)
        ok = abs(ours.measured - ref.measured) / scale <= EFFICIENCY_TOLERANCE
        return AGREES if ok else DIFFERS
    return NOT_COMPARED


def setup_differences(ours: Sequence, reference: Sequence) -> list[str]:
    """What differs between the two runs' setups: hardware, training precision, versions."""

    def summary(results: Sequence) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {"hardware": set(), "precision": set(), "versions": set()}
        for r in results:
            hw = r.provenance.get("hardware", {})
            out["hardware"].add(
                f"{hw.get('cpu')} ({hw.get('cpu_count')} cores, GPU: {hw.get('gpu')})"
            )
            out["precision"].add(str(r.config.get("profile", {}).get("precision")))
            for name, version in sorted(r.provenance.get("versions", {}).items()):
                out["versions"].add(f"{name} {version}")
        return out

    a, b = summary(ours), summary(reference)
    lines = []
    for key in ("hardware", "precision"):
        if a[key] != b[key]:
            lines.append(
                f"{key}: ours {', '.join(sorted(a[key]))}; reference {', '.join(sorted(b[key]))}"
            )
    only_a, only_b = sorted(a["versions"] - b["versions"]), sorted(b["versions"] - a["versions"])
    if only_a or only_b:
        lines.append(f"versions: ours {', '.join(only_a)}; reference {', '.join(only_b)}")
    return lines or ["none: same hardware, precision and versions"]
