"""``hybridlib data``: statistics of the benchmarks, and fetching/verifying the data folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hybridlib.protocol import LAREQA_SUITES
from hybridlib.suites import SUITES, suite_spec


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data", help="dataset statistics; fetch and verify the data folder"
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="data folder (default: $HYBRIDLIB_DATA_DIR)"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    stats = actions.add_parser("stats", help="per-language statistics as a table")
    stats.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"any of {', '.join(SUITES)} (default: {' '.join(LAREQA_SUITES)})",
    )
    stats.add_argument(
        "--output", type=Path, help="write CSV here (atomically) instead of printing"
    )
    fetch = actions.add_parser("fetch", help="download missing files from their pinned sources")
    fetch.add_argument("folders", nargs="*", help="e.g. xquad-r tatoeba (default: all)")
    fetch.add_argument("--base-url", default=None, help="raw file server (default: GitHub)")
    verify = actions.add_parser("verify", help="check every file against the pinned SHA-256")
    verify.add_argument("folders", nargs="*", help="e.g. xquad-r tatoeba (default: all)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hybridlib.data import sources
    from hybridlib.data.errors import DataError

    try:
        if args.action == "stats":
            from hybridlib.data.statistics import dataset_statistics

            unknown = sorted(set(args.suites) - set(SUITES))
            if unknown:
                print(
                    f"error: unknown suite(s) {unknown}; choose from {list(SUITES)}",
                    file=sys.stderr,
                )
                return 2
            suites = [
                s
                for name in (args.suites or LAREQA_SUITES)
                for s in suite_spec(name).load(None, args.root)
            ]
            table = dataset_statistics(suites)
            if args.output:
                from hybridlib.io import atomic_write_text

                atomic_write_text(args.output, table.to_csv(index=False))
                print(f"wrote {len(table)} rows to {args.output}")
            else:
                print(table.round(2).to_string(index=False))
            return 0
        folders = [f.rstrip("/") for f in args.folders] or None
        sources.check_folders(folders)
        if args.action == "fetch":
            wanted = [
                rel
                for rel in sources.expected_sha256()
                if folders is None or any(rel.startswith(f + "/") for f in folders)
            ]
            if folders is None:  # sets without a single download are skipped when not asked for
                wanted = [r for r in wanted if sources.source_of(r).repository is not None]
            kwargs = {"base_url": args.base_url} if args.base_url else {}
            sources.require(wanted, args.root, online=True, **kwargs)
            print(f"{len(wanted)} files present")
            return 0
        problems = sources.verify(args.root, folders)
        for relative, problem in problems.items():
            print(f"{relative}: {problem}")
        print("all files match SHA256SUMS" if not problems else f"{len(problems)} problems")
        return 1 if problems else 0
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
