"""Profiles: which notebook runs with which parameters (``profiles.yaml``).

A profile has four parts, all optional except ``notebooks``::

    profiles:
      smoke:
        description: "what this profile is for"
        common: {model: tiny}              # given to every notebook that declares the name
        experiment:                        # the experiment (see ``ExperimentGrid``)
          directions: [xquad-to-mlqa, mlqa-to-xquad]
          samplers: [x-x, x-y, hybrid]
          alpha: 0.5
          seeds: [0, 1, 2]
          ablation_alphas: [0.25, 0.75]
          baselines: [untrained, bm25]
          train: {batch_size: 8}           # trainer fields of every run
          validation: {temperatures: [0.01, 0.05], lrs: [1.0e-4], max_steps: 40, every: 10}
          evaluate: {eval_max_length: null}
          domain_shift_suites: [tatoeba]
          domain_shift_suites_if_present: [miracl]  # added when its data are in the data folder
        notebooks:                         # run once each, in order
          - notebook: notebooks/data.ipynb
            parameters: {max_rows: 10}
            after_experiment: false        # true: runs after (and depends on) the grid

Errors name the file, the profile, the field and the value.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import yaml

from hybridlib.io import did_you_mean
from hybridlib.sampler_specs import SamplerSettingError, sampler_setting, sampler_specs

BASELINES = ("untrained", "bm25")
EVALUATE_NOTEBOOK = "notebooks/evaluate.ipynb"
VALIDATE_NOTEBOOK = "notebooks/validate.ipynb"
RUNS_NOTEBOOK = "notebooks/runs.ipynb"
TOPK_NOTEBOOK = "notebooks/topk.ipynb"
DEBIAS_NOTEBOOK = "notebooks/debias.ipynb"
DEBIAS_METHODS = ("centering", "lir", "lsar")


NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # CPU flags of native bf16 matrix products


def native_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether this machine multiplies bf16 matrices natively: a CUDA device, or a CPU with
    AMX or AVX-512 BF16 (``/proc/cpuinfo``'s flags). Elsewhere torch emulates bf16 on the CPU,
    tens of times slower than float32 (1.2 against 50 GFLOP/s on an AVX2-only AMD EPYC)."""
    if cpuinfo is None:
        try:
            import torch

            if torch.cuda.is_available():
                return True
        except ImportError:
            pass
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags = {
        flag for line in cpuinfo.splitlines() if line.startswith("flags") for flag in line.split()
    }
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def resolve_precision(value: Any, cpuinfo: str | None = None) -> Any:
    """``"auto"``: ``"bfloat16"`` where :func:`native_bfloat16`, else ``"float32"``; any other
    value as it is. The book's parameters (and so its caches and records) hold the result."""
    if value != "auto":
        return value
    return "bfloat16" if native_bfloat16(cpuinfo) else "float32"


