"""Put a module's weights on k-means codebooks: W = C[I] (paper Sec. 2.2, Eq. 4).

`CodebookQuantizer(model, QuantConfig(bits=4))` finds the covered weights (by default
the `weight` of every nn.Linear / nn.Conv1d / nn.Conv2d, minus positional tables and
frozen weights). `attach()` clusters each one (`quads.codebook.fit_codebook`, warm
started from the previous phase's centroids) and swaps its float Parameter for

    module.weight_centroids   Parameter (k,)   trained: d L / d C_k = sum_{I_ij = k} d L / d W_ij (Eq. 4)
    module.weight_indices     buffer (n,) int32, fixed during the phase

and a forward pre-hook sets `module.weight = C[I].view(shape)` before every forward, so
any code that reads `self.weight` (e.g. modules inside transformers' WhisperEncoder)
sees the quantized weight. `detach()` puts plain float Parameters W = C[I] back for a
float (distillation) phase; `freeze()` makes later attaches keep the current cluster
assignments (the engine calls it before MCT's frozen final phase; since that phase follows a
quantization phase, the codebooks are still attached and nothing re-clusters anyway).

Optimizers: parameters change identity on attach() and detach() (the float weight is
replaced by the centroids and back), so build a new optimizer after every attach() /
detach(), i.e. one per training phase. An optimizer built before attach() would keep
updating stale float tensors that the model no longer uses.

Checkpoints: while attached, `model.state_dict()` holds `<module>.weight_centroids` and
`<module>.weight_indices` instead of `<module>.weight`; load such a state dict only into
a model with the same quantizer attached. For a deployable file use `quads.export`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

from quads.codebook import (
    INDEX_DTYPE,
    INIT_METHODS,
    check_bits,
    dequantize,
    fit_codebook,
    gather_weight,
)

# module types whose `weight` can be covered, keyed by name (QuantConfig.module_types)
COVERABLE_MODULES: dict[str, type[nn.Module]] = {
    "Linear": nn.Linear,
    "Conv1d": nn.Conv1d,
    "Conv2d": nn.Conv2d,
    "Embedding": nn.Embedding,
}


@dataclass(frozen=True)
class QuantConfig:
    """Which weights get codebooks, and how they are fitted.

    bits: codebook size k = 2**bits per tensor; one of quads.codebook.SUPPORTED_BITS.
    module_types: names in COVERABLE_MODULES whose `.weight` is covered.
    exclude: regular expressions; a weight whose name ("encoder.conv1.weight") matches
        any of them (re.search) stays float. The default excludes positional tables
        (Whisper's sinusoidal `embed_positions` is frozen and deterministic: quantizing
        it would add error and save nothing, since it is not stored).
    skip_frozen: leave weights with requires_grad=False float (frozen tables, teachers).
    kmeans_iters: maximum Lloyd iterations per fit (each O(k log n) after one sort).
    init_method: deterministic k-means init when there is no warm start
        (quads.codebook.INIT_METHODS).
    include: regular expressions; when non-empty, only weights whose name matches one of
        them in full (re.fullmatch) are covered. Several quantizers with disjoint `include`
        lists give per-tensor bit widths (mixed precision, ``quads.export.save_quantized``
        takes them together).
    """

    bits: int
    module_types: tuple[str, ...] = ("Linear", "Conv1d", "Conv2d")
    exclude: tuple[str, ...] = (r"embed_positions", r"pos(itional)?_(embedding|encoding)")
    skip_frozen: bool = True
    kmeans_iters: int = 25
    init_method: str = "companded"
    include: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_bits(self.bits)
        if isinstance(self.module_types, str) or not self.module_types:
            raise ValueError(f"module_types={self.module_types!r} must be a non-empty tuple")
        for name in self.module_types:
            if name not in COVERABLE_MODULES:
                raise ValueError(
                    f"module_types entry {name!r} unknown; known: {sorted(COVERABLE_MODULES)}"
                )
        if isinstance(self.exclude, str):
            raise ValueError(f"exclude={self.exclude!r} must be a tuple of patterns, not a str")
        if isinstance(self.include, str):
            raise ValueError(f"include={self.include!r} must be a tuple of patterns, not a str")
        for field, patterns in (("exclude", self.exclude), ("include", self.include)):
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as err:
                    raise ValueError(f"{field} pattern {pattern!r} is not a regex: {err}") from err
        if self.kmeans_iters < 0:
            raise ValueError(f"kmeans_iters={self.kmeans_iters} must be >= 0")
        if self.init_method not in INIT_METHODS:
            raise ValueError(
                f"init_method={self.init_method!r} unknown; known: {sorted(INIT_METHODS)}"
            )

    def covers(self, module: nn.Module, tensor_name: str) -> bool:
        """True if `module.weight` (named `tensor_name`) gets a codebook."""
        types = tuple(COVERABLE_MODULES[name] for name in self.module_types)
        if not isinstance(module, types):
            return False
        if any(re.search(pattern, tensor_name) for pattern in self.exclude):
            return False
        if self.include and not any(re.fullmatch(p, tensor_name) for p in self.include):
            return False
        weight = module._parameters.get("weight")
        if weight is None:
            return False
        return not (self.skip_frozen and not weight.requires_grad)


@dataclass(frozen=True)
class TensorStats:
    """Size of one covered tensor: numel weights of `bits` bits + a codebook of codebook_size."""

    name: str
    shape: tuple[int, ...]
    numel: int
    bits: int
    codebook_size: int


def _codebook_pre_hook(module: nn.Module, args: tuple) -> None:
    """Forward pre-hook: module.weight = C[I] from the module's centroids and indices."""
    module.weight = gather_weight(
        module.weight_centroids, module.weight_indices, module._quads_weight_shape
    )


