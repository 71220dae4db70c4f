"""The paper's claims, stated before the runs and tested as one family.

Each claim says that Hybrid is at least as good as another sampler on one measure of one
suite: a one-sided non-inferiority test with a stated margin, plus a superiority test and an
inferiority test (:func:`hybridlib.metrics.clustered.claim_test`, two-level bootstrap over
question clusters and seeds), all Holm-corrected together
(:func:`hybridlib.metrics.clustered.claims_table`), each with the smallest effect it could
have detected (80% power).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from hybridlib.metrics.clustered import claim_test, claims_table, clustered_bootstrap
from hybridlib.metrics.measures import higher_is_better
from hybridlib.reporting.results import MixingSystems, comparison_units
from hybridlib.systems import system_name

MAP_MARGIN = 0.01  # mAP points: "at least as good" means no worse than this
RANK_MARGIN_FRACTION = 0.05  # rank distance: no more than 5% above the other's


@dataclass(frozen=True)
class Claim:
    """Hybrid (``better``) is at least as good as ``other`` on ``setting`` ``metric`` of ``suite``."""

    suite: str
    setting: str
    metric: str
    better: str
    other: str

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.metric)

    @property
    def name(self) -> str:
        measure = (
            "rank distance"
            if self.metric == "rank_distance"
            else f"{self.setting.title()} {self.metric}"
        )
        relation = "<=" if not self.higher_is_better else ">="
        return f"{self.suite}: {self.better} {relation} {self.other} on {measure}"


def paper_claims(suite: str, hybrid: str = system_name("hybrid", 0.5)) -> list[Claim]:
    """The paper's claims on one LAReQA suite: Hybrid keeps X-X's Mono accuracy and X-Y's
    Cross and Multi accuracy, and has X-Y's low language bias (rank distance)."""
    return [
        Claim(suite, "mono", "map", hybrid, "X-X"),
        Claim(suite, "cross", "map", hybrid, "X-Y"),
        Claim(suite, "multi", "map", hybrid, "X-Y"),
        Claim(suite, "multi", "rank_distance", hybrid, "X-Y"),
    ]


def margin_of(claim: Claim, other_estimate: float) -> float:
    """The non-inferiority margin: :data:`MAP_MARGIN` for rates, :data:`RANK_MARGIN_FRACTION`
    of the other system's estimate for rank distance."""
    if not claim.higher_is_better:
        return RANK_MARGIN_FRACTION * abs(other_estimate)
    return MAP_MARGIN


def evaluate_claims(per_query: pd.DataFrame, runs: pd.DataFrame, claims: Sequence[Claim], *,
                n_resamples: int = 2000, seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """Test every claim on identical units and correct them as one family; one row per
    claim with both systems' estimates, the difference, its interval, the margin, the
    Holm-adjusted p-values, the verdict and the minimal detectable effect."""
    tests, estimates = [], []
    for claim in claims:
        systems = [claim.better, claim.other]
        units = comparison_units(per_query, runs, claim.suite, systems, claim.setting, claim.metric)
        draws = clustered_bootstrap(units, systems, n_resamples=n_resamples, seed=seed)
        margin = margin_of(claim, float(draws.estimate[1]))
        tests.append(claim_test(draws, claim.better, claim.other, margin=margin,
                                higher_is_better=claim.higher_is_better, name=claim.name))  # fmt: skip
        estimates.append((float(draws.estimate[0]), float(draws.estimate[1])))
    table = claims_table(tests, alpha=alpha)
    table.insert(3, "estimate", [e[0] for e in estimates])
    table.insert(4, "other_estimate", [e[1] for e in estimates])
    return table


def verdict_counts(table: pd.DataFrame) -> str:
    """``"2 superior, 1 non-inferior, 1 inconclusive"`` (verdicts in a fixed order)."""
    order = ["superior", "non-inferior", "inconclusive", "inferior"]
    counts = table["verdict"].value_counts()
    return ", ".join(f"{int(counts[v])} {v}" for v in order if v in counts)


# the (setting, measure) pairs a trained way to mix is held to on a LAReQA suite
MIXING_CLAIM_MEASURES = (
    ("mono", "map"),
    ("cross", "map"),
    ("multi", "map"),
    ("multi", "rank_distance"),
)


def mixing_claims(
    suite: str, mixing: MixingSystems, hybrid: str = system_name("hybrid", 0.5)
) -> dict[str, list[Claim]]:
    """The questions of the other ways to mix languages, stated before the runs, as three
    families of claims on one LAReQA suite (each tested and corrected on its own):

    - ``trained``: per-pair or scheduled mixing is at least as good as ``hybrid`` on each of
      Mono, Cross, Multi mAP and rank distance (does it do what Hybrid does?);
    - ``training-free``: the untrained encoder post-processed reaches ``hybrid``'s Multi mAP and
      rank distance, and keeps the untrained encoder's Mono mAP;
    - ``combined``: ``hybrid`` post-processed is at least as good as ``hybrid`` alone (Multi mAP,
      rank distance, Mono mAP) and as the untrained encoder with the same post-processing
      (Multi mAP).
    """
    untrained_by_method = {
        post: s for s, (base, post) in mixing.processed.items() if base == "untrained"
    }
    families = {
        "trained": [Claim(suite, setting, metric, s, hybrid)
                    for s in (*mixing.per_pair, *mixing.schedules) for setting, metric in MIXING_CLAIM_MEASURES],
        "training-free": [c for s in mixing.processed_from("untrained") for c in (
            Claim(suite, "multi", "map", s, hybrid), Claim(suite, "multi", "rank_distance", s, hybrid),
            Claim(suite, "mono", "map", s, "untrained"))],
        "combined": [c for s in mixing.processed_from(hybrid) for c in (
            Claim(suite, "multi", "map", s, hybrid), Claim(suite, "multi", "rank_distance", s, hybrid),
            Claim(suite, "mono", "map", s, hybrid),
            *([Claim(suite, "multi", "map", s, untrained_by_method[mixing.processed[s][1]])]
              if mixing.processed[s][1] in untrained_by_method else []))],
    }  # fmt: skip
    return {name: claims for name, claims in families.items() if claims}


def shift_claims(
    suite: str, setting: str, metric: str, mixing: MixingSystems,
    hybrid: str = system_name("hybrid", 0.5),
) -> list[Claim]:  # fmt: skip
    """On a domain-shift suite's headline measure: per-pair mixing at least as good as
    ``hybrid``, and each post-processing of the untrained encoder and of ``hybrid`` at least as
    good as the same system without it."""
    return [Claim(suite, setting, metric, s, hybrid) for s in mixing.per_pair] + [
        Claim(suite, setting, metric, s, base)
        for s, (base, _) in mixing.processed.items()
        if base in ("untrained", hybrid)
    ]
