"""The ``hybridlib`` command: one entry point, one sub-command per area.

Each area module exposes ``register(subparsers)``, which adds its sub-command and sets
``func`` (called with the parsed arguments, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys

# sub-command modules, imported lazily so ``hybridlib --help`` stays fast
COMMAND_MODULES = [
    "hybridlib.data.commands",
    "hybridlib.models.commands",
    "hybridlib.training.commands",
    "hybridlib.evaluation.commands",
    "hybridlib.runner.commands",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybridlib",
        description="Hybrid batch training for multilingual dense retrieval.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into ``SystemExit(143)`` in the main thread, so ``finally`` blocks run and
    no temporary file of an atomic write is left behind (SIGKILL cannot be caught: the next
    run of the same step removes those)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _exit_on_sigterm()
    from hybridlib.allocator import tune_allocator

    tune_allocator()  # freed tensor memory kept for the next (hybridlib.allocator)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
