"""The build's cost before it starts (hybridlib.runner.cost): each execution's work, the
token counts and their cache, the profile's budget, ``hybridlib book --estimate`` and
``--over-budget``, and the one progress bar weighted by the estimate. No assertion is on a
wall time: the throughput is given (the micro-benchmark is never run here)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hybridlib.runner import cost
from hybridlib.runner.cost import TextStats, Throughput
from hybridlib.runner.profiles import ProfileError, load_profile, load_profiles

from .conftest import tiny_executions, write_profiles

REPO = Path(__file__).resolve().parents[2]
# a made-up machine: 1 us per token and layer, tokens only, a training step 3 forwards
MACHINE = Throughput(a=1e-6, b=0.0, train_factor=3.0, optimizer_seconds=0.0)


# ---------------------------------------------------------------------------------------------
# token counts and their cache, on a suite of our own (no data folder needed)

TEXTS = {
    "queries": ["What is the capital of France?", "Wie alt ist der Mond?", "短い"],
    "candidates": ["Paris is the capital of France.", "Der Mond ist alt. " * 200, "x"],
}


@pytest.fixture()
def toy_suite():
    """A registered suite ``toy-cost`` of the texts above; ``calls`` counts its loads."""
    from hybridlib.data.types import Candidate, Query, RetrievalSuite
    from hybridlib.suites import SuiteSpec, register_suite, unregister_suite

    calls = []

    def load(languages, root, path=None):
        calls.append(languages)
        queries = [Query(f"q{i}", "en", t, f"k{i}") for i, t in enumerate(TEXTS["queries"])]
        candidates = [
            Candidate(f"c{i}", "en", t, article=f"a{i % 2}")
            for i, t in enumerate(TEXTS["candidates"])
        ]
        return [RetrievalSuite("toy-cost", queries, candidates, {"q0": {"c0": 1}})]

    register_suite(SuiteSpec("toy-cost", "Toy", load, ("mono",), ("map",)))
    try:
        yield calls
    finally:
        unregister_suite("toy-cost")


def by_hand(texts: list[str], max_length: int = 512) -> TextStats:
    """Tokens counted independently: the XLM-R tokenizer without special tokens, plus 2,
    cut at ``max_length`` (the tiny model has no prefixes)."""
    from hybridlib.models.tokenizer import xlmr_tokenizer

    tokenizer = xlmr_tokenizer()
    lengths = [
        min(len(tokenizer(t, add_special_tokens=False)["input_ids"]) + 2, max_length) for t in texts
    ]
    return TextStats(len(lengths), sum(lengths), sum(n * n for n in lengths))


def test_token_counts_are_the_tokenizers_and_a_cached_count_is_the_recomputed_one(toy_suite):
    context = cost.ModelContext("tiny", "float32", 1)
    counts = cost.suite_token_counts("toy-cost", None, context)
    assert counts["queries"] == by_hand(TEXTS["queries"])
    assert counts["candidates"] == by_hand(TEXTS["candidates"])
    assert counts["candidates"].tokens_sq > counts["candidates"].tokens  # the long one: 512
    assert counts["articles"].n == 2
    assert counts["pairs"].n == 3 * 3  # one pool, one setting
    assert len(toy_suite) == 1

    again = cost.suite_token_counts("toy-cost", None, context)  # from the cache: not loaded
    assert again == counts and len(toy_suite) == 1
    # another length is another key
    short = cost.suite_token_counts("toy-cost", None, context, max_length=8)
    assert short["candidates"] == by_hand(TEXTS["candidates"], 8) and len(toy_suite) == 2


@pytest.mark.parametrize(
    "damage",
    ["not json", "edited count", "inconsistent", "other format"],
)
def test_a_damaged_token_cache_is_recomputed_never_trusted(toy_suite, damage):
    context = cost.ModelContext("tiny", "float32", 1)
    counts = cost.suite_token_counts("toy-cost", ["en"], context)
    [path] = [p for p in (cost.estimates_dir() / "tokens").glob("toy-cost-*.json")
              if json.loads(p.read_text())["key"]["languages"] == ["en"]]  # fmt: skip
    stored = json.loads(path.read_text())
    if damage == "not json":
        path.write_text(path.read_text()[:-20])
    elif damage == "edited count":  # consistent, but not what was counted: its checksum fails
        stored["counts"]["queries"]["tokens"] += 1
        stored["counts"]["queries"]["tokens_sq"] += 100
        path.write_text(json.dumps(stored))
    elif damage == "inconsistent":  # with a matching checksum, counts that cannot be
        stored["counts"]["queries"] = {"n": 3, "tokens": 2, "tokens_sq": 1}
        stored["sha256"] = cost._content_sha256(stored["key"], stored["counts"])
        path.write_text(json.dumps(stored))
    else:
        stored["format"] = 0
        path.write_text(json.dumps(stored))
    loads = len(toy_suite)
    assert cost.suite_token_counts("toy-cost", ["en"], context) == counts
    assert len(toy_suite) == loads + 1  # recomputed
    assert json.loads(path.read_text())["counts"]["queries"] == counts["queries"].to_json()


def test_the_throughput_is_measured_once_per_machine_and_cached(monkeypatch):
    context = cost.ModelContext("tiny", "float32", 1)
    runs = []

    def benchmark(ctx):
        runs.append(ctx.model)
        return Throughput(a=2e-6, b=1e-9, train_factor=2.5, optimizer_seconds=0.01)

    first = cost.measure_throughput(context, benchmark)
    assert runs == ["tiny"] and first.a == 2e-6 and first.measured  # says which machine
    assert cost.measure_throughput(context, benchmark) == first and runs == ["tiny"]
    other = cost.ModelContext("tiny", "float32", 2)  # another thread count: measured again
    cost.measure_throughput(other, benchmark)
    assert runs == ["tiny", "tiny"]


def test_work_seconds_follow_tokens_layers_and_steps() -> None:
    machine = Throughput(a=1e-6, b=1e-8, train_factor=3.0, optimizer_seconds=0.5,
                         scoring_seconds=1e-9)  # fmt: skip
    work = cost.Work(fixed=10.0, pairs=1000)
    work.encode(TextStats(2, 30, 500), 4)
    work.train.append((TextStats(4, 40, 400), 5, 2))
    forward = 4 * (1e-6 * 30 + 1e-8 * 500)
    steps = 5 * (3.0 * 2 * (1e-6 * 40 + 1e-8 * 400) + 0.5 * 2)
    scoring = cost.SCORING_FACTOR * 1e-9 * 1000
    assert work.seconds(machine) == pytest.approx(10.0 + forward + steps + scoring)


def test_a_layers_arithmetic_is_counted_by_hand_and_by_torchs_flop_counter() -> None:
    """``LayerShape.flops``: by hand for a made-up shape, and against
    ``torch.utils.flop_counter`` on a real BERT layer (every matrix product it runs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from hybridlib.models import load_encoder

    shape = cost.LayerShape(hidden=4, intermediate=8)
    # linear 2 (4 * 16 + 2 * 4 * 8) = 256 per token; attention 4 * 4 = 16 per token^2;
    # texts of 2 and 3 tokens (5 tokens, 4 + 9 = 13 squared) through 3 layers
    assert shape.flops(TextStats(2, 5, 13), 3) == 3 * (256 * 5 + 16 * 13)

    encoder = load_encoder("tiny")
    layer = encoder.transformer.encoder.layer[0].eval()
    config = encoder.transformer.config
    # the same products as matmuls: the counter does not see inside CPU SDPA's fused kernel
    layer.attention.self.config._attn_implementation = "eager"
    real = cost.LayerShape(int(config.hidden_size), int(config.intermediate_size))
    n, s = 3, 17  # texts of equal length: attention over all s tokens of each
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        layer(torch.randn(n, s, real.hidden))
    assert counter.get_total_flops() == real.flops(TextStats(n, n * s, n * s * s), 1)


def test_work_flops_count_a_training_step_as_three_forwards() -> None:
    shape = cost.LayerShape(hidden=4, intermediate=8)
    work = cost.Work(fixed=10.0, pairs=1000)  # neither is the model's arithmetic
    work.encode(TextStats(2, 5, 13), 4)
    work.train.append((TextStats(1, 3, 9), 7, 2))
    assert work.flops(shape) == shape.flops(TextStats(2, 5, 13), 4) + 3 * 7 * shape.flops(
        TextStats(1, 3, 9), 2
    )


# ---------------------------------------------------------------------------------------------
# the smoke profile's plan, by hand


@pytest.fixture()
def smoke_root(tmp_path: Path, real_data_dir: Path) -> Path:
    """The project's notebooks and profiles in a fresh root (no earlier build, no selection)."""
    shutil.copytree(REPO / "notebooks", tmp_path / "notebooks")
    shutil.copy(REPO / "profiles.yaml", tmp_path / "profiles.yaml")
    return tmp_path


def test_the_smoke_plan_is_estimated_from_its_work_counted_by_hand(smoke_root: Path) -> None:
    from hybridlib import protocol
    from hybridlib.runner import plan_profile
    from hybridlib.suites import suite_spec

    profile = load_profile(smoke_root / "profiles.yaml", "smoke")
    executions = plan_profile(profile)
    table = cost.estimate_plan(executions, profile, smoke_root, throughput=MACHINE, cached=())
    rows = table.set_index("name")
    assert list(table["name"]) == [e.name for e in executions]
    assert not table.attrs["problems"], table.attrs["problems"]
    assert table.attrs["total_seconds"] == pytest.approx(table["seconds"].sum())
    named = {e.name: e for e in executions}

    def suite_texts(suite: str, languages) -> TextStats:
        parts = suite_spec(suite).load(languages, None)
        return by_hand([q.text for p in parts for q in p.queries]) + by_hand(
            [c.text for p in parts for c in p.candidates]
        )

    # the untrained encoder: every text of its suites (in their languages) through both layers
    untrained = named["runs/evaluate/untrained"].parameters
    tokens = sum(
        suite_texts(s, untrained["suite_languages"].get(s)).tokens for s in untrained["suites"]
    )
    expected = cost.EXECUTION_SECONDS + cost.SUITE_SECONDS * len(untrained["suites"])
    assert rows.loc["runs/evaluate/untrained", "seconds"] == pytest.approx(
        expected + 1e-6 * 2 * tokens
    )

    # a main run: 4 steps (no selection yet: the validation's max_steps) of 8 pairs through the
    # top layer, then its suites and, for its seed, the domain-shift suites through it
    run = named["runs/xquad-to-mlqa/x-x"].parameters
    chosen = protocol.direction("xquad-to-mlqa")
    articles = protocol.training_articles("xquad-to-mlqa", 0.1, 0)
    pairs = suite_spec(chosen.train_suite).training_pairs(list(chosen.languages), articles, None)
    queries, passages = by_hand([p.query for p in pairs]), by_hand([p.passage for p in pairs])
    per_step = 8 * (queries.tokens / queries.n + passages.tokens / passages.n)
    evaluated = [*run["suites"], *run["extra_suites"]]
    eval_tokens = sum(suite_texts(s, run["suite_languages"].get(s)).tokens for s in evaluated)
    expected = (cost.EXECUTION_SECONDS + cost.MODEL_SECONDS + cost.SUITE_SECONDS * len(evaluated)
                + 4 * 3.0 * 1e-6 * per_step + 1e-6 * eval_tokens)  # fmt: skip
    assert rows.loc["runs/xquad-to-mlqa/x-x", "seconds"] == pytest.approx(expected, rel=1e-4)
    assert "upper bound" in rows.loc["runs/xquad-to-mlqa/x-x", "work"]

    # the validation runs: 2 temperatures x 1 lr x 3 systems to step 2, where successive
    # halving keeps one pair's 3 systems to step 4; the curve at steps 0 and 2 of all six and
    # at 4 of the three; and the training texts the untrained encoder did not encode (other
    # languages) through the bottom once
    validate = rows.loc["runs/validate/xquad-to-mlqa", "work"]
    assert "cache fill" in validate
    assert "train 6 x 2 steps x 16 texts" in validate and "train 3 x 2 steps x 16 texts" in validate
    assert "15 validations of" in validate
    # a chapter never built here
    assert rows.loc["results", "seconds"] == cost.CHAPTER_SECONDS

    # once a selection exists, the runs take its steps; a cached execution costs nothing
    selection = smoke_root / run["selection_file"]
    selection.parent.mkdir(parents=True)
    selection.write_text(json.dumps({"steps": 2}))
    again = cost.estimate_plan(executions, profile, smoke_root, throughput=MACHINE,
                               cached={"runs/evaluate/untrained"}).set_index("name")  # fmt: skip
    assert again.loc["runs/xquad-to-mlqa/x-x", "seconds"] == pytest.approx(
        expected - 2 * 3.0 * 1e-6 * per_step, rel=1e-4
    )
    assert "steps: chosen" in again.loc["runs/xquad-to-mlqa/x-x", "work"]
    assert again.loc["runs/evaluate/untrained", "seconds"] == 0.0
    assert bool(again.loc["runs/evaluate/untrained", "cached"])

    # the arithmetic: the untrained run's, by hand; the bound is that of what is still to run
    from hybridlib.models import load_encoder

    config = load_encoder("tiny").transformer.config
    shape = cost.LayerShape(int(config.hidden_size), int(config.intermediate_size))
    texts = [suite_texts(s, untrained["suite_languages"].get(s)) for s in untrained["suites"]]
    by_hand_flops = sum(shape.flops(t, 2) for t in texts)
    assert rows.loc["runs/evaluate/untrained", "flops"] == pytest.approx(by_hand_flops)
    assert table.attrs["total_flops"] == pytest.approx(table["flops"].sum())
    assert np.isnan(table.attrs["bound_seconds"])  # MACHINE has no measured peak
    peaked = dataclasses.replace(MACHINE, peak_flops=1e9)
    later = cost.estimate_plan(executions, profile, smoke_root, throughput=peaked,
                               cached={"runs/evaluate/untrained"})  # fmt: skip
    still = later.loc[~later["cached"], "flops"].sum()
    assert later.attrs["total_flops"] == pytest.approx(still)
    assert later.attrs["total_flops"] == pytest.approx(again["flops"].sum() - by_hand_flops)
    assert again.loc["runs/evaluate/untrained", "flops"] == pytest.approx(by_hand_flops)
    assert later.attrs["bound_seconds"] == pytest.approx(still / 1e9)
    report = cost.estimate_report(later, profile, budget=1e-6)
    assert f"at least {later.attrs['bound_seconds'] / 60:.1f} min" in report
    assert "the bound alone exceeds the budget" in report


def test_xm3600_training_is_counted_on_the_profiles_cut_of_images_and_languages(
    tmp_path, monkeypatch
) -> None:
    """The estimate counted all 2,520 training images (3.49M tokens of cache fill on cpu)
    while the profile trains on 600: the cut is what the experiment applies."""
    from hybridlib import protocol
    from hybridlib.suites import suite_spec

    monkeypatch.setenv("HYBRIDLIB_CACHE_DIR", str(tmp_path))  # counted afresh
    context = cost.ModelContext("tiny", "float32", 1)
    counts = cost.training_token_counts(
        "xm3600", 0.1, 0, False, context, train_limit=20, validation_limit=10,
        validation_languages=["de", "sw"],
    )  # fmt: skip
    chosen = protocol.direction("xm3600")
    images = protocol.xm3600_units("train", limit=20)
    spec = suite_spec("xm3600")
    pairs = spec.training_pairs(list(chosen.languages), images, None)
    assert counts["queries"] == by_hand([p.query for p in pairs])
    texts = {("q", p.query) for p in pairs} | {("p", p.passage) for p in pairs}
    assert counts["fill"] == by_hand([text for _, text in sorted(texts)])
    # the curve's texts are the Validator's: the validation images' captions (the suite of
    # test images holds none of them: counted there, every curve point was free)
    from hybridlib.training.validation import Validator

    held_out = protocol.xm3600_units("validation", limit=10)
    scored = Validator.from_articles("xm3600", held_out, ["de", "sw"], 32).suite
    assert counts["val_queries"].n > 0
    assert counts["val_queries"] == by_hand([q.text for q in scored.queries])
    assert counts["val_candidates"] == by_hand([c.text for c in scored.candidates])
    whole = cost.training_token_counts("xm3600", 0.1, 0, False, context, train_limit=40)
    assert whole["queries"].n > counts["queries"].n  # another cut, counted again


# ---------------------------------------------------------------------------------------------
# the profile's budget


def test_the_repositorys_profiles_state_their_budgets() -> None:
    profiles = load_profiles(REPO / "profiles.yaml")
    assert profiles["cpu"].budget_minutes == {"bfloat16": 90.0, "float32": 150.0}
    assert profiles["smoke"].budget_minutes == 30.0
    assert profiles["full"].budget_minutes is None


BUDGET_PROFILE = """\
profiles:
  tiny:
    budget_minutes: {value}
    common: {{precision: float32}}
    notebooks:
      - notebook: notebooks/points.ipynb
"""


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ("-1", "budget_minutes", "must be a positive number of minutes, but got -1"),
        ("0", "budget_minutes", "but got 0"),
        ("true", "budget_minutes", "but got True"),
        ("soon", "budget_minutes", "but got 'soon'"),
        ("{}", "budget_minutes", "must name at least one precision"),
        ("{float16: 3}", "budget_minutes", "unknown precision 'float16'"),
        ("{bfloat16: 90, float32: .nan}", "budget_minutes.float32", "but got nan"),
        ("{bfloat16: [90]}", "budget_minutes.bfloat16", "but got [90]"),
    ],
)
def test_a_bad_budget_is_refused_naming_file_profile_field_and_value(
    tmp_path, value, field, message
):
    path = write_profiles(tmp_path, BUDGET_PROFILE.format(value=value))
    with pytest.raises(ProfileError) as raised:
        load_profiles(path)
    text = str(raised.value)
    assert str(path) in text and "profile 'tiny'" in text and f"field {field!r}" in text
    assert message in text


