"""hybridlib.allocator: glibc's allocator keeps freed tensor memory for the next tensor; set
for the process and passed to the processes it starts, a user's own value kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from hybridlib import allocator

# allocates 20 MiB with malloc, touches it, frees it: how much of it the process gave back
GIVEN_BACK = textwrap.dedent(
    """
    import ctypes, json, os, sys
    from hybridlib.allocator import tune_allocator
    in_force = tune_allocator() if sys.argv[1] == "tuned" else {}
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    page = os.sysconf("SC_PAGE_SIZE")
    rss = lambda: int(open("/proc/self/statm").read().split()[1]) * page
    n = 20 << 20
    block = libc.malloc(n)
    ctypes.memset(block, 1, n)
    before = rss()
    libc.free(ctypes.c_void_p(block))
    child = os.popen(sys.executable + " -c 'import os, json; print(json.dumps(dict(os.environ)))'")
    print(json.dumps({"given_back": before - rss(), "in_force": in_force,
                      "child_env": json.loads(child.read())}))
    """
)


def run(side: str, **env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", GIVEN_BACK, side], env={**base, **env},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout)


glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's allocator",
)


@glibc
def test_freed_memory_is_kept_and_the_settings_reach_the_processes_started_after() -> None:
    default, tuned = run("default"), run("tuned")
    assert default["given_back"] >= 19 << 20  # glibc's default: the block is unmapped
    assert tuned["given_back"] <= 1 << 20  # kept for the next tensor
    expected = {name: value for name, (_, value) in allocator.SETTINGS.items()}
    assert tuned["in_force"] == expected
    assert {k: tuned["child_env"].get(k) for k in expected} == {
        k: str(v) for k, v in expected.items()
    }
    assert not any(k.startswith("MALLOC_") for k in default["child_env"])


@glibc
def test_a_value_the_user_set_is_kept() -> None:
    tuned = run("tuned", MALLOC_TOP_PAD_="1048576")
    assert tuned["in_force"]["MALLOC_TOP_PAD_"] == 1048576
    assert tuned["child_env"]["MALLOC_TOP_PAD_"] == "1048576"


def test_without_glibc_nothing_is_set(monkeypatch) -> None:
    def no_library(*args, **kwargs):
        raise OSError("not here")

    monkeypatch.setattr(allocator.ctypes, "CDLL", no_library)
    for name in allocator.SETTINGS:
        monkeypatch.delenv(name, raising=False)
    assert allocator.tune_allocator() == {}
    assert not [name for name in allocator.SETTINGS if name in os.environ]
