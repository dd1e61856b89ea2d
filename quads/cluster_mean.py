"""The authors' quantizer (github BASHLab/QUADS, train.py): fixed cluster labels, cluster means.

One k-means per covered weight tensor on the pretrained student, before any training, gives
fixed labels L (n,) and centroids C (k,); every weight is snapped to its centroid, W = C[L].
The labels are never recomputed. Float phases then move the weights freely; after every
optimizer step of a quantization phase (``project``) each centroid becomes the mean of its
cluster's current weights and every weight is set to its centroid,

    C_j <- mean{ W_i : L_i = j }        W <- C[L]

so a float phase's drift survives as shifts of the cluster means. The covered weights are those
of ``quads.quantize.QuantConfig`` (positional tables excluded), as for ``CodebookQuantizer``.

``ClusterMeanQuantizer`` keeps the model's weights as plain float Parameters (the optimizer
trains them, the projection runs after each step); ``to_codebook`` hands the fixed labels and
the current means to an attached ``CodebookQuantizer``, so ``quads.export.save_quantized``
writes the packed file.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from quads.codebook import INDEX_DTYPE, dequantize, fit_codebook
from quads.quantize import CodebookQuantizer, QuantConfig, cluster_means


def snap(values: Tensor, labels: Tensor, previous: Tensor) -> tuple[Tensor, Tensor]:
    """(centroids (k,), values') with centroids = ``cluster_means`` and values' = centroids[labels]
    in values' shape: one projection step of the authors' quantizer."""
    centroids = cluster_means(values, labels, previous)
    return centroids, dequantize(centroids.to(values.dtype), labels, values.shape)


class ClusterMeanQuantizer:
    """Fixed-label cluster-mean quantization of a model's covered weights (module docstring).

    q = ClusterMeanQuantizer(model, QuantConfig(bits=8))
    q.fit()        # once, before training: k-means per tensor, labels fixed, W = C[L]
    q.project()    # after every quantization step: C = cluster means of W, W = C[L]
    q.to_codebook()  # an attached CodebookQuantizer with the same labels and means (export)
    """

    def __init__(self, model: nn.Module, config: QuantConfig) -> None:
        self.model = model
        self.config = config
        # discovery only: a detached CodebookQuantizer finds the covered weights, model untouched
        self._discovery = CodebookQuantizer(model, config)
        self._modules = dict(iter(self._discovery))  # {tensor name: owning module}
        self.labels: dict[str, Tensor] = {}  # name -> (n,) int32, fixed after fit()
        self.centroids: dict[str, Tensor] = {}  # name -> (k,) float32

    @property
    def bits(self) -> int:
        return self.config.bits

    @property
    def fitted(self) -> bool:
        return bool(self.labels)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._modules)

    def __repr__(self) -> str:
        return (
            f"ClusterMeanQuantizer(bits={self.bits}, tensors={len(self._modules)}, "
            f"fitted={self.fitted}, labels=fixed after one k-means, update=cluster mean per step)"
        )

    def _weight(self, name: str) -> nn.Parameter:
        weight = self._modules[name]._parameters.get("weight")
        if weight is None:
            raise RuntimeError(f"{name} is not a float Parameter (a codebook is attached?)")
        return weight

    @torch.no_grad()
    def fit(self) -> ClusterMeanQuantizer:
        """One k-means per covered weight (``fit_codebook``); labels fixed; W = C[L]. Returns self."""
        if self.fitted:
            raise RuntimeError("already fitted: the authors' labels are computed once")
        cfg = self.config
        for name in self._modules:
            weight = self._weight(name)
            centroids, labels = fit_codebook(
                weight, cfg.bits, iters=cfg.kmeans_iters, init_method=cfg.init_method
            )
            self.labels[name] = labels.to(weight.device, INDEX_DTYPE)
            self.centroids[name] = centroids.to(weight.device)
            weight.copy_(dequantize(self.centroids[name].to(weight.dtype), labels, weight.shape))
        return self

    @torch.no_grad()
    def project(self) -> None:
        """C = cluster means of the current weights, W = C[L], for every covered weight."""
        if not self.fitted:
            raise RuntimeError("project() before fit(): no labels yet")
        for name, labels in self.labels.items():
            weight = self._weight(name)
            centroids, snapped = snap(weight, labels, self.centroids[name])
            self.centroids[name] = centroids
            weight.copy_(snapped)

    def state_dict(self) -> dict:
        """Bits, fixed labels and current centroids per tensor (the weights are the model's)."""
        return {
            "bits": self.bits,
            "labels": {n: t.detach().cpu().clone() for n, t in self.labels.items()},
            "centroids": {n: t.detach().cpu().clone() for n, t in self.centroids.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        if state["bits"] != self.bits:
            raise ValueError(f"state has bits={state['bits']}, quantizer has bits={self.bits}")
        if state["labels"] and list(state["labels"]) != list(self.names):
            raise ValueError("state covers other tensors than this quantizer")
        self.labels, self.centroids = {}, {}
        for name in state["labels"]:
            device = self._weight(name).device
            self.labels[name] = state["labels"][name].to(device, INDEX_DTYPE)
            self.centroids[name] = state["centroids"][name].to(device)

    @torch.no_grad()
    def to_codebook(self) -> CodebookQuantizer:
        """An attached ``CodebookQuantizer`` over the same tensors: labels as indices, the means of
        the current weights as centroids (``project`` first); the model's covered weights become
        W = C[L] through it, bit-identical to the float weights when they were projected."""
        self.project()
        books = {
            name: {
                "centroids": self.centroids[name].clone(),
                "indices": self.labels[name].clone(),
                "live_centroids": self.centroids[name].clone(),
                "live_indices": self.labels[name].clone(),
            }
            for name in self.names
        }
        quantizer = self._discovery
        quantizer.load_state_dict(
            {"bits": self.bits, "attached": True, "frozen": True, "codebooks": books}
        )
        return quantizer
