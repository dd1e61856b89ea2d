"""Model skeletons on the meta device: the shapes of a registry model without allocating its
weights, for `quads.packed.load_packed` (a packed model whose load never holds float weights).

The one tensor an exported student does not store is Whisper's sinusoidal positional table
(frozen and deterministic); it is recomputed here as transformers' `WhisperEncoder` init does,
so the skeleton equals a random-init `build_model` skeleton on every tensor the file skips.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.models.whisper.modeling_whisper import WhisperEncoder, sinusoids

from baselines.registry import build_model


def meta_skeleton(name: str, num_classes: int, n_frames: int) -> nn.Module:
    """`build_model(name, ...)` on the meta device, Whisper positional tables made real (fp32).

    Tensors still on meta (every weight the file will fill) cost no memory.
    """
    with torch.device("meta"):
        model = build_model(name, num_classes, n_frames)
    for module in model.modules():
        if isinstance(module, WhisperEncoder):
            rows, width = module.embed_positions.weight.shape  # (n_frames // 2, d_model)
            table = sinusoids(rows, width).to(torch.float32)
            module.embed_positions.weight = nn.Parameter(table, requires_grad=False)
    return model