def test_the_budget_is_the_one_of_the_resolved_precision(tmp_path) -> None:
    path = write_profiles(tmp_path, BUDGET_PROFILE.format(value="{bfloat16: 90, float32: 150}"))
    assert cost.budget_minutes(load_profile(path, "tiny")) == 150.0  # precision: float32
    path = write_profiles(tmp_path, BUDGET_PROFILE.format(value="{bfloat16: 90}"))
    assert cost.budget_minutes(load_profile(path, "tiny")) is None  # none for float32
    path = write_profiles(tmp_path, BUDGET_PROFILE.format(value="12.5"))
    assert cost.budget_minutes(load_profile(path, "tiny")) == 12.5


def test_book_refuses_a_build_over_its_budget_unless_told_otherwise(small_book: Path, capsys):
    from hybridlib.cli import main

    write_profiles(small_book, BUDGET_PROFILE.format(value="0.1").replace(
        "    common: {precision: float32}\n", ""))  # one chapter never built: 0.3 min  # fmt: skip
    store = small_book / "runs" / "tiny" / "notebooks"
    args = ["book", "--root", str(small_book), "--profile", "tiny", "--no-build"]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert "profile 'tiny' is estimated at 0.3 min, over its budget of 0.1 min" in err
    assert "--over-budget" in err and "budget: 0.1 min" in out
    assert not (store / "points.ipynb").exists()  # nothing ran

    assert main([*args, "--estimate"]) == 0  # the estimate only: every execution, its work
    out = capsys.readouterr().out
    assert "points" in out and "a chapter never built here" in out and "total" in out
    assert not (store / "points.ipynb").exists()

    assert main([*args, "--over-budget"]) == 0
    out = capsys.readouterr().out
    assert "building it anyway (--over-budget)" in out and "(1 run, 0 cached)" in out
    assert (store / "points.ipynb").is_file()

    # now cached: it costs nothing, within any budget
    assert main(args) == 0
    assert "(0 run, 1 cached)" in capsys.readouterr().out


