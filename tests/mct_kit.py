"""The tiny student, data and projector that the schedule tests (test_mct, test_authors_recipe)
train: a 1-layer Whisper-style encoder on 3 separable classes, seconds per schedule on a CPU."""

from __future__ import annotations

import torch

from baselines.whisper import WhisperClassifier, WhisperDims
from quads.distill import FeatureProjector
from quads.train import TensorData

FRAMES = 20  # log-mel frames per utterance
DIMS = WhisperDims(d_model=16, layers=1, heads=2, ffn=32)
CLASSES = 3
TEACHER_DIM = 8


def student(seed: int = 0) -> WhisperClassifier:
    torch.manual_seed(seed)
    return WhisperClassifier("tiny", CLASSES, FRAMES, dims=DIMS)


def separable_data(n: int, seed: int) -> TensorData:
    """n utterances (80, FRAMES) whose mel and teacher features shift with their class."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % CLASSES
    mel = torch.randn(n, 80, FRAMES, generator=gen) + labels.view(-1, 1, 1).float()
    teacher = torch.randn(n, TEACHER_DIM, generator=gen) + labels.view(-1, 1).float()
    return TensorData({"mel": mel, "labels": labels, "teacher": teacher})


def projector(seed: int = 0) -> FeatureProjector:
    torch.manual_seed(seed)
    return FeatureProjector(DIMS.d_model, TEACHER_DIM)
