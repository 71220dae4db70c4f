"""``hybridlib evaluate``: evaluate a model (or the BM25 baseline) on suites, write results.

Example::

    hybridlib evaluate --model embedded --suite xquad-r --suite mlqa-r --output runs/zero-shot
    hybridlib evaluate --model bm25 --suite xquad-r --output runs/bm25
    hybridlib evaluate --model runs/hybrid/final --suite xquad-r \\
        --exclude-articles runs/hybrid/train_articles.txt --output runs/hybrid/eval
"""

from __future__ import annotations

import argparse
import sys

from hybridlib.evaluation.bm25 import DEFAULT_B, DEFAULT_K1
from hybridlib.evaluation.embeddings import CANDIDATE_INPUTS
from hybridlib.io import thread_count


def register(subparsers: argparse._SubParsersAction) -> None:
    from hybridlib.suites import SUITES

    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a model on retrieval suites and write results with provenance",
        description=(
            "Evaluate an encoder (name or folder for hybridlib.models.load_encoder, or 'bm25' for "
            "the BM25 baseline) on one or more suites. Writes results.csv, per_query.csv.gz, "
            "matrix-<suite>-map.csv and provenance.json into --output. Candidate embeddings "
            "are cached under $HYBRIDLIB_CACHE_DIR/embeddings."
        ),
    )
    parser.add_argument("--model", required=True, help="'tiny', 'embedded', a folder, or 'bm25'")
    parser.add_argument(
        "--suite", action="append", required=True, choices=sorted(SUITES), dest="suites",
        help="suite to evaluate (repeat for several)",
    )  # fmt: skip
    parser.add_argument("--output", required=True, help="folder for the results")
    parser.add_argument(
        "--language", action="append", dest="languages", default=None,
        help="restrict to these languages (repeat; default: all of the suite)",
    )  # fmt: skip
    parser.add_argument(
        "--include-articles", metavar="FILE", default=None,
        help="evaluate only these articles (text file, one id per line)",
    )  # fmt: skip
    parser.add_argument(
        "--exclude-articles", metavar="FILE", default=None,
        help="leave these articles out (text file, one id per line)",
    )  # fmt: skip
    parser.add_argument(
        "--train-articles", metavar="FILE", default=None,
        help="articles the model trained on: evaluation refuses any overlap with them",
    )  # fmt: skip
    parser.add_argument(
        "--training-languages", default=None,
        help="comma-separated training languages (tags Tatoeba languages seen/unseen)",
    )  # fmt: skip
    parser.add_argument(
        "--candidate-input", choices=CANDIDATE_INPUTS, default="sentence",
        help="encode candidates alone (default) or with their paragraph",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--xm3600", metavar="FILE", default=None, help="XM3600 captions file")
    parser.add_argument(
        "--bm25-k1", type=float, default=DEFAULT_K1, help="BM25 k1 (default %(default)s)"
    )
    parser.add_argument(
        "--bm25-b", type=float, default=DEFAULT_B, help="BM25 b (default %(default)s)"
    )
    parser.add_argument(
        "--threads", type=thread_count, default=None, help="torch CPU threads (1 to 1024)"
    )
    parser.add_argument(
        "--max-length", type=int, default=None,
        help="tokens read per text (default: the encoder's full length, never its training length)",
    )  # fmt: skip
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument(
        "--top-layers", type=int, default=None,
        help="run a frozen bottom plus this many top layers, the bottom's states cached on disk",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hybridlib.data import DataError
    from hybridlib.evaluation.leakage import read_articles
    from hybridlib.evaluation.suites import EvaluationOptions, EvaluationSettings, evaluate
    from hybridlib.io import refuse_book_folder

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    training_languages = (
        [x.strip() for x in args.training_languages.split(",") if x.strip()]
        if args.training_languages
        else None
    )
    try:
        articles = {
            name: read_articles(path) if path else None
            for name, path in (
                ("include", args.include_articles),
                ("exclude", args.exclude_articles),
                ("train", args.train_articles),
            )
        }
        refuse_book_folder(args.output, "--output")
        result = evaluate(
            args.model,
            args.suites,
            args.output,
            options=EvaluationOptions(
                languages=args.languages,
                include_articles=articles["include"],
                exclude_articles=articles["exclude"],
                train_articles=articles["train"],
                training_languages=training_languages,
                batch_size=args.batch_size,
                xm3600_path=args.xm3600,
                bm25_k1=args.bm25_k1,
                bm25_b=args.bm25_b,
            ),
            settings=EvaluationSettings(
                max_length=args.max_length,
                precision=args.precision,
                top_layers=args.top_layers,
                candidate_input=args.candidate_input,
            ),  # fmt: skip
            log=lambda line: print(line, file=sys.stderr),
        )
    except (DataError, OSError, ValueError) as error:  # LeakageError is a ValueError
        print(f"hybridlib evaluate: {error}", file=sys.stderr)
        return 2
    summary = result.results[result.results["query_language"] == "all"]
    print(summary.to_string(index=False) if not summary.empty else result.results.to_string())
    return 0
