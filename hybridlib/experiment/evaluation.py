"""One model (or baseline) evaluated on the suites of the protocol, with its run record
(:mod:`hybridlib.run_records`, ``run.json``, written last)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hybridlib.run_records import RUN_RECORD, check_run_record, write_run_record

if TYPE_CHECKING:
    from hybridlib.evaluation.debias import SuiteDebiasing
    from hybridlib.evaluation.retrievers import Retriever
    from hybridlib.evaluation.suites import EvaluationSettings
    from hybridlib.models import Encoder


def evaluate_run(
    model: str | os.PathLike[str] | Encoder | Retriever,
    suites: Sequence[str],
    output_dir: str,
    *,
    record: dict[str, Any],
    settings: EvaluationSettings,
    suite_languages: dict[str, Sequence[str] | None] | None = None,
    training_languages: Sequence[str] | None = None,
    train_articles: Sequence[str] | None = None,
    include_articles: dict[str, Sequence[str]] | None = None,
    batch_size: int = 64,
    postprocess: SuiteDebiasing | None = None,
    log: Callable[[str], None] | None = print,
) -> dict[str, Any]:
    """Evaluate ``model`` (a folder, a name, an ``Encoder``, ``"bm25"`` or a
    :class:`~hybridlib.evaluation.retrievers.Retriever`) on ``suites``, one subfolder each, and
    write ``run.json`` last: ``record`` (who the system is) plus the evaluation settings. A
    suite with no setting the retriever supports is skipped (BM25: those without Mono); one
    whose results are complete for this very model (its weights' SHA-256) and these settings
    and options is not evaluated again (:mod:`hybridlib.evaluation.reuse`); results of another
    model or setting in ``output_dir`` are recomputed, and ``log`` says so.
    ``postprocess``: a fitted :class:`~hybridlib.evaluation.debias.SuiteDebiasing`."""
    from hybridlib.evaluation import EvaluationOptions, evaluate
    from hybridlib.evaluation.retrievers import load_retriever
    from hybridlib.evaluation.reuse import evaluation_identity, identity_differences
    from hybridlib.evaluation.suites import suite_settings
    from hybridlib.io import remove_stale_temporaries

    # a record reporting could not read is refused before the evaluation, not after it
    check_run_record({**record, "suites": list(suites)}, Path(output_dir) / RUN_RECORD)
    retriever = load_retriever(model)
    evaluation_record = retriever.configure(settings)
    fingerprint = retriever.fingerprint()  # the weights hashed once for every suite
    languages = suite_languages or {}
    done = {}
    for suite in suites:
        remove_stale_temporaries(Path(output_dir) / suite)  # left by a killed evaluation
        if not suite_settings(suite, retriever):
            continue
        folder = Path(output_dir) / suite
        provenance_file = folder / "provenance.json"
        options = EvaluationOptions(
            languages=languages.get(suite), include_articles=(include_articles or {}).get(suite),
            train_articles=train_articles, training_languages=training_languages,
            batch_size=batch_size,
        )  # fmt: skip
        identity = evaluation_identity(
            retriever,
            dataclasses.replace(
                options, train_articles=retriever.training_articles(options.train_articles)
            ),
            candidate_input=settings.candidate_input, evaluation_record=evaluation_record,
            postprocess=postprocess, fingerprint=fingerprint,
        )  # fmt: skip
        differences = identity_differences(provenance_file, identity)
        if differences == []:
            done[suite] = json.loads(provenance_file.read_text(encoding="utf-8"))["parameters"]
            continue
        if differences is not None and log is not None:
            shown = ", ".join(differences[:4]) + (" ..." if len(differences) > 4 else "")
            log(f"{folder}: the results there are of another model or setting ({shown}); "
                "evaluating again")  # fmt: skip
        evaluate(
            retriever, [suite], folder, options=options, settings=settings, postprocess=postprocess,
            log=None,
        )  # fmt: skip
        done[suite] = json.loads(provenance_file.read_text(encoding="utf-8"))["parameters"]
    evaluation = {s: p.get("evaluation_settings") for s, p in done.items()}
    cache = retriever.hidden_cache
    full = {**record, "suites": list(done), "evaluation": evaluation,
            "model_sha256": fingerprint.get("weights_sha256"),
            "evaluation_seconds": {s: json.loads((Path(output_dir) / s / "provenance.json").read_text(
                encoding="utf-8"))["timings_s"].get(s) for s in done},
            "hidden_state_fill_seconds": cache.fill_seconds if cache is not None else 0.0}  # fmt: skip
    write_run_record(output_dir, full)
    return full
