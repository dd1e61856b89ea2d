"""Scalar k-means codebooks: fit, assign, dequantize, pack/unpack b-bit indices, and the
differentiable gather W = C[I] whose backward is Eq. 4.

Pure tensor functions (paper Sec. 2.2): a tensor of n values is represented by a
codebook C of k = 2**bits centroids and one index per value, W = C[I].

1-D k-means without an n x k distance matrix: in 1-D every cluster of a Lloyd
assignment is a contiguous run of the sorted values, so once the values are sorted
(numpy's SIMD sort, much faster than torch.sort on the CPU) the
assignment step is a `searchsorted` of the k-1 centroid midpoints and the update step is
a segment mean read off prefix sums: one Lloyd iteration costs O(k log n). The final
assignment of the unsorted values avoids an O(n log k) search too: values are binned by
a monotone map into max(2**16, 16 k) bins and each bin maps to its cluster through a
lookup table; only values sharing a bin with a midpoint are compared exactly.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

# bit lengths the codebooks and the packed format support (paper: 4, 8 and 16)
SUPPORTED_BITS = (1, 2, 3, 4, 5, 6, 7, 8, 16)

INDEX_DTYPE = torch.int32  # k <= 2**16 fits; int32 gathers/bincounts beat int64 on the CPU


def check_bits(bits: int) -> int:
    """Return `bits` if supported, else raise ValueError naming it."""
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in SUPPORTED_BITS:
        raise ValueError(f"bits={bits!r} is not supported; choose one of {SUPPORTED_BITS}")
    return bits


# --------------------------------------------------------------------------- Lloyd core
# Everything here is numpy: Lloyd makes ~10 calls per iteration on (k,) arrays, where
# numpy's ~1 us per call beats torch's, and numpy's single-threaded kernels do not stall
# the way torch's 2-thread kernels did (milliseconds per call) when the other core was busy.


class _Points:
    """The sorted values seen by Lloyd, with prefix sums for O(1) segment statistics.

    pts: (n,) float64 ascending. cum_s: (n+1,) prefix sums of pts (leading 0); cum_s2,
    the prefix sums of pts**2, is only built when an empty cluster needs reseeding.
    """

    def __init__(self, pts: np.ndarray) -> None:
        self.pts = pts
        self.cum_s = _prefix(pts)

    @functools.cached_property
    def cum_s2(self) -> np.ndarray:
        return _prefix(self.pts * self.pts)


def _prefix(a: np.ndarray) -> np.ndarray:
    out = np.zeros(a.size + 1)
    np.cumsum(a, out=out[1:])
    return out


def _segment_bounds(pts: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Cluster boundaries in sorted points for the nearest-centroid assignment.

    pts: (m,) ascending; centroids: (k,) ascending. Returns (k+1,) int64 positions b with
    cluster j = pts[b[j]:b[j+1]]. A point exactly on a midpoint goes to the lower cluster.
    """
    bounds = np.empty(centroids.size + 1, dtype=np.int64)
    bounds[0], bounds[-1] = 0, pts.size
    bounds[1:-1] = np.searchsorted(pts, (centroids[1:] + centroids[:-1]) * 0.5, side="right")
    return bounds


