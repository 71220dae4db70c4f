"""``hybridlib data``: stats, verify and fetch, parsed as the ``hybridlib`` command does."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest

from hybridlib.data.commands import register


def main(argv: list[str]) -> int:
    """``hybridlib.cli.main`` with only this area's sub-command (no other area imported)."""
    parser = argparse.ArgumentParser(prog="hybridlib")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_stats_to_csv(real_data_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "stats.csv"
    argv = ["data", "--root", str(real_data_dir), "stats", "tydiqa", "scifact"]
    assert main([*argv, "--output", str(output)]) == 0
    table = pd.read_csv(output)
    assert len(table) == 10
    assert table.set_index("language").loc["bn", "n_queries"] == 113
    assert list(tmp_path.iterdir()) == [output]


def test_stats_rejects_unknown_suite(real_data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "--root", str(real_data_dir), "stats", "imagenet"]) == 2
    assert "unknown suite(s) ['imagenet']" in capsys.readouterr().err


def test_verify(real_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "--root", str(real_data_dir), "verify", "mlqa-r", "multi30k"]) == 0
    assert "all files match SHA256SUMS" in capsys.readouterr().out
    assert main(["data", "--root", str(tmp_path), "verify", "mlqa-r"]) == 1
    assert "mlqa-r/de.json: missing" in capsys.readouterr().out


def test_fetch_of_scifact_explains(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "--root", str(tmp_path), "fetch", "beir/scifact"]) == 2
    assert "no single file to download" in capsys.readouterr().err
