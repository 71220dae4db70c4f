"""Where the validation's choice sits in its grid (experiment.selection_edges)."""

from __future__ import annotations

import pandas as pd

from hybridlib.experiment import choose_settings, selection_edges


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
        "steps: the last scored (60); the curve may still be rising",
    ]
    single = curves[curves["lr"] == 1e-4]
    assert "lr: the only value tried (0.0001)" in selection_edges(single, choose_settings(single))
