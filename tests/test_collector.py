"""The bulk-work helpers of testrota.collector."""

from __future__ import annotations

import gc
import platform

import pytest

from testrota.collector import collector_paused, give_back_freed_memory


def test_the_collector_rests_inside_and_is_restored_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_memory_is_given_back_on_glibc() -> None:
    assert give_back_freed_memory() is True
