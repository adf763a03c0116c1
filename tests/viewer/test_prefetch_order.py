"""Which slices the viewer encodes in the background, and in what order (no Qt)."""

from __future__ import annotations

import numpy as np

from engine.features import FEATURE_DTYPE, whole_slice_nbytes
from viewer.model.prefetch import ScrollHeading, neighbours, prefetch_order, prefetch_radius


def test_a_slices_features_take_what_the_engine_allocates(random_upscaler):
    img = np.random.default_rng(0).random((40, 52), dtype=np.float32)
    f = random_upscaler.encode(img)
    assert f.feats.dtype == FEATURE_DTYPE
    assert whole_slice_nbytes(img.shape, random_upscaler.channels) == f.nbytes == 42 * 54 * 64 * 4 + 40 * 52 * 4


def test_the_radius_follows_the_cache_and_the_networks_channels():
    per = whole_slice_nbytes((512, 512), 64)
    assert per == 514 * 514 * 256 + 512 * 512 * 4  # ~68 MB, as the cache dialog says
    assert prefetch_radius((512, 512), 64, 600 * 2**20) == 2  # the default cache: 9 slices
    assert prefetch_radius((512, 512), 64, 3 * per) == 1  # itself and one each side
    assert prefetch_radius((512, 512), 64, 3 * per - 1) == 0
    # a network with half the channels: twice the slices fit the same cache
    assert prefetch_radius((512, 512), 32, 3 * whole_slice_nbytes((512, 512), 32)) == 1
    assert prefetch_radius((512, 512), 32, 3 * per) == 2


def test_neighbours_lean_the_way_the_user_scrolls():
    heading = ScrollHeading()
    assert neighbours(6, 12, heading.value, 2) == [7, 5, 8, 9]  # nothing scrolled yet: up
    heading.stepped(6, 5)
    assert neighbours(5, 12, heading.value, 2) == [4, 6, 3, 2]
    heading.stepped(5, 5)  # no step: the heading stays
    assert heading.value == -1
    heading.stepped(5, 11)
    assert neighbours(11, 12, heading.value, 2) == [10, 9, 8, 7]  # the end: the rest from behind
    assert neighbours(0, 12, heading.value, 2) == [1, 2, 3, 4]
    assert neighbours(6, 12, 1, 0) == []
    assert neighbours(0, 2, 1, 2) == [1]


def test_the_order_is_the_views_part_of_the_next_slices_then_this_slice_then_the_rest():
    view = (10, 20, 30, 40)
    near = [7, 5, 8, 9]
    assert prefetch_order(6, 10, near, view) == [
        (7, view), (5, view), (6, None), (8, view), (9, view),  # what a scroll needs first
        (7, None), (5, None), (8, None), (9, None),  # the neighbours whole
        (4, None), (3, None), (2, None), (1, None), (0, None)]  # the rest of the plane, nearest first
    # a view that reads the whole slice: each neighbour once
    assert prefetch_order(1, 4, [2, 0], None) == [(2, None), (0, None), (1, None), (3, None)]
