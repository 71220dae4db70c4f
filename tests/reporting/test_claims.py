"""The claims (hybridlib.reporting.claims): non-inferiority with margins, Holm-corrected families,
the mixing chapter's three families and the domain-shift claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib import reporting

from .conftest import claim_run, unit_rows, write_run


def test_claims_are_tested_as_one_family_with_margins(tmp_path: Path) -> None:
    # Hybrid = X-Y + 0.05 everywhere (superior on Cross and Multi), X-X = Hybrid (Mono: equal)
    claim_run(tmp_path, {"X-X": 0.05, "X-Y": 0.0, "Hybrid(0.50)": 0.05})
    per_query, runs = reporting.load_results(tmp_path)
    table = reporting.evaluate_claims(
        per_query, runs, reporting.paper_claims("xquad-r"), n_resamples=400
    )
    verdict = dict(zip(table["name"], table["verdict"]))
    assert verdict["xquad-r: Hybrid(0.50) >= X-Y on Cross map"] == "superior"
    assert verdict["xquad-r: Hybrid(0.50) >= X-Y on Multi map"] == "superior"
    assert (
        verdict["xquad-r: Hybrid(0.50) >= X-X on Mono map"] == "non-inferior"
    )  # equal, within 0.01
    # lower rank distance is better: Hybrid's is 1.0 below X-Y's (10 * base - 1)
    assert verdict["xquad-r: Hybrid(0.50) <= X-Y on rank distance"] == "superior"
    row = table.set_index("name").loc["xquad-r: Hybrid(0.50) <= X-Y on rank distance"]
    assert row["difference"] == pytest.approx(1.0) and row["margin"] == pytest.approx(
        0.05 * row["other_estimate"]
    )
    assert (table["margin"].iloc[:3] == 0.01).all() and (table["mde"] > 0).all()
    assert reporting.verdict_counts(table) == "3 superior, 1 non-inferior"


def test_other_ways_to_mix_are_listed_in_groups_and_tested_in_three_families(
    tmp_path: Path,
) -> None:
    shifts = {
        "untrained": 0.0,
        "X-X": 0.05,
        "X-Y": 0.0,
        "Hybrid(0.50)": 0.05,
        "Per-pair(0.50)": 0.05,
        "Schedule(1.00→0.00)": -0.05,
        "untrained+LSAR": 0.05,
        "Hybrid(0.50)+LSAR": 0.05,
    }
    claim_run(tmp_path, shifts)
    per_query, runs = reporting.load_results(tmp_path)
    mixing = reporting.mixing_systems(runs, "xquad-r", "mlqa-to-xquad")
    assert mixing.names == [
        "untrained",
        "X-X",
        "X-Y",
        "Hybrid(0.50)",
        "Per-pair(0.50)",
        "Schedule(1.00→0.00)",
        "untrained+LSAR",
        "Hybrid(0.50)+LSAR",
    ]
    families = reporting.mixing_claims("xquad-r", mixing)
    assert {k: len(v) for k, v in families.items()} == {
        "trained": 8,
        "training-free": 3,
        "combined": 4,
    }
    assert families["combined"][-1] == reporting.Claim(
        "xquad-r", "multi", "map", "Hybrid(0.50)+LSAR", "untrained+LSAR"
    )
    trained = reporting.evaluate_claims(per_query, runs, families["trained"], n_resamples=1000)
    verdict = dict(zip(trained["name"], trained["verdict"]))
    # per-pair equals Hybrid everywhere: non-inferior, not superior; the schedule is 0.05 below
    assert {v for k, v in verdict.items() if "Per-pair" in k} == {"non-inferior"}
    assert verdict["xquad-r: Schedule(1.00→0.00) >= Hybrid(0.50) on Multi map"] == "inferior"
    assert verdict["xquad-r: Schedule(1.00→0.00) <= Hybrid(0.50) on rank distance"] == "inferior"
    free = reporting.evaluate_claims(per_query, runs, families["training-free"], n_resamples=300)
    assert (
        dict(zip(free["name"], free["verdict"]))["xquad-r: untrained+LSAR >= untrained on Mono map"]
        == "superior"
    )


def test_the_mixing_groups_come_from_the_records_not_from_the_names(tmp_path: Path) -> None:
    """Systems whose names follow no display convention are grouped by sampler, alpha_end and
    method; a post-processing is paired with the untrained encoder's by its method, and the
    domain-shift claims test each against the system it was applied to."""
    rows = unit_rows({("en", "en"): [0.5, 0.5]})
    specs = [
        ("untrained", {"sampler": "untrained", "method": "untrained"}),
        ("Hybrid(0.50)", {"sampler": "hybrid", "alpha": 0.5}),
        ("mixed inside", {"sampler": "per-pair", "alpha": 0.5}),
        ("ramp", {"sampler": "hybrid", "alpha": 1.0, "alpha_end": 0.0}),
        ("plain+lsar", {"sampler": "untrained", "method": "untrained+lsar"}),
        ("tuned+lsar", {"sampler": "hybrid", "alpha": 0.5, "method": "trained+lsar"}),
        ("other hybrid+lsar", {"sampler": "hybrid", "alpha": 0.25, "method": "trained+lsar"}),
    ]
    for n, (system, extra) in enumerate(specs):
        write_run(tmp_path, f"r{n}", system, 0, rows, **extra)
    _, runs = reporting.load_results(tmp_path)
    mixing = reporting.mixing_systems(runs, "xquad-r", "mlqa-to-xquad")
    assert mixing.references == ("untrained", "Hybrid(0.50)")
    assert (mixing.per_pair, mixing.schedules) == (("mixed inside",), ("ramp",))
    assert mixing.processed == {
        "plain+lsar": ("untrained", "lsar"),
        "tuned+lsar": ("Hybrid(0.50)", "lsar"),
    }  # Hybrid(0.25)'s post-processing belongs to no group of this chapter
    families = reporting.mixing_claims("xquad-r", mixing)
    assert families["combined"][-1] == reporting.Claim(
        "xquad-r", "multi", "map", "tuned+lsar", "plain+lsar"
    )
    assert reporting.shift_claims("xquad-r", "cross", "map", mixing) == [
        reporting.Claim("xquad-r", "cross", "map", "mixed inside", "Hybrid(0.50)"),
        reporting.Claim("xquad-r", "cross", "map", "plain+lsar", "untrained"),
        reporting.Claim("xquad-r", "cross", "map", "tuned+lsar", "Hybrid(0.50)"),
    ]