def _lloyd_update(p: _Points, bounds: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """One Lloyd mean update with deterministic empty-cluster reseeding.

    bounds: (k+1,) from `_segment_bounds`; centroids: (k,) current. Returns (k,) sorted.

    Empty clusters: the e empty clusters are moved onto the e clusters with the largest
    within-cluster sum of squares (ties: lowest index), at that cluster's value farthest
    from its mean (its first or last value). Under the current assignment this leaves
    the objective unchanged, so the next assignment cannot increase it: Lloyd's
    monotone decrease is kept.
    """
    lo, hi = bounds[:-1], bounds[1:]
    counts = (hi - lo).astype(np.float64)  # (k,)
    nonempty = hi > lo
    s1 = p.cum_s[hi] - p.cum_s[lo]
    new = np.where(nonempty, s1 / np.maximum(counts, 1.0), centroids)
    empties = np.flatnonzero(~nonempty)
    if empties.size:
        sse = p.cum_s2[hi] - p.cum_s2[lo] - s1 * s1 / np.maximum(counts, 1.0)
        sse = np.where(nonempty, np.maximum(sse, 0.0), -1.0)
        donors = np.argsort(-sse, kind="stable")[: empties.size]
        donors = donors[nonempty[donors]]
        first, last = p.pts[lo[donors]], p.pts[hi[donors] - 1]
        mean = new[donors]
        new[empties[: donors.size]] = np.where((last - mean) >= (mean - first), last, first)
    return np.sort(new)


def _lloyd(p: _Points, centroids: np.ndarray, iters: int) -> np.ndarray:
    """Up to `iters` Lloyd iterations from (k,) ascending centroids; stops once the
    assignment no longer changes."""
    bounds = _segment_bounds(p.pts, centroids)
    for _ in range(iters):
        centroids = _lloyd_update(p, bounds, centroids)
        new_bounds = _segment_bounds(p.pts, centroids)
        if np.array_equal(new_bounds, bounds):
            break
        bounds = new_bounds
    return centroids


# --------------------------------------------------------------------------- inits
# An init maps (quantile, n, k) to (k,) float64 ascending centroids, where quantile(r)
# returns the values of ranks r ((q,) int64 in [0, n)) among the n sorted values.
Quantile = Callable[[np.ndarray], np.ndarray]


def _quantile_init(quantile: Quantile, n: int, k: int) -> np.ndarray:
    """Centroids at the (j + 0.5)/k quantiles of the values."""
    ranks = np.minimum(((np.arange(k) + 0.5) * n / k).astype(np.int64), n - 1)
    return quantile(ranks)


def _companded_init(quantile: Quantile, n: int, k: int) -> np.ndarray:
    """Centroids at the (j + 0.5)/k quantiles of the density p(x)**(1/3).

    Panter & Dite (1951): for many levels the MSE-optimal scalar quantizer has level
    density proportional to p(x)**(1/3), so these quantiles start Lloyd near the optimum
    (plain quantiles put too few levels in the tails and Lloyd moves them out slowly,
    often into a worse local optimum). p is the m-spacing estimate on the sorted values:
    a block of m consecutive values spanning width w has p ~ m / (n w), so its share of
    the integral of p**(1/3) is proportional to w**(2/3). m = n // (64 k) (at least 1)
    gave the lowest MSE after 25 Lloyd iterations among n/(64k), n/(16k), n/(4k), n/k
    and sqrt(n) on Gaussian, Laplace and Student-t(2, 3) data at 4, 8 and 16 bits.
    """
    m = max(1, n // (64 * k))
    ranks = np.arange(0, n, m)
    if ranks[-1] != n - 1:
        ranks = np.append(ranks, n - 1)
    edges = quantile(ranks)  # (B+1,) block boundaries
    mass = np.diff(edges) ** (2.0 / 3.0)  # (B,)
    total = mass.sum()
    if total <= 0.0:  # all values equal
        return _quantile_init(quantile, n, k)
    cdf = _prefix(mass) / total  # (B+1,)
    q = (np.arange(k) + 0.5) / k
    j = np.clip(np.searchsorted(cdf, q, side="right") - 1, 0, mass.size - 1)
    frac = (q - cdf[j]) / np.maximum(cdf[j + 1] - cdf[j], 1e-300)
    return edges[j] + np.clip(frac, 0.0, 1.0) * (edges[j + 1] - edges[j])


# deterministic initialisations keyed by name
INIT_METHODS: dict[str, Callable[[Quantile, int, int], np.ndarray]] = {
    "companded": _companded_init,
    "quantile": _quantile_init,
}

# --------------------------------------------------------------------------- assignment


def _flat_values(values: Tensor) -> np.ndarray:
    """values (any shape) -> (n,) float32/float64 numpy array on the CPU (a view if possible)."""
    x = values.detach().reshape(-1).to("cpu")
    if not x.is_floating_point():
        raise ValueError(f"values must be floating point, got {x.dtype}")
    if x.dtype not in (torch.float32, torch.float64):
        x = x.to(torch.float32)
    return x.contiguous().numpy()


_ASSIGN_BINS = 2**16  # minimum lookup-table size of the binned exact assignment


def _assign_sorted_centroids(
    x: np.ndarray, lo: float, hi: float, centroids: np.ndarray
) -> np.ndarray:
    """Exact nearest-centroid indices of x (n,) float32/64 with min lo, max hi.

    centroids: (k,) float64 ascending. Returns (n,) int32 = number of midpoints < x
    (ties go to the lower centroid). Values are binned by a monotone map into B bins;
    midpoints, rounded to x's dtype (rounding keeps their strict order against values
    of that dtype), go through the same map, so a midpoint in a lower (higher) bin than
    x is below (above) it. Only values sharing a bin with a midpoint are compared
    exactly.
    """
    mids = (centroids[1:] + centroids[:-1]) * 0.5  # (k-1,)
    if lo == hi or mids.size == 0:
        return np.searchsorted(mids, x, side="left").astype(np.int32)
    n_bins = max(_ASSIGN_BINS, 16 * centroids.size)  # keep shared bins rare at k = 2**16
    scale = (n_bins - 0.5) / (hi - lo)  # [lo, hi] -> [0, B - 0.5]: truncation = floor

    def to_bin(v: np.ndarray) -> np.ndarray:  # monotone non-decreasing, computed in v's dtype
        return ((v - lo) * scale).astype(np.int32)

    bins = to_bin(x)  # (n,) in [0, B-1]
    mid_bins = np.clip(to_bin(mids.astype(x.dtype)), 0, n_bins - 1)
    below = np.searchsorted(mid_bins, np.arange(n_bins, dtype=np.int32)).astype(np.int32)
    shared = np.zeros(n_bins, dtype=bool)
    shared[mid_bins] = True
    indices = below[bins]  # (n,)
    fix = np.flatnonzero(shared[bins])
    if fix.size:
        indices[fix] = np.searchsorted(mids, x[fix].astype(np.float64), side="left")
    return indices


# --------------------------------------------------------------------------- fitting


def fit_codebook(
    values: Tensor,
    bits: int,
    init: Tensor | None = None,
    iters: int = 25,
    init_method: str = "companded",
) -> tuple[Tensor, Tensor]:
    """1-D k-means (Lloyd) codebook of one tensor.

    values: any shape, n elements, flattened; gradients are not tracked.
    bits: one of SUPPORTED_BITS; the codebook has k' = min(2**bits, n) centroids. With
        n <= 2**bits every value is its own centroid (zero error). If the tensor has
        fewer than k' distinct values, some centroids repeat.
    init: optional (k',) warm start (e.g. the previous phase's centroids); otherwise a
        deterministic init chosen by `init_method` (see INIT_METHODS): "companded"
        (default) places centroids at quantiles of p(x)**(1/3), the Panter-Dite
        optimum; "quantile" at the (j + 0.5)/k' quantiles of the values.
    iters: maximum Lloyd iterations (each O(k log n) on the sorted values); stops early
        once the assignment no longer changes.

    Returns (centroids (k',) float32 sorted ascending, indices (n,) int32) with each
    value assigned to its nearest centroid (ties to the lower one), so
    W ~= centroids[indices].view(shape).
    """
    check_bits(bits)
    if init_method not in INIT_METHODS:
        raise ValueError(f"init_method={init_method!r} unknown; known: {sorted(INIT_METHODS)}")
    if iters < 0:
        raise ValueError(f"iters={iters} must be >= 0")
    x = _flat_values(values)
    n = x.size
    if n == 0:
        raise ValueError("values is empty; nothing to cluster")
    lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("values contains NaN or inf")
    k = min(2**bits, n)
    if init is not None and init.numel() != k:
        raise ValueError(f"init has {init.numel()} centroids, expected k={k}")
    if k == n:  # every value its own centroid
        order = np.argsort(x, kind="stable")
        indices = np.empty(n, dtype=np.int32)
        indices[order] = np.arange(n, dtype=np.int32)
        centroids = x[order].astype(np.float32)
    else:
        xs = np.sort(x).astype(np.float64)  # (n,)
        if init is None:
            start = INIT_METHODS[init_method](lambda r: xs[r], n, k)
        else:
            start = np.sort(init.detach().reshape(-1).to("cpu", torch.float64).numpy())
        centroids = _lloyd(_Points(xs), start, iters).astype(np.float32)
        # nearest assignment against the float32 centroids actually stored
        indices = _assign_sorted_centroids(x, lo, hi, centroids.astype(np.float64))
    device = values.device
    return torch.from_numpy(centroids).to(device), torch.from_numpy(indices).to(device)


def assign(values: Tensor, centroids: Tensor) -> Tensor:
    """Nearest-centroid index of every value.

    values: any shape (n elements), float; centroids: (k,) in any order.
    Returns (n,) int32 indices into `centroids` (ties go to the smaller centroid value).
    """
    c = centroids.detach().reshape(-1).to("cpu", torch.float64)
    if c.numel() == 0:
        raise ValueError("centroids is empty")
    c_sorted, perm = torch.sort(c, stable=True)
    x = _flat_values(values)
    if x.size == 0:
        return torch.zeros(0, dtype=INDEX_DTYPE, device=values.device)
    lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("values contains NaN or inf")
    pos = torch.from_numpy(_assign_sorted_centroids(x, lo, hi, c_sorted.numpy()))
    return perm.to(INDEX_DTYPE)[pos.long()].to(values.device)


def dequantize(centroids: Tensor, indices: Tensor, shape: tuple[int, ...] | torch.Size) -> Tensor:
    """W = C[I]: centroids (k,), indices (n,) -> tensor of `shape` (n elements)."""
    return centroids.index_select(0, indices.reshape(-1)).view(shape)


_BIT_WEIGHTS = 2 ** torch.arange(8, dtype=torch.int64)  # LSB-first bit values of a byte


def packed_nbytes(numel: int, bits: int) -> int:
    """Bytes of `numel` indices packed at `bits` bits: ceil(numel * bits / 8)."""
    return (numel * check_bits(bits) + 7) // 8


def pack_indices(indices: Tensor, bits: int) -> Tensor:
    """Pack indices into a dense little-endian bitstream.

    indices: (n,) integers in [0, 2**bits). Index i occupies stream bits
    [i*bits, (i+1)*bits), least significant bit first; stream bit j is bit (j % 8) of
    byte j // 8. For bits=8 this is one byte per index and for bits=16 the
    little-endian uint16 layout. Returns (ceil(n*bits/8),) uint8.
    """
    check_bits(bits)
    idx = indices.detach().reshape(-1).to("cpu", torch.int64)
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= 2**bits):
        raise ValueError(f"indices must lie in [0, {2**bits}) for bits={bits}")
    if bits == 8:
        return idx.to(torch.uint8)
    if bits == 16:
        return torch.stack([idx & 0xFF, idx >> 8], dim=1).reshape(-1).to(torch.uint8)
    stream = ((idx[:, None] >> torch.arange(bits)) & 1).to(torch.uint8).reshape(-1)  # (n*bits,)
    pad = (-stream.numel()) % 8
    stream = torch.cat([stream, stream.new_zeros(pad)]).view(-1, 8).to(torch.int64)
    return (stream * _BIT_WEIGHTS).sum(1).to(torch.uint8)


def unpack_indices(packed: Tensor, bits: int, numel: int) -> Tensor:
    """Inverse of `pack_indices`: (ceil(numel*bits/8),) uint8 -> (numel,) int32."""
    check_bits(bits)
    if packed.dtype != torch.uint8:
        raise ValueError(f"packed must be uint8, got {packed.dtype}")
    expected = packed_nbytes(numel, bits)
    if packed.numel() != expected:
        raise ValueError(
            f"packed has {packed.numel()} bytes, expected {expected} for numel={numel}"
        )
    data = packed.detach().reshape(-1).to("cpu", torch.int64)
    if bits == 8:
        return data.to(INDEX_DTYPE)
    if bits == 16:
        pairs = data.view(-1, 2)
        return (pairs[:, 0] | (pairs[:, 1] << 8)).to(INDEX_DTYPE)
    stream = ((data[:, None] >> torch.arange(8)) & 1).reshape(-1)[: numel * bits]
    return (stream.view(numel, bits) << torch.arange(bits)).sum(1).to(INDEX_DTYPE)


# --------------------------------------------------------------------------- differentiable gather


class _CodebookGather(torch.autograd.Function):
    """W = C[I].view(shape) whose backward is Eq. 4 as one bincount.

    Replaces torch's own backward for C[I] (index_put with accumulate), which is far slower on
    the CPU than a weighted bincount (benchmark/speed/bench_quantize.py measures the gather).
    """

    @staticmethod
    def forward(ctx, centroids: Tensor, indices: Tensor, shape: tuple[int, ...]) -> Tensor:
        ctx.save_for_backward(indices)
        ctx.k = centroids.numel()
        return centroids.index_select(0, indices).view(shape)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        (indices,) = ctx.saved_tensors
        grad_c = torch.bincount(indices, weights=grad.reshape(-1), minlength=ctx.k)  # (k,)
        return grad_c.to(grad.dtype), None, None


def gather_weight(centroids: Tensor, indices: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Differentiable W = C[I]: centroids (k,), indices (n,) int -> (shape), n elements.

    The gradient reaching `centroids` is, per centroid k, the sum of the gradients of the
    weights assigned to k (paper Eq. 4).
    """
    return _CodebookGather.apply(centroids, indices, tuple(shape))