def test_a_chapter_is_estimated_at_its_last_recorded_time(small_book: Path) -> None:
    profile = load_profile(small_book / "profiles.yaml", "tiny")
    executions = tiny_executions(small_book)
    store = small_book / "store"
    store.mkdir()
    (store / "manifest.json").write_text(json.dumps([{"name": "points", "seconds": 12.5}]))
    table = cost.estimate_plan(executions, profile, small_book, store=store, cached=())
    assert table.loc[0, "seconds"] == 12.5 and table.loc[0, "last_seconds"] == 12.5
    assert "as its last build" in table.loc[0, "work"]
    assert table.attrs["throughput"] is None  # nothing needed the model


# ---------------------------------------------------------------------------------------------
# one progress bar, in estimated seconds


class RecordingBar:
    """Stands in for tqdm: records the total and every update."""

    made: list[RecordingBar] = []

    def __init__(self, *args, total=None, **kwargs):
        self.total, self.updates, self.kwargs = total, [], kwargs
        RecordingBar.made.append(self)

    def update(self, n):
        self.updates.append(n)

    def write(self, text):
        pass

    def set_postfix_str(self, text):
        pass

    def close(self):
        pass


def test_the_progress_bar_advances_by_each_executions_estimate(small_book: Path, monkeypatch):
    from hybridlib.runner import execute

    monkeypatch.setattr(execute, "tqdm", RecordingBar)
    RecordingBar.made = []
    executions = tiny_executions(small_book)
    store = small_book / "store"
    execute.run_executions(executions, small_book, store, weights={"points": 42.0})
    bar = RecordingBar.made[-1]
    assert bar.total == 42.0 and bar.updates == [42.0] and bar.kwargs["smoothing"] == 0
    assert cost.progress_weights(
        cost.estimate_plan(executions, load_profile(small_book / "profiles.yaml", "tiny"),
                           small_book, store=store)
    ) == {"points": 0.0}  # cached now: it weighs nothing  # fmt: skip
    execute.run_executions(executions, small_book, store, weights={"points": 0.0})
    assert RecordingBar.made[-1].total == 0.0 and RecordingBar.made[-1].updates == [0.0]
    execute.run_executions(executions, small_book, store)  # no weights: notebooks counted
    assert RecordingBar.made[-1].total == 1 and RecordingBar.made[-1].updates == [1]


