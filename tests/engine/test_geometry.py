from fractions import Fraction

import numpy as np
import pytest

from engine.geometry import PHASE_QUANT, ZoomGrid, axis_map, coordinates, output_size, parse_scale, visible_region


def exact_source_and_phase(n_in, n_out, i):
    y = (Fraction(2 * i + 1, 2) * Fraction(n_in, n_out)) - Fraction(1, 2)
    s = int((y + Fraction(1, 2)) // 1)
    return s, y - s


@pytest.mark.parametrize("n,r,expected", [(200, 2.37, 474), (101, 2.5, 253), (100, 1.1, 110), (7, 3.3, 23), (512, 4.0, 2048), (3, 1.5, 5)])
def test_output_size_is_exact_round_half_up(n, r, expected):
    assert output_size(n, r) == expected


def test_float_products_would_be_wrong_here():
    # why output_size works on the decimal the user typed, rounding halves up:
    assert int(1.15 * 100) == 114 and output_size(100, 1.15) == 115  # float truncation
    assert round(2.5 * 101) == 252 and output_size(101, 2.5) == 253  # banker's rounding


@pytest.mark.parametrize("r,phases", [(2.0, [-0.25, 0.25]), (4.0, [-0.375, -0.125, 0.125, 0.375]), (2.5, [-0.5, -0.3, -0.1, 0.1, 0.3])])
def test_exact_phases_for_rational_scales(r, phases):
    n = 40  # a multiple of the denominator: the factor is exactly r
    m = axis_map(n, output_size(n, r))
    np.testing.assert_allclose(m.phases, phases, atol=1e-15)
    assert not m.quantised


def test_r33_has_33_phases_and_exact_sources():
    n = 100
    N = output_size(n, 3.3)
    m = axis_map(n, N)
    assert N == 330 and m.period == 33 and len(m.phases) == 33
    for i in range(N):
        s, p = exact_source_and_phase(n, N, i)
        assert m.src[i] == s
        assert m.phase[i] == float(p)
    # float32 arange/r drifts: it finds more distinct phases than there are
    y32 = (np.arange(N, dtype=np.float32) + np.float32(0.5)) / np.float32(3.3) - np.float32(0.5)
    assert len(np.unique(y32 - np.floor(y32 + 0.5))) > 33


def test_r37_sources_exact_over_a_long_axis():
    n = 1000
    N = output_size(n, 3.7)
    m = axis_map(n, N)
    for i in range(0, N, 7):
        s, p = exact_source_and_phase(n, N, i)
        assert m.src[i] == s and abs(m.phase[i] - float(p)) < 1e-15
    assert m.phase.min() >= -0.5 and m.phase.max() < 0.5


def test_quantised_phases_stay_within_half_a_step():
    n = 512
    N = output_size(n, 2.3718)
    m = axis_map(n, N)
    assert m.quantised and len(m.phases) == PHASE_QUANT + 1
    err = np.abs(m.phases[m.phase_index] - m.phase)
    assert err.max() <= 0.5 / PHASE_QUANT + 1e-12


def test_region_is_a_crop_of_the_whole():
    g = ZoomGrid.make((37, 53), (2.37, 3.1))
    wy, wx = g.axis_maps()
    ry, rx = g.axis_maps((10, 20, 30, 40))
    np.testing.assert_array_equal(ry.src, wy.src[10:40])
    np.testing.assert_array_equal(rx.src, wx.src[20:60])
    np.testing.assert_array_equal(ry.phase, wy.phase[10:40])
    np.testing.assert_array_equal(rx.phases[rx.phase_index], wx.phases[wx.phase_index][20:60])


def test_coordinates_match_the_pixel_centre_formula():
    y = coordinates(10, 25)
    np.testing.assert_allclose(y, (np.arange(25) + 0.5) * 10 / 25 - 0.5)


@pytest.mark.parametrize("bad", [1.0, 0.5, 4.01, 0, -2, float("nan"), float("inf"), (2.0, 4.5), (1, 2, 3)])
def test_sr_scale_outside_range_is_a_value_error(bad):
    with pytest.raises(ValueError):
        parse_scale(bad)


def test_scale_pairs_and_non_sr_scales():
    assert parse_scale((2, 3.5)) == (2.0, 3.5)
    assert parse_scale(0.5, sr=False) == (0.5, 0.5)
    assert ZoomGrid.make((10, 20), (2, 3)).out_shape == (20, 60)


def test_region_outside_grid_is_refused_and_viewport_clipped():
    g = ZoomGrid.make((10, 10), 2)
    with pytest.raises(ValueError):
        g.region((15, 0, 10, 5))
    assert visible_region(g, -3.5, 4.2, 10, 30) == (0, 4, 7, 16)
    assert visible_region(g, 30, 30, 5, 5) is None


def test_zoom_keys_and_labels_round_trip():
    from engine.geometry import parse_scale_key, scale_key, scale_label

    for z in (2.0, 2.37, (4.0, 2.2), (2.2, 4.0)):
        assert parse_scale_key(scale_key(z)) == z
    assert scale_key((3.0, 3.0)) == "3" and parse_scale_key("3x3") == 3.0
    assert scale_label("4x2.2") == "x4 rows, x2.2 cols" and scale_label(2.5) == "x2.5"
    for bad in ("4x2x3", "x2", "two", "-2"):
        with pytest.raises(ValueError, match="ROWSxCOLS"):
            parse_scale_key(bad)
