"""The pool window arithmetic of PRODUCT.md "Modes" (non-static)."""

from __future__ import annotations

import pytest

from eni.api.v1.constants import WarmTargets
from eni.controllers.nodepool.sizing import PoolChange, PoolFigures, pool_change, window

WARM = WarmTargets(min=5, max=8)


def change(pods, bound, idle, cap=100, *, quick=False, due=False, warm=WARM):
    return pool_change(PoolFigures(pods=pods, bound=bound, idle=idle, cap=cap), warm=warm, quick_release=quick,
                       tick_due=due)


def test_window_is_capped():
    assert window(pods=10, warm=WARM, cap=100) == (15, 18)
    assert window(pods=10, warm=WARM, cap=12) == (12, 12)


@pytest.mark.parametrize(("pods", "bound", "assign"), [(0, 0, 5), (3, 5, 3), (10, 14, 1), (10, 15, 0), (10, 18, 0)])
def test_grows_at_once_to_the_low_edge(pods, bound, assign):
    assert change(pods, bound, bound - pods).assign == assign


def test_growth_never_passes_the_cap():
    assert change(30, 20, 0, cap=27) == PoolChange(assign=7)
    assert change(30, 27, 0, cap=27) == PoolChange()


def test_surplus_waits_for_the_tick_then_goes_one_at_a_time():
    assert change(0, 12, 12) == PoolChange(surplus_waiting=True)
    assert change(0, 12, 12, due=True) == PoolChange(release=1, surplus_waiting=True)
    assert change(0, 9, 9, due=True) == PoolChange(release=1, surplus_waiting=False)


def test_quick_release_gives_back_all_surplus_per_tick():
    assert change(0, 12, 12, due=True, quick=True) == PoolChange(release=4)


def test_above_the_cap_idle_ips_go_immediately():
    assert change(2, 14, 12, cap=6) == PoolChange(release=8)
    assert change(6, 14, 8, cap=6, due=False) == PoolChange(release=8)


def test_only_idle_ips_can_be_released():
    assert change(20, 30, 2, cap=25) == PoolChange(release=2, surplus_waiting=True)
    assert change(10, 20, 0, due=True, quick=True) == PoolChange()


def test_negative_figures_are_refused():
    with pytest.raises(ValueError):
        change(-1, 0, 0)
