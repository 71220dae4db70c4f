"""Result files -> the systems of a comparison, checked like for like.

Every evaluated model (or baseline) writes ``run.json`` (who it is: system, sampler, alpha,
seed, direction) and, per suite, ``per_query.csv.gz`` (one value per (query, pool) unit and
measure) and ``provenance.json`` (the evaluation settings). :func:`load_results` reads them
back; :func:`systems_of`, :func:`hybrid_alphas` and :func:`mixing_systems` name and group
the systems from their run records (never from their display names);
:func:`comparison_units` returns the units of one (suite, setting, measure) for the systems
of a comparison after :func:`check_like_for_like` has made sure that they are comparable:
the same evaluation settings and exactly the same scored units, or a
:class:`ComparisonError` that names the difference. Summaries and tables of these units are
:mod:`hybridlib.reporting.tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hybridlib.data.errors import DataError
from hybridlib.run_records import IDENTITY_FIELDS, RUN_RECORD, read_run_records
from hybridlib.sampler_specs import sampler_specs
from hybridlib.systems import system_name

# the evaluation settings that must agree between dense systems of one comparison
SETTINGS_FIELDS = (
    "max_length",
    "precision",
    "top_layers",
    "candidate_input",
    "query_prefix",
    "passage_prefix",
)
BASELINES = ("untrained", "bm25")
DEBIAS_ORDER = ("centering", "lir", "lsar")  # the training-free post-processings, as presented


class ComparisonError(ValueError):
    """Systems that are not scored on the same units or with the same evaluation settings."""


def load_results(results_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every run under ``results_dir`` (any depth): ``(per_query, runs)``.

    ``per_query``: one row per (system, seed, suite, setting, cell, query, measure) with the
    columns of the per-query files plus :data:`~hybridlib.run_records.IDENTITY_FIELDS`. ``runs``: one row per (run,
    suite) with the run record and the evaluation settings of that suite.
    """
    frames, runs = [], []
    units: dict[tuple[object, ...], Path] = {}  # a comparison's unit -> the run that holds it
    for folder, record in read_run_records(results_dir):
        meta = {field: record.get(field) for field in IDENTITY_FIELDS}
        for suite in record["suites"]:
            unit = (record["system"], record["seed"], record.get("direction"),
                    record.get("mode"), suite)  # fmt: skip
            if unit in units:
                raise DataError(
                    folder / RUN_RECORD, "seed", record["seed"],
                    f"makes {record['system']} seed {record['seed']} on {suite} a second time "
                    f"(first in {units[unit] / RUN_RECORD}): a copied run is not another seed",
                )  # fmt: skip
            units[unit] = folder
            per_query_file = folder / suite / "per_query.csv.gz"
            if not per_query_file.is_file():
                raise FileNotFoundError(
                    f"{folder / RUN_RECORD} lists suite {suite!r}, but {per_query_file} is missing"
                )
            frame = pd.read_csv(per_query_file, dtype={"query_id": str, "cluster": str})
            frames.append(frame.assign(**meta))
            settings = (record.get("evaluation") or {}).get(suite) or {}
            runs.append({**meta, "suite": suite, "run": str(folder),
                         **{f: settings.get(f) for f in SETTINGS_FIELDS}})  # fmt: skip
    if not frames:
        raise FileNotFoundError(f"no evaluated run (run.json) under {results_dir}")
    per_query = pd.concat(frames, ignore_index=True)
    per_query["seed"] = per_query["seed"].astype(int)
    per_query["cell"] = per_query["query_language"] + "->" + per_query["candidate_language"]
    return per_query, pd.DataFrame(runs)


def systems_of(runs: pd.DataFrame, suite: str, direction: str | None = None) -> list[str]:
    """The systems evaluated on ``suite`` (trained ones of ``direction`` when given), in the
    order baselines, X-X, X-Y, then Hybrid by alpha."""
    part = runs[runs["suite"] == suite]
    if direction is not None:
        part = part[(part["direction"] == direction) | part["method"].isin(BASELINES)]
    names = set(part["system"])
    pure = _pure_names()
    order = [s for s in BASELINES if s in names] + [s for s in pure if s in names]
    alphas = hybrid_alphas(part)
    hybrids = sorted((s for s in alphas if s not in pure), key=lambda system: alphas[system])
    return order + hybrids


