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
    pruned = [
        {"temperature": 0.02, "lr": 3e-4, "step": 100},
        {"temperature": 0.05, "lr": 3e-4, "step": 100},
    ]
    assert choice_sentence({"temperature": 0.05, "lr": 1e-4, "steps": 80, "pruned": pruned}) == (
        "temperature 0.05, learning rate 0.0001; 80 steps; stopped by successive halving: "
        "temperature 0.02 and learning rate 0.0003 at step 100, temperature 0.05 and learning "
        "rate 0.0003 at step 100"
    )


def test_halving_schedule_keeps_the_better_share_at_each_rung() -> None:
    from hybridlib.experiment import halving_schedule

    assert halving_schedule(4, 300, 50) == [(300, 4)]  # exhaustive
    assert halving_schedule(4, 300, 50, [100]) == [(100, 4), (300, 2)]
    assert halving_schedule(9, 300, 50, [200, 100], keep=1 / 3) == [(100, 9), (200, 3), (300, 1)]
    assert halving_schedule(3, 80, 20, [40]) == [(40, 3), (80, 2)]  # ceil(1.5)
    assert halving_schedule(2, 300, 50, [100, 200]) == [(100, 2), (300, 1)]  # 1 of 1: no rung
    assert halving_schedule(1, 4, 2, [2]) == [(4, 1)]  # nothing to prune: no pause
    for bad in ([30], [300], [0]):
        with pytest.raises(ValueError, match="prune_at must be multiples of every"):
            halving_schedule(4, 300, 50, bad)
    with pytest.raises(ValueError, match="keep a fraction"):
        halving_schedule(4, 300, 50, [100], keep=1.0)


def test_pairs_are_ranked_by_the_mean_of_each_systems_best() -> None:
    from hybridlib.experiment import rank_pairs

    # t 0.05: X-X best .9 (step 20), X-Y best .9 (60): mean .9; t 0.01: .8 and .8: mean .8
    ranked = rank_pairs(_two_samplers())
    assert list(ranked["temperature"]) == [0.05, 0.01]
    assert list(ranked["map_mean"]) == pytest.approx([0.9, 0.8])
    # step 0 (the untrained model) never counts, and ties go to the smaller temperature
    tied = _two_samplers().assign(map_mean=0.5)
    tied.loc[tied["step"] == 0, "map_mean"] = 1.0
    assert list(rank_pairs(tied)["temperature"]) == [0.01, 0.05]


@pytest.mark.slow
def test_successive_halving_continues_the_best_pairs_along_their_uninterrupted_curves(
    real_data_dir: Path, tmp_path: Path
) -> None:
    """With ``prune_at`` the pruned pairs' curves stop at the rung and the survivors' curves
    are those of the exhaustive grid, value for value; the choice is the same."""
    from hybridlib.experiment import rank_pairs, read_selection, run_validation, trainer_fields

    common = dict(
        model="tiny", direction_name="xquad-to-mlqa", systems=[("x-x", 1.0), ("x-y", 0.0)],
        temperatures=[0.01, 0.05], lrs=[1e-3, 1e-4], max_steps=4, every=2, seed=0,
        train=trainer_fields({"batch_size": 8, "warmup_steps": 1, "lr_schedule": "constant"},
                             None, "float32", 1, None, None),
        validation_fraction=0.1, validation_seed=0, root=str(real_data_dir),
    )  # fmt: skip
    full = run_validation(output_dir=str(tmp_path / "full"), **common)
    halved = run_validation(output_dir=str(tmp_path / "halved"), prune_at=[2], keep=0.5, **common)
    key = ["temperature", "lr", "system", "step"]
    ranked = rank_pairs(full[full["step"] <= 2])
    survivors = set(zip(ranked["temperature"][:2], ranked["lr"][:2]))
    pruned_file = tmp_path / "halved" / "selection.json"
    pruned = read_selection(pruned_file)["pruned"]
    assert sorted((p["temperature"], p["lr"], p["step"]) for p in pruned) == sorted(
        (t, lr, 2) for t in (0.01, 0.05) for lr in (1e-3, 1e-4) if (t, lr) not in survivors
    )
    expected = full[[(t, lr) in survivors or s <= 2
                     for t, lr, s in zip(full["temperature"], full["lr"], full["step"])]]  # fmt: skip
    pd.testing.assert_frame_equal(
        halved.sort_values(key).reset_index(drop=True)[list(full.columns)],
        expected.sort_values(key).reset_index(drop=True),
    )
    chosen, on_the_same_curves = read_selection(pruned_file), choose_settings(expected)
    assert (chosen["temperature"], chosen["lr"]) in survivors
    assert {k: v for k, v in chosen.items() if k != "pruned"} == on_the_same_curves
