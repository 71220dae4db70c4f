"""The paper's claims, stated before the runs and tested as one family.

Each claim says that Hybrid is at least as good as another sampler on one measure of one
suite: a one-sided non-inferiority test with a stated margin, plus a superiority test and an
inferiority test (:func:`hybridlib.metrics.clustered.claim_test`, two-level bootstrap over
question clusters and seeds), all Holm-corrected together
(:func:`hybridlib.metrics.clustered.claims_table`), each with the smallest effect it could
have detected (80% power).

A non-inferiority verdict is informative only where the test could have failed (*assay
sensitivity*): a paper claim "Hybrid >= P" carries its assay, the other pure sampler Q
tested against P with the same margin on the same units (:attr:`Claim.assay`). Its own
family of tests, Holm-corrected, decides the reading of a "non-inferior" verdict:

- "non-inferior (informative)": Q is shown *inferior* to P beyond the margin (its
  Holm-adjusted inferiority p-value < alpha), so the test tells a worse sampler apart;
- "non-inferior (uninformative: the other pure sampler passes too)": Q is non-inferior (or
  superior) to P too;
- "non-inferior (uninformative: the other pure sampler is not shown worse)": neither.

The paper's synergy (:func:`evaluate_synergy`): Hybrid against the midpoint of X-X and X-Y
(a one-sided contrast, its own Holm family), and Hybrid at least as good as *both* pure
samplers (an intersection-union test, another family).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hybridlib.metrics.clustered import (
    MIN_SEEDS,
    ClaimTest,
    ClusteredDraws,
    claim_test,
    claims_table,
    clustered_bootstrap,
    contrast_test,
)
from hybridlib.metrics.measures import higher_is_better
from hybridlib.metrics.significance import holm
from hybridlib.reporting.display import measure_name
from hybridlib.reporting.results import MixingSystems, comparison_units
from hybridlib.reporting.tables import interval_sign
from hybridlib.systems import system_name

MAP_MARGIN = 0.01  # mAP points: "at least as good" means no worse than this
RANK_MARGIN_FRACTION = 0.05  # rank distance: no more than 5% above the other's


@dataclass(frozen=True)
class Claim:
    """Hybrid (``better``) is at least as good as ``other`` on ``setting`` ``metric`` of ``suite``.

    ``assay``: the system whose test against ``other`` (same margin, same units) shows
    whether a non-inferiority verdict could have failed (for a paper claim, the other pure
    sampler); None: no assay."""

    suite: str
    setting: str
    metric: str
    better: str
    other: str
    assay: str | None = None

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


PURE = ("X-X", "X-Y")  # the two pure samplers, Hybrid(1) and Hybrid(0)


def paper_claims(suite: str, hybrid: str = system_name("hybrid", 0.5)) -> list[Claim]:
    """The paper's claims on one LAReQA suite: Hybrid keeps X-X's Mono accuracy and X-Y's
    Cross and Multi accuracy, and has X-Y's low language bias (rank distance). Each carries
    its assay: the other pure sampler (X-Y for Mono, X-X for the rest)."""
    return [
        Claim(suite, "mono", "map", hybrid, "X-X", assay="X-Y"),
        Claim(suite, "cross", "map", hybrid, "X-Y", assay="X-X"),
        Claim(suite, "multi", "map", hybrid, "X-Y", assay="X-X"),
        Claim(suite, "multi", "rank_distance", hybrid, "X-Y", assay="X-X"),
    ]


def pure_claims(
    suite: str, setting: str, metric: str, hybrid: str = system_name("hybrid", 0.5)
) -> list[Claim]:
    """Hybrid at least as good as each pure sampler on one measure of ``suite``, each claim
    with the other pure sampler as its assay (e.g. a domain-shift suite's headline measure)."""
    return [
        Claim(suite, setting, metric, hybrid, other, assay=assay)
        for other, assay in (PURE, PURE[::-1])
    ]


def margin_of(claim: Claim, other_estimate: float) -> float:
    """The non-inferiority margin: :data:`MAP_MARGIN` for rates, :data:`RANK_MARGIN_FRACTION`
    of the other system's estimate for rank distance."""
    if not claim.higher_is_better:
        return RANK_MARGIN_FRACTION * abs(other_estimate)
    return MAP_MARGIN


INFORMATIVE = "non-inferior (informative)"
PASSES_TOO = "non-inferior (uninformative: the other pure sampler passes too)"
NOT_SHOWN_WORSE = "non-inferior (uninformative: the other pure sampler is not shown worse)"
VERDICTS = ("superior", INFORMATIVE, "non-inferior", PASSES_TOO, NOT_SHOWN_WORSE,
            "inconclusive", "inferior")  # fmt: skip
ASSAY_VERDICTS = {  # the assay's test verdict (other pure sampler vs other) -> its reading
    "inferior": "sensitive",
    "non-inferior": "insensitive",
    "superior": "insensitive",
    "inconclusive": "inconclusive",
}
_READING = {"sensitive": INFORMATIVE, "insensitive": PASSES_TOO, "inconclusive": NOT_SHOWN_WORSE}
ASSAY_COLUMNS = ("assay", "assay_difference", "assay_ci_low", "assay_ci_high",
                 "assay_p_inferiority_adjusted", "assay_p_noninferiority_adjusted",
                 "assay_verdict")  # fmt: skip


def _scored(per_query: pd.DataFrame, suite: str, setting: str, metric: str) -> set[str]:
    """The systems with units of ``setting`` ``metric`` on ``suite``."""
    rows = per_query[(per_query["suite"] == suite) & (per_query["setting"] == setting)
                     & (per_query["metric"] == metric)]  # fmt: skip
    return set(rows["system"])


def _draws(per_query: pd.DataFrame, runs: pd.DataFrame, suite: str, systems: Sequence[str],
           setting: str, metric: str, n_resamples: int, seed: int) -> ClusteredDraws:  # fmt: skip
    units = comparison_units(per_query, runs, suite, systems, setting, metric)
    return clustered_bootstrap(units, systems, n_resamples=n_resamples, seed=seed)


def evaluate_claims(per_query: pd.DataFrame, runs: pd.DataFrame, claims: Sequence[Claim], *,
                n_resamples: int = 2000, seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """Test every claim on identical units and correct them as one family; one row per
    claim with both systems' estimates, the difference, its interval, the margin, the
    Holm-adjusted p-values, the verdict, the minimal detectable effect and the few-seeds flag
    (:func:`~hybridlib.metrics.clustered.claims_table`).

    A claim with an :attr:`~Claim.assay` scored on its suite and measure is bootstrapped
    with its assay system on the same units (the same cluster resamples); the assays, "assay
    >= other" with the claim's margin, form a family of their own (Holm), in the columns
    :data:`ASSAY_COLUMNS` (empty where a claim has none). ``assay_verdict``: "sensitive"
    (the assay system is inferior to ``other`` beyond the margin), "insensitive" (it is
    non-inferior or superior too) or "inconclusive"; a "non-inferior" verdict then reads
    :data:`INFORMATIVE`, :data:`PASSES_TOO` or :data:`NOT_SHOWN_WORSE`."""
    tests, estimates, assays = [], [], {}
    for n, claim in enumerate(claims):
        scored = _scored(per_query, claim.suite, claim.setting, claim.metric)
        assay = claim.assay if claim.assay in scored else None
        systems = [claim.better, claim.other, *([assay] if assay else [])]
        draws = _draws(per_query, runs, claim.suite, systems, claim.setting, claim.metric,
                       n_resamples, seed)  # fmt: skip
        margin = margin_of(claim, float(draws.estimate[1]))
        tests.append(claim_test(draws, claim.better, claim.other, margin=margin,
                                higher_is_better=claim.higher_is_better, name=claim.name))  # fmt: skip
        estimates.append((float(draws.estimate[0]), float(draws.estimate[1])))
        if assay:
            assays[n] = claim_test(draws, assay, claim.other, margin=margin,
                                   higher_is_better=claim.higher_is_better,
                                   name=f"{assay} vs {claim.other}")  # fmt: skip
    table = claims_table(tests, alpha=alpha)
    table.insert(3, "estimate", [e[0] for e in estimates])
    table.insert(4, "other_estimate", [e[1] for e in estimates])
    assay_table = claims_table(list(assays.values()), alpha=alpha)
    columns: dict[str, list] = {c: [None] * len(table) for c in ASSAY_COLUMNS}
    for n, row in zip(assays, assay_table.itertuples(index=False)):
        reading = ASSAY_VERDICTS[row.verdict]
        for column, value in zip(ASSAY_COLUMNS, (
            row.name, row.difference, row.ci_low, row.ci_high,
            row.p_inferiority_adjusted, row.p_noninferiority_adjusted, reading,
        )):  # fmt: skip
            columns[column][n] = value
        if table.at[n, "verdict"] == "non-inferior":
            table.at[n, "verdict"] = _READING[reading]
    for column in ASSAY_COLUMNS:
        numeric = column not in ("assay", "assay_verdict")
        table[column] = pd.Series(columns[column], dtype=float if numeric else object)
    return table


def verdict_counts(table: pd.DataFrame) -> str:
    """``"2 superior, 1 non-inferior (informative), 1 inconclusive"`` (verdicts in the order
    of :data:`VERDICTS`, then any other in order of appearance)."""
    counts = table["verdict"].value_counts(sort=False)
    order = [v for v in VERDICTS if v in counts] + [v for v in counts.index if v not in VERDICTS]
    return ", ".join(f"{int(counts[v])} {v}" for v in order)


SYNERGY_COLUMNS = (
    "suite", "measure", "setting", "metric", "hybrid", "x_x", "x_y",
    "contrast", "contrast_ci_low", "contrast_ci_high", "p_contrast", "p_contrast_adjusted",
    "contrast_verdict", "margin_x_x", "margin_x_y", "p_noninferiority_x_x",
    "p_noninferiority_x_y", "p_both", "p_both_adjusted", "both_verdict", "few_seeds",
)  # fmt: skip


def evaluate_synergy(per_query: pd.DataFrame, runs: pd.DataFrame, suites: Sequence[str], *,
                     measures: Sequence[tuple[str, str]] | None = None,
                     hybrid: str = system_name("hybrid", 0.5), pure: Sequence[str] = PURE,
                     n_resamples: int = 2000, seed: int = 0, alpha: float = 0.05) -> pd.DataFrame:  # fmt: skip
    """The paper's synergy, tested: one row per suite and measure (``(setting, metric)``),
    Hybrid and the two pure samplers bootstrapped together on the same units.

    - the *contrast* ``Hybrid - (X-X + X-Y) / 2`` (sign-flipped when lower is better, so > 0
      favours Hybrid), its 95% interval and its one-sided p-value for H0 "contrast <= 0"
      (:func:`~hybridlib.metrics.clustered.contrast_test`), Holm-adjusted over all the rows:
      ``contrast_verdict`` "above the midpoint" when the adjusted p < alpha, else "not shown";
    - *at least as good as both*: Hybrid non-inferior to X-X and to X-Y, each with its claim
      margin (:func:`margin_of`); an intersection-union test: H0 "worse than X-X or worse
      than X-Y by more than the margin" is rejected at level a iff both one-sided tests
      reject at a, so ``p_both`` = the larger of the two p-values, no correction within
      the row; Holm over the rows (a family of its own): ``both_verdict`` "as good as both"
      or "not shown".

    ``measures``: default the paper's claimed ones (:func:`paper_claims`). ``few_seeds``: a
    system has fewer than 3 seeds (see :func:`~hybridlib.metrics.clustered.claims_table`).
    Suites or measures without all three systems are left out."""
    x_x, x_y = pure
    if measures is None:
        measures = [(c.setting, c.metric) for c in paper_claims("", hybrid)]
    rows, contrasts, both = [], [], []
    for suite in suites:
        for setting, metric in measures:
            if not {hybrid, x_x, x_y} <= _scored(per_query, suite, setting, metric):
                continue
            draws = _draws(per_query, runs, suite, [hybrid, x_x, x_y], setting, metric,
                           n_resamples, seed)  # fmt: skip
            up = higher_is_better(metric)
            name = f"{suite}: {hybrid} vs ({x_x} + {x_y}) / 2 on {measure_name(setting, metric)}"
            contrast = contrast_test(draws, {hybrid: 1.0, x_x: -0.5, x_y: -0.5}, margin=0.0,
                                     higher_is_better=up, name=name)  # fmt: skip
            pair: list[ClaimTest] = []
            for other, i in ((x_x, 1), (x_y, 2)):
                margin = margin_of(Claim(suite, setting, metric, hybrid, other),
                                   float(draws.estimate[i]))  # fmt: skip
                pair.append(claim_test(draws, hybrid, other, margin=margin, higher_is_better=up))
            contrasts.append(contrast.p_superiority)
            both.append(max(t.p_noninferiority for t in pair))
            rows.append({
                "suite": suite, "measure": measure_name(setting, metric), "setting": setting,
                "metric": metric, "hybrid": float(draws.estimate[0]),
                "x_x": float(draws.estimate[1]), "x_y": float(draws.estimate[2]),
                "contrast": contrast.difference, "contrast_ci_low": contrast.ci_low,
                "contrast_ci_high": contrast.ci_high, "p_contrast": contrast.p_superiority,
                "margin_x_x": pair[0].margin, "margin_x_y": pair[1].margin,
                "p_noninferiority_x_x": pair[0].p_noninferiority,
                "p_noninferiority_x_y": pair[1].p_noninferiority, "p_both": both[-1],
                "few_seeds": min(contrast.n_seeds) < MIN_SEEDS,
            })  # fmt: skip
    table = pd.DataFrame(rows, columns=list(SYNERGY_COLUMNS))
    if rows:
        table["p_contrast_adjusted"] = holm(contrasts)
        table["p_both_adjusted"] = holm(both)
        table["contrast_verdict"] = np.where(
            table["p_contrast_adjusted"] < alpha, "above the midpoint", "not shown"
        )
        table["both_verdict"] = np.where(
            table["p_both_adjusted"] < alpha, "as good as both", "not shown"
        )
    return table


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


MODE_READINGS = ("shown in both, same sign", "opposite signs", "shown in one mode only",
                 "shown in neither")  # fmt: skip


def mode_agreement(per_query: Mapping[str, pd.DataFrame], runs: Mapping[str, pd.DataFrame],
                   suite: str, effects: Sequence[tuple[str, str, str, str, str]], *,
                   n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Whether the sampler differences ``effects`` (``(name, better, other, setting,
    metric)``) are the same under two modes of fine-tuning, e.g. the top layers only and the
    whole encoder: ``per_query`` and ``runs`` hold one frame per mode (two modes, the first
    the reference), each of the same queries and seeds.

    Each mode's systems are checked like for like within the mode, then all four systems
    (better and other in each mode) are bootstrapped together on the same cluster resamples.
    One row per effect: each mode's ``better - other`` (raw units) with its 95% interval and
    sign ("+", "-", "0" when the interval covers 0); the *interaction* (second mode's
    difference - first's) with its interval; ``equivalent``: that interval lies within
    +-``margin`` (the claims' margin, :func:`margin_of`, of ``other`` in the first mode), an
    equivalence test at 2.5% per side; and ``reading`` (:data:`MODE_READINGS`): two intervals
    that both cover 0 are "shown in neither", never agreement."""
    modes = list(per_query)
    if len(modes) != 2 or set(runs) != set(modes):
        raise ValueError(
            f"two modes with per-query results and runs each, but got {modes} and {list(runs)}"
        )
    rows = []
    for name, better, other, setting, metric in effects:
        frames = []
        for mode in modes:
            if not {better, other} <= set(runs[mode]["system"]):
                break
            units = comparison_units(
                per_query[mode], runs[mode], suite, [better, other], setting, metric
            )
            frames.append(units.assign(system=units["system"] + f" [{mode}]"))
        if len(frames) < 2:
            continue
        systems = [f"{s} [{m}]" for m in modes for s in (better, other)]
        draws = clustered_bootstrap(pd.concat(frames, ignore_index=True), systems,
                                    n_resamples=n_resamples, seed=seed)  # fmt: skip
        row: dict[str, object] = {"effect": name}
        signs = []
        for mode in modes:
            test = contrast_test(draws, {f"{better} [{mode}]": 1.0, f"{other} [{mode}]": -1.0},
                                 margin=0.0, name=f"{name} [{mode}]")  # fmt: skip
            sign = interval_sign(test.ci_low, test.ci_high)
            signs.append(sign)
            row |= {f"{mode}": test.difference, f"{mode}_ci_low": test.ci_low,
                    f"{mode}_ci_high": test.ci_high, f"{mode}_sign": sign}  # fmt: skip
        first, second = modes
        interaction = contrast_test(draws, {f"{better} [{second}]": 1.0, f"{other} [{first}]": 1.0,
                                            f"{better} [{first}]": -1.0, f"{other} [{second}]": -1.0},
                                    margin=0.0, name=f"{name}: {second} - {first}")  # fmt: skip
        margin = margin_of(Claim(suite, setting, metric, better, other),
                           float(draws.estimate[systems.index(f"{other} [{first}]")]))  # fmt: skip
        shown = [s for s in signs if s != "0"]
        reading = (MODE_READINGS[3] if not shown else MODE_READINGS[2] if len(shown) == 1
                   else MODE_READINGS[0] if shown[0] == shown[1] else MODE_READINGS[1])  # fmt: skip
        rows.append(row | {
            "interaction": interaction.difference, "interaction_ci_low": interaction.ci_low,
            "interaction_ci_high": interaction.ci_high, "margin": margin,
            "equivalent": bool(-margin < interaction.ci_low and interaction.ci_high < margin),
            "reading": reading,
        })  # fmt: skip
    return pd.DataFrame(rows)
