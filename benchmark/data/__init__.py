"""The data layer: corpora (synthetic, FSC, SLURP) as `Corpus` records, cached log-mels and
cached prosodic features. It imports nothing from `baselines/` (nor from the rest of the harness;
of `quads/`, only `quads.atomic`).

    records.py   Utterance, Corpus, make_corpus (label space, unseen-label policy, fingerprint)
    corpora.py   registry by name: get_corpus("synthetic-fsc" | "synthetic-slurp" | "fsc" | "slurp")
    fsc.py, slurp.py            loaders for the official layouts
    audio_index.py              per-folder index of audio digests (size/mtime fast path): real
                                corpora's fingerprints cover their audio bytes
    synthetic.py                espeak-ng corpora generated once into the cache
    synthetic_plan.py           their config, speakers, utterance plans and rendering
    tts.py, noise.py            espeak-ng through ctypes; additive noise
    phrases_fsc.py, phrases_slurp.py   what the synthetic speakers say
    audio.py     read_audio / write_audio (soundfile, resample, downmix, AudioError)
    features.py  Whisper log-mel (and log10_mel, the same spectrogram unfloored, for the prosodic
                 band energies) and load_features (cached with `datasets`)
    prosody_features.py  six prosodic features per frame (Praat pitch, band energies): pure signal
                 processing
    prosody.py   load_prosody: those features per split, cached
    cache.py     cache folders, atomic publication of a folder; re-exports quads.atomic's
                 atomic_write of a file
    subset.py    stratified_subset: at most N utterances per split, stratified by intent
    export.py    export_corpus: a corpus written in FSC's or SLURP's official layout

Submodules are imported on demand (nothing heavy is imported here).
"""
