"""The data layer: corpora (synthetic, FSC, SLURP) as `Corpus` records, and cached log-mels.

    records.py   Utterance, Corpus, make_corpus (label space, unseen-label policy, fingerprint)
    corpora.py   registry by name: get_corpus("synthetic-fsc" | "synthetic-slurp" | "fsc" | "slurp")
    fsc.py, slurp.py            loaders for the official layouts
    synthetic.py                espeak-ng corpora generated once into the cache
    tts.py, noise.py            espeak-ng through ctypes; additive noise
    phrases_fsc.py, phrases_slurp.py   what the synthetic speakers say
    audio.py     read_audio (soundfile, resample, downmix, AudioError)
    features.py  Whisper log-mel and load_features (cached with `datasets`)
    cache.py     cache folders and atomic publication

Submodules are imported on demand (nothing heavy is imported here).
"""
