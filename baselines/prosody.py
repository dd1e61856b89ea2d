"""Prosody baselines of Table 1 (S. Rajaa, Interspeech 2023; code github skit-ai/slu-prosody).

All share a Whisper base encoder on the log-mel (cut/padded to ``n_frames``; the authors used 3 s)
and a prosody encoder, Conv1d(6 -> C, k5) + GELU layers, on the six features of
``benchmark.data.prosody_features``.

Frame rates: our prosodic features are at 10 ms like the log-mel, Whisper's output at 20 ms
(conv2 has stride 2). The prosody input is average-pooled over pairs of frames (kernel 2, stride 2)
before the prosody encoder, so prosody frame j covers the same 20 ms as Whisper frame j; the
authors computed their Kaldi features directly with a 20 ms shift, which this approximates.

Trainable parameters (Whisper base encoder 19,822,592 without its frozen positional table):
  ProsodyClassifier          21,026,944 + 257 C: 21.03 M (C=31), 21.04 M (C=58); paper 21.04 M
  ProsodyDistillClassifier   21,413,378 + 1026 C: 21.45 M (C=31), 21.47 M (C=58); paper 21.47 M
  ProsodyAttentionClassifier 19,826,689 + 513 C: 19.84 M (C=31); matches no row of the paper

GMACs (fvcore, eager attention, batch 1) at 30 s = 3000 frames, paper SLURP / FSC in brackets:
  ProsodyClassifier 43.96 (43.82 / 44.12): fvcore and FlopCounterMode skip ``aten::lstm``, whose
      2 layers x 1500 steps x 4 x 256 x 512 = 1.57 GMACs would make it 45.53
  ProsodyDistillClassifier 44.13 (44.09 / 44.31): inference runs the acoustic branch only
  ProsodyAttentionClassifier 43.74
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from baselines.whisper import PAPER_FRAMES, load_pretrained_encoder, whisper_config


@dataclass(frozen=True)
class ProsodyConfig:
    """``ProsodyBaselineModel`` of skit-ai/slu-prosody: concat + 2-layer LSTM."""

    whisper_size: str = "base"
    n_features: int = 6
    prosody_channels: int = 128  # two Conv1d(k5) + GELU: 6 -> 128 -> 128
    prosody_kernel: int = 5
    acoustic_dim: int = 128  # Linear(512 -> 128) + ReLU on Whisper frames
    lstm_hidden: int = 256
    lstm_layers: int = 2
    lstm_dropout: float = 0.1


@dataclass(frozen=True)
class ProsodyAttentionConfig:
    """``ProsodyAttentionModel`` of skit-ai/slu-prosody: prosody attention weights Whisper frames."""

    whisper_size: str = "base"
    n_features: int = 6
    prosody_channels: int = 128  # one Conv1d(6 -> 128, k5) + GELU
    prosody_kernel: int = 5


@dataclass(frozen=True)
class ProsodyDistillConfig:
    """``ProsodyDistillationModel`` and its trainer in skit-ai/slu-prosody."""

    whisper_size: str = "base"
    n_features: int = 6
    dim: int = 512  # branch width (the authors' ``dim = feature_dim``)
    prosody_kernel: int = 5
    ce_weight: float = 1.0  # on CE(prosody) + CE(acoustic)
    feature_weight: float = 1.0  # on MSE(acoustic pooled, prosody pooled)
    attention_weight: float = 1.0  # on MSE(acoustic attention map, prosody attention map)
    # For trainers: the authors train the prosody branch alone for the first 10 epochs
    # (``current_epoch < 10``), then everything. The model itself does not count epochs.
    prosody_stage_epochs: int = 10
    # The authors weight (CE sum, MSE sum) by softmax(randn(2)) drawn per batch; its expectation is
    # (0.5, 0.5), i.e. these equal weights up to a factor 2.


STAGES = ("prosody", "joint")


class AttentionPooling(nn.Module):
    """Self-attention pooling (Safari et al. 2020): softmax(Linear(D -> 1)) over time.

    (B, T, D) -> pooled (B, D), weights (B, T, 1)
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        weights = torch.softmax(self.score(x), dim=1)  # (B, T, 1)
        return (x * weights).sum(dim=1), weights


