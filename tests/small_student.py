"""The small QUADS student of the export and packed-inference tests (tests/test_export.py,
tests/test_packed.py): a transformers WhisperEncoder of ``SMALL_WHISPER`` + mean pooling + a
linear head, the student's shape at a size that trains and saves in milliseconds."""

from __future__ import annotations

import torch
from torch import nn
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder

# the encoder's settings (also stored as the exported file's "model_config")
SMALL_WHISPER = {
    "d_model": 64,
    "encoder_layers": 2,
    "encoder_attention_heads": 4,
    "encoder_ffn_dim": 128,
    "num_mel_bins": 80,
    "max_source_positions": 50,
}


class WhisperHead(nn.Module):
    """Small transformers WhisperEncoder + mean pooling + linear head (the student's shape)."""

    def __init__(self, classes: int = 7) -> None:
        super().__init__()
        self.encoder = WhisperEncoder(WhisperConfig(**SMALL_WHISPER))
        self.head = nn.Linear(SMALL_WHISPER["d_model"], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, 80, 100) -> (B, classes)
        return self.head(self.encoder(x).last_hidden_state.mean(1))


def small_student(seed: int, classes: int = 7) -> WhisperHead:
    """A ``WhisperHead`` with the random weights of ``seed``, in eval mode."""
    torch.manual_seed(seed)
    return WhisperHead(classes).eval()