def _family(sampler: str = "hybrid") -> list[str]:
    """``sampler`` and the samplers that are it at a fixed alpha (Hybrid: X-X, X-Y)."""
    return [sampler, *(s.name for s in sampler_specs() if s.fixed_of == sampler)]


def _pure_names(sampler: str = "hybrid") -> tuple[str, ...]:
    """The table names of ``sampler`` at the alphas that other samplers fix: X-X, X-Y."""
    return tuple(
        system_name(s.name, s.fixed_alpha)
        for s in sampler_specs()
        if s.fixed_of == sampler and s.fixed_alpha is not None
    )


def hybrid_alphas(runs: pd.DataFrame) -> dict[str, float]:
    """``{system: alpha}`` of Hybrid's family as the run records say (X-X is alpha 1, X-Y
    alpha 0): trained runs with a fixed alpha and no post-processing."""
    part = runs[(runs["method"] == "trained") & runs["sampler"].isin(_family())]
    if "alpha_end" in part:
        part = part[part["alpha_end"].isna()]
    return {str(s): float(a) for s, a in zip(part["system"], part["alpha"])}


@dataclass(frozen=True)
class MixingSystems:
    """The systems of the other ways to mix languages on one suite, grouped by their run
    records (sampler, alpha, alpha_end, method), never by their names.

    ``references``: the untrained encoder, X-X, X-Y and the main Hybrid, those present;
    ``per_pair``: per-pair mixing (samplers whose spec mixes per pair); ``schedules``:
    scheduled alpha, X-X first (by falling start alpha); ``processed``: ``{post-processed
    system: (the system it was applied to, its post-processing key)}``, grouped untrained,
    Hybrid, X-X, X-Y, each in the order centering, LIR, LSAR; ``others``: the trained systems
    of any other registered sampler (:mod:`hybridlib.sampler_specs`), by sampler then falling
    alpha.
    """

    references: tuple[str, ...]
    per_pair: tuple[str, ...]
    schedules: tuple[str, ...]
    processed: dict[str, tuple[str, str]]
    others: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Every system, in the order of the chapter's tables."""
        return [*self.references, *self.per_pair, *self.others, *self.schedules, *self.processed]

    def processed_from(self, base: str) -> list[str]:
        """The post-processed systems of ``base`` (e.g. ``"untrained"``), in order."""
        return [name for name, (of, _) in self.processed.items() if of == base]


def mixing_systems(
    runs: pd.DataFrame, suite: str, direction: str, hybrid: str = system_name("hybrid", 0.5)
) -> MixingSystems:
    """The systems of the other ways to mix languages evaluated on ``suite`` in ``direction``
    (``hybrid``: the main Hybrid's name), grouped and ordered from their run records."""
    part = runs[
        (runs["suite"] == suite)
        & ((runs["direction"] == direction) | runs["method"].isin(BASELINES))
    ]
    first = part.drop_duplicates("system").set_index("system")
    method = first["method"].fillna("").astype(str)
    end = first["alpha_end"] if "alpha_end" in first else pd.Series(np.nan, index=first.index)
    trained = first[method == "trained"]

    def start_alpha(name: str) -> float:
        return -float(first.loc[name, "alpha"])

    per_pair_samplers = [s.name for s in sampler_specs() if s.per_pair]
    per_pair = sorted(
        trained.index[trained["sampler"].isin(per_pair_samplers)],
        key=lambda s: (start_alpha(s), s),
    )
    schedules = sorted(trained.index[end[trained.index].notna()], key=lambda s: (start_alpha(s), s))
    known = [*_family(), *per_pair_samplers]
    plain = trained[~trained["sampler"].isin(known) & end[trained.index].isna().to_numpy()]
    others = sorted(plain.index, key=lambda s: (str(plain.loc[s, "sampler"]), start_alpha(s), s))

    def base_of(name: str) -> str:
        """The system a post-processed one was applied to, named from its record."""
        if method[name].startswith("untrained+"):
            return "untrained"
        record = first.loc[name]
        alpha_end = None if pd.isna(end[name]) else float(end[name])
        return system_name(str(record["sampler"]), float(record["alpha"]), alpha_end)

    bases = ("untrained", hybrid, *_pure_names())  # another Hybrid's post-processings: not here
    processed = {
        s: (base_of(s), method[s].split("+", 1)[1]) for s in first.index if "+" in method[s]
    }
    processed = {s: of for s, of in processed.items() if of[0] in bases}

    def order(name: str) -> tuple[int, int, str]:
        base, post = processed[name]
        rank = DEBIAS_ORDER.index(post) if post in DEBIAS_ORDER else len(DEBIAS_ORDER)
        return (bases.index(base), rank, name)

    return MixingSystems(
        references=tuple(s for s in ("untrained", *_pure_names(), hybrid) if s in first.index),
        per_pair=tuple(per_pair),
        schedules=tuple(schedules),
        processed={s: processed[s] for s in sorted(processed, key=order)},
        others=tuple(others),
    )