def prosody_encoder(n_features: int, widths: tuple[int, ...], kernel: int) -> nn.Sequential:
    """Conv1d(k, 'same') + GELU per width: (B, n_features, T) -> (B, widths[-1], T)."""
    if kernel % 2 == 0:
        raise ValueError(f"prosody_kernel must be odd for 'same' padding, got {kernel}")
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Conv1d(n_features, width, kernel, padding=kernel // 2), nn.GELU()]
        n_features = width
    return nn.Sequential(*layers)


def speech_frames(mel: torch.Tensor, tolerance: float = 1e-3) -> torch.Tensor:
    """Frames up to the last one above the log-mel floor: (B, 80, T) -> (B,) int64 in [1, T].

    Zero padding after the audio has power 0, which Whisper's front end maps to the
    per-utterance floor (max - 8, then (x + 4) / 4): every bin of a padded frame equals the
    utterance's minimum. An all-floor utterance counts as 1 frame.
    """
    floor = mel.amin(dim=(1, 2), keepdim=True)  # (B, 1, 1)
    active = (mel > floor + tolerance).any(dim=1)  # (B, T)
    last = active.shape[1] - torch.flip(active, dims=[1]).int().argmax(dim=1)  # (B,)
    return torch.where(active.any(dim=1), last, torch.ones_like(last))


class _WhisperProsodyModel(nn.Module):
    """Whisper encoder + input checks + pretrained-encoder loading, shared by the three models."""

    inputs = ("mel", "prosody")

    def __init__(self, num_classes: int, n_frames: int, whisper_size: str, n_features: int) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.n_frames = n_frames
        self.n_features = n_features
        self.encoder = WhisperEncoder(whisper_config(whisper_size, n_frames))
        self.encoder.embed_positions.weight.requires_grad_(False)  # sinusoids, frozen as in Whisper

    def _acoustic_frames(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 80, T) -> (B, T/2, d_model) Whisper frames at 20 ms."""
        return self.encoder(mel).last_hidden_state

    def _prosody_frames(self, prosody: torch.Tensor) -> torch.Tensor:
        """(B, 6, T) at 10 ms -> (B, 6, T/2) at 20 ms, aligned with the Whisper frames."""
        if (
            prosody.dim() != 3
            or prosody.shape[1] != self.n_features
            or prosody.shape[2] != self.n_frames
        ):
            raise ValueError(
                f"prosody must have shape (B, {self.n_features}, {self.n_frames}), got {tuple(prosody.shape)}"
            )
        return F.avg_pool1d(prosody, kernel_size=2, stride=2)

    def load_encoder_state(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a full-length (1500-position) pretrained Whisper encoder state, then crop positions."""
        load_pretrained_encoder(self.encoder, state_dict, self.n_frames)


class ProsodyClassifier(_WhisperProsodyModel):
    """The "Prosody" row: Whisper frames and prosody frames concatenated, 2-layer LSTM, linear head.

    Note: the Prosody paper's text describes prosodic attention (``ProsodyAttentionClassifier``,
    19.84 M), but the QUADS paper's 21.04 M fits only the authors' ``ProsodyBaselineModel``,
    reproduced here: Linear(512 -> 128) + ReLU on Whisper frames, Conv1d(6 -> 128 -> 128, k5) + GELU
    on prosody, concat (256), LSTM(256, 256, 2 layers, dropout 0.1), Linear.
    Inputs ``mel`` (B, 80, T), ``prosody`` (B, 6, T); logits (B, num_classes).

    Readout: the authors take the LSTM output at the last time step of a padded 3 s input. We take
    it at the last frame of speech (``speech_frames``): our synthetic FSC utterances average 1.6 s
    of 3 s, so the last step came ~70 LSTM steps into padding, and with that readout the model
    stayed at chance for 3 epochs (FSC test F1 0.20; reading at the last speech frame, 10.99 after
    the same 3 epochs, and validation accuracy 25 % against 3 %).
    """

    def __init__(
        self,
        num_classes: int,
        n_frames: int = PAPER_FRAMES,
        config: ProsodyConfig = ProsodyConfig(),
    ) -> None:
        super().__init__(num_classes, n_frames, config.whisper_size, config.n_features)
        self.config = config
        d_model = self.encoder.config.d_model
        self.acoustic_proj = nn.Sequential(nn.Linear(d_model, config.acoustic_dim), nn.ReLU())
        widths = (config.prosody_channels, config.prosody_channels)
        self.prosody_encoder = prosody_encoder(config.n_features, widths, config.prosody_kernel)
        self.rnn = nn.LSTM(
            config.acoustic_dim + config.prosody_channels,
            config.lstm_hidden,
            config.lstm_layers,
            batch_first=True,
            dropout=config.lstm_dropout,
        )
        self.head = nn.Linear(config.lstm_hidden, num_classes)

    @property
    def feature_dim(self) -> int:
        return self.config.lstm_hidden

    def features(self, mel: torch.Tensor, prosody: torch.Tensor) -> torch.Tensor:
        """LSTM output at the last frame of speech: -> (B, lstm_hidden)."""
        z = self.acoustic_proj(self._acoustic_frames(mel))  # (B, T/2, 128)
        p = self.prosody_encoder(self._prosody_frames(prosody)).transpose(1, 2)  # (B, T/2, 128)
        out = self.rnn(torch.cat([z, p], dim=2))[0]  # (B, T/2, 256)
        last = (speech_frames(mel) + 1) // 2 - 1  # 10 ms frame count -> index of 20 ms frame
        return out[torch.arange(out.shape[0], device=out.device), last.clamp(0, out.shape[1] - 1)]

    def forward(self, mel: torch.Tensor, prosody: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(mel, prosody))


class ProsodyAttentionClassifier(_WhisperProsodyModel):
    """Prosodic attention as the Prosody paper's text describes it (no row of Table 1 fits it).

    Attention pooling over the prosody frames (Conv1d(6 -> 128, k5) + GELU) gives weights (B, T/2, 1)
    that pool the Whisper frames; Linear(512 -> C). Inputs ``mel``, ``prosody``; logits (B, C).
    """

    def __init__(
        self,
        num_classes: int,
        n_frames: int = PAPER_FRAMES,
        config: ProsodyAttentionConfig = ProsodyAttentionConfig(),
    ) -> None:
        super().__init__(num_classes, n_frames, config.whisper_size, config.n_features)
        self.config = config
        self.prosody_encoder = prosody_encoder(
            config.n_features, (config.prosody_channels,), config.prosody_kernel
        )
        self.pool = AttentionPooling(config.prosody_channels)
        self.head = nn.Linear(self.encoder.config.d_model, num_classes)

    @property
    def feature_dim(self) -> int:
        return self.encoder.config.d_model

    def features(self, mel: torch.Tensor, prosody: torch.Tensor) -> torch.Tensor:
        """Whisper frames pooled by prosody attention: -> (B, d_model)."""
        p = self.prosody_encoder(self._prosody_frames(prosody)).transpose(1, 2)  # (B, T/2, 128)
        _, weights = self.pool(p)  # (B, T/2, 1)
        return (self._acoustic_frames(mel) * weights).sum(dim=1)

    def forward(self, mel: torch.Tensor, prosody: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(mel, prosody))


class ProsodyDistillClassifier(_WhisperProsodyModel):
    """The "Prosody + Distillation" row: a prosody branch teaches the acoustic branch.

    Acoustic branch: Linear(512 -> 512) + GELU on Whisper frames, attention pooling, Linear head.
    Prosody branch: Conv1d(6 -> 512 -> 512, k5) + GELU, attention pooling, Linear head.
    ``training_loss``: stage "prosody" = CE on the prosody branch only (the Whisper encoder is not
    run); stage "joint" = CE on both branches + MSE between pooled features + MSE between attention
    maps. ``forward`` (inference) runs the acoustic branch only and ignores ``prosody``.
    """

    def __init__(
        self,
        num_classes: int,
        n_frames: int = PAPER_FRAMES,
        config: ProsodyDistillConfig = ProsodyDistillConfig(),
    ) -> None:
        super().__init__(num_classes, n_frames, config.whisper_size, config.n_features)
        self.config = config
        self.stage = "joint"
        self.acoustic_proj = nn.Sequential(
            nn.Linear(self.encoder.config.d_model, config.dim), nn.GELU()
        )
        self.acoustic_pool = AttentionPooling(config.dim)
        self.acoustic_head = nn.Linear(config.dim, num_classes)
        self.prosody_encoder = prosody_encoder(
            config.n_features, (config.dim, config.dim), config.prosody_kernel
        )
        self.prosody_pool = AttentionPooling(config.dim)
        self.prosody_head = nn.Linear(config.dim, num_classes)

    def set_stage(self, stage: str) -> None:
        """ "prosody": train the prosody branch alone (first epochs); "joint": both, with distillation."""
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}")
        self.stage = stage

    @property
    def feature_dim(self) -> int:
        return self.config.dim

    def _acoustic(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pooled (B, dim), attention (B, T/2, 1)"""
        return self.acoustic_pool(self.acoustic_proj(self._acoustic_frames(mel)))

    def _prosody(self, prosody: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pooled (B, dim), attention (B, T/2, 1)"""
        return self.prosody_pool(
            self.prosody_encoder(self._prosody_frames(prosody)).transpose(1, 2)
        )

    def features(self, mel: torch.Tensor, prosody: torch.Tensor | None = None) -> torch.Tensor:
        """Acoustic branch, attention-pooled: -> (B, dim). ``prosody`` is not used."""
        return self._acoustic(mel)[0]

    def forward(self, mel: torch.Tensor, prosody: torch.Tensor | None = None) -> torch.Tensor:
        return self.acoustic_head(self.features(mel))

    def training_loss(
        self, labels: torch.Tensor, mel: torch.Tensor, prosody: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, logits of the branch being trained: prosody in stage "prosody", else acoustic)."""
        p_pooled, p_attention = self._prosody(prosody)
        p_logits = self.prosody_head(p_pooled)
        p_ce = F.cross_entropy(p_logits, labels)
        if self.stage == "prosody":
            return p_ce, p_logits
        z_pooled, z_attention = self._acoustic(mel)
        z_logits = self.acoustic_head(z_pooled)
        cfg = self.config
        loss = (
            cfg.ce_weight * (p_ce + F.cross_entropy(z_logits, labels))
            + cfg.feature_weight * F.mse_loss(z_pooled, p_pooled)
            + cfg.attention_weight * F.mse_loss(z_attention, p_attention)
        )
        return loss, z_logits


PROSODY_MODELS: dict[str, type[_WhisperProsodyModel]] = {
    "prosody": ProsodyClassifier,
    "prosody-distill": ProsodyDistillClassifier,
    "prosody-attention": ProsodyAttentionClassifier,
}


def build_prosody_model(
    name: str, num_classes: int, n_frames: int = PAPER_FRAMES
) -> _WhisperProsodyModel:
    """Random-init full-size prosody baseline by name (see ``PROSODY_MODELS``)."""
    if name not in PROSODY_MODELS:
        raise ValueError(f"unknown prosody model {name!r}; known: {', '.join(PROSODY_MODELS)}")
    return PROSODY_MODELS[name](num_classes, n_frames)
