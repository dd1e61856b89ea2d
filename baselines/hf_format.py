"""Hugging Face Whisper checkpoints on disk -> ``WhisperEncoder`` state dicts.

A folder holds ``config.json`` and ``model.safetensors`` / ``pytorch_model.bin``, or their sharded
forms with an index, of ``WhisperModel`` or ``WhisperForConditionalGeneration``; the encoder's
tensors are those under ``encoder.`` or ``model.encoder.``. ``check_encoder_state`` is the shape
check every source's state dict passes (CTranslate2 files too). ``probe_hub`` tells, within a
bounded time, whether the Hugging Face hub answers at all.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import torch
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder, sinusoids


def hf_weight_files(folder: Path) -> list[Path]:
    for single, index in (
        ("model.safetensors", "model.safetensors.index.json"),
        ("pytorch_model.bin", "pytorch_model.bin.index.json"),
    ):
        if (folder / index).is_file():
            shards = set(json.loads((folder / index).read_text())["weight_map"].values())
            return [folder / s for s in sorted(shards)]
        if (folder / single).is_file():
            return [folder / single]
    return []


def read_hf_encoder(folder: Path, config: WhisperConfig) -> dict[str, torch.Tensor]:
    """Encoder tensors of an HF Whisper checkpoint (``encoder.*`` or ``model.encoder.*`` keys)."""
    state: dict[str, torch.Tensor] = {}
    for path in hf_weight_files(folder):
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                for key in f.keys():  # noqa: SIM118 - safe_open is not a dict
                    if (short := _encoder_key(key)) is not None:
                        state[short] = f.get_tensor(key)
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            state.update({s: t for k, t in loaded.items() if (s := _encoder_key(k)) is not None})
    if "embed_positions.weight" not in state and state:  # deterministic sinusoids, not always saved
        state["embed_positions.weight"] = sinusoids(config.max_source_positions, config.d_model)
    state = {k: v.to(torch.float32).contiguous() for k, v in state.items()}
    check_encoder_state(state, config, str(folder))
    return state


def _encoder_key(key: str) -> str | None:
    for prefix in ("model.encoder.", "encoder."):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return None


def check_encoder_state(state: dict[str, torch.Tensor], config: WhisperConfig, where: str) -> None:
    """Keys and shapes must be exactly those of ``WhisperEncoder(config)`` (built on meta: free)."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in WhisperEncoder(config).state_dict().items()}
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [
        f"{k} {tuple(state[k].shape)} != {expected[k]}"
        for k in expected
        if k in state and tuple(state[k].shape) != expected[k]
    ]
    if missing or extra or wrong:
        raise ValueError(
            f"{where}: encoder weights do not fit WhisperEncoder(config): missing {missing[:5]}, "
            f"unexpected {extra[:5]}, wrong shapes {wrong[:5]}"
        )


HUB_PROBE_TIMEOUT_S = (
    2.0  # the whole failing hub attempt must stay around this on an offline machine
)
_PROBE_CACHE: dict[str, tuple[float, bool, str]] = {}


def probe_hub(endpoint: str, repo: str, timeout: float = HUB_PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Can we talk HTTP to the hub? Bounded by ``timeout`` even if DNS hangs (probe in a thread).

    Uses urllib, so HTTPS_PROXY and friends are honoured; any HTTP status counts as reachable.
    A result is reused for 60 s so one failing load does not probe once per candidate.
    """
    now = time.monotonic()
    if endpoint in _PROBE_CACHE and now - _PROBE_CACHE[endpoint][0] < 60:
        return _PROBE_CACHE[endpoint][1:]
    outcome: list[tuple[bool, str]] = []

    def attempt() -> None:
        request = urllib.request.Request(f"{endpoint}/api/models/{repo}", method="HEAD")
        try:
            urllib.request.urlopen(request, timeout=timeout).close()
            outcome.append((True, "ok"))
        except urllib.error.HTTPError as err:
            outcome.append((True, f"HTTP {err.code}"))
        except (urllib.error.URLError, OSError, ValueError) as err:
            outcome.append((False, f"{endpoint}: {getattr(err, 'reason', err)}"))

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    result = outcome[0] if outcome else (False, f"{endpoint}: no answer within {timeout:.1f} s")
    _PROBE_CACHE[endpoint] = (now, *result)
    return result