def check_like_for_like(per_query: pd.DataFrame, runs: pd.DataFrame, suite: str,
                        systems: Sequence[str], setting: str, metric: str) -> None:  # fmt: skip
    """Raise :class:`ComparisonError` unless every run of ``systems`` evaluated ``suite`` with
    the same settings (dense systems; BM25 reads no tokens) and scored exactly the same
    (query, pool) units of ``setting`` and ``metric``."""
    chosen = runs[(runs["suite"] == suite) & runs["system"].isin(systems)]
    missing = sorted(set(systems) - set(chosen["system"]))
    if missing:
        raise ComparisonError(f"{suite}: no run of system(s) {missing}")
    trained = chosen[chosen["direction"].notna()]
    mixed = trained.groupby("system")["direction"].unique()
    mixed = mixed[mixed.map(len) > 1]
    if not mixed.empty:
        system = mixed.index[0]
        raise ComparisonError(
            f"{suite}: system {system!r} has runs trained in several directions "
            f"{sorted(mixed[system])}: one study, one direction per suite (load_study(directions=...))"
        )
    dense = chosen[chosen["method"] != "bm25"]
    for field in SETTINGS_FIELDS if not dense.empty else ():
        values = dense[field].astype(str).unique()
        if len(values) > 1:
            by = dense.groupby(dense[field].astype(str))["system"].unique()
            detail = "; ".join(f"{field}={value}: {sorted(s)}" for value, s in by.items())
            raise ComparisonError(
                f"{suite}: the systems were evaluated with different {field} ({detail}); "
                "a comparison needs one evaluation setting for all"
            )
    units = per_query[(per_query["suite"] == suite) & (per_query["setting"] == setting)
                      & (per_query["metric"] == metric) & per_query["system"].isin(systems)]  # fmt: skip
    keys = units.groupby(["system", "seed"])[["cell", "query_id"]].apply(
        lambda frame: frozenset(zip(frame["cell"], frame["query_id"]))
    )
    if keys.empty:
        raise ComparisonError(f"{suite}: no unit of {setting} {metric} for {list(systems)}")
    reference_key = keys.iloc[0]
    for (system, seed), key in keys.items():
        if key != reference_key:
            lacking, extra = reference_key - key, key - reference_key
            example = sorted(lacking or extra)[0]
            raise ComparisonError(
                f"{suite} {setting} {metric}: system {system!r} seed {seed} is scored on "
                f"{len(key)} units, {keys.index[0][0]!r} seed {keys.index[0][1]} on "
                f"{len(reference_key)} ({len(lacking)} missing, {len(extra)} extra, e.g. "
                f"cell {example[0]!r} query {example[1]!r}): not the same pools or queries"
            )
    present = set(keys.index.get_level_values(0))
    if present != set(systems):
        raise ComparisonError(
            f"{suite} {setting} {metric}: no unit for system(s) {sorted(set(systems) - present)}"
        )


def comparison_units(per_query: pd.DataFrame, runs: pd.DataFrame, suite: str,
                     systems: Sequence[str], setting: str, metric: str) -> pd.DataFrame:  # fmt: skip
    """The units of one comparison in the shape of :func:`clustered_bootstrap`."""
    check_like_for_like(per_query, runs, suite, systems, setting, metric)
    units = per_query[(per_query["suite"] == suite) & (per_query["setting"] == setting)
                      & (per_query["metric"] == metric) & per_query["system"].isin(systems)]  # fmt: skip
    return units[["system", "seed", "cluster", "cell", "value"]]
