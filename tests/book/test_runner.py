"""The runner and the book build, on a small book built from scratch in a temporary folder."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest

from hybridlib.runner import (
    BookError,
    NotebookFailure,
    ParameterError,
    ProfileError,
    build_book,
    grid_systems,
    load_profile,
    plan_profile,
    run_executions,
)
from hybridlib.runner.book import check_book, glue_references, toc_pages
from hybridlib.runner.execute import dependency_files
from hybridlib.runner.plan import Execution

REPO = Path(__file__).resolve().parents[2]


def _executions(book: Path, **overrides) -> list[Execution]:
    executions = plan_profile(load_profile(book / "profiles.yaml", "tiny"))
    if overrides:
        executions = [
            Execution(
                e.name,
                e.notebook,
                {**e.parameters, **overrides},
                e.offered,
                e.depends_on,
                e.artifacts,
                e.page,
            )
            for e in executions
        ]
    return executions


def _png_hashes(nb_path: Path) -> set[str]:
    """SHA-256 of every glued PNG in an executed notebook."""
    nb = nbformat.read(nb_path, as_version=4)
    hashes = set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap:
                png = output["data"].get(scrap.get("mime_prefix", "") + "image/png")
                if png:
                    hashes.add(hashlib.sha256(base64.b64decode(png)).hexdigest())
    return hashes


def test_small_book_shows_every_glued_figure_and_table(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    records = build_book(small_book, _executions(small_book), store, mathjax=False, progress=False)
    assert [r.status for r in records] == ["executed"]

    html_dir = small_book / "_build" / "html"
    page = (html_dir / "book" / "generated" / "points.html").read_text(encoding="utf-8")
    intro = (html_dir / "book" / "intro.html").read_text(encoding="utf-8")

    # the figure: the glued PNG was written into the HTML output and the page shows it
    executed = small_book / "book" / "generated" / "points.ipynb"
    pngs = _png_hashes(executed)
    assert len(pngs) == 1
    (png,) = pngs
    assert (html_dir / "_images" / f"{png}.png").is_file()
    figure = re.search(r'<figure[^>]*id="fig-line".*?</figure>', page, re.S).group(0)
    assert f"{png}.png" in figure and "A line through the points." in figure

    # the table: the glued DataFrame as an HTML table with the values of n_points = 4 rows
    table = re.search(r'<figure[^>]*id="tbl-points".*?</figure>', page, re.S).group(0)
    assert "<table" in table
    assert re.findall(r"<td>(\d+\.\d+)</td>", table) == ["0.0", "2.0", "4.0", "6.0"]

    # a number glued across documents, and numbered references to both
    assert '<span class="pasted-text">4</span> points' in intro
    assert re.search(r"Fig\. 1</span>", intro) and re.search(r"Fig\. 2</span>", intro)
    assert check_book(small_book, html_dir, built_after=0.0) == []


def test_cache_skips_finished_work_and_reruns_a_changed_parameter(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    first = run_executions(_executions(small_book), small_book, store, progress=False)
    assert [r.status for r in first] == ["executed"]
    stamp = (store / "points.json").read_text()

    second = run_executions(_executions(small_book), small_book, store, progress=False)
    assert [r.status for r in second] == ["cached"]
    assert second[0].key == first[0].key
    assert (store / "points.json").read_text() == stamp  # untouched

    third = run_executions(_executions(small_book, n_points=5), small_book, store, progress=False)
    assert [r.status for r in third] == ["executed"]
    assert third[0].key != first[0].key
    nb = nbformat.read(store / "points.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["n_points"] == 5


def test_changed_parameter_reruns_only_what_depends_on_it(small_book: Path) -> None:
    """Two independent notebooks and one that depends on the first: changing the first's
    parameter reruns it and its dependant, not the independent one."""
    store = small_book / "runs" / "store"
    nb = "notebooks/points.ipynb"
    base = [
        Execution("a", nb, {"n_points": 2}),
        Execution("b", nb, {"n_points": 3}),
        Execution("c", nb, {"n_points": 4}, depends_on=("a",)),
    ]
    assert {r.status for r in run_executions(base, small_book, store, progress=False)} == {
        "executed"
    }
    changed = [Execution("a", nb, {"n_points": 6}), base[1], base[2]]
    statuses = {
        r.name: r.status for r in run_executions(changed, small_book, store, progress=False)
    }
    assert statuses == {"a": "executed", "b": "cached", "c": "executed"}


def test_changed_package_versions_rerun_and_say_which(
    small_book: Path, monkeypatch, capsys
) -> None:
    """The cache key holds the environment: a torch upgrade no longer reuses executed notebooks."""
    import hybridlib.runner.execute as execute

    store = small_book / "runs" / "store"
    assert [
        r.status for r in run_executions(_executions(small_book), small_book, store, progress=False)
    ] == ["executed"]
    real = execute.package_versions()
    monkeypatch.setattr(execute, "package_versions", lambda: {**real, "torch": "99.0.0"})
    again = run_executions(_executions(small_book), small_book, store, progress=True)
    assert [r.status for r in again] == ["executed"]
    assert (
        f"points: run again, package versions changed (torch {real['torch']} -> 99.0.0)"
        in capsys.readouterr().out
    )


def test_changed_notebook_code_reruns_it(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    run_executions(_executions(small_book), small_book, store, progress=False)
    path = small_book / "notebooks" / "points.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[-2].source += "\nprint('changed')"
    nbformat.write(nb, path)
    assert (
        run_executions(_executions(small_book), small_book, store, progress=False)[0].status
        == "executed"
    )


def test_failure_names_the_notebook_and_the_cell(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    with pytest.raises(NotebookFailure) as caught:
        run_executions(_executions(small_book, fail=True), small_book, store, progress=False)
    error = caught.value
    assert error.notebook == "notebooks/points.ipynb"
    assert "assert not fail" in error.source
    message = str(error)
    assert "notebooks/points.ipynb" in message and "assert not fail" in message
    assert "AssertionError: asked to fail" in message
    # executed copy: [parameters, injected-parameters, imports, figure, table, assert] -> cell 5
    assert error.cell_index == 5
    assert error.failed_copy is not None and error.failed_copy.is_file()
    # nothing half-written: no executed notebook and no stamp for the failed execution
    assert not (store / "points.ipynb").exists() and not (store / "points.json").exists()


def test_undeclared_parameter_is_an_error_naming_it(small_book: Path) -> None:
    with pytest.raises(ParameterError, match=r"does not declare parameter\(s\) \['n_pionts'\]"):
        run_executions(
            _executions(small_book, n_pionts=3), small_book, small_book / "s", progress=False
        )


def test_missing_page_is_reported(small_book: Path) -> None:
    build_book(
        small_book, _executions(small_book), small_book / "store", mathjax=False, progress=False
    )
    (small_book / "_toc.yml").write_text(
        (small_book / "_toc.yml").read_text() + "  - file: book/absent\n"
    )
    problems = check_book(small_book, small_book / "_build" / "html", built_after=0.0)
    assert any("'book/absent'" in p and "no source file" in p for p in problems)


def test_missing_glue_key_fails_the_build(small_book: Path) -> None:
    intro = small_book / "book" / "intro.md"
    intro.write_text(
        intro.read_text() + "\nAlso {glue:text}`generated/points.ipynb::no_such_key:d`.\n"
    )
    with pytest.raises(BookError, match="no_such_key"):
        build_book(
            small_book, _executions(small_book), small_book / "store", mathjax=False, progress=False
        )


def test_glue_references_are_parsed_like_myst_nb() -> None:
    text = (
        "{glue:text}`generated/r.ipynb::k1:.3f` and {glue}`k2` and {glue:text}`k3:d`\n"
        "```{glue:figure} k4\n:name: fig-x\n```\n"
        ":::{glue} k5\n:doc: ../other.ipynb\n:::\n"
    )
    assert glue_references(text, "book/intro") == [
        ("book/generated/r", "k1"),
        ("book/intro", "k2"),
        ("book/intro", "k3"),
        ("book/intro", "k4"),
        ("other", "k5"),
    ]


# ------------------------------------------------------------------------------- profiles


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.yaml"
    path.write_text(text)
    return path


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
            "a scheduled alpha applies to sampler 'hybrid', not 'per-pair'",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {mixing: {systems: [{sampler: hybrid, alpha: 1, alpha_end: 2, seeds: [0]}]}}\n",
            r"alpha_end': alpha must be in \[0, 1\], but got 2",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {mixing: {debias: {methods: [lir], ranks: {}}}}\n",
            r"field 'experiment.mixing.debias.ranks.lir': must be a non-empty list of ranks >= 1, but got None",
        ),
        (
            "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n    experiment: {mixing: {debias: {methods: [whitening]}}}\n",
            "unknown value 'whitening'",
        ),
    ],
)
def test_profile_errors_name_the_field_and_value(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
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
        load_profile(_write(tmp_path, text), "p")


def test_a_profile_extends_another_by_deep_merge(tmp_path: Path) -> None:
    from hybridlib.runner.profiles import deep_merge

    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 2}
    assert deep_merge(base, {"a": {"c": [3], "d": {"g": 2}}, "f": None}) == {
        "a": {"b": 1, "c": [3], "d": {"e": 1, "g": 2}},
        "f": None,
    }
    assert base == {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 2}  # not modified
    path = _write(
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
    path = _write(tmp_path, (
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
    bad = _write(tmp_path, path.read_text().replace("if_present: [miracl]", "if_present: [mteb]"))
    with pytest.raises(
        ProfileError, match=r"domain_shift_suites_if_present': unknown value 'mteb'"
    ):
        load_profile(bad, "p")


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
    path = _write(tmp_path, "profiles:\n  a: {notebooks: [{notebook: x.ipynb}]}\n")
    with pytest.raises(ProfileError, match=r"no profile 'b'; known profiles: \['a'\]"):
        load_profile(path, "b")


def test_grid_expansion_reuses_alpha_0_and_1_and_orders_dependencies() -> None:
    profile = load_profile(REPO / "profiles.yaml", "cpu")
    grid = profile.experiment
    first, second = grid.directions
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
    path = _write(tmp_path, (
        "profiles:\n  p:\n    notebooks: [{notebook: a.ipynb}]\n"
        "    experiment:\n      samplers: [x-x]\n"
        "      mixing: {debias: {methods: [centering], systems: [[hybrid, 0.5]]}}\n"
    ))  # fmt: skip
    with pytest.raises(
        ValueError, match=r"no run of \['runs/xquad-to-mlqa/hybrid-a0.50'\] in the grid"
    ):
        plan_profile(load_profile(path, "p"))


def test_every_profile_of_the_repository_parses_and_its_notebooks_declare_its_parameters() -> None:
    from hybridlib.runner.execute import resolve_parameters

    for name in ("smoke", "cpu", "full", "full-dry"):
        for execution in plan_profile(load_profile(REPO / "profiles.yaml", name)):
            resolve_parameters(execution, REPO)  # raises ParameterError on an undeclared one


def test_notebooks_are_committed_clean_with_a_literal_parameters_cell() -> None:
    import ast

    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert nb.metadata.kernelspec.name == "python3", path
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert "parameters" in code[0].metadata.get("tags", []), path
        for cell in code:
            assert cell.outputs == [] and cell.execution_count is None, path
        for statement in ast.parse(code[0].source).body:
            assert isinstance(statement, ast.Assign), (path, ast.dump(statement))
            ast.literal_eval(statement.value)  # literals only


def test_code_version_follows_imports_transitively() -> None:
    files = {
        p.relative_to(REPO).as_posix()
        for p in dependency_files(["from hybridlib.runner import plan_profile"])
    }
    assert "hybridlib/runner/plan.py" in files
    assert "hybridlib/runner/profiles.py" in files  # imported by plan.py
    assert "hybridlib/io.py" in files  # imported by execute.py via runner/__init__
    assert "hybridlib/__init__.py" in files
    assert not any(f.startswith("hybridlib/training/") for f in files)
    # the benchmarks package keys the efficiency chapter, and leads into hybridlib
    files = {
        p.relative_to(REPO).as_posix()
        for p in dependency_files(["from benchmarks.run import run_all"])
    }
    assert {"benchmarks/run.py", "benchmarks/training.py", "benchmarks/__init__.py"} <= files
    assert "hybridlib/io.py" in files  # imported inside run_all


def test_toc_pages_expand_globs(small_book: Path) -> None:
    (small_book / "book" / "generated").mkdir(parents=True)
    for name in ("b", "a"):
        (small_book / "book" / "generated" / f"{name}.ipynb").write_text("{}")
    (small_book / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n  - glob: book/generated/*\n"
    )
    assert toc_pages(small_book) == ["book/intro", "book/generated/a", "book/generated/b"]


def test_stale_outputs_are_removed_before_a_rerun_unless_resumable(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    nb = "notebooks/points.ipynb"
    notebook = nbformat.read(small_book / nb, as_version=4)  # it leaves its artifacts
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            "from pathlib import Path\nfor flag in (False, True): Path(f'runs/out-{flag}').mkdir(parents=True, exist_ok=True)"
        )
    )
    nbformat.write(notebook, small_book / nb)
    for resumable, survives in ((False, False), (True, True)):
        artifact = small_book / "runs" / f"out-{resumable}"
        artifact.mkdir(parents=True, exist_ok=True)
        (artifact / "partial.txt").write_text("left by an interrupted run")
        execution = Execution(
            f"e-{resumable}",
            nb,
            {"n_points": 2},
            artifacts=(f"runs/out-{resumable}",),
            resumable=resumable,
        )
        run_executions([execution], small_book, store, progress=False)
        assert (artifact / "partial.txt").exists() is survives


def test_injected_parameters_are_hidden_in_the_book(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    run_executions(_executions(small_book), small_book, store, progress=False)
    nb = nbformat.read(store / "points.ipynb", as_version=4)
    (injected,) = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "hide-cell" in injected.metadata.tags and "n_points = 4" in injected.source


def test_book_command_runs_a_profile_and_reports_a_failing_cell(small_book: Path, capsys) -> None:
    from hybridlib.cli import main

    args = ["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]
    assert main(args) == 0
    assert "1 notebook executions (1 run, 0 cached)" in capsys.readouterr().out
    assert main(args) == 0
    assert "(0 run, 1 cached)" in capsys.readouterr().out

    assert (
        main(
            [
                "book",
                "--root",
                str(small_book),
                "--profile",
                "tiny",
                "--only",
                "points",
                "-p",
                "fail",
                "true",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "notebooks/points.ipynb" in err and "assert not fail" in err and "asked to fail" in err

    assert main(["book", "--root", str(small_book), "--profile", "nope", "--no-build"]) == 1
    assert "no profile 'nope'" in capsys.readouterr().err


def test_the_build_log_names_each_execution_with_its_time_and_no_kernel_warning(
    small_book: Path, capfd
) -> None:
    """The kernels run over local IPC sockets: ipykernel printed "Kernel is running over TCP
    without encryption" (to the kernel's own stderr, hence capfd) once per notebook."""
    from hybridlib.cli import main

    assert (
        main(["book", "--root", str(small_book), "--profile", "tiny", "--no-build", "--force"]) == 0
    )
    out, err = capfd.readouterr()
    assert re.search(r"^points: executed in \d+ s$", out, flags=re.M), out
    assert "without encryption" not in out + err and "IPKernelApp" not in out + err


