"""One identity per system: labels in paths, names in tables, and what folds into what."""

from __future__ import annotations

import pytest

from hybridlib.systems import canonical, debiased_name, system_label, system_name


@pytest.mark.parametrize(
    ("sampler", "alpha", "alpha_end", "label", "name"),
    [
        ("x-x", 0.3, None, "x-x", "X-X"),
        ("hybrid", 1.0, None, "x-x", "X-X"),
        ("hybrid", 0.0, None, "x-y", "X-Y"),
        ("hybrid", 0.5, None, "hybrid-a0.50", "Hybrid(0.50)"),
        ("hybrid", 0.5, 0.5, "hybrid-a0.50", "Hybrid(0.50)"),  # a schedule that does not move
        ("hybrid", 1.0, 0.0, "hybrid-a1.00-0.00", "Schedule(1.00→0.00)"),
        ("hybrid", 0.0, 1.0, "hybrid-a0.00-1.00", "Schedule(0.00→1.00)"),
        ("per-pair", 0.5, None, "per-pair-a0.50", "Per-pair(0.50)"),
        (
            "per-pair",
            1.0,
            None,
            "per-pair-a1.00",
            "Per-pair(1.00)",
        ),  # not X-X: mixed inside batches
    ],
)
def test_labels_and_names(sampler, alpha, alpha_end, label, name):
    assert system_label(sampler, alpha, alpha_end) == label
    assert system_name(sampler, alpha, alpha_end) == name


def test_baselines_keep_their_names_and_debiased_names_add_the_method():
    assert system_name("untrained", -1.0) == "untrained"
    assert debiased_name("Hybrid(0.50)", "lsar") == "Hybrid(0.50)+LSAR"
    assert debiased_name("untrained", "centering") == "untrained+centering"
    with pytest.raises(ValueError, match="method must be one of"):
        debiased_name("X-X", "whitening")


def test_bad_samplers_and_schedules_are_named():
    with pytest.raises(ValueError, match="'x-z'"):
        canonical("x-z", 0.5)
    with pytest.raises(ValueError, match="applies to sampler 'hybrid', but got sampler 'per-pair'"):
        system_label("per-pair", 0.5, 0.0)
