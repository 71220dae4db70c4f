"""The validation's choice (experiment.choose_settings: shared settings, each sampler's own
steps), reading it back (resolve_choices, steps_of) and where it sits in its grid
(selection_edges)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hybridlib.experiment import (
    choice_sentence,
    choose_settings,
    resolve_choices,
    selection_edges,
    steps_of,
)


def _curves(best: tuple[float, float, int]) -> pd.DataFrame:
    rows = []
    for temperature in (0.01, 0.05, 0.1):
        for lr in (1e-4, 3e-4, 1e-3):
            for step in (0, 20, 40, 60):
                value = 1.0 if (temperature, lr, step) == best else 0.5
                rows.append({"temperature": temperature, "lr": lr, "step": step,
                             "system": "X-X", "map_mean": value})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_choice_inside_the_grid_has_no_edge() -> None:
    curves = _curves((0.05, 3e-4, 40))
    assert selection_edges(curves, choose_settings(curves)) == []


def test_each_choice_on_an_edge_is_named() -> None:
    curves = _curves((0.1, 1e-4, 60))
    edges = selection_edges(curves, choose_settings(curves))
    assert edges == [
        "temperature: the largest tried (0.1 of 0.01, 0.05, 0.1)",
        "lr: the smallest tried (0.0001 of 0.0001, 0.0003, 0.001)",
        "steps of X-X: the last scored (60); the curve may still be rising",
    ]
    single = curves[curves["lr"] == 1e-4]
    assert "lr: the only value tried (0.0001)" in selection_edges(single, choose_settings(single))


def _two_samplers() -> pd.DataFrame:
    # t 0.05: X-X peaks at step 20, X-Y at step 60 (0.9 each, else 0.5); t 0.01: both 0.8 at 40
    rows = []
    for temperature in (0.01, 0.05):
        for system, peak in (("X-X", 20), ("X-Y", 60)):
            for step in (0, 20, 40, 60):
                if temperature == 0.05:
                    value = 0.9 if step == peak else 0.5
                else:
                    value = 0.8 if step == 40 else 0.5
                rows.append({"temperature": temperature, "lr": 1e-4, "step": step,
                             "system": system, "map_mean": value})  # fmt: skip
    return pd.DataFrame(rows)


def test_each_sampler_stops_at_its_own_best_step_on_shared_settings() -> None:
    chosen = choose_settings(_two_samplers())
    # mean of each sampler's best: 0.9 at t 0.05, 0.8 at t 0.01 (a common step would have
    # picked t 0.01: its mean curve peaks at 0.8, t 0.05's at 0.7)
    assert (chosen["temperature"], chosen["lr"]) == (0.05, 1e-4)
    assert chosen["steps_by_system"] == {"X-X": 20, "X-Y": 60}
    assert chosen["value"] == pytest.approx(0.9)
    assert chosen["steps"] == 20  # the mean curve: 0.7 at 20 and at 60; ties to fewer steps
    assert selection_edges(_two_samplers(), chosen) == [
        "temperature: the largest tried (0.05 of 0.01, 0.05)",
        "lr: the only value tried (0.0001)",
        "steps of X-Y: the last scored (60); the curve may still be rising",
    ]


def test_resolved_choices_give_each_system_its_steps_unless_steps_are_given(tmp_path: Path) -> None:
    selection = tmp_path / "selection.json"
    selection.write_text(json.dumps(choose_settings(_two_samplers())), encoding="utf-8")
    chosen = resolve_choices(str(selection))
    assert [steps_of(chosen, s) for s in ("X-X", "X-Y", "Hybrid(0.50)")] == [20, 60, 20]
    given = resolve_choices(str(selection), steps=7)
    assert [steps_of(given, s) for s in ("X-X", "X-Y", "Hybrid(0.50)")] == [7, 7, 7]
    assert given["source"]["steps"] == "given" and chosen["source"]["steps"] == str(selection)


def test_the_choice_in_words_names_each_samplers_steps() -> None:
    chosen = choose_settings(_two_samplers())
    assert choice_sentence(chosen) == (
        "temperature 0.05, learning rate 0.0001; steps X-X 20, X-Y 60, another system 20"
    )
    assert choice_sentence({"temperature": 0.05, "lr": 1e-4, "steps": 80}) == (
        "temperature 0.05, learning rate 0.0001; 80 steps"
    )
