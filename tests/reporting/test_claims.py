"""The claims (hybridlib.reporting.claims): non-inferiority with margins, Holm-corrected families,
the mixing chapter's three families and the domain-shift claims."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybridlib import reporting
from hybridlib.metrics.significance import holm

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
    # equal to X-X within 0.01, and X-Y is 0.05 below X-X: the test tells a worse one apart
    assert verdict["xquad-r: Hybrid(0.50) >= X-X on Mono map"] == reporting.claims.INFORMATIVE
    # lower rank distance is better: Hybrid's is 1.0 below X-Y's (10 * base - 1)
    assert verdict["xquad-r: Hybrid(0.50) <= X-Y on rank distance"] == "superior"
    row = table.set_index("name").loc["xquad-r: Hybrid(0.50) <= X-Y on rank distance"]
    assert row["difference"] == pytest.approx(1.0) and row["margin"] == pytest.approx(
        0.05 * row["other_estimate"]
    )
    assert (table["margin"].iloc[:3] == 0.01).all() and (table["mde"] > 0).all()
    assert not table["few_seeds"].any()
    assert reporting.verdict_counts(table) == "3 superior, 1 non-inferior (informative)"
    # the assays: X-Y vs X-X on Mono (-0.05), X-X vs X-Y on the rest (+0.05; rank distance:
    # X-X's is 1.0 below X-Y's, so X-X is superior: it passes too)
    assay = table.set_index("name")[list(reporting.claims.ASSAY_COLUMNS)]
    assert assay["assay"].tolist() == ["X-Y vs X-X", "X-X vs X-Y", "X-X vs X-Y", "X-X vs X-Y"]
    assert assay["assay_difference"].tolist() == pytest.approx([-0.05, 0.05, 0.05, 1.0], abs=1e-9)
    assert assay["assay_verdict"].tolist() == ["sensitive", *["insensitive"] * 3]
    assert (assay["assay_ci_low"] <= assay["assay_difference"]).all()
    assert (assay["assay_difference"] <= assay["assay_ci_high"]).all()
    shown = reporting.claims_display(table)
    assert shown.loc["xquad-r: Hybrid(0.50) >= X-X on Mono map", "assay"] == "sensitive"


@pytest.mark.parametrize(
    "x_y, verdict, assay",
    [
        (0.05, reporting.claims.PASSES_TOO, "insensitive"),  # X-Y = X-X: passes too
        (0.04, reporting.claims.NOT_SHOWN_WORSE, "inconclusive"),  # X-Y at the margin
        (0.0, reporting.claims.INFORMATIVE, "sensitive"),  # X-Y 0.05 below X-X
    ],
)
def test_a_non_inferior_verdict_is_informative_only_if_the_other_pure_sampler_fails(
    tmp_path: Path, x_y: float, verdict: str, assay: str
) -> None:
    claim_run(tmp_path, {"X-X": 0.05, "X-Y": x_y, "Hybrid(0.50)": 0.05})
    per_query, runs = reporting.load_results(tmp_path)
    mono = reporting.paper_claims("xquad-r")[:1]
    assert mono[0].assay == "X-Y"
    row = reporting.evaluate_claims(per_query, runs, mono, n_resamples=400).iloc[0]
    assert (row["verdict"], row["assay_verdict"]) == (verdict, assay)
    assert row["assay_difference"] == pytest.approx(x_y - 0.05, abs=1e-9)
    # without its assay the same claim is plainly non-inferior, and has no assay columns
    bare = reporting.Claim("xquad-r", "mono", "map", "Hybrid(0.50)", "X-X")
    plain = reporting.evaluate_claims(per_query, runs, [bare], n_resamples=400).iloc[0]
    assert plain["verdict"] == "non-inferior"
    assert plain["assay"] is None and np.isnan(plain["assay_difference"])


def test_an_assay_system_absent_from_the_runs_is_left_out(tmp_path: Path) -> None:
    claim_run(tmp_path, {"X-X": 0.05, "Hybrid(0.50)": 0.05})
    per_query, runs = reporting.load_results(tmp_path)
    row = reporting.evaluate_claims(
        per_query, runs, reporting.paper_claims("xquad-r")[:1], n_resamples=200
    ).iloc[0]
    assert row["verdict"] == "non-inferior" and row["assay_verdict"] is None


def test_verdict_counts_orders_the_readings() -> None:
    table = pd.DataFrame(
        {"verdict": ["inconclusive", reporting.claims.PASSES_TOO, "superior", "odd", "superior"]}
    )
    assert reporting.verdict_counts(table) == (
        "2 superior, 1 non-inferior (uninformative: the other pure sampler passes too), "
        "1 inconclusive, 1 odd"
    )


def test_synergy_contrast_and_at_least_as_good_as_both(tmp_path: Path) -> None:
    # mAP: X-X = base + 0.04, X-Y = base, Hybrid = base + 0.04: the midpoint + 0.02 exactly;
    # rank distance = 10 * base - 20 * offset: Hybrid 0.4 below the midpoint (lower is better)
    claim_run(tmp_path, {"X-X": 0.04, "X-Y": 0.0, "Hybrid(0.50)": 0.04})
    per_query, runs = reporting.load_results(tmp_path)
    table = reporting.evaluate_synergy(per_query, runs, ["xquad-r"], n_resamples=400)
    assert table["measure"].tolist() == [
        "Mono mAP", "Cross mAP", "Multi mAP", "Multi rank distance (lower is better)",
    ]  # fmt: skip
    assert table["contrast"].tolist() == pytest.approx([0.02, 0.02, 0.02, 0.4], abs=1e-9)
    assert (table["contrast_ci_low"] > 0).all()
    assert (table["contrast_verdict"] == "above the midpoint").all()
    assert table["hybrid"].to_numpy() == pytest.approx(table["x_x"].to_numpy())
    # Hybrid = X-X and 0.04 above X-Y: at least as good as both everywhere
    assert (table["both_verdict"] == "as good as both").all()
    assert (
        table["p_both"] == table[["p_noninferiority_x_x", "p_noninferiority_x_y"]].max(axis=1)
    ).all()
    assert table["margin_x_x"].iloc[0] == 0.01
    assert table["margin_x_y"].iloc[3] == pytest.approx(0.05 * table["x_y"].iloc[3])
    assert np.allclose(table["p_contrast_adjusted"], holm(table["p_contrast"]))
    assert np.allclose(table["p_both_adjusted"], holm(table["p_both"]))
    shown = reporting.synergy_display(table)
    assert shown["midpoint"].tolist() == ["above the midpoint"] * 4


def test_no_synergy_at_the_midpoint(tmp_path: Path) -> None:
    # Hybrid exactly halfway: contrast 0 (not shown); 0.02 below X-X, beyond the 0.01 margin
    # on mAP: not as good as both
    claim_run(tmp_path, {"X-X": 0.04, "X-Y": 0.0, "Hybrid(0.50)": 0.02}, seeds=(0, 1))
    per_query, runs = reporting.load_results(tmp_path)
    table = reporting.evaluate_synergy(
        per_query, runs, ["xquad-r"], measures=[("cross", "map")], n_resamples=400
    )
    row = table.iloc[0]
    assert row["contrast"] == pytest.approx(0.0, abs=1e-9)
    assert (row["contrast_verdict"], row["both_verdict"]) == ("not shown", "not shown")
    assert row["few_seeds"]  # two seeds
    assert reporting.synergy_display(table)["both"].iloc[0].endswith("†")
    empty = reporting.evaluate_synergy(per_query, runs, ["mlqa-r"])
    assert empty.empty and list(empty.columns) == list(reporting.claims.SYNERGY_COLUMNS)


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


def test_pure_claims_carry_the_other_pure_sampler_as_assay() -> None:
    assert reporting.pure_claims("tydiqa", "mono", "map", "H") == [
        reporting.Claim("tydiqa", "mono", "map", "H", "X-X", assay="X-Y"),
        reporting.Claim("tydiqa", "mono", "map", "H", "X-Y", assay="X-X"),
    ]
    assert [c.assay for c in reporting.paper_claims("xquad-r")] == ["X-Y", "X-X", "X-X", "X-X"]


def test_mode_agreement_tells_two_null_results_from_agreement(tmp_path: Path) -> None:
    # top: X-X = X-Y + 0.04 = Hybrid; whole: X-X = X-Y - 0.04, Hybrid = X-Y
    claim_run(tmp_path / "top", {"X-X": 0.04, "X-Y": 0.0, "Hybrid(0.50)": 0.04})
    claim_run(tmp_path / "whole", {"X-X": 0.0, "X-Y": 0.04, "Hybrid(0.50)": 0.04})
    loaded = {mode: reporting.load_results(tmp_path / mode) for mode in ("top", "whole")}
    effects = [
        ("H-XX mono", "Hybrid(0.50)", "X-X", "mono", "map"),  # 0, +0.04
        ("H-XY cross", "Hybrid(0.50)", "X-Y", "cross", "map"),  # +0.04, 0
        ("XY-XX multi", "X-Y", "X-X", "multi", "map"),  # -0.04, +0.04
    ]
    table = reporting.mode_agreement(
        {m: pq for m, (pq, _) in loaded.items()}, {m: r for m, (_, r) in loaded.items()},
        "xquad-r", effects, n_resamples=300,
    )  # fmt: skip
    assert table["top"].tolist() == pytest.approx([0.0, 0.04, -0.04], abs=1e-9)
    assert table["whole"].tolist() == pytest.approx([0.04, 0.0, 0.04], abs=1e-9)
    assert table["interaction"].tolist() == pytest.approx([0.04, -0.04, 0.08], abs=1e-9)
    assert table["reading"].tolist() == [
        "shown in one mode only", "shown in one mode only", "opposite signs",
    ]  # fmt: skip
    assert not table["equivalent"].any() and (table["margin"] == 0.01).all()
    # top's Hybrid = X-X, in both modes: shown in neither, never "agree"
    null = reporting.mode_agreement({"top": loaded["top"][0], "whole": loaded["top"][0]},
                                    {"top": loaded["top"][1], "whole": loaded["top"][1]},
                                    "xquad-r", effects[:1], n_resamples=300)  # fmt: skip
    assert null["reading"].tolist() == ["shown in neither"] and null["equivalent"].all()
    same = reporting.mode_agreement({"top": loaded["top"][0], "whole": loaded["top"][0]},
                                    {"top": loaded["top"][1], "whole": loaded["top"][1]},
                                    "xquad-r", effects[1:2], n_resamples=300)  # fmt: skip
    assert same["reading"].tolist() == ["shown in both, same sign"] and same["equivalent"].all()
    with pytest.raises(ValueError, match="two modes"):
        reporting.mode_agreement({"top": loaded["top"][0]}, {"top": loaded["top"][1]},
                                 "xquad-r", effects)  # fmt: skip