@dataclass
class _Covered:
    """Book-keeping for one covered weight; centroids/indices hold the detached state."""

    name: str  # tensor name, e.g. "encoder.layers.0.fc1.weight"
    module: nn.Module
    shape: tuple[int, ...]
    requires_grad: bool
    centroids: Tensor | None = None  # (k,) last codebook, kept for warm starts
    indices: Tensor | None = None  # (n,) int32 last assignment
    handle: RemovableHandle | None = None


def cluster_means(values: Tensor, labels: Tensor, previous: Tensor) -> Tensor:
    """Mean of each cluster's values for fixed labels; an empty cluster keeps its previous value.

    values: any shape, n elements; labels: (n,) int in [0, k); previous: (k,). Returns (k,) in
    previous's dtype (sums in float64: a cluster of equal float32 values averages to that value
    exactly). Used by the frozen re-assignment here and by the authors' fixed-label quantizer
    (``quads.cluster_mean``).
    """
    k = previous.numel()
    flat = values.detach().reshape(-1).to(torch.float64)
    sums = torch.bincount(labels, weights=flat, minlength=k)
    counts = torch.bincount(labels, minlength=k)
    means = sums / counts.clamp(min=1)
    return torch.where(counts > 0, means, previous.to(torch.float64)).to(previous.dtype)


def _shorten(names: list[str], head: int = 3, tail: int = 1) -> str:
    if len(names) <= head + tail + 1:
        return ", ".join(names)
    return ", ".join(names[:head] + ["..."] + names[-tail:])


