"""Whisper encoder + mean pooling + linear head: the Whisper rows of Table 1 and the QUADS student.

The encoder is transformers' ``WhisperEncoder`` (eager attention, so fvcore counts it), not a
rewrite. Sizes follow openai/whisper's ``_MODELS`` dimensions; "large" is large-v2 (80 mel bins).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder

N_MELS = 80
PAPER_FRAMES = 3000  # 30 s at a 10 ms hop: the paper pads every utterance to Whisper's 30 s window


@dataclass(frozen=True)
class WhisperDims:
    """Dimensions of a Whisper model (openai/whisper ``ModelDimensions``); tests build tiny ones."""

    d_model: int  # n_audio_state
    layers: int  # n_audio_layer
    heads: int  # n_audio_head
    ffn: int  # 4 * n_audio_state in every published model
    n_mels: int = N_MELS
    vocab_size: int = 51865  # 51864 for the English-only models, 51866 for large-v3
    decoder_layers: int | None = None  # None: same as the encoder
    hub_id: str = ""


def _published(d: int, layers: int, heads: int, hub: str, **kw: int) -> WhisperDims:
    return WhisperDims(d, layers, heads, 4 * d, hub_id=f"openai/whisper-{hub}", **kw)


# Every published Whisper checkpoint by name (openai/whisper ``_MODELS``): the one table of
# Whisper dimensions, read by the classifiers here and by ``baselines.weights``.
WHISPER_MODELS: dict[str, WhisperDims] = {
    "tiny.en": _published(384, 4, 6, "tiny.en", vocab_size=51864),
    "tiny": _published(384, 4, 6, "tiny"),
    "base.en": _published(512, 6, 8, "base.en", vocab_size=51864),
    "base": _published(512, 6, 8, "base"),
    "small.en": _published(768, 12, 12, "small.en", vocab_size=51864),
    "small": _published(768, 12, 12, "small"),
    "medium.en": _published(1024, 24, 16, "medium.en", vocab_size=51864),
    "medium": _published(1024, 24, 16, "medium"),
    "large-v1": _published(1280, 32, 20, "large"),
    "large-v2": _published(1280, 32, 20, "large-v2"),
    "large-v3": _published(1280, 32, 20, "large-v3", n_mels=128, vocab_size=51866),
    "large-v3-turbo": _published(
        1280, 32, 20, "large-v3-turbo", n_mels=128, vocab_size=51866, decoder_layers=4
    ),
}
# encoder size name -> the checkpoint whose dimensions it has ("large" is large-v2)
SIZES: dict[str, str] = {
    "tiny": "tiny",
    "base": "base",
    "small": "small",
    "medium": "medium",
    "large": "large-v2",
}


def whisper_dims(size: str) -> WhisperDims:
    """Dimensions of a Whisper encoder by size name; ``tiny.en``-style suffixes are accepted."""
    key = size.split(".")[0].split("-")[0]
    if key not in SIZES:
        raise ValueError(f"unknown Whisper size {size!r}; known: {', '.join(SIZES)}")
    return WHISPER_MODELS[SIZES[key]]


def encoder_dims(config: WhisperConfig) -> WhisperDims:
    """The encoder dimensions of a ``WhisperConfig``, e.g. of loaded pretrained weights."""
    return WhisperDims(
        config.d_model,
        config.encoder_layers,
        config.encoder_attention_heads,
        config.encoder_ffn_dim,
        config.num_mel_bins,
    )


def whisper_config(
    size: str, n_frames: int = PAPER_FRAMES, dims: WhisperDims | None = None
) -> WhisperConfig:
    """A ``WhisperConfig`` whose encoder accepts exactly ``n_frames`` log-mel frames.

    ``dims`` overrides the size's dimensions (tiny test models).
    """
    if n_frames <= 0 or n_frames % 2:
        raise ValueError(
            f"n_frames must be a positive even number (conv2 has stride 2), got {n_frames}"
        )
    dims = dims or whisper_dims(size)
    return WhisperConfig(
        num_mel_bins=N_MELS,
        d_model=dims.d_model,
        encoder_layers=dims.layers,
        encoder_attention_heads=dims.heads,
        encoder_ffn_dim=dims.ffn,
        decoder_layers=1,
        decoder_attention_heads=dims.heads,
        decoder_ffn_dim=dims.ffn,
        max_source_positions=n_frames // 2,
        attn_implementation="eager",
    )


def crop_positions(encoder: WhisperEncoder, n_frames: int) -> None:
    """Make a (pretrained, 1500-position) encoder accept ``n_frames`` input frames.

    transformers' ``WhisperEncoder`` insists on exactly ``2 * max_source_positions`` frames, so we
    keep the first ``n_frames // 2`` rows of the frozen sinusoidal table (deterministic sinusoids:
    the crop loses nothing).
    """
    n_pos = n_frames // 2
    table = encoder.embed_positions.weight
    if n_pos > table.shape[0]:
        raise ValueError(f"n_frames={n_frames} exceeds the encoder's {2 * table.shape[0]} frames")
    new = nn.Embedding(n_pos, table.shape[1])
    new.weight.data.copy_(table.data[:n_pos])
    new.weight.requires_grad_(False)
    encoder.embed_positions = new
    encoder.config.max_source_positions = n_pos


class WhisperClassifier(nn.Module):
    """Whisper encoder -> mean over time -> linear head.

    Input ``mel``: (B, 80, n_frames) log-mel; output logits (B, num_classes).
    """

    inputs = ("mel",)

    def __init__(
        self,
        size: str,
        num_classes: int,
        n_frames: int = PAPER_FRAMES,
        dims: WhisperDims | None = None,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.size = size
        self.n_frames = n_frames
        self.encoder = WhisperEncoder(whisper_config(size, n_frames, dims))
        self.encoder.embed_positions.weight.requires_grad_(False)  # sinusoids, frozen as in Whisper
        self.head = nn.Linear(self.encoder.config.d_model, num_classes)

    @property
    def feature_dim(self) -> int:
        return self.encoder.config.d_model

    def features(self, mel: torch.Tensor) -> torch.Tensor:
        """Pooled encoder features: (B, 80, T) -> (B, d_model)."""
        hidden = self.encoder(mel).last_hidden_state  # (B, T/2, d_model)
        return hidden.mean(dim=1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(mel))

    def load_encoder_state(self, state_dict: dict[str, torch.Tensor]) -> None:
        load_pretrained_encoder(self.encoder, state_dict, self.n_frames)


def load_pretrained_encoder(
    encoder: WhisperEncoder, state_dict: dict[str, torch.Tensor], n_frames: int
) -> None:
    """Load a full-length (1500-position) pretrained encoder state, then crop to ``n_frames``."""
    full = state_dict["embed_positions.weight"]
    encoder.embed_positions = nn.Embedding(full.shape[0], full.shape[1])
    encoder.config.max_source_positions = full.shape[0]
    encoder.load_state_dict(state_dict, strict=True)
    crop_positions(encoder, n_frames)


def build_whisper_classifier(
    size: str, num_classes: int, n_frames: int = PAPER_FRAMES
) -> WhisperClassifier:
    """Random-init Whisper classifier of a given size (tiny/base/small/medium/large)."""
    return WhisperClassifier(size, num_classes, n_frames)