def test_run_notebook_writes_outputs_to_adhoc_never_over_the_books_results() -> None:
    from hybridlib.runner.commands import _adhoc_outputs

    moved = _adhoc_outputs({"models_dir": "runs/cpu/models", "results_dir": "runs/cpu/results",
                            "selection_file": "runs/cpu/validation/x/selection.json", "steps": 3,
                            "output_dir": "elsewhere/out"}, "cpu")  # fmt: skip
    assert moved == {"models_dir": "runs/adhoc/models", "results_dir": "runs/adhoc/results",
                     "selection_file": "runs/cpu/validation/x/selection.json", "steps": 3,
                     "output_dir": "elsewhere/out"}  # fmt: skip


def test_an_interrupted_rerun_is_never_taken_for_a_finished_one(small_book: Path) -> None:
    """Issue 14, case 1: a forced rerun stopped with Ctrl-C (SIGINT) left the old stamp, and
    the next run reported the execution cached."""
    import signal
    import subprocess
    import sys
    import time

    from hybridlib.cli import main

    assert main(["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]) == 0
    stamp = small_book / "runs" / "tiny" / "notebooks" / "points.json"
    assert stamp.is_file()
    # Started as a terminal starts it: SIGINT at its default and not blocked. A process started
    # with SIGINT ignored keeps ignoring it (Unix convention, which Python and this CLI follow),
    # and a test process launched in the background by a non-interactive shell (`pytest &`) is
    # one: every child it starts would ignore the Ctrl-C this test sends.
    launcher = (
        "import runpy, signal, sys; "
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
        "signal.signal(signal.SIGINT, signal.default_int_handler); "
        "runpy.run_module('hybridlib.cli', run_name='__main__')"
    )
    command = [
        sys.executable,
        "-c",
        launcher,
        "book",
        "--root",
        str(small_book),
        "--profile",
        "tiny",
        "--only",
        "points",
        "--force",
        "-p",
        "sleep",
        "60",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180  # generous: a loaded machine starts Python slowly
    while stamp.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not stamp.exists(), "the forced rerun never started (its old stamp is still there)"
    time.sleep(3)  # inside the notebook's sleep
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0].decode(errors="replace")
    assert not stamp.exists(), output[-3000:]
    records = run_executions(
        _executions(small_book),
        small_book,
        small_book / "runs" / "tiny" / "notebooks",
        progress=False,
    )
    assert [r.status for r in records] == ["executed"]


def test_a_changed_or_missing_artifact_reruns_the_execution(small_book: Path) -> None:
    store = small_book / "runs" / "store"
    nb = "notebooks/points.ipynb"
    code = "from pathlib import Path; Path('runs/out').mkdir(parents=True, exist_ok=True); Path('runs/out/a.txt').write_text('x' * n_points)"
    notebook = nbformat.read(small_book / nb, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(notebook, small_book / nb)
    execution = [Execution("e", nb, {"n_points": 2}, artifacts=("runs/out",))]
    assert [r.status for r in run_executions(execution, small_book, store, progress=False)] == [
        "executed"
    ]
    assert [r.status for r in run_executions(execution, small_book, store, progress=False)] == [
        "cached"
    ]
    (small_book / "runs/out/a.txt").write_text("yy")  # same size, other content
    assert [r.status for r in run_executions(execution, small_book, store, progress=False)] == [
        "executed"
    ]
    (small_book / "runs/out/a.txt").unlink()
    assert [r.status for r in run_executions(execution, small_book, store, progress=False)] == [
        "executed"
    ]
    stamp = json.loads((store / "e.json").read_text())
    assert stamp["artifacts"]["runs/out/a.txt"]["size"] == 2


def test_an_execution_that_leaves_no_declared_artifact_fails_loudly(small_book: Path) -> None:
    execution = [
        Execution("e", "notebooks/points.ipynb", {"n_points": 2}, artifacts=("runs/never",))
    ]
    with pytest.raises(FileNotFoundError, match="did not leave its declared artifact runs/never"):
        run_executions(execution, small_book, small_book / "runs" / "store", progress=False)
    assert not (small_book / "runs" / "store" / "e.json").exists()  # not counted as done


def test_a_profile_is_checked_whole_before_anything_runs(small_book: Path, capsys) -> None:
    """Issue 14, case 4: `common: {modle: ...}` was dropped without a word; a misspelt
    `experiment.train` key or a wrong notebook path was reported only at execution 2 or 16."""
    from hybridlib.cli import main

    (small_book / "profiles.yaml").write_text("""\
profiles:
  tiny:
    common: {slop: 2.0}
    notebooks:
      - notebook: notebooks/points.ipynb
        parameters: {n_point: 4}
      - notebook: notebooks/missing.ipynb
""")
    assert main(["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]) == 1
    err = capsys.readouterr().err
    assert "3 problem(s) in the plan, nothing was run" in err
    assert "does not declare parameter 'n_point'; did you mean 'n_points'?" in err
    assert "notebook notebooks/missing.ipynb not found" in err
    assert "common: no notebook declares 'slop'; did you mean 'slope'?" in err
    assert not (small_book / "runs").exists()  # nothing ran


def test_trainer_fields_of_the_experiment_are_checked(small_book: Path) -> None:
    from hybridlib.runner.execute import check_plan

    profile = load_profile(REPO / "profiles.yaml", "smoke")
    profile = dataclasses.replace(
        profile,
        experiment=dataclasses.replace(
            profile.experiment, train={**profile.experiment.train, "batchsize": 8}
        ),
    )
    with pytest.raises(
        ParameterError,
        match="experiment.train: 'batchsize' is not a trainer field; did you mean 'batch_size'",
    ):
        check_plan(plan_profile(profile), REPO, profile, train_fields=["batch_size", "steps"])
    check_plan(
        plan_profile(load_profile(REPO / "profiles.yaml", "cpu")),
        REPO,
        load_profile(REPO / "profiles.yaml", "cpu"),
        train_fields=[
            f.name
            for f in dataclasses.fields(
                __import__("hybridlib.training", fromlist=["TrainConfig"]).TrainConfig
            )
        ],
    )


def test_a_key_given_twice_in_a_profile_is_an_error(tmp_path: Path) -> None:
    path = _write(
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
