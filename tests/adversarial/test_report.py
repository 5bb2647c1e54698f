"""The eps that halves clean UAR, as `kser attack` and the experiment report it."""

from __future__ import annotations

import math

import pytest

from kser.adversarial.report import halving_eps


def _points(*pairs):
    return [{"eps": eps, "uar": uar} for eps, uar in pairs]


def test_halving_eps_is_interpolated_in_log_eps_between_the_tested_points():
    found = halving_eps(0.6, _points((0.01, 0.5), (0.1, 0.1), (1.0, 0.0)))
    assert found["first_tested"] == 0.1 and found["bracketed"]
    # UAR 0.5 -> 0.1 over one decade; 0.3 is half way: 10 ** -1.5.
    assert found["interpolated"] == pytest.approx(10**-1.5)
    assert math.log10(0.01) < math.log10(found["interpolated"]) < math.log10(0.1)


def test_halving_below_the_smallest_eps_or_never_is_said_so():
    below = halving_eps(0.6, _points((0.01, 0.1), (0.1, 0.0)))
    assert below == {"target_uar": 0.3, "first_tested": 0.01, "interpolated": None,
                     "bracketed": False}  # fmt: skip
    never = halving_eps(0.6, _points((0.01, 0.59), (0.1, 0.45)))
    assert never["first_tested"] is None and never["interpolated"] is None
