"""Profiles (hybridlib.runner.profiles): parsing, errors that name the field and value,
extension, the optional suites, the precision a CPU gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib.runner import (
    ProfileError,
    load_profile,
    plan_profile,
)

from .conftest import write_profiles

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profiles: {}\n", "expected a top-level mapping 'profiles'"),
        (
            "profiles:\n  p: {notebooks: []}\n",
            r"profile 'p', field 'notebooks': must be a non-empty list",
        ),
        (
            "profiles:\n  p: {notebooks: [{notebook: a.ipynb}], extra: 1}\n",
            r"field '<profile>': unknown key\(s\) \['extra'\]",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb, parameters: {1x: 2}}]\n",
            "parameter name '1x' is not an identifier",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {samplers: [x-z]}\n",
            "unknown value 'x-z'",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {directions: [xquad-to-tydi]}\n",
            "unknown value 'xquad-to-tydi'",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {directions: [xquad-to-mlqa], domain_shift_direction: mlqa-to-xquad}\n",
            "must be one of the directions",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {alpha: 1.5}\n",
            r"alpha must be in \[0, 1\], but got 1.5",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {n_folds: 2}\n",
            r"unknown key\(s\) \['n_folds'\]",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {seeds: []}\n",
            "non-empty list of integers",
        ),
        ("profiles: [\n", "not valid YAML"),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {mixing: {systems: [{sampler: x-x, alpha: 1, seeds: [0]}]}}\n",
            r"field 'experiment.mixing.systems\[0\].sampler': unknown value 'x-x'",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {mixing: {systems: [{sampler: per-pair, alpha: 0.5, alpha_end: 0, seeds: [0]}]}}\n",
            "a scheduled alpha\\) applies to sampler 'hybrid', but got sampler 'per-pair'",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {mixing: {systems: [{sampler: hybrid, alpha: 1, alpha_end: 2, seeds: [0]}]}}\n",
            r"alpha_end': alpha_end must be in \[0, 1\], but got 2",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {mixing: {debias: {methods: [lir], ranks: {}}}}\n",
            r"field 'experiment.mixing.debias.ranks.lir': must be a non-empty list of ranks >= 1, but got None",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {mixing: {debias: {methods: [whitening]}}}\n",
            "unknown value 'whitening'",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    leaves_out: [topk]\n",
            r"field 'leaves_out': must map chapter \(or runs folder\) names to the reason .* but got \['topk'\]",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    leaves_out: {topk: ' '}\n",
            r"field 'leaves_out': must map chapter \(or runs folder\) names to the reason each is left out",
        ),
    ],
)
def test_profile_errors_name_the_field_and_value(tmp_path: Path, text: str, message: str) -> None:
    path = write_profiles(tmp_path, text)
    with pytest.raises(ProfileError, match=message) as caught:
        load_profile(path, "p")
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "profiles:\n  p: {extends: q, notebooks: [{notebook: a.ipynb}]}\n",
            r"profile 'p', field 'extends': must name another profile of \['p'\], but got 'q'",
        ),
        (
            "profiles:\n  p: {extends: r}\n  r: {extends: p}\n",
            r"field 'extends': profiles extend each other in a cycle: p -> r -> p",
        ),
    ],
)
def test_extends_errors_name_the_profile_and_value(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(write_profiles(tmp_path, text), "p")


def test_a_profile_extends_another_by_deep_merge(tmp_path: Path) -> None:
    from hybridlib.runner.profiles import deep_merge

    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 2}
    assert deep_merge(base, {"a": {"c": [3], "d": {"g": 2}}, "f": None}) == {
        "a": {"b": 1, "c": [3], "d": {"e": 1, "g": 2}},
        "f": None,
    }
    assert base == {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 2}  # not modified
    path = write_profiles(
        tmp_path,
        (
            "profiles:\n"
            "  base:\n    common: {model: big, num_threads: 8}\n"
            "    notebooks: [{notebook: a.ipynb}]\n"
            "    experiment: {seeds: [0, 1, 2], train: {batch_size: 64, warmup_steps: 100}}\n"
            "  mid: {extends: base, common: {model: tiny}}\n"
            "  p: {extends: mid, experiment: {seeds: [0], train: {batch_size: 8}}}\n"
        ),
    )
    profile = load_profile(path, "p")
    assert profile.common == {"model": "tiny", "num_threads": 8}
    assert profile.experiment.seeds == (0,)
    assert profile.experiment.train == {"batch_size": 8, "warmup_steps": 100}
    assert load_profile(path, "base").experiment.seeds == (0, 1, 2)


def test_an_optional_suite_joins_the_domain_shift_suites_where_its_data_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_profiles(tmp_path, (
        "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n"
        "    experiment: {domain_shift_suites: [tatoeba], domain_shift_suites_if_present: [miracl]}\n"
    ))  # fmt: skip
    data = tmp_path / "data"
    monkeypatch.setenv("HYBRIDLIB_DATA_DIR", str(data))
    assert load_profile(path, "p").experiment.domain_shift_suites == ("tatoeba",)
    name = "miracl-v1.0-sw"
    for part in ("topics", "qrels"):
        folder = data / "miracl" / "miracl" / name / part
        folder.mkdir(parents=True)
        (folder / f"{part}.{name}-dev.tsv").write_text("1\tq\n", encoding="utf-8")
    corpus = data / "miracl" / "miracl-corpus" / "miracl-corpus-v1.0-sw"
    corpus.mkdir(parents=True)
    (corpus / "docs-0.jsonl.gz").write_bytes(b"")
    assert load_profile(path, "p").experiment.domain_shift_suites == ("tatoeba", "miracl")
    bad = write_profiles(
        tmp_path, path.read_text().replace("if_present: [miracl]", "if_present: [mteb]")
    )
    with pytest.raises(
        ProfileError, match=r"domain_shift_suites_if_present': unknown value 'mteb'"
    ):
        load_profile(bad, "p")


def test_an_unknown_domain_shift_suite_is_refused_naming_the_closest(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, (
        "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n"
        "    experiment: {domain_shift_suites: [tatoeba, tydi]}\n"
    ))  # fmt: skip
    with pytest.raises(
        ProfileError,
        match=r"domain_shift_suites': unknown value 'tydi' \(did you mean 'tydiqa'\?\)",
    ):
        load_profile(path, "p")


def test_the_dry_run_of_the_full_profile_keeps_its_design() -> None:
    """full-dry differs from full only in scale: same directions, systems, ablation, suites,
    whole-model training, precision and post-processings."""
    full = load_profile(REPO / "profiles.yaml", "full")
    dry = load_profile(REPO / "profiles.yaml", "full-dry")
    for field in (
        "directions",
        "samplers",
        "alpha",
        "ablation_alphas",
        "ablation_directions",
        "baselines",
        "domain_shift_suites",
        "validation_directions",
    ):
        assert getattr(dry.experiment, field) == getattr(full.experiment, field), field
    for key in ("top_layers", "precision"):
        assert dry.common[key] == full.common[key], key
    assert dry.experiment.mixing.debias.methods == full.experiment.mixing.debias.methods
    assert dry.experiment.mixing.debias.systems == full.experiment.mixing.debias.systems
    assert [
        (s.sampler, s.alpha, s.alpha_end, s.domain_shift) for s in dry.experiment.mixing.systems
    ] == [(s.sampler, s.alpha, s.alpha_end, s.domain_shift) for s in full.experiment.mixing.systems]
    assert dry.common["model"] == "tiny" and dry.experiment.seeds == (0,)


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, "profiles:\n  a: {notebooks: [{notebook: x.ipynb}]}\n")
    with pytest.raises(ProfileError, match=r"no profile 'b'; known profiles: \['a'\]"):
        load_profile(path, "b")


def test_every_profile_of_the_repository_parses_and_its_notebooks_declare_its_parameters() -> None:
    from hybridlib.runner.execute import resolve_parameters

    for name in ("smoke", "cpu", "full", "full-dry"):
        for execution in plan_profile(load_profile(REPO / "profiles.yaml", name)):
            resolve_parameters(execution, REPO)  # raises ParameterError on an undeclared one


def test_a_key_given_twice_in_a_profile_is_an_error(tmp_path: Path) -> None:
    path = write_profiles(
        tmp_path, "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n  p:\n    notebooks: []\n"
    )
    with pytest.raises(ProfileError, match=r"key 'p' is given twice \(lines 2 and 4\)"):
        load_profile(path, "p")


def test_precision_auto_is_bf16_only_where_the_cpu_has_it_natively() -> None:
    from hybridlib.runner.profiles import machine_parameters, native_bfloat16, resolve_precision

    amx = "processor : 0\nflags\t\t: fpu sse2 avx2 avx512f amx_bf16 amx_tile\n"
    avx2 = "processor : 0\nflags\t\t: fpu sse2 avx2 fma\n"
    assert (
        native_bfloat16(amx)
        and native_bfloat16("flags : avx512_bf16\n")
        and not native_bfloat16(avx2)
    )
    assert (
        resolve_precision("auto", amx) == "bfloat16"
        and resolve_precision("auto", avx2) == "float32"
    )
    assert resolve_precision("bfloat16", avx2) == "bfloat16"  # an explicit choice is kept
    resolved = machine_parameters({"precision": "auto", "model": "embedded"})
    assert resolved["precision"] in ("bfloat16", "float32") and resolved["model"] == "embedded"
    # the plan holds this machine's arithmetic, never "auto" (caches and records key on it)
    executions = plan_profile(load_profile(REPO / "profiles.yaml", "cpu"))
    assert {e.offered["precision"] for e in executions} == {resolve_precision("auto")}


@pytest.mark.parametrize("name", ["../../outside", "a/b", ".hidden", "adhoc", "-x", ""])
def test_a_profile_name_is_one_path_component(tmp_path: Path, name: str) -> None:
    """The name makes the folder runs/<profile>/ that the book writes and cleans: '..' wrote
    and later deleted outside runs/."""
    path = write_profiles(
        tmp_path, f'profiles:\n  "{name}": {{notebooks: [{{notebook: a.ipynb}}]}}\n'
    )
    with pytest.raises(ProfileError, match=r"must be one path component") as caught:
        load_profile(path, name)
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize(
    ("experiment", "message"),
    [
        ("{directions: [xquad-to-mlqa, xm3600], validation_directions: [xquad-to-mlqa]}",
         r"validation_directions': must list every direction, but \['xm3600'\] are missing"),
        ("{directions: [xquad-to-mlqa, mlqa-to-xquad], validation_directions: [xquad-to-mlqa]}",
         r"but \['mlqa-to-xquad'\] are missing: a direction's settings are chosen on its own"),
        ("{directions: [xm3600], direction_suites: {xquad-to-mlqa: [mlqa-r]}}",
         r"direction_suites.xquad-to-mlqa': 'xquad-to-mlqa' is not one of the directions"),
        ("{directions: [xm3600], direction_suites: {xm3600: [tico19, xm3600]}}",
         r"must start with the direction's own test suite 'xm3600'"),
        ("{directions: [xm3600], direction_suites: {xm3600: [xm3600, bioasq]}}",
         r"direction_suites.xm3600': unknown value 'bioasq'"),
        ("{directions: [xm3600, xquad-to-mlqa], topk: {steps: 2}}",
         r"topk runs in the first direction, which must be trained on a LAReQA set, but it is 'xm3600'"),
        ("{directions: [xm3600], direction_seeds: {xm3600: []}}",
         r"direction_seeds.xm3600': must be a non-empty list of integers"),
        ("{directions: [xm3600], direction_validation: {xquad-to-mlqa: {max_steps: 2}}}",
         r"direction_validation.xquad-to-mlqa': 'xquad-to-mlqa' is not one of the directions"),
    ],
)  # fmt: skip
def test_a_directions_suites_and_validation_are_checked(
    tmp_path: Path, experiment: str, message: str
) -> None:
    text = (
        f"profiles:\n  p:\n    notebooks: [{{notebook: a.ipynb}}]\n    experiment: {experiment}\n"
    )
    path = write_profiles(tmp_path, text)
    with pytest.raises(ProfileError, match=message):
        load_profile(path, "p")


def test_each_direction_is_validated_on_its_own_training_data(tmp_path: Path) -> None:
    """No direction takes settings chosen on another's held-out data (XQuAD's validation
    articles are tested by MLQA -> XQuAD); a direction's own validation grid merges over the
    shared one; its suites are its cut."""
    text = (
        "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment:\n"
        "      directions: [xquad-to-mlqa, mlqa-to-xquad, xm3600]\n"
        "      validation: {temperatures: [0.05], lrs: [1.0e-4], max_steps: 4, every: 2}\n"
        "      direction_validation: {xm3600: {max_steps: 8, lrs: [1.0e-3]}}\n"
        "      direction_suites: {xm3600: [xm3600, tico19]}\n"
        "      seeds: [0, 1, 2, 3, 4]\n"
        "      direction_seeds: {xm3600: [0, 1, 2]}\n"
    )
    grid = load_profile(write_profiles(tmp_path, text), "p").experiment
    assert grid is not None
    assert [grid.validated_by(d) for d in grid.directions] == list(grid.directions)
    assert grid.validation_of("xm3600") == {
        "temperatures": [0.05],
        "lrs": [1.0e-3],
        "max_steps": 8,
        "every": 2,
    }
    assert grid.validation_of("xquad-to-mlqa")["max_steps"] == 4
    assert grid.suites_of("xm3600") == ("xm3600", "tico19")
    assert grid.suites_of("mlqa-to-xquad") == ("xquad-r",)
    plan = {e.name: e for e in plan_profile(load_profile(write_profiles(tmp_path, text), "p"))}
    assert plan["runs/validate/xm3600"].parameters["max_steps"] == 8
    assert plan["runs/xm3600/x-x"].parameters["suites"] == ["xm3600", "tico19"]
    assert plan["runs/xm3600/x-x"].depends_on == ("runs/validate/xm3600",)
    assert plan["runs/mlqa-to-xquad/x-x"].depends_on == ("runs/validate/mlqa-to-xquad",)
    assert plan["runs/xm3600/x-x"].parameters["seeds"] == [0, 1, 2]
    assert plan["runs/mlqa-to-xquad/x-x"].parameters["seeds"] == [0, 1, 2, 3, 4]
