"""``Workspace``: corpora, cached log-mel features and cached teacher features, loaded once per
run and shared between rows, and the device and training precision, resolved once per run."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import torch

from baselines.weights import load_whisper_encoder
from baselines.whisper import WhisperClassifier, encoder_dims
from benchmark.data.cache import cache_root
from benchmark.data.integrity import load_torch_cache, save_torch_cache
from benchmark.data.records import sentence_groups, sentence_unit
from benchmark.profiles import Profile
from benchmark.run.data_choice import DataChoice
from quads.distill import teacher_features
from quads.train import TensorData, pick_device, resolve_precision


class Workspace:
    """Corpora, features and teacher features for one profile, loaded once and shared by rows."""

    def __init__(
        self,
        profile: Profile,
        data: DataChoice | dict[str, str] | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        self.profile = profile
        # which corpus each dataset runs on (a dict: root folders by real corpus name)
        self.choice = data if isinstance(data, DataChoice) else DataChoice(roots=data or {})
        self.cache = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
        self._corpora: dict[str, object] = {}
        self._features: dict[tuple[str, str], object] = {}
        self._teacher: dict[str, torch.Tensor] = {}
        self._prosody: dict[tuple[str, str], torch.Tensor] = {}
        # resolved once here, at the edge, and read by everything that trains or infers
        self.device: torch.device = pick_device(profile.device)
        # the profile's training arithmetic resolved for this machine: "fp32" | "bf16"
        self.precision: str = resolve_precision(profile.precision, self.device)

    def corpus(self, dataset: str):
        if dataset not in self._corpora:
            self._corpora[dataset] = self.choice.load(self.profile, dataset, self.cache / "corpora")
        return self._corpora[dataset]

    def features(self, dataset: str, split: str):
        """The split's cached log-mels, cut to ``profile.subset`` utterances where set."""
        from benchmark.data.features import load_features, require_features

        key = (dataset, split)
        if key not in self._features:
            corpus = self.corpus(dataset)
            fs = load_features(
                corpus, split, self.profile.n_frames, cache_dir=self.cache / "features"
            )
            require_features(fs, corpus)  # an empty split: one line, not torch.cat's error later
            if self.profile.subset is not None and len(fs.labels) > self.profile.subset:
                gen = torch.Generator().manual_seed(0)
                keep = torch.randperm(len(fs.labels), generator=gen)[: self.profile.subset]
                keep = keep.sort().values
                fs = dataclasses.replace(
                    fs,
                    mel=fs.mel[keep],
                    labels=fs.labels[keep],
                    uids=tuple(fs.uids[i] for i in keep.tolist()),
                )
            self._features[key] = fs
        return self._features[key]

    def teacher_features(self, dataset: str) -> torch.Tensor:
        """Pooled features (N_train, D_t) of the frozen pretrained teacher, cached on disk."""
        if dataset not in self._teacher:
            corpus = self.corpus(dataset)
            fs = self.features(dataset, "train")
            name = self.profile.teacher
            digest = hashlib.sha256("\n".join(fs.uids).encode()).hexdigest()[:16]
            path = (
                self.cache
                / "teacher"
                / f"{name}-{corpus.fingerprint}-{self.profile.n_frames}-{digest}.pt"
            )
            feats = load_torch_cache(path, "cached teacher features")
            if feats is None:
                pre = load_whisper_encoder(name)
                size = name.split(".")[0].split("-")[0]
                teacher = WhisperClassifier(
                    size, 2, self.profile.n_frames, dims=encoder_dims(pre.config)
                )
                teacher.load_encoder_state(pre.state_dict)
                feats = teacher_features(teacher, fs.mel, device=self.device)
                save_torch_cache(path, feats, "cached teacher features")
            self._teacher[dataset] = feats
        return self._teacher[dataset]

    def prosody(self, dataset: str, split: str) -> torch.Tensor:
        """Prosodic features (N, 6, n_frames) aligned with ``features(dataset, split)``."""
        from benchmark.data.prosody import load_prosody

        key = (dataset, split)
        if key not in self._prosody:
            fs = self.features(dataset, split)
            self._prosody[key] = load_prosody(
                self.corpus(dataset), split, fs.n_frames, fs.uids, self.cache / "prosody"
            )
        return self._prosody[key]

    def sentence_groups(self, dataset: str, split: str = "test") -> tuple[str, list[int]]:
        """(unit, sentence id per utterance of ``features(dataset, split)``, (N,)): the
        bootstrap's resampling unit (``records.sentence_groups``)."""
        by_uid = {u.uid: u for u in self.corpus(dataset).split(split)}
        return sentence_groups(by_uid[uid] for uid in self.features(dataset, split).uids)

    def data_notes(self, dataset: str) -> dict[str, object]:
        """What was skipped or converted on the way from the corpus to features."""
        corpus = self.corpus(dataset)
        notes = {
            "corpus": corpus.name,
            "skipped": dict(corpus.skipped),
            # what predictions["group"] groups test recordings by (records.sentence_unit)
            "sentence_unit": sentence_unit(corpus.split("test")),
            "features": {
                s: dict(fs.notes) for (d, s), fs in self._features.items() if d == dataset
            },
        }
        options = self.choice.notes(self.profile, dataset)
        if options:  # absent for the profile's own corpora: their result files stay as they were
            notes["options"] = options
        return notes

    def data(
        self, dataset: str, split: str, teacher: bool = False, inputs: tuple[str, ...] = ("mel",)
    ) -> TensorData:
        fs = self.features(dataset, split)
        tensors = {"mel": fs.mel, "labels": fs.labels}
        if "prosody" in inputs:
            tensors["prosody"] = self.prosody(dataset, split)
        if teacher:
            tensors["teacher"] = self.teacher_features(dataset)
        return TensorData(tensors)
