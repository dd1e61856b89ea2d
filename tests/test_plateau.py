"""The budget rule of benchmark/run/plateau.py: where a validation curve stops improving."""

from __future__ import annotations

import pytest

from benchmark.run.plateau import distill_epochs_for, plateau_epoch, plateau_lines


def test_the_plateau_is_the_first_epoch_that_patience_epochs_do_not_beat_beyond_the_noise():
    # the converged profile's first FSC curve (seed 0, n_valid 186; noise ~3.3 points here)
    fsc = [21.51, 46.24, 59.14, 66.13, 70.97, 70.97, 72.58, 75.27, 74.19, 74.19, 75.27, 75.27]
    assert plateau_epoch(fsc, 186, patience=5) == 7
    # with a huge validation split the noise floor is 1 point: 75.27 - 72.58 > 1, so later
    assert plateau_epoch(fsc, 10**6, patience=5) is None
    rising = [10.0 * i for i in range(1, 11)]
    assert plateau_epoch(rising, 186, patience=3) is None
    assert plateau_epoch([50.0, 50.0, 50.0], 186, patience=2) == 1
    assert plateau_epoch([50.0, 50.0], 186, patience=2) is None  # too short to tell


@pytest.mark.parametrize(("plateau", "n", "epochs"), [(7, 3, 9), (9, 3, 9), (1, 3, 3), (8, 2, 8)])
def test_distillation_epochs_round_the_plateau_up_to_whole_iterations(plateau, n, epochs):
    assert distill_epochs_for(plateau, n) == epochs


def test_the_report_says_when_no_plateau_was_found():
    payload = {
        "profile": "converged",
        "seed": 0,
        "cap": 4,
        "patience": 2,
        "mct_iterations": 3,
        "datasets": {
            "FSC": {
                "curve": [10.0, 20.0, 30.0, 40.0],
                "n_valid": 186,
                "plateau": None,
                "distill_epochs": None,
                "best": 40.0,
                "best_epoch": 4,
                "seconds": 60.0,
            }
        },
        "provenance": {},
    }
    text = "\n".join(plateau_lines(payload))
    assert "| FSC | none within 4 | – | 40.00 (4) | 186 | 1.0 |" in text
