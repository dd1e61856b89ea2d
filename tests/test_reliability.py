"""Bad options and failing disks: clear errors, nothing half-written."""

import resource
import signal
from pathlib import Path

import pytest
from helpers import run_forked

from benchmark.cli import main
from benchmark.results.files import Result, write_result
from benchmark.rows import table1_experiments


def _result() -> Result:
    return Result(
        experiment=table1_experiments()[0],
        profile="smoke",
        seed=0,
        corpus="synthetic-fsc",
        metrics={"params_m": 1.0},
        notes={"x": "y" * 20_000},  # a result larger than the file-size limit below
    )


def _write_under_a_4_kib_file_size_limit(path: Path) -> int:
    """In a forked child: RLIMIT_FSIZE makes writes past 4 KiB fail with EFBIG, as a full disk
    fails with ENOSPC."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    try:
        write_result(path, _result())
    except OSError as err:
        print("ERROR", err)
        return 3
    return 0


def test_disk_full_gives_a_clear_error_and_no_partial_file(tmp_path):
    child = run_forked(_write_under_a_4_kib_file_size_limit, tmp_path / "r" / "x.json")
    assert child.returncode == 3, child.output
    assert "cannot write result file" in child.output and "x.json" in child.output
    assert list((tmp_path / "r").iterdir()) == []


def test_results_dir_that_cannot_be_created_is_named(tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("a file where the results folder should be")
    with pytest.raises(OSError, match="cannot write result file .*reports"):
        write_result(blocker / "results" / "x.json", _result())
    assert blocker.read_text().startswith("a file")


def test_missing_slurp_root_is_a_clear_cli_error(capsys, monkeypatch):
    monkeypatch.delenv("QUADS_SLURP_ROOT", raising=False)
    code = main(["run", "--profile", "paper", "--datasets", "SLURP", "--rows", "QUADS"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--slurp-root" in err and "QUADS_SLURP_ROOT" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "--profile", "laptop"], "known: smoke, cpu, converged, paper"),
        (["run", "--profile", "smoke", "--rows", "Whisper (huge)"], "known: CTL, CTL_pt"),
        (["run", "--profile", "smoke", "--datasets", "ATIS"], "known: SLURP, FSC"),
        (["report", "--profile", "nope"], "known: smoke, cpu, converged, paper"),
    ],
)
def test_unknown_options_list_the_valid_choices(argv, expected, capsys):
    assert main(argv) == 2
    assert expected in capsys.readouterr().err


def test_unknown_bit_length_lists_the_supported_ones():
    from quads.quantize import QuantConfig

    with pytest.raises(ValueError, match="bits"):
        QuantConfig(bits=12)


def test_fsc_root_that_does_not_exist_is_named(tmp_path, capsys):
    missing = tmp_path / "no-such-fsc"
    code = main(
        [
            "run",
            "--profile",
            "paper",
            "--datasets",
            "FSC",
            "--rows",
            "QUADS",
            "--fsc-root",
            str(missing),
        ]
    )
    assert code == 2
    assert str(missing) in capsys.readouterr().err
