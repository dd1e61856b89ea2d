"""Mixed-precision assignment under a size budget: a greedy knapsack over per-tensor bit widths.

Inputs per covered tensor (``quads.mixed.TensorCost``): bytes and k-means error at each level,
and its sensitivity ``drop`` = macro-F1 drop on the validation split when it alone is quantized
to the lowest level (``benchmark.frontier.sensitivity``). The F1 drop at a higher level is
estimated by scaling with the tensor's own quantization error:

    est(t, b) = max(drop_t, DROP_FLOOR) * mse_t(b) / mse_t(levels[0])

Greedy: every tensor starts at the lowest level; repeatedly the upgrade to the next level with the
largest estimated gain per extra byte that still fits the budget is taken (ties: model order), until
none fits. So the most sensitive tensors get the most bits. Deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from quads.mixed import TensorCost

LEVELS = (2, 3, 4, 8)
# F1 points: drops at or below it (noise, or a drop < 0) all count as this small sensitivity, so
# such tensors are ordered by the error they would lose per byte
DROP_FLOOR = 0.01


def estimated_drop(cost: TensorCost, drop: float, bits: int, levels: Sequence[int]) -> float:
    """est(t, b) of the module docstring (F1 points)."""
    low = cost.mse[levels[0]]
    ratio = cost.mse[bits] / low if low > 0 else 0.0
    return max(drop, DROP_FLOOR) * ratio


def greedy_upgrades(
    costs: Sequence[TensorCost],
    drops: Mapping[str, float],
    budget_bytes: int,
    levels: Sequence[int] = LEVELS,
) -> list[tuple[str, int]]:
    """The greedy's upgrades in the order taken, [(tensor, new bits)]; applying the first k of them
    to the all-lowest assignment gives the assignment after k steps. Raises ``ValueError`` when the
    all-lowest assignment alone exceeds the budget or a tensor has no drop."""
    missing = [c.name for c in costs if c.name not in drops]
    if missing:
        raise ValueError(f"no sensitivity for tensor(s) {missing[:3]}")
    level = {c.name: 0 for c in costs}
    spent = sum(c.nbytes[levels[0]] for c in costs)
    if spent > budget_bytes:
        raise ValueError(
            f"the all-{levels[0]}-bit model's covered tensors take {spent} bytes, more than the "
            f"budget of {budget_bytes}"
        )
    steps: list[tuple[str, int]] = []
    while True:
        best = None  # (gain per byte, -model order, cost)
        for order, c in enumerate(costs):
            i = level[c.name]
            if i + 1 >= len(levels):
                continue
            b0, b1 = levels[i], levels[i + 1]
            extra = c.nbytes[b1] - c.nbytes[b0]
            if spent + extra > budget_bytes:
                continue
            gain = estimated_drop(c, drops[c.name], b0, levels) - estimated_drop(
                c, drops[c.name], b1, levels
            )
            key = (gain / max(extra, 1), -order)
            if best is None or key > best[0]:
                best = (key, c, extra)
        if best is None:
            return steps
        _, c, extra = best
        level[c.name] += 1
        spent += extra
        steps.append((c.name, levels[level[c.name]]))


def assignment(
    costs: Sequence[TensorCost], steps: Sequence[tuple[str, int]], levels: Sequence[int] = LEVELS
) -> dict[str, int]:
    """{tensor: bits} after applying ``steps`` (``greedy_upgrades``) to the all-lowest start."""
    bits = {c.name: levels[0] for c in costs}
    for name, b in steps:
        bits[name] = b
    return bits


def covered_bytes(costs: Sequence[TensorCost], bits: Mapping[str, int]) -> int:
    """Packed bytes of the covered tensors under an assignment (the rest of the file is equal)."""
    return sum(c.nbytes[bits[c.name]] for c in costs)
