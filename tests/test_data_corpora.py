"""Corpus registry: names, roots from arguments or environment, option checking."""

import numpy as np
import pytest
import soundfile as sf

from benchmark.data.corpora import CORPORA, available_corpora, get_corpus
from benchmark.data.phrases_fsc import FSC_INTENTS
from benchmark.data.synthetic import SyntheticConfig


def _tiny_fsc(root):
    """Smallest valid FSC layout: one utterance per split, same intent."""
    (root / "data").mkdir(parents=True)
    for i, split in enumerate(("train", "valid", "test")):
        rel = f"wavs/speakers/s{i}/u{i}.wav"
        (root / rel).parent.mkdir(parents=True)
        sf.write(root / rel, np.zeros(1600, np.float32), 16000)
        (root / "data" / f"{split}_data.csv").write_text(
            ",path,speakerId,transcription,action,object,location\n"
            f"0,{rel},s{i},Lamp on,activate,lamp,none\n"
        )
    return root


def test_registry_names_and_unknown_name():
    assert available_corpora() == ("synthetic-fsc", "synthetic-slurp", "fsc", "slurp")
    assert {CORPORA[n].stands_for for n in ("fsc", "synthetic-fsc")} == {"FSC"}
    assert {CORPORA[n].stands_for for n in ("slurp", "synthetic-slurp")} == {"SLURP"}
    with pytest.raises(ValueError, match=r"unknown corpus 'atis'.*'synthetic-fsc'.*'slurp'"):
        get_corpus("atis")


@pytest.mark.parametrize(
    ("name", "flag", "env"),
    [("fsc", "--fsc-root", "QUADS_FSC_ROOT"), ("slurp", "--slurp-root", "QUADS_SLURP_ROOT")],
)
def test_real_corpus_without_root_says_what_to_set(monkeypatch, name, flag, env):
    monkeypatch.delenv(env, raising=False)
    with pytest.raises(ValueError, match=f"{flag}.*{env}"):
        get_corpus(name)


def test_root_from_argument_or_environment(tmp_path, monkeypatch):
    root = _tiny_fsc(tmp_path / "fsc")
    by_arg = get_corpus("fsc", root=root)
    assert by_arg.counts() == {"train": 1, "valid": 1, "test": 1}
    assert by_arg.intents == ("activate_lamp_none",)
    monkeypatch.setenv("QUADS_FSC_ROOT", str(root))
    assert get_corpus("fsc") == by_arg


def test_options_are_checked(tmp_path):
    root = _tiny_fsc(tmp_path / "fsc")
    with pytest.raises(ValueError, match=r"does not take option\(s\) \['headset'\]"):
        get_corpus("fsc", root=root, headset=False)
    with pytest.raises(ValueError, match="root is not used by synthetic"):
        get_corpus("synthetic-fsc", root=root)


def test_synthetic_corpus_through_registry(tmp_path, monkeypatch):
    cfg = SyntheticConfig(
        n_train_speakers=1,
        n_valid_speakers=0,
        n_test_speakers=1,
        utterances_per_intent=1,
        intents=FSC_INTENTS[:2],
        snrs_db=(None,),
    )
    monkeypatch.setenv("QUADS_CACHE_DIR", str(tmp_path / "env-cache"))
    c = get_corpus("synthetic-fsc", config=cfg, progress=False)
    assert (
        c.synthetic and c.stands_for == "FSC" and c.counts() == {"train": 2, "valid": 0, "test": 2}
    )
    assert c.source.startswith(str(tmp_path / "env-cache" / "corpora" / "synthetic-fsc-"))
