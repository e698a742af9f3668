"""Automatic threads: the cores other processes leave free, from /proc/stat readings."""

from __future__ import annotations

import sys

import pytest

from assistant.engine.threads import CpuSample, ThreadPolicy, free_cores, threads_for


def test_free_cores_leave_out_this_process_own_work():
    before = CpuSample(total=1000, idle=500, own=100)
    # 200 jiffies over 2 cores: 100 idle, 60 used by us, 40 by others.
    after = CpuSample(total=1200, idle=600, own=160)
    assert free_cores(before, after, 2) == pytest.approx(2 * (1 - 40 / 200))


def test_one_busy_core_of_two_leaves_one_thread_and_an_idle_machine_all():
    assert threads_for(1.0, 2) == 1
    assert threads_for(1.9, 2) == 2
    assert threads_for(0.1, 2) == 1, "never fewer than one thread"
    assert threads_for(7.6, 8) == 8


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_the_policy_reads_this_machine():
    policy = ThreadPolicy(cores=4)
    assert 1 <= policy.choose() <= 4
