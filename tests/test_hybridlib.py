"""The package as a whole: every test module mirrors the module it tests."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# test modules that test no single module of the library, and why
NOT_MIRRORS = {
    "tests/benchmarks/test_benchmarks.py": "the benchmarks/ folder, not the library",
    "tests/metrics/test_real_data.py": "measures on a real-sized pool, marked slow",
    "tests/test_hybridlib.py": "the package's layout",
}


def test_every_test_module_mirrors_a_module_of_the_library() -> None:
    """``tests/a/test_b.py`` tests ``hybridlib/a/b.py`` (or the private ``_b.py``)."""
    strays = []
    for test in sorted((REPO / "tests").rglob("test_*.py")):
        relative = test.relative_to(REPO).as_posix()
        if relative in NOT_MIRRORS:
            continue
        folder = test.parent.relative_to(REPO / "tests")
        name = test.stem.removeprefix("test_")
        package = REPO / "hybridlib" / folder
        if not ((package / f"{name}.py").is_file() or (package / f"_{name}.py").is_file()):
            strays.append(relative)
    assert strays == [], f"test modules without a module of that name in hybridlib/: {strays}"
    assert all((REPO / path).is_file() for path in NOT_MIRRORS), "a listed exception is gone"
