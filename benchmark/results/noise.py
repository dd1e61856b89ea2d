"""The noise of measured numbers, shared by every judgement of result files: the claims
(``benchmark.report.claims``), the agreement with the reference (``benchmark.results.reference``),
the climbing rule (``benchmark.report.climbing``) and the plateau search (``benchmark.run.plateau``).

Noise margin of two cells (accuracy / F1; efficiency metrics are deterministic, no margin)::

    noise(c)     = sqrt(hw^2 + (1.96 * sd / sqrt(n))^2)
                   hw = half width of c.ci (95 % bootstrap over the test set; 0 if None),
                   sd, n = sample std and count of c.values (one per seed; 0 if n < 2)
    margin(a, b) = sqrt(noise(a)^2 + noise(b)^2)

Validation noise of one accuracy p (percent) on n_valid utterances: the binomial standard error
``100 * sqrt(p * (1 - p) / n_valid)``, floored at ``MIN_NOISE`` points.
"""

from __future__ import annotations

import math
import statistics

MIN_NOISE = 1.0  # accuracy points: the noise floor of ``noise_points``


def noise(cell) -> float:
    """Half width of the 95 % noise band of one cell (anything with ``ci`` and ``values``)."""
    hw = (cell.ci[1] - cell.ci[0]) / 2 if cell.ci is not None else 0.0
    v = cell.values
    se = 1.96 * statistics.stdev(v) / math.sqrt(len(v)) if len(v) >= 2 else 0.0
    return math.hypot(hw, se)


def margin(a, b) -> float:
    """The noise margin of ``a - b``: ``sqrt(noise(a)^2 + noise(b)^2)``."""
    return math.hypot(noise(a), noise(b))


def noise_points(accuracy: float, n_valid: int | None) -> float:
    """Binomial standard error (points) of an accuracy (percent) on n_valid utterances, at
    least ``MIN_NOISE``; ``MIN_NOISE`` when n_valid is unknown."""
    if not n_valid:
        return MIN_NOISE
    p = min(max(accuracy / 100.0, 0.0), 1.0)
    return max(MIN_NOISE, 100.0 * math.sqrt(p * (1 - p) / n_valid))