class CodebookQuantizer:
    """Attach / detach per-tensor k-means codebooks to the covered weights of a model.

    Usage per MCT phase (build a new optimizer after each attach/detach):
        q = CodebookQuantizer(model, QuantConfig(bits=4))
        q.attach()            # quantization phase: optimizer over model.parameters() trains C
        q.detach()            # float phase: W = C[I] as plain Parameters
        q.attach()            # re-cluster the trained floats, warm-started from C
        q.freeze(); q.attach()  # after a float phase: keep the assignments, C = cluster means
    """

    def __init__(self, model: nn.Module, config: QuantConfig) -> None:
        self.model = model
        self.config = config
        self._covered: list[_Covered] = []
        for module_name, module in model.named_modules():
            tensor_name = f"{module_name}.weight" if module_name else "weight"
            if hasattr(module, "weight_centroids"):
                raise ValueError(f"{tensor_name} is already on a codebook (another quantizer)")
            if config.covers(module, tensor_name):
                weight = module._parameters["weight"]
                self._covered.append(
                    _Covered(tensor_name, module, tuple(weight.shape), weight.requires_grad)
                )
        if not self._covered:
            raise ValueError(f"no weight of {type(model).__name__} is covered by {config}")
        self._attached = False
        self._frozen = False

    # ----------------------------------------------------------------- inspection
    @property
    def bits(self) -> int:
        return self.config.bits

    @property
    def attached(self) -> bool:
        return self._attached

    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def names(self) -> tuple[str, ...]:
        """Covered tensor names in model order, e.g. ("encoder.conv1.weight", ...)."""
        return tuple(c.name for c in self._covered)

    def __len__(self) -> int:
        return len(self._covered)

    def __iter__(self) -> Iterator[tuple[str, nn.Module]]:
        """Yield (tensor name, owning module) for every covered weight."""
        for c in self._covered:
            yield c.name, c.module

    def codebooks(self) -> dict[str, tuple[Tensor, Tensor]]:
        """{tensor name: (centroids (k,), indices (n,) int32)}, detached from autograd.

        The live codebooks while attached, else those of the last attach (raises
        RuntimeError if never attached).
        """
        out = {}
        for c in self._covered:
            if self._attached:
                out[c.name] = (c.module.weight_centroids.detach(), c.module.weight_indices)
            elif c.centroids is not None:
                out[c.name] = (c.centroids, c.indices)
            else:
                raise RuntimeError("no codebooks yet: call attach() first")
        return out

    def stats(self) -> list[TensorStats]:
        """Per covered tensor: name, shape, numel, bits, codebook size k' = min(2**bits, n)."""
        out = []
        for c in self._covered:
            numel = 1
            for d in c.shape:
                numel *= d
            out.append(TensorStats(c.name, c.shape, numel, self.bits, min(2**self.bits, numel)))
        return out

    def __repr__(self) -> str:
        return (
            f"CodebookQuantizer(bits={self.bits}, tensors={len(self._covered)} "
            f"[{_shorten(list(self.names))}], attached={self._attached}, frozen={self._frozen})"
        )

    # ----------------------------------------------------------------- phases
    @torch.no_grad()
    def attach(self, warm_start: bool = True) -> CodebookQuantizer:
        """Cluster every covered float weight and put it on its codebook.

        Fits a fresh codebook from the current float weights, warm-started from the
        previous centroids when `warm_start` and there are any. After `freeze()`, the
        previous assignments are kept and each centroid becomes the mean of its
        cluster's current float weights (empty clusters keep their old value).
        Tensors are fitted concurrently on torch.get_num_threads() threads; the result
        is the same as fitting them one by one. Returns self. Build a new optimizer
        afterwards.
        """
        if self._attached:
            raise RuntimeError("already attached; call detach() first")
        cfg = self.config
        weights = [self._float_weight(c) for c in self._covered]

        def codebook(job: tuple[_Covered, Tensor]) -> tuple[Tensor, Tensor]:
            c, weight = job
            if self._frozen and c.indices is not None:
                indices = c.indices.to(weight.device)
                return cluster_means(weight, indices, c.centroids.to(weight.device)), indices
            init = c.centroids if warm_start else None
            return fit_codebook(
                weight, cfg.bits, init=init, iters=cfg.kmeans_iters, init_method=cfg.init_method
            )

        # tensors are independent: fit them on as many threads as torch uses (numpy's sort
        # and most torch kernels release the GIL); the result does not depend on the order
        jobs = list(zip(self._covered, weights, strict=True))
        workers = max(1, min(len(jobs), torch.get_num_threads()))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            books = list(pool.map(codebook, jobs))
        for c, (centroids, indices) in zip(self._covered, books, strict=True):
            self._install(c, centroids, indices)
        self._attached = True
        return self

    @torch.no_grad()
    def detach(self) -> CodebookQuantizer:
        """Replace every codebook by a plain float Parameter equal to C[I]. Returns self.

        The codebooks are remembered for the next attach() (warm start / frozen
        assignments). Build a new optimizer afterwards.
        """
        if not self._attached:
            raise RuntimeError("not attached; call attach() first")
        for c in self._covered:
            self._uninstall(c)
        self._attached = False
        return self

    def freeze(self) -> CodebookQuantizer:
        """Make every later attach() keep the current cluster assignments. Returns self."""
        self._frozen = True
        return self

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """Everything needed to resume: flags, and per tensor the remembered codebook
        (warm start / frozen assignments) and, if attached, the live one.

        Restore with `load_state_dict` *before* `model.load_state_dict(...)`: it puts the
        model into the saved attached/detached structure so the model's keys match.
        """
        books = {}
        for c in self._covered:
            entry = {}
            if c.centroids is not None:
                entry["centroids"], entry["indices"] = c.centroids.clone(), c.indices.clone()
            if self._attached:
                entry["live_centroids"] = c.module.weight_centroids.detach().clone()
                entry["live_indices"] = c.module.weight_indices.clone()
            books[c.name] = entry
        return {
            "bits": self.bits,
            "attached": self._attached,
            "frozen": self._frozen,
            "codebooks": books,
        }

    @torch.no_grad()
    def load_state_dict(self, state: dict) -> None:
        """Restore a `state_dict()` of a quantizer over the same covered tensors and bits."""
        if state["bits"] != self.bits:
            raise ValueError(f"state has bits={state['bits']}, quantizer has bits={self.bits}")
        if list(state["codebooks"]) != list(self.names):
            raise ValueError("state covers other tensors than this quantizer")
        if self._attached:
            self.detach()
        for c in self._covered:
            entry = state["codebooks"][c.name]
            c.centroids = entry["centroids"].clone() if "centroids" in entry else None
            c.indices = entry["indices"].clone() if "indices" in entry else None
        self._frozen = bool(state["frozen"])
        if state["attached"]:
            for c in self._covered:
                self._float_weight(c)
                entry = state["codebooks"][c.name]
                self._install(c, entry["live_centroids"].clone(), entry["live_indices"].clone())
            self._attached = True

    # ----------------------------------------------------------------- internals
    @staticmethod
    def _float_weight(c: _Covered) -> nn.Parameter:
        weight = c.module._parameters.get("weight")
        if weight is None or tuple(weight.shape) != c.shape:
            raise RuntimeError(f"{c.name} is no longer a float Parameter of shape {c.shape}")
        return weight

    @staticmethod
    def _install(c: _Covered, centroids: Tensor, indices: Tensor) -> None:
        """Swap c's float weight for centroids (k,) + indices (n,) and the pre-hook."""
        module = c.module
        weight = module._parameters["weight"]
        centroids = centroids.to(weight.device, weight.dtype)
        del module.weight
        module.register_parameter(
            "weight_centroids", nn.Parameter(centroids, requires_grad=c.requires_grad)
        )
        module.register_buffer("weight_indices", indices.to(weight.device, INDEX_DTYPE))
        module._quads_weight_shape = c.shape
        c.handle = module.register_forward_pre_hook(_codebook_pre_hook)
        _codebook_pre_hook(module, ())  # module.weight is valid before the first forward

    @staticmethod
    def _uninstall(c: _Covered) -> None:
        """Put back a float Parameter W = C[I]; remember (C, I) in c."""
        module = c.module
        centroids = module.weight_centroids.detach().clone()
        indices = module.weight_indices
        weight = dequantize(centroids, indices, c.shape).clone()
        c.handle.remove()
        c.handle = None
        del module.weight  # the plain tensor set by the pre-hook
        del module.weight_centroids
        del module.weight_indices
        del module._quads_weight_shape
        module.weight = nn.Parameter(weight, requires_grad=c.requires_grad)
        c.centroids, c.indices = centroids, indices