def test_utilisation_is_the_works_arithmetic_over_wall_time_and_peak(smoke_root: Path) -> None:
    """The efficiency chapter's table: FLOPs of each executed group's work over the wall
    seconds the manifest recorded times the peak; an execution not in the manifest is out."""
    from hybridlib.runner import plan_profile

    profile = load_profile(smoke_root / "profiles.yaml", "smoke")
    executions = plan_profile(profile)
    estimate = cost.estimate_plan(executions, profile, smoke_root, throughput=MACHINE,
                                  cached=()).set_index("name")  # fmt: skip
    flops = estimate["flops"]
    runs_dir = smoke_root / "runs" / "smoke"
    (runs_dir / "notebooks").mkdir(parents=True)
    walls = {"runs/evaluate/untrained": 30.0, "runs/xquad-to-mlqa/x-x": 20.0,
             "runs/xquad-to-mlqa/x-y": 10.0, "results": 5.0}  # fmt: skip
    (runs_dir / "notebooks" / "manifest.json").write_text(
        json.dumps([{"name": n, "seconds": s} for n, s in walls.items()])
    )
    table = cost.utilisation_table(
        runs_dir, "smoke", smoke_root, peak_flops=1e9, throughput=MACHINE
    )
    runs = flops["runs/xquad-to-mlqa/x-x"] + flops["runs/xquad-to-mlqa/x-y"]
    assert table.loc["training and evaluation runs", "executions"] == 2
    assert table.loc["training and evaluation runs", "utilisation"] == pytest.approx(
        runs / (30.0 * 1e9)
    )
    assert table.loc["baselines", "tflop"] == pytest.approx(flops["runs/evaluate/untrained"] / 1e12)
    assert table.loc["chapters", "utilisation"] == 0.0  # a chapter does no encoder arithmetic
    whole = flops["runs/evaluate/untrained"] + runs
    assert table.loc["whole build", "minutes"] == pytest.approx(65.0 / 60)
    assert table.loc["whole build", "utilisation"] == pytest.approx(whole / (65.0 * 1e9))
    assert "runs/validate/xquad-to-mlqa" not in walls and table.attrs["peak_flops"] == 1e9
    # the estimate beside the measurement: the plan's seconds for the same executions (a
    # chapter at the time its last build recorded), and their ratio
    estimated = estimate.loc[["runs/xquad-to-mlqa/x-x", "runs/xquad-to-mlqa/x-y"], "seconds"].sum()
    runs_row = table.loc["training and evaluation runs"]
    assert runs_row["estimated"] == pytest.approx(estimated / 60)
    assert runs_row["measured / estimated"] == pytest.approx(30.0 / estimated)
    assert table.loc["chapters", "estimated"] == pytest.approx(5.0 / 60)
    assert table.loc["whole build", "estimated"] == pytest.approx(
        (estimate.loc[list(walls)[:3], "seconds"].sum() + 5.0) / 60
    )
