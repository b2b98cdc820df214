"""The exclusive-ENI warm pool arithmetic (non-static): free ENIs kept within the window, under the cap."""

from __future__ import annotations

import doctest

import pytest

from eni.api.v1.constants import WarmTargets
from eni.controllers.directeni import sizing
from eni.controllers.directeni.sizing import DirectChange, DirectFigures, direct_change


def change(in_use: int, free: int, releasing: int = 0, cap: int = 6, warm: tuple[int, int] = (1, 1)) -> DirectChange:
    return direct_change(DirectFigures(in_use=in_use, free=free, releasing=releasing, cap=cap),
                         warm=WarmTargets(*warm))


def test_doctests() -> None:
    assert doctest.testmod(sizing).failed == 0


@pytest.mark.parametrize(("in_use", "free", "warm", "create"), [
    (0, 0, (1, 1), 1), (3, 0, (1, 1), 1), (0, 0, (2, 4), 2), (2, 1, (3, 3), 2), (0, 1, (1, 3), 0),
])
def test_grows_the_free_enis_to_the_minimum(in_use: int, free: int, warm: tuple[int, int], create: int) -> None:
    assert change(in_use, free, warm=warm) == DirectChange(create=create)


@pytest.mark.parametrize(("in_use", "free", "warm", "release"), [
    (0, 2, (1, 1), 1), (4, 2, (0, 0), 2), (0, 5, (1, 3), 2), (0, 3, (1, 3), 0),
])
def test_gives_back_free_enis_above_the_maximum(in_use: int, free: int, warm: tuple[int, int], release: int) -> None:
    assert change(in_use, free, warm=warm) == DirectChange(release=release)


def test_growth_stops_at_the_cap_and_says_how_many_are_short() -> None:
    assert change(5, 0, cap=6, warm=(3, 3)) == DirectChange(create=1, short=2)
    assert change(6, 0, cap=6) == DirectChange(short=1)


def test_releasing_enis_still_count_against_the_cap() -> None:
    assert change(4, 0, releasing=2, cap=6) == DirectChange(short=1)
    assert change(4, 0, releasing=1, cap=6) == DirectChange(create=1)


def test_a_lowered_cap_gives_back_free_enis_first_whatever_the_window() -> None:
    assert change(2, 2, cap=3, warm=(2, 2)) == DirectChange(release=1, short=1)
    assert change(4, 1, cap=2) == DirectChange(release=1, short=1)  # in-use ENIs are never taken away


def test_a_zero_window_keeps_no_spare() -> None:
    assert change(0, 0, warm=(0, 0)) == DirectChange()
    assert change(3, 0, cap=0, warm=(0, 0)) == DirectChange()


def test_bad_figures_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        DirectFigures(in_use=-1, free=0, releasing=0, cap=1)
    with pytest.raises(ValueError, match="min <= max"):
        change(0, 0, warm=(2, 1))
