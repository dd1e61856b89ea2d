"""What several test modules share: the tiny synthetic corpus of the session and ``run_forked``.

``TINY_FSC`` is generated once per test session (the ``tiny_fsc_corpora`` fixture in conftest.py):
generating a corpus starts a fresh interpreter that imports scipy and espeak-ng (about 2 s), so
the tests that only need some corpus share this one instead of generating their own.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from benchmark.data.synthetic import SyntheticConfig

# 3 intents x (2 train + 1 valid + 1 test speakers) x 1 utterance = 6 / 3 / 3 utterances, with
# every kind of noise the generator adds (white/pink/brown at 10 and 5 dB SNR, 2-talker babble)
TINY_FSC = SyntheticConfig(
    kind="fsc",
    intents=("activate_lamp_none", "bring_juice_none", "decrease_volume_none"),
    n_train_speakers=2,
    n_valid_speakers=1,
    n_test_speakers=1,
    utterances_per_intent=1,
    snrs_db=(None, 10.0, 5.0),
    n_babble_tracks=2,
    babble_talkers=2,
)


# the same 3 intents, clean speech, 2 utterances per intent (12 / 6 / 6): the CLI-level tests that
# train on it (tests/test_real_layout.py, tests/test_ray_executor.py)
TINY_CLEAN_FSC = SyntheticConfig(
    kind="fsc",
    intents=("activate_lamp_none", "bring_juice_none", "decrease_volume_none"),
    n_train_speakers=2,
    n_valid_speakers=1,
    n_test_speakers=1,
    utterances_per_intent=2,
    snrs_db=(None,),
)


@dataclass(frozen=True)
class Forked:
    returncode: int  # the child's exit code, or -N when signal N ended it (as subprocess reports)
    output: str  # what the child wrote to stdout and stderr


def run_forked(fn: Callable[..., int | None], *args, timeout: float = 600.0) -> Forked:
    """Run ``fn(*args)`` in a forked child process and wait for it.

    A real, separate process (it can be SIGKILLed, or given its own resource limits) that starts
    with this process' imported modules, so it does not spend seconds importing torch as a fresh
    interpreter would. The child runs torch on one thread (an OpenMP thread pool does not survive
    a fork). Its exit code is ``fn``'s return value (None: 0), 1 on an exception (traceback in
    ``output``).
    """
    import torch

    with tempfile.TemporaryFile() as log:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the caller (pytest)
            code = 1
            try:
                torch.set_num_threads(1)
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
                sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115
                result = fn(*args)
                code = 0 if result is None else int(result)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                os._exit(code)
        deadline = time.monotonic() + timeout
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise TimeoutError(f"forked {fn.__name__} did not end within {timeout} s")
            time.sleep(0.02)
        log.seek(0)
        output = log.read().decode(errors="replace")
    return Forked(os.waitstatus_to_exitcode(status), output)


def predictions_scoring(percent: float, n_classes: int = 3, per_class: int = 100) -> dict:
    """Test "truth" / "pred" ids (n_classes x per_class,) whose accuracy and macro F1 both equal
    ``percent`` (a multiple of 100 / per_class): every class loses the same share to the next one,
    so each class's precision = recall = accuracy. For result files, whose stored metrics must be
    those of their predictions (``benchmark.results.stored_values``)."""
    wrong = round(per_class * (100 - percent) / 100)
    truth = [c for c in range(n_classes) for _ in range(per_class)]
    pred = [
        (c + 1) % n_classes if i < wrong else c for c in range(n_classes) for i in range(per_class)
    ]
    return {"truth": truth, "pred": pred}
