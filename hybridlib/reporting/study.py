"""One build's evaluated runs, as the analysis chapters read them: :func:`load_study`.

The chapters (results, language bias, ablation, domain shift, mixing) start from the same
three things: every run under the build's results folder, the main Hybrid's name and the
systems of the paper's comparison on a suite. :class:`Study` holds them and passes its
frames to the library's functions, so that a chapter says what it compares, not how the
results are read::

    study = reporting.load_study(results_dir, main_alpha)
    systems = study.main_systems("mlqa-r", "xquad-to-mlqa")
    summary = study.summarise("mlqa-r", systems, [("multi", "map")], n_resamples=2000)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from hybridlib.protocol import DIRECTIONS, LAREQA_SUITES
from hybridlib.reporting.claims import Claim, evaluate_claims
from hybridlib.reporting.results import (
    BASELINES,
    MixingSystems,
    load_results,
    mixing_systems,
    systems_of,
)
from hybridlib.reporting.tables import effect_sizes, summarise
from hybridlib.suites import suite_label
from hybridlib.systems import system_name

# the paper's study: the directions trained on a LAReQA set (the question's: ``["xm3600"]``)
PAPER_DIRECTIONS: tuple[str, ...] = tuple(
    name for name, chosen in DIRECTIONS.items() if chosen.train_suite in LAREQA_SUITES
)


def left_out_table(suite: str) -> pd.DataFrame:
    """What a chapter shows in place of a paper suite's table when this build trained no model
    of the direction tested on it (its profile leaves the direction out): one cell saying so."""
    direction = next(d for d in PAPER_DIRECTIONS if DIRECTIONS[d].test_suite == suite)
    note = (
        f"{suite_label(suite)}: this build trained no model of the {direction} direction (its "
        "profile leaves the direction out for its time budget; the reproducibility appendix "
        "gives the profile, and the book's README the profile that builds it)"
    )
    return pd.DataFrame({"not in this build": [note]})


@dataclass(frozen=True)
class Study:
    """Every evaluated run under one results folder.

    ``per_query``: one row per (system, seed, suite, setting, cell, query, measure);
    ``runs``: one row per (run, suite) with its record and evaluation settings (both as
    :func:`~hybridlib.reporting.results.load_results` reads them); ``hybrid``: the main
    Hybrid's name, e.g. ``"Hybrid(0.50)"``.
    """

    per_query: pd.DataFrame
    runs: pd.DataFrame
    hybrid: str

    @property
    def suites(self) -> list[str]:
        """The evaluated suites, sorted."""
        return sorted(set(self.runs["suite"]))

    @property
    def directions(self) -> list[str]:
        """The directions whose trained runs this study holds, sorted (a profile may leave a
        direction out: the chapters report the ones built)."""
        return sorted(set(self.runs["direction"].dropna()))

    def paper_suites(self) -> dict[str, str]:
        """The LAReQA test suites of the paper's directions this study holds, each with its
        direction, in :data:`~hybridlib.protocol.LAREQA_SUITES` order, e.g.
        ``{"xquad-r": "mlqa-to-xquad", "mlqa-r": "xquad-to-mlqa"}`` (a direction the profile
        left out is absent)."""
        held = {DIRECTIONS[d].test_suite: d for d in PAPER_DIRECTIONS if d in self.directions}
        return {suite: held[suite] for suite in LAREQA_SUITES if suite in held}

    def suites_of(self, direction: str) -> list[str]:
        """The suites that trained runs of ``direction`` were evaluated on, sorted (the
        baselines are evaluated on every suite of the build, every direction's included)."""
        return sorted(set(self.runs.loc[self.runs["direction"] == direction, "suite"]))

    def systems(self, suite: str, direction: str | None = None) -> list[str]:
        """The baselines and Hybrid's family evaluated on ``suite`` (trained ones of
        ``direction`` when given): baselines, X-X, X-Y, then the Hybrids by alpha. The other
        ways to mix languages: :meth:`mixing`."""
        return systems_of(self.runs, suite, direction)

    def main_systems(
        self, suite: str, direction: str | None = None, *, baselines: Sequence[str] = BASELINES
    ) -> list[str]:
        """The paper's comparison on ``suite``, those evaluated: ``baselines``, X-X, X-Y and
        the main Hybrid, in :meth:`systems`' order."""
        wanted = {*baselines, "X-X", "X-Y", self.hybrid}
        return [s for s in self.systems(suite, direction) if s in wanted]

    def measures_of(self, suite: str) -> list[tuple[str, str]]:
        """Every (setting, measure) scored on ``suite``, sorted."""
        part = self.per_query[self.per_query["suite"] == suite]
        return sorted(set(zip(part["setting"], part["metric"])))

    def mixing(self, suite: str, direction: str) -> MixingSystems:
        """The other ways to mix languages on ``suite``, grouped from their run records."""
        return mixing_systems(self.runs, suite, direction, self.hybrid)

    def summarise(
        self,
        suite: str,
        systems: Sequence[str],
        measures: Sequence[tuple[str, str]],
        *,
        n_resamples: int = 2000,
    ) -> pd.DataFrame:
        """:func:`~hybridlib.reporting.tables.summarise` on this study's runs."""
        return summarise(
            self.per_query, self.runs, suite, systems, measures, n_resamples=n_resamples
        )

    def evaluate_claims(self, claims: Sequence[Claim], *, n_resamples: int = 2000) -> pd.DataFrame:
        """:func:`~hybridlib.reporting.claims.evaluate_claims` on this study's runs."""
        return evaluate_claims(self.per_query, self.runs, claims, n_resamples=n_resamples)

    def effect_sizes(
        self,
        suite: str,
        effects: Sequence[tuple[str, str, str, str, str]],
        *,
        n_resamples: int = 2000,
    ) -> pd.DataFrame:
        """:func:`~hybridlib.reporting.tables.effect_sizes` of ``effects`` on ``suite``."""
        return effect_sizes(
            self.per_query, self.runs, suite, effects=effects, n_resamples=n_resamples
        )


def load_study(
    results_dir: str | Path,
    main_alpha: float = 0.5,
    directions: Sequence[str] | None = PAPER_DIRECTIONS,
) -> Study:
    """Every run under ``results_dir`` (any depth) trained in one of ``directions`` (default:
    the paper's two LAReQA directions; None: every direction), and every untrained one (the
    baselines), with the Hybrid of ``main_alpha`` as the main one. A system is named by its
    sampler, so two directions' X-X on one suite would be one system: a study holds one
    direction per suite (:func:`~hybridlib.reporting.results.check_like_for_like` refuses
    otherwise). Raises ``FileNotFoundError`` naming the folder when it holds no evaluated
    run."""
    per_query, runs = load_results(results_dir)
    if directions is not None:
        wanted = set(directions)
        per_query = per_query[per_query["direction"].isna() | per_query["direction"].isin(wanted)]
        runs = runs[runs["direction"].isna() | runs["direction"].isin(wanted)]
        if runs.empty:
            raise FileNotFoundError(
                f"no evaluated run of directions {sorted(wanted)} under {results_dir}"
            )
    return Study(per_query.reset_index(drop=True), runs.reset_index(drop=True),
                 system_name("hybrid", main_alpha))  # fmt: skip
