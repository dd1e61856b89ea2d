"""The authors' k-means quantization (github BASHLab/QUADS, train.py), for comparison only.

Re-implemented from a reading of their train.py:
- every parameter with more than one dimension gets its own codebook: one
  `fast_pytorch_kmeans.KMeans(n_clusters=2**bits)` (random-point init, at most 100
  iterations, tol 1e-4 on the summed squared centroid shift) over its flattened values,
  and the parameter is overwritten with C[labels];
- after every optimizer step of a quantization epoch, each such parameter is reset to
  the mean of its cluster's current weights, with the labels fixed from that one fit
  (a Python loop over the k clusters, as in the original).
One difference: the authors' openai-whisper model keeps its positional table in a
buffer, so it was never clustered; transformers keeps it as a frozen Parameter, so
frozen parameters are skipped here to match. Uses torch's global RNG (seed it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from fast_pytorch_kmeans import KMeans
from torch import Tensor, nn


@dataclass
class AuthorsCodebook:
    """centroids (k,) float32 and fixed labels (n,) int64 of one parameter."""

    centroids: Tensor
    labels: Tensor


@torch.no_grad()
def authors_fit(model: nn.Module, bits: int) -> dict[str, AuthorsCodebook]:
    """Cluster every trainable parameter with dim > 1 and overwrite it with C[labels].

    Returns {parameter name: AuthorsCodebook}.
    """
    state = {}
    for name, param in model.named_parameters():
        if param.dim() > 1 and param.requires_grad:
            kmeans = KMeans(n_clusters=2**bits, mode="euclidean", verbose=0)
            labels = kmeans.fit_predict(param.detach().reshape(-1, 1)).to(torch.long)
            centroids = kmeans.centroids.to(torch.float32).reshape(-1)
            param.copy_(centroids[labels].view_as(param))
            state[name] = AuthorsCodebook(centroids, labels)
    return state


@torch.no_grad()
def authors_requantize(model: nn.Module, state: dict[str, AuthorsCodebook]) -> None:
    """Per-step re-quantization: centroid k = mean of the weights labelled k; W = C[labels]."""
    params = dict(model.named_parameters())
    for name, book in state.items():
        param = params[name]
        flat = param.reshape(-1)
        for k in range(book.centroids.numel()):
            book.centroids[k] = torch.mean(flat[book.labels == k])  # NaN if empty, unused
        param.copy_(book.centroids[book.labels].view_as(param))
