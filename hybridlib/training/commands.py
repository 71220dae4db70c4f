"""``hybridlib train --config FILE.yaml [--resume] [--output DIR]``."""

from __future__ import annotations

import argparse
import dataclasses
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an encoder from a YAML config",
        description=(
            "Train an encoder with in-batch-negative InfoNCE and a language-aware batch "
            "sampler. Runs under torchrun for several processes."
        ),
    )
    parser.add_argument("--config", required=True, help="YAML file of TrainConfig fields")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the latest checkpoint in the output folder",
    )
    parser.add_argument("--output", default=None, help="output folder (overrides output_dir)")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (the JSON-lines log is kept)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hybridlib.data import DataError
    from hybridlib.io import refuse_book_folder
    from hybridlib.training.config import ConfigError, TrainConfig
    from hybridlib.training.trainer import train

    try:
        config = TrainConfig.from_yaml(args.config)
        if args.output is not None:
            config = dataclasses.replace(config, output_dir=args.output)
        refuse_book_folder(config.output_dir, "output_dir")
        result = train(
            config, resume=args.resume, show_progress=False if args.no_progress else None
        )
    except (ConfigError, DataError, ValueError) as error:  # the sampler's errors are ValueErrors
        print(f"hybridlib train: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a missing model folder, a full disk: the path and the cause
        print(f"hybridlib train: {error.strerror or error}"
              + (f": {error.filename}" if error.filename else ""), file=sys.stderr)  # fmt: skip
        return 2
    print(f"trained {result.steps} steps (final loss {result.final_loss:.4f})")
    print(f"model: {result.model_dir}")
    return 0