def machine_parameters(common: dict[str, Any]) -> dict[str, Any]:
    """A profile's ``common`` parameters for this machine: ``precision: auto`` resolved
    (:func:`resolve_precision`), once for every execution of a plan."""
    return {
        **common,
        **({"precision": resolve_precision(common["precision"])} if "precision" in common else {}),
    }


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names file, profile, field and value."""


@dataclasses.dataclass(frozen=True)
class NotebookSpec:
    """One notebook executed once in a profile."""

    notebook: str
    parameters: dict[str, Any]
    after_experiment: bool = False


@dataclasses.dataclass(frozen=True)
class MixedSystem:
    """A trained system beyond the paper's: per-pair mixing, or Hybrid with a scheduled alpha
    (``alpha_end``); trained with ``seeds``, and evaluated on the domain-shift suites too when
    ``domain_shift``."""

    sampler: str
    alpha: float
    seeds: tuple[int, ...]
    alpha_end: float | None = None
    domain_shift: bool = False


@dataclasses.dataclass(frozen=True)
class DebiasGrid:
    """Training-free removal of language identity (``methods``), applied to the untrained
    encoder and to the trained ``systems`` ((sampler, alpha) of the main runs) with ``seeds``;
    ``ranks``: the candidates of each method with a rank, chosen on the validation articles;
    fitted on ``per_language`` questions and sentences of each language of the training side
    (``fit_languages``; None: all of the training set's); ``domain_shift_methods`` are
    evaluated on the domain-shift suites too."""

    methods: tuple[str, ...]
    systems: tuple[tuple[str, float], ...]
    seeds: tuple[int, ...]
    ranks: dict[str, list[int]]
    per_language: int
    fit_languages: tuple[str, ...] | None = None
    domain_shift_methods: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class MixingGrid:
    """Other ways to mix languages, in ``direction`` (default: the first): trained ``systems``
    and training-free ``debias``."""

    direction: str
    systems: tuple[MixedSystem, ...]
    debias: DebiasGrid | None
    debias_notebook: str = DEBIAS_NOTEBOOK


def _training_family(direction: str) -> str:
    """``"lareqa"`` for a direction trained on a LAReQA set, else its training suite."""
    from hybridlib.protocol import LAREQA_SUITES
    from hybridlib.protocol import direction as protocol_direction

    train_suite = protocol_direction(direction).train_suite
    return "lareqa" if train_suite in LAREQA_SUITES else train_suite


@dataclasses.dataclass(frozen=True)
class ExperimentGrid:
    """The experiment: baselines, then per direction its validation runs and one execution
    per system (sampler and alpha) that trains every seed and evaluates each model.

    ``x-x`` and ``x-y`` are Hybrid(alpha=1) and Hybrid(alpha=0); the ablation's alphas 1 and 0
    therefore reuse those runs. The ablation runs in ``ablation_directions`` (default: the
    first direction) with ``ablation_seeds`` (default: ``seeds``). The domain-shift suites are
    evaluated by the main systems of ``domain_shift_direction`` (and the baselines), with the
    seeds in ``domain_shift_seeds`` (default: every seed).
    ``validation_directions`` (default: every direction) have validation runs of their own;
    the others use the choice of the first of them. ``topk`` (parameters of the top-k check,
    a chapter) compares top-k with whole-model
    fine-tuning in the first direction, after its runs. ``mixing`` (:class:`MixingGrid`): the
    other ways to mix languages, beyond the paper. ``direction_suites``: the suites a
    direction's models are evaluated on, where a profile cuts its default
    (:attr:`hybridlib.protocol.Direction.test_suites`; the first stays the direction's own).
    ``direction_validation``: a direction's validation parameters merged over ``validation``
    (its own grid of steps, temperatures, learning rates); ``direction_seeds``: its main
    systems' seeds where they differ from ``seeds``. Every direction is validated on
    its own training data (``validation_directions`` must list each): a choice made on one
    LAReQA set's held-out articles would be made on the other direction's test suite.
    """

    def seeds_of(self, direction: str) -> tuple[int, ...]:
        """The main systems' seeds in ``direction`` (``direction_seeds``, else ``seeds``)."""
        return self.direction_seeds.get(direction, self.seeds)

    def validated_by(self, direction: str) -> str:
        """The direction whose validation runs choose ``direction``'s settings: itself."""
        if direction not in self.validation_directions:
            raise ValueError(f"direction {direction!r} has no validation runs of its own")
        return direction

    def validation_of(self, direction: str) -> dict[str, Any]:
        """The validation parameters of ``direction`` (``direction_validation`` over
        ``validation``)."""
        return {**self.validation, **self.direction_validation.get(direction, {})}

    def suites_of(self, direction: str) -> tuple[str, ...]:
        """The suites ``direction``'s models are evaluated on in this grid."""
        from hybridlib.protocol import direction as protocol_direction

        return self.direction_suites.get(direction, protocol_direction(direction).test_suites)

    directions: tuple[str, ...]
    samplers: tuple[str, ...]
    alpha: float
    seeds: tuple[int, ...]
    ablation_alphas: tuple[float, ...]
    ablation_directions: tuple[str, ...]
    ablation_seeds: tuple[int, ...]
    baselines: tuple[str, ...]
    train: dict[str, Any]
    validation: dict[str, Any]
    evaluate: dict[str, Any]
    domain_shift_suites: tuple[str, ...]
    domain_shift_direction: str
    domain_shift_seeds: tuple[int, ...] = ()
    validation_directions: tuple[str, ...] = ()
    topk: dict[str, Any] | None = None
    mixing: MixingGrid | None = None
    direction_suites: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    direction_validation: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    direction_seeds: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    evaluate_notebook: str = EVALUATE_NOTEBOOK
    validate_notebook: str = VALIDATE_NOTEBOOK
    runs_notebook: str = RUNS_NOTEBOOK
    topk_notebook: str = TOPK_NOTEBOOK


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    description: str
    common: dict[str, Any]
    notebooks: tuple[NotebookSpec, ...]
    experiment: ExperimentGrid | None
    # minutes the build may take (hybridlib.runner.cost): a number, or one per resolved precision
    budget_minutes: float | dict[str, float] | None = None
    # chapters of _toc.yml this profile does not build (the page's name under book/generated)
    # and folders of runs it makes no page in (``runs/<direction>``, a glob of _toc.yml), each
    # with the reason its page in the book gives (hybridlib.runner.book.left_out_pages);
    # a chapter of `notebooks` named here is not run, an experiment's (topk) is switched off
    # in `experiment`
    leaves_out: dict[str, str] = dataclasses.field(default_factory=dict)
    # the file it was read from, as given (offered to the chapters that describe the build)
    source: str = "profiles.yaml"


def _budget(source: Path, name: str, value: Any) -> float | dict[str, float] | None:
    """``budget_minutes``: None, a positive number, or ``{precision: positive number}`` with
    precisions ``bfloat16`` and ``float32`` (the encoders' own, as :func:`resolve_precision`
    resolves ``auto``: the machine's picks its budget)."""
    precisions = ("bfloat16", "float32")  # hybridlib.models.settings.PRECISIONS, without torch

    def minutes(number: Any, field: str) -> float:
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not number > 0 \
                or number == float("inf"):  # fmt: skip
            raise _fail(
                source, name, field, f"must be a positive number of minutes, but got {number!r}"
            )
        return float(number)

    if value is None:
        return None
    if isinstance(value, dict):
        if not value:
            raise _fail(source, name, "budget_minutes", "must name at least one precision")
        for key in value:
            if key not in precisions:
                raise _fail(source, name, "budget_minutes", f"unknown precision {key!r}"
                            f"{did_you_mean(str(key), precisions)}; choose from {list(precisions)}")  # fmt: skip
        return {key: minutes(v, f"budget_minutes.{key}") for key, v in value.items()}
    return minutes(value, "budget_minutes")


def _fail(source: Path, profile: str, field: str, message: str) -> ProfileError:
    return ProfileError(f"{source}: profile {profile!r}, field {field!r}: {message}")


def _check_keys(source: Path, profile: str, field: str, mapping: Any, allowed: set[str]) -> dict:
    if not isinstance(mapping, dict):
        raise _fail(source, profile, field, f"must be a mapping, but got {mapping!r}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise _fail(
            source,
            profile,
            field,
            f"unknown key(s) {unknown}; allowed: {sorted(allowed)}",
        )
    return mapping


def _literal_parameters(source: Path, profile: str, field: str, value: Any) -> dict[str, Any]:
    """Parameters must be a mapping of names to YAML literals (papermill injects them)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(source, profile, field, f"must be a mapping of parameters, but got {value!r}")
    for name in value:
        if not isinstance(name, str) or not name.isidentifier():
            raise _fail(source, profile, field, f"parameter name {name!r} is not an identifier")
    return dict(value)


def _int_list(source: Path, name: str, field: str, value: Any) -> tuple[int, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise _fail(source, name, field, f"must be a non-empty list of integers, but got {value!r}")
    return tuple(value)


def _choices(
    source: Path, name: str, field: str, values: Any, allowed: tuple[str, ...]
) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise _fail(source, name, field, f"must be a list, but got {values!r}")
    for value in values:
        if value not in allowed:
            hint = did_you_mean(str(value), allowed, " (did you mean {!r}?)")
            raise _fail(
                source, name, field, f"unknown value {value!r}{hint}; choose from {list(allowed)}"
            )
    return tuple(values)


def main_samplers() -> tuple[str, ...]:
    """The samplers of the paper's grid (``experiment.samplers``): specs with ``main``."""
    return tuple(spec.name for spec in sampler_specs() if spec.main)


def mixing_samplers() -> tuple[str, ...]:
    """The samplers of ``experiment.mixing.systems``: those whose alpha a profile chooses."""
    return tuple(spec.name for spec in sampler_specs() if spec.fixed_alpha is None)


def _sampler_setting(source: Path, name: str, field: str, sampler: Any, alpha: Any,
                     alpha_end: Any = None, at: str | None = None) -> tuple[str, float, float | None]:  # fmt: skip
    """``(sampler, alpha, alpha_end)`` of ``field`` checked by
    :func:`~hybridlib.sampler_specs.sampler_setting` (alpha required); an error names
    ``field.sampler``, ``field.alpha`` or ``field.alpha_end``, or ``at`` when given."""
    try:
        if alpha is None:  # a profile states every alpha
            raise SamplerSettingError("alpha", alpha, "alpha must be in [0, 1], but got None")
        setting = sampler_setting(sampler, alpha, alpha_end)
    except SamplerSettingError as error:
        raise _fail(source, name, at or f"{field}.{error.field}", str(error)) from None
    return setting.sampler, setting.alpha, setting.alpha_end


def _parse_mixing(source: Path, name: str, raw: Any, directions: tuple[str, ...]) -> MixingGrid:
    raw = _check_keys(
        source,
        name,
        "experiment.mixing",
        raw,
        {"direction", "systems", "debias", "debias_notebook"},
    )
    where = raw.get("direction", directions[0])
    if where not in directions:
        raise _fail(source, name, "experiment.mixing.direction",
                    f"must be one of the directions {list(directions)}, but got {where!r}")  # fmt: skip
    systems = []
    for index, entry in enumerate(raw.get("systems") or []):
        field = f"experiment.mixing.systems[{index}]"
        entry = _check_keys(
            source, name, field, entry, {"sampler", "alpha", "alpha_end", "seeds", "domain_shift"}
        )
        sampler = entry.get("sampler")
        if sampler not in mixing_samplers():
            raise _fail(source, name, f"{field}.sampler", f"unknown value {sampler!r}; choose "
                        f"from {list(mixing_samplers())}{did_you_mean(str(sampler), mixing_samplers())}")  # fmt: skip
        sampler, alpha, alpha_end = _sampler_setting(
            source, name, field, sampler, entry.get("alpha"), entry.get("alpha_end")
        )
        systems.append(MixedSystem(
            sampler=sampler, alpha=alpha,
            seeds=_int_list(source, name, f"{field}.seeds", entry.get("seeds")), alpha_end=alpha_end,
            domain_shift=bool(entry.get("domain_shift", False)),
        ))  # fmt: skip
    debias = None
    if raw.get("debias"):
        field = "experiment.mixing.debias"
        body = _check_keys(
            source, name, field, raw["debias"], {f.name for f in dataclasses.fields(DebiasGrid)}
        )
        methods = _choices(
            source,
            name,
            f"{field}.methods",
            body.get("methods", list(DEBIAS_METHODS)),
            DEBIAS_METHODS,
        )
        ranks = body.get("ranks") or {}
        for method in methods:
            if method != "centering" and not (
                isinstance(ranks.get(method), list)
                and ranks[method]
                and all(isinstance(r, int) and r >= 1 for r in ranks[method])
            ):
                raise _fail(
                    source,
                    name,
                    f"{field}.ranks.{method}",
                    f"must be a non-empty list of ranks >= 1, but got {ranks.get(method)!r}",
                )
        pairs = []
        for system in body.get("systems") or []:
            if not (isinstance(system, list) and len(system) == 2 and system[0] in main_samplers()):
                raise _fail(
                    source,
                    name,
                    f"{field}.systems",
                    f"each must be [sampler, alpha], but got {system!r}",
                )
            sampler, alpha, _ = _sampler_setting(
                source, name, field, system[0], system[1], at=f"{field}.systems"
            )
            pairs.append((sampler, alpha))
        per_language = body.get("per_language", 100)
        if isinstance(per_language, bool) or not isinstance(per_language, int) or per_language < 2:
            raise _fail(
                source,
                name,
                f"{field}.per_language",
                f"must be an integer >= 2, but got {per_language!r}",
            )
        fit_languages = body.get("fit_languages")
        debias = DebiasGrid(
            methods=methods, systems=tuple(pairs),
            seeds=_int_list(source, name, f"{field}.seeds", body.get("seeds", [0])),
            ranks={m: list(ranks[m]) for m in methods if m != "centering"}, per_language=per_language,
            fit_languages=tuple(fit_languages) if fit_languages else None,
            domain_shift_methods=_choices(source, name, f"{field}.domain_shift_methods",
                                          body.get("domain_shift_methods", []), methods),
        )  # fmt: skip
    return MixingGrid(direction=where, systems=tuple(systems), debias=debias,
                      debias_notebook=str(raw.get("debias_notebook", DEBIAS_NOTEBOOK)))  # fmt: skip


def _parse_grid(source: Path, name: str, raw: Any) -> ExperimentGrid:
    allowed = {f.name for f in dataclasses.fields(ExperimentGrid)} | {
        "domain_shift_suites_if_present"
    }
    raw = _check_keys(source, name, "experiment", raw, allowed)
    from hybridlib.protocol import DIRECTIONS

    known = tuple(DIRECTIONS)
    directions = _choices(
        source, name, "experiment.directions", raw.get("directions", list(known)), known
    )
    if not directions:
        raise _fail(source, name, "experiment.directions", "must name at least one direction")
    samplers = _choices(
        source, name, "experiment.samplers", raw.get("samplers", list(main_samplers())),
        main_samplers(),
    )  # fmt: skip
    alphas = [raw.get("alpha", 0.5), *raw.get("ablation_alphas", [])]
    for alpha in alphas:  # Hybrid's alphas: the main one and the ablation's
        _sampler_setting(source, name, "experiment", "hybrid", alpha, at="experiment.alpha")
    seeds = _int_list(source, name, "experiment.seeds", raw.get("seeds", [0]))
    ablation_directions = _choices(
        source, name, "experiment.ablation_directions",
        raw.get("ablation_directions", [directions[0]]), directions,
    )  # fmt: skip
    ablation_seeds = _int_list(
        source, name, "experiment.ablation_seeds", raw.get("ablation_seeds", list(seeds))
    )
    baselines = _choices(source, name, "experiment.baselines", raw.get("baselines", []), BASELINES)
    from hybridlib.suites import SUITES, optional_suites, suite_present

    suites = _choices(source, name, "experiment.domain_shift_suites",
                      raw.get("domain_shift_suites", []), tuple(SUITES))  # fmt: skip
    if_present = _choices(source, name, "experiment.domain_shift_suites_if_present",
                          raw.get("domain_shift_suites_if_present", []), optional_suites())  # fmt: skip
    domain_shift_suites = (*suites, *filter(suite_present, if_present))
    domain_shift_direction = raw.get("domain_shift_direction", directions[0])
    if domain_shift_direction not in directions:
        raise _fail(
            source,
            name,
            "experiment.domain_shift_direction",
            f"must be one of the directions {list(directions)}, but got {domain_shift_direction!r}",
        )
    direction_suites: dict[str, tuple[str, ...]] = {}
    raw_suites = raw.get("direction_suites") or {}
    if not isinstance(raw_suites, dict):
        raise _fail(source, name, "experiment.direction_suites",
                    f"must map directions to lists of suites, but got {raw_suites!r}")  # fmt: skip
    for where, listed in raw_suites.items():
        field = f"experiment.direction_suites.{where}"
        if where not in directions:
            raise _fail(
                source, name, field, f"{where!r} is not one of the directions {list(directions)}"
            )
        chosen = _choices(source, name, field, listed, tuple(SUITES))
        own = DIRECTIONS[where].test_suite
        if not chosen or chosen[0] != own:
            raise _fail(source, name, field,
                        f"must start with the direction's own test suite {own!r}, but got {listed!r}")  # fmt: skip
        direction_suites[where] = chosen
    raw_seeds = raw.get("direction_seeds") or {}
    if not isinstance(raw_seeds, dict):
        raise _fail(source, name, "experiment.direction_seeds",
                    f"must map directions to lists of seeds, but got {raw_seeds!r}")  # fmt: skip
    direction_seeds: dict[str, tuple[int, ...]] = {}
    for where, listed in raw_seeds.items():
        if where not in directions:
            raise _fail(source, name, f"experiment.direction_seeds.{where}",
                        f"{where!r} is not one of the directions {list(directions)}")  # fmt: skip
        direction_seeds[where] = _int_list(
            source, name, f"experiment.direction_seeds.{where}", listed
        )
    raw_validation = raw.get("direction_validation") or {}
    direction_validation: dict[str, dict[str, Any]] = {}
    for where, body in raw_validation.items() if isinstance(raw_validation, dict) else []:
        if where not in directions:
            raise _fail(source, name, f"experiment.direction_validation.{where}",
                        f"{where!r} is not one of the directions {list(directions)}")  # fmt: skip
        direction_validation[where] = _literal_parameters(
            source, name, f"experiment.direction_validation.{where}", body
        )
    if not isinstance(raw_validation, dict):
        raise _fail(source, name, "experiment.direction_validation",
                    f"must map directions to parameters, but got {raw_validation!r}")  # fmt: skip
    validation_directions = _choices(
        source, name, "experiment.validation_directions",
        raw.get("validation_directions", list(directions)), directions,
    ) or directions  # fmt: skip
    missing = [d for d in directions if d not in validation_directions]
    if missing:
        raise _fail(source, name, "experiment.validation_directions",
                    f"must list every direction, but {missing} are missing: a direction's "
                    "settings are chosen on its own training data (XQuAD's held-out articles "
                    "are MLQA -> XQuAD's test suite, and XM3600 is another kind of data)")  # fmt: skip
    for field in ("topk", "mixing"):
        if raw.get(field) and _training_family(directions[0]) != "lareqa":
            raise _fail(source, name, "experiment.directions",
                        f"{field} runs in the first direction, which must be trained on a LAReQA "
                        f"set, but it is {directions[0]!r}")  # fmt: skip
    return ExperimentGrid(
        directions=directions,
        samplers=samplers,
        alpha=float(raw.get("alpha", 0.5)),
        seeds=seeds,
        ablation_alphas=tuple(float(a) for a in raw.get("ablation_alphas", [])),
        ablation_directions=ablation_directions,
        ablation_seeds=ablation_seeds,
        baselines=baselines,
        train=_literal_parameters(source, name, "experiment.train", raw.get("train")),
        validation=_literal_parameters(
            source, name, "experiment.validation", raw.get("validation")
        ),
        evaluate=_literal_parameters(source, name, "experiment.evaluate", raw.get("evaluate")),
        domain_shift_suites=domain_shift_suites,
        domain_shift_direction=domain_shift_direction,
        domain_shift_seeds=_int_list(
            source,
            name,
            "experiment.domain_shift_seeds",
            raw.get("domain_shift_seeds", list(seeds)),
        ),  # fmt: skip
        validation_directions=validation_directions,
        topk=_literal_parameters(source, name, "experiment.topk", raw["topk"])
        if raw.get("topk")
        else None,
        mixing=_parse_mixing(source, name, raw["mixing"], directions)
        if raw.get("mixing")
        else None,
        direction_suites=direction_suites,
        direction_validation=direction_validation,
        direction_seeds=direction_seeds,
        evaluate_notebook=str(raw.get("evaluate_notebook", EVALUATE_NOTEBOOK)),
        validate_notebook=str(raw.get("validate_notebook", VALIDATE_NOTEBOOK)),
        runs_notebook=str(raw.get("runs_notebook", RUNS_NOTEBOOK)),
        topk_notebook=str(raw.get("topk_notebook", TOPK_NOTEBOOK)),
    )


def _parse_profile(source: Path, name: str, raw: Any) -> Profile:
    raw = _check_keys(
        source, name, "<profile>", raw,
        {"description", "common", "experiment", "notebooks", "budget_minutes", "leaves_out"},
    )  # fmt: skip
    leaves_out = raw.get("leaves_out") or {}
    if not isinstance(leaves_out, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in leaves_out.items()
    ):
        raise _fail(source, name, "leaves_out", "must map chapter (or runs folder) names to the reason each is "
                    f"left out (a non-empty text), but got {leaves_out!r}")  # fmt: skip
    notebooks_raw = raw.get("notebooks")
    if not isinstance(notebooks_raw, list) or not notebooks_raw:
        raise _fail(
            source, name, "notebooks", f"must be a non-empty list, but got {notebooks_raw!r}"
        )
    notebooks = []
    for index, entry in enumerate(notebooks_raw):
        field = f"notebooks[{index}]"
        entry = _check_keys(
            source, name, field, entry, {"notebook", "parameters", "after_experiment"}
        )
        if not isinstance(entry.get("notebook"), str):
            raise _fail(
                source,
                name,
                f"{field}.notebook",
                f"must be a path, but got {entry.get('notebook')!r}",
            )
        notebooks.append(
            NotebookSpec(
                notebook=entry["notebook"],
                parameters=_literal_parameters(
                    source, name, f"{field}.parameters", entry.get("parameters")
                ),
                after_experiment=bool(entry.get("after_experiment", False)),
            )
        )
    experiment = _parse_grid(source, name, raw["experiment"]) if raw.get("experiment") else None
    return Profile(
        name=name,
        description=str(raw.get("description", "")).strip(),
        common=_literal_parameters(source, name, "common", raw.get("common")),
        notebooks=tuple(notebooks),
        experiment=experiment,
        budget_minutes=_budget(source, name, raw.get("budget_minutes")),
        leaves_out={k: " ".join(v.split()) for k, v in leaves_out.items()},
        source=str(source),
    )


PROFILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


def load_profiles(path: str | Path) -> dict[str, Profile]:
    """Parse every profile of ``path`` (safe YAML loader); raises ``ProfileError``."""
    path = Path(path)
    if not path.is_file():
        raise ProfileError(f"{path}: profile file not found")
    from hybridlib.io import load_yaml

    try:
        raw = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except yaml.YAMLError as error:
        raise ProfileError(f"{path}: not valid YAML: {error}") from error
    except ValueError as error:  # a key given twice
        raise ProfileError(str(error)) from None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("profiles"), dict)
        or not raw["profiles"]
    ):
        raise ProfileError(
            f"{path}: expected a top-level mapping 'profiles' with at least one profile"
        )
    unknown = sorted(k for k in raw if k != "profiles" and not str(k).startswith("x-"))
    if unknown:
        raise ProfileError(
            f"{path}: unknown top-level key(s) {unknown}; allowed: 'profiles' and 'x-...' "
            "(anchors for shared parts)"
        )
    for name in raw["profiles"]:
        if not isinstance(name, str) or not PROFILE_NAME.fullmatch(name) or name == "adhoc":
            raise ProfileError(
                f"{path}: profile name {name!r} must be one path component (letters, digits, "
                "'.', '_', '-', not starting with '.' or '-') other than 'adhoc' (run-notebook's "
                "folder): it names the folder runs/<profile>/ that the book writes and cleans"
            )
    bodies = {name: _extended(path, name, raw["profiles"]) for name in raw["profiles"]}
    return {name: _parse_profile(path, name, body) for name, body in bodies.items()}


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: mappings merge key by key (recursively); anything else
    (lists, numbers, strings, null) replaces the base's value. Inputs are not modified."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def _extended(source: Path, name: str, profiles: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """The body of profile ``name`` with ``extends: BASE`` resolved: the base's body (itself
    resolved) with this profile's keys deep-merged over it (:func:`deep_merge`)."""
    body = profiles[name]
    if not isinstance(body, dict) or "extends" not in body:
        return body
    base = body["extends"]
    if base not in profiles:
        raise _fail(
            source,
            name,
            "extends",
            f"must name another profile of {sorted(profiles)}, but got {base!r}",
        )
    if base == name or base in seen:
        raise _fail(
            source,
            name,
            "extends",
            f"profiles extend each other in a cycle: {' -> '.join((*seen, name, base))}",
        )
    own = {key: value for key, value in body.items() if key != "extends"}
    return deep_merge(_extended(source, base, profiles, (*seen, name)), own)


def load_profile(path: str | Path, name: str) -> Profile:
    """The profile ``name`` of ``path``; raises ``ProfileError`` naming the known ones."""
    profiles = load_profiles(path)
    if name not in profiles:
        raise ProfileError(f"{path}: no profile {name!r}; known profiles: {sorted(profiles)}")
    return profiles[name]
