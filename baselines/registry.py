"""Every model of the paper's tables, by name. Unknown names fail and list the known ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn

from baselines.ctl import build_ctl_classifier
from baselines.prosody import build_prosody_model
from baselines.whisper import build_whisper_classifier


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Callable[..., nn.Module]  # (num_classes, n_frames) -> module
    pretrained: str | None  # name of the pretrained Whisper encoder it starts from, if any
    description: str


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec, replace: bool = False) -> ModelSpec:
    """Add ``spec`` under its name; ``replace=True`` swaps an existing entry (tiny test models)."""
    if spec.name in MODELS and not replace:
        raise ValueError(f"model {spec.name!r} registered twice")
    MODELS[spec.name] = spec
    return spec


for _size, _pre in (
    ("tiny", "tiny.en"),
    ("base", "base"),
    ("small", "small"),
    ("large", "large-v2"),
):
    register(
        ModelSpec(
            name=f"whisper-{_size}",
            build=partial(build_whisper_classifier, _size),
            pretrained=_pre,
            description=f"Whisper {_size} encoder + mean pooling + linear head",
        )
    )

register(
    ModelSpec(
        name="ctl",
        build=build_ctl_classifier,
        pretrained=None,  # NeMo's SLU checkpoint is not on PyPI
        description="Conformer-Transformer-Large (NeMo SLU): 17x512 Conformer + 3-layer decoder",
    )
)
for _name, _desc in (
    ("prosody", "Prosody (Rajaa 2023): Whisper base + prosody concat + 2-layer LSTM"),
    (
        "prosody-distill",
        "Prosody + Distillation: prosody and acoustic branches, acoustic at inference",
    ),
):
    register(
        ModelSpec(
            name=_name,
            build=partial(build_prosody_model, _name),
            pretrained="base",
            description=_desc,
        )
    )


def get_model_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build_model(name: str, num_classes: int, n_frames: int) -> nn.Module:
    """A randomly initialised model from the registry."""
    return get_model_spec(name).build(num_classes=num_classes, n_frames=n_frames)


def example_inputs(model: nn.Module, n_frames: int, batch: int = 1, seed: int = 0) -> dict:
    """Random inputs of the right shapes for a model's keyword inputs, for counting and timing.

    ``mel``: (B, 80, n_frames) log-mel; ``prosody``: (B, 6, n_frames) prosodic features.
    """
    import torch

    channels = {"mel": 80, "prosody": 6}
    gen = torch.Generator().manual_seed(seed)
    names = getattr(model, "inputs", ("mel",))
    unknown = [n for n in names if n not in channels]
    if unknown:
        raise ValueError(f"no example input for {unknown}; known: {', '.join(channels)}")
    return {n: torch.randn(batch, channels[n], n_frames, generator=gen) for n in names}
