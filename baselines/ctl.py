"""Conformer-Transformer-Large (CTL): NVIDIA NeMo's end-to-end SLU model, as an intent classifier.

NeMo's ``slu_conformer_transformer_large_slurp`` (config ``conformer_transformer_large_bpe.yaml``):
Conformer-Large encoder (17 layers, d_model 512, 8 heads, FF expansion 4 in two macaron half-step
FFs, conv kernel 31, relative positions, 4x "striding" subsampling, x-scaling by sqrt(d_model)) and
a 3-layer post-LN Transformer decoder (512, inner 2048, ReLU) over a 58-token semantics vocabulary.

Built from maintained blocks: transformers' ``Wav2Vec2ConformerEncoderLayer`` (eager relative
attention, so fvcore counts it) and its relative positional table, torch's ``nn.TransformerDecoder``.
Our own code: the subsampling, NeMo's BOS embedding, and the classification adaptation.

Classification adaptation: NeMo decodes the semantics string from a BOS token. We run exactly one
decoder step: the BOS query (NeMo's token embedding + position 0 + LayerNorm) attends to the encoder
output and a linear head maps the decoder state to intent logits. With CTL_pt weights this keeps the
decoder path the pretrained model used to predict the first semantics token (the scenario).

Trainable parameters (num_classes C; paper: 127 M):
  subsampling  Conv2d(1->512) 5,120 + Conv2d(512->512) 2,359,808 + Linear(512*20->512) 5,243,392
  17 Conformer layers x 6,323,712: two FF blocks 2 x 2,100,736 (LayerNorm, 512->2048->512);
      MHSA block 1,314,816 (LayerNorm, q/k/v/out, linear_pos, per-layer pos_bias_u/v);
      conv block 806,400 (LayerNorm, pointwise 512->1024, depthwise k31, BatchNorm, pointwise
      512->512, with NeMo's conv biases); final LayerNorm 1,024
  BOS embedding 58 x 512 tokens + LayerNorm = 30,720 (positions are fixed sinusoids)
  decoder 3 x 4,204,032
  head 513 * C
  = 127,754,240 + 513 C: 127,770,143 (C=31), 127,783,994 (C=58). NeMo's own total, with its 58-way
  token classifier instead of our head and its unused 1-row token-type embedding, is 127,784,506.

GMACs (fvcore, eager attention) at 30 s = 3000 frames: 144.30 (subsampling 39.60, each Conformer
layer 6.09, decoder 1.19 of which nearly all is the cross-attention keys/values over 750 frames).
The paper's 143.2 is what 2977-2980 frames give (745 encoder frames, 29.8 s): 143.20.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import Wav2Vec2ConformerConfig
from transformers.models.wav2vec2_conformer.modeling_wav2vec2_conformer import (
    Wav2Vec2ConformerEncoderLayer,
    Wav2Vec2ConformerRelPositionalEmbedding,
)

from baselines.whisper import N_MELS, PAPER_FRAMES


@dataclass(frozen=True)
class CTLConfig:
    """Defaults: NeMo ``conformer_transformer_large_bpe.yaml`` and the SLURP model card."""

    n_mels: int = N_MELS
    d_model: int = 512
    encoder_layers: int = 17  # "SSL conformer-large have only 17 layers"
    heads: int = 8
    ff_expansion: int = 4  # FF inner size 2048
    conv_kernel: int = 31
    subsampling_channels: int = 512  # NeMo: -1 -> d_model
    conv_bias: bool = True  # NeMo's conv module has biases; transformers' has none
    xscaling: bool = True  # subsampled features scaled by sqrt(d_model)
    dropout: float = 0.1  # NeMo dropout / dropout_att / dropout_pre_encoder
    decoder_layers: int = 3
    decoder_heads: int = 8
    decoder_ffn: int = 2048
    decoder_dropout: float = 0.0  # NeMo: attn_score/attn_layer/ffn dropout 0.0
    vocab_size: int = 58  # NeMo's SLURP SentencePiece vocabulary incl. BOS, EOS, pad (model card)
    bos_id: int = 1  # SentencePiece's default BOS id


def _conv_out(length: int) -> int:
    """Length after Conv(k3, s2, p1): 80 -> 40 -> 20, 3000 -> 1500 -> 750."""
    return (length + 2 - 3) // 2 + 1


class StridingSubsampling(nn.Module):
    """NeMo's "striding" 4x subsampling: two Conv2d(k3, s2, p1) + ReLU over (time, mel), then Linear.

    (B, n_mels, T) -> (B, ceil(T/4), d_model)
    """

    def __init__(self, n_mels: int, channels: int, d_model: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, channels, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1),
            nn.ReLU(),
        )
        self.out = nn.Linear(channels * _conv_out(_conv_out(n_mels)), d_model)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.conv(mel.transpose(1, 2).unsqueeze(1))  # (B, C, T/4, n_mels/4)
        b, c, t, f = x.shape
        return self.out(x.transpose(1, 2).reshape(b, t, c * f))  # (B, T/4, d_model), NeMo's order


def _biased(conv: nn.Conv1d) -> nn.Conv1d:
    """The same Conv1d with a bias (NeMo ``use_bias=True``)."""
    return nn.Conv1d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        groups=conv.groups,
        bias=True,
    )


class ConformerEncoder(nn.Module):
    """Subsampling -> x-scaling -> 17 Conformer layers with relative-position self-attention.

    (B, n_mels, T) -> (B, ceil(T/4), d_model). No final LayerNorm: each layer ends with one (NeMo).
    """

    def __init__(self, config: CTLConfig, n_frames: int) -> None:
        super().__init__()
        self.config = config
        hf = Wav2Vec2ConformerConfig(
            hidden_size=config.d_model,
            num_attention_heads=config.heads,
            intermediate_size=config.ff_expansion * config.d_model,
            hidden_act="swish",  # NeMo's Swish in FFs and conv module
            position_embeddings_type="relative",
            conv_depthwise_kernel_size=config.conv_kernel,
            max_source_positions=_conv_out(_conv_out(n_frames)),  # sizes the relative table
            hidden_dropout=config.dropout,
            activation_dropout=config.dropout,
            attention_dropout=config.dropout,
            conformer_conv_dropout=config.dropout,
            layerdrop=0.0,
            attn_implementation="eager",
        )
        self.subsampling = StridingSubsampling(
            config.n_mels, config.subsampling_channels, config.d_model
        )
        self.dropout = nn.Dropout(config.dropout)
        self.positions = Wav2Vec2ConformerRelPositionalEmbedding(hf)  # fixed sinusoids, buffer
        self.layers = nn.ModuleList(
            Wav2Vec2ConformerEncoderLayer(hf) for _ in range(config.encoder_layers)
        )
        if config.conv_bias:
            for layer in self.layers:
                conv = layer.conv_module
                conv.pointwise_conv1 = _biased(conv.pointwise_conv1)
                conv.depthwise_conv = _biased(conv.depthwise_conv)
                conv.pointwise_conv2 = _biased(conv.pointwise_conv2)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.subsampling(mel)  # (B, T', d)
        if self.config.xscaling:
            x = x * math.sqrt(self.config.d_model)
        x = self.dropout(x)
        relative = self.positions(x)  # (1, 2T'-1, d)
        for layer in self.layers:
            x = layer(x, relative_position_embeddings=relative)
        return x


class BosQuery(nn.Module):
    """NeMo's ``TransformerEmbedding`` at its only inference input: the BOS token at position 0.

    Token embedding + fixed sinusoid (scaled by 1/sqrt(d), NeMo) + LayerNorm -> (B, 1, d).
    """

    def __init__(self, vocab_size: int, d_model: int, bos_id: int) -> None:
        super().__init__()
        if not 0 <= bos_id < vocab_size:
            raise ValueError(f"bos_id must be in [0, {vocab_size}), got {bos_id}")
        self.bos_id = bos_id
        self.token_embedding = nn.Embedding(vocab_size, d_model, padding_idx=0)
        position0 = torch.zeros(d_model)
        position0[1::2] = 1.0  # sin(0) = 0 on even, cos(0) = 1 on odd dims
        self.register_buffer("position0", position0 / math.sqrt(d_model), persistent=False)
        self.layer_norm = nn.LayerNorm(d_model, eps=1e-5)

    def forward(self, batch_size: int) -> torch.Tensor:
        query = self.token_embedding.weight[self.bos_id] + self.position0  # (d,)
        return self.layer_norm(query.expand(batch_size, 1, -1))  # (B, 1, d)


class CTLClassifier(nn.Module):
    """Conformer encoder -> one Transformer-decoder step from BOS -> linear intent head.

    Input ``mel``: (B, 80, T) log-mel; output logits (B, num_classes). Any T works; ``n_frames``
    sizes the relative-position table.
    """

    inputs = ("mel",)

    def __init__(
        self, num_classes: int, n_frames: int = PAPER_FRAMES, config: CTLConfig = CTLConfig()
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        if n_frames <= 0:
            raise ValueError(f"n_frames must be positive, got {n_frames}")
        self.config = config
        self.n_frames = n_frames
        self.encoder = ConformerEncoder(config, n_frames)
        self.query = BosQuery(config.vocab_size, config.d_model, config.bos_id)
        layer = nn.TransformerDecoderLayer(
            config.d_model,
            config.decoder_heads,
            dim_feedforward=config.decoder_ffn,
            dropout=config.decoder_dropout,
            activation="relu",
            batch_first=True,
            norm_first=False,  # NeMo's decoder is post-LN (pre_ln: false), no final norm
        )
        self.decoder = nn.TransformerDecoder(layer, config.decoder_layers)
        self.head = nn.Linear(config.d_model, num_classes)

    @property
    def feature_dim(self) -> int:
        return self.config.d_model

    def features(self, mel: torch.Tensor) -> torch.Tensor:
        """Decoder state at BOS: (B, 80, T) -> (B, d_model)."""
        memory = self.encoder(mel)  # (B, T/4, d)
        return self.decoder(self.query(mel.shape[0]), memory).squeeze(1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(mel))


def build_ctl_classifier(num_classes: int, n_frames: int = PAPER_FRAMES) -> CTLClassifier:
    """Random-init full-size CTL intent classifier."""
    return CTLClassifier(num_classes, n_frames)
