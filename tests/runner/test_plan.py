"""The plan of a profile (hybridlib.runner.plan): the experiment's grid expanded into executions."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridlib.runner import (
    grid_systems,
    load_profile,
    plan_profile,
)

from .conftest import write_profiles

REPO = Path(__file__).resolve().parents[2]


def test_grid_expansion_reuses_alpha_0_and_1_and_orders_dependencies() -> None:
    profile = load_profile(REPO / "profiles.yaml", "cpu-full")  # cpu with its domain-shift extras
    grid = profile.experiment
    first, second, question = grid.directions
    assert question == "xm3600"
    systems = {(sampler, alpha): seeds for sampler, alpha, seeds in grid_systems(grid, first)}
    expected = {("x-x", 1.0), ("x-y", 0.0), ("hybrid", grid.alpha)}
    expected |= {("hybrid", a) for a in grid.ablation_alphas if a not in (0.0, 1.0)}
    assert set(systems) == expected
    assert systems[("hybrid", 0.25)] == grid.ablation_seeds and systems[("x-x", 1.0)] == grid.seeds
    # the ablation runs in the first direction only
    assert {a for _, a, _ in grid_systems(grid, second)} == {1.0, 0.0, grid.alpha}
    executions = plan_profile(profile)
    names = [e.name for e in executions]
    for e in executions:
        for dep in e.depends_on:
            assert names.index(dep) < names.index(e.name)
    # the untrained encoder fills the hidden-state cache before any training, in a parallel
    # build too: every execution that trains waits for it (directly or through its validation)
    assert names.index("runs/evaluate/untrained") < min(
        i for i, n in enumerate(names) if n.startswith("runs/validate")
    )
    by_name = {e.name: e for e in executions}

    def waits_for_fill(name: str) -> bool:
        deps = by_name[name].depends_on
        return "runs/evaluate/untrained" in deps or any(waits_for_fill(d) for d in deps)

    trains = [n for n in names if n.startswith(("runs/validate", f"runs/{first}/", f"runs/{second}/",
                                                "runs/debias", "topk"))]  # fmt: skip
    assert len(trains) > 10 and all(waits_for_fill(n) for n in trains)
    runs = {e.name: e for e in executions}
    main = runs[f"runs/{first}/hybrid-a0.50"].parameters
    assert main["suites"] == ["mlqa-r"] and main["extra_suites"] == list(grid.domain_shift_suites)
    assert main["extra_seeds"] == list(grid.domain_shift_seeds) and len(main["seeds"]) > len(
        main["extra_seeds"]
    )
    ablation = runs[f"runs/{first}/hybrid-a0.25"].parameters
    assert ablation["suites"] == ["mlqa-r"] and ablation["extra_suites"] == []
    assert runs[f"runs/{second}/x-x"].parameters["suites"] == ["xquad-r"]
    # the question's systems: trained on XM3600, chosen on its validation images, evaluated
    # on the profile's cut of its suites (its own first); no ablation, no domain-shift extras
    asked = runs["runs/xm3600/hybrid-a0.50"].parameters
    assert asked["suites"] == list(grid.suites_of("xm3600")) and asked["suites"][0] == "xm3600"
    assert asked["extra_suites"] == [] and asked["selection_file"].endswith(
        "validation/xm3600/selection.json"
    )
    assert {a for _, a, _ in grid_systems(grid, question)} == {1.0, 0.0, grid.alpha}
    assert set(grid.suites_of("xm3600")) <= set(
        runs["runs/evaluate/untrained"].parameters["suites"]
    )
    assert main["selection_file"].endswith(f"validation/{first}/selection.json")
    assert executions[-1].name == "efficiency"  # last: it reads the time of every other
    # the other ways to mix: their runs in the first direction, then the post-processings
    # after the runs they post-process and after the untrained encoder filled the cache
    mixing = grid.mixing
    labels = {
        f"runs/{first}/per-pair-a0.50",
        f"runs/{first}/hybrid-a1.00-0.00",
        f"runs/{first}/hybrid-a0.00-1.00",
    }
    assert labels <= set(runs) and {s.sampler for s in mixing.systems} == {"per-pair", "hybrid"}
    schedule = runs[f"runs/{first}/hybrid-a1.00-0.00"].parameters
    assert (schedule["sampler"], schedule["alpha"], schedule["alpha_end"]) == ("hybrid", 1.0, 0.0)
    assert (
        schedule["extra_suites"] == []
        and runs[f"runs/{first}/per-pair-a0.50"].parameters["extra_suites"]
    )
    debias = runs[f"runs/debias/{first}"]
    assert set(debias.depends_on) == {f"runs/{first}/hybrid-a0.50", "runs/evaluate/untrained"}
    assert debias.parameters["results_dir"].endswith("results/debias")
    assert names.index(f"runs/debias/{first}") < names.index("mixing")


def test_a_post_processing_of_a_system_the_grid_does_not_train_is_refused(tmp_path: Path) -> None:
    path = write_profiles(tmp_path, (
        "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n"
        "    experiment:\n      samplers: [x-x]\n"
        "      mixing: {debias: {methods: [centering], systems: [[hybrid, 0.5]]}}\n"
    ))  # fmt: skip
    with pytest.raises(
        ValueError, match=r"no run of \['runs/xquad-to-mlqa/hybrid-a0.50'\] in the grid"
    ):
        plan_profile(load_profile(path, "p"))


def test_chapters_are_offered_the_profile_file_they_were_built_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build from another profile file (``--profiles``) describes its own profile: the
    chapters are offered the file, relative to the project root where it is inside it."""
    folder = tmp_path / "project"
    folder.mkdir()
    path = write_profiles(
        folder, "profiles:\n  p:\n    notebooks: [{notebook: notebooks/a.ipynb}]\n"
    )
    monkeypatch.chdir(folder)
    (execution,) = plan_profile(load_profile(path, "p"))
    assert execution.offered["profiles_file"] == "profiles.yaml"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    (execution,) = plan_profile(load_profile(path, "p"))
    assert execution.offered["profiles_file"] == str(path)
