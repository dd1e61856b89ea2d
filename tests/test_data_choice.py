"""Which corpus each dataset runs on: the profile's, or the real one when its root is given."""

import dataclasses
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.commands import out_dir_for
from benchmark.profiles import PROFILES
from benchmark.rows import experiments
from benchmark.run.data_choice import DataChoice, roots_from
from benchmark.run.experiment import experiment_config


def test_without_a_root_every_profile_and_configuration_is_unchanged():
    choice = DataChoice()
    for profile in PROFILES.values():
        for dataset in ("FSC", "SLURP"):
            # the same object, but for its per-dataset budget (Profile.for_dataset)
            assert choice.profile_for(profile, dataset) == profile.for_dataset(dataset)
            if not profile.budgets and not profile.dataset_finetune_epochs:
                assert choice.profile_for(profile, dataset) is profile
            assert choice.label(profile, dataset) == profile.corpora[dataset]
        assert choice.replaced(profile, ("FSC", "SLURP")) == {}
    assert out_dir_for("cpu", {}) == Path("reports")
    assert out_dir_for("smoke", {}) == Path("reports/smoke")


def test_a_root_replaces_only_its_own_datasets_corpus():
    cpu = PROFILES["cpu"]
    choice = DataChoice(roots={"fsc": "/data/fsc"}, subset=50)
    assert choice.corpus_name(cpu, "FSC") == "fsc"
    assert choice.corpus_name(cpu, "SLURP") == "synthetic-slurp"
    assert choice.label(cpu, "FSC") == "fsc-subset50"
    fsc = choice.profile_for(cpu, "FSC")
    assert fsc.corpora == {"FSC": "fsc", "SLURP": "synthetic-slurp"}
    assert choice.profile_for(cpu, "SLURP") is cpu  # SLURP's results stay the profile's own
    assert choice.replaced(cpu, ("FSC", "SLURP")) == {
        "FSC": "fsc-subset50",
        "SLURP": "synthetic-slurp-subset50",
    }
    assert out_dir_for("cpu", {"FSC": "fsc"}) == Path("reports/cpu+fsc")
    # the configuration records the corpus that ran, so no result of the synthetic run is reused
    exp = next(e for e in experiments("table1") if e.dataset == "FSC" and e.row == "QUADS")
    assert experiment_config(exp, fsc, "f" * 16, 31, "fp32") != experiment_config(
        exp, cpu, "f" * 16, 31, "fp32"
    )
    # the real loaders' options, and only for real corpora
    choice = DataChoice(roots={"slurp": "/s"}, slurp_headset="farfield", unseen_labels="drop")
    assert choice.loader_options("slurp") == {"unseen_labels": "drop", "headset": False}
    assert choice.loader_options("synthetic-fsc") == {}
    assert choice.notes(cpu, "SLURP") == {"unseen_labels": "drop", "headset": "farfield"}
    assert choice.notes(cpu, "FSC") == {}


def test_roots_come_from_flags_else_the_environment(monkeypatch):
    monkeypatch.setenv("QUADS_FSC_ROOT", "/env/fsc")
    monkeypatch.delenv("QUADS_SLURP_ROOT", raising=False)
    assert roots_from() == {"fsc": "/env/fsc"}
    assert roots_from(fsc="/flag/fsc", slurp="/flag/slurp") == {
        "fsc": "/flag/fsc",
        "slurp": "/flag/slurp",
    }


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--subset", "0"], "--subset must be >= 1"),
        (["--teacher", "huge"], "unknown --teacher 'huge'; known: tiny"),
        (["--subset", "5", "--as-reference"], "replaces FSC by synthetic-fsc-subset5"),
    ],
)
def test_bad_data_options_are_named(argv, expected, capsys):
    assert main(["run", "--profile", "smoke", "--dry-run", *argv]) == 2
    assert expected in capsys.readouterr().err


def test_bad_choices_are_refused():
    with pytest.raises(ValueError, match="--slurp-headset must be one of all, farfield, only"):
        DataChoice(slurp_headset="near")
    with pytest.raises(ValueError, match="unknown corpora"):
        DataChoice(roots={"atis": "/x"})
    assert dataclasses.is_dataclass(DataChoice) and DataChoice.__dataclass_params__.frozen


def test_per_dataset_budgets_resolve_into_the_configuration_of_each_row():
    """A profile with per-dataset budgets records, per row, only the budget it trained with; a
    profile without them keeps its configuration as before (older result files stay valid)."""
    import dataclasses

    from benchmark.profiles import get_profile
    from benchmark.rows import table1_experiments
    from benchmark.run.recipe import schedule_for

    cpu = get_profile("cpu")
    fsc_budget = dataclasses.replace(cpu.budget, distill_epochs=6, mct_iterations=3)
    per = dataclasses.replace(cpu, budgets={"FSC": fsc_budget}, dataset_finetune_epochs={"FSC": 7})
    choice = DataChoice()
    fsc, slurp = choice.profile_for(per, "FSC"), choice.profile_for(per, "SLURP")
    assert fsc.budget == fsc_budget and fsc.finetune_epochs == 7 and not fsc.budgets
    assert slurp.budget == cpu.budget and slurp.finetune_epochs == cpu.finetune_epochs
    q4 = next(e for e in table1_experiments() if (e.row, e.bits, e.dataset) == ("QUADS", 4, "FSC"))
    assert schedule_for(q4, fsc).epochs_of("distill") == 6
    plain = experiment_config(q4, choice.profile_for(cpu, "FSC"), "f" * 16, 31, "fp32")
    assert "budgets" not in plain["profile"] and "dataset_finetune_epochs" not in plain["profile"]
