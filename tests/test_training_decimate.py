import numpy as np
import pytest

from ipyviz.training.decimate import MinMaxStream, decimate, decimate_indices


@pytest.mark.parametrize("n", [5, 999, 1000, 1001, 1502, 12_345, 100_000])
@pytest.mark.parametrize("max_points", [4, 5, 10, 1000, 1500])
def test_bounded_and_keeps_endpoints_and_extrema(n, max_points):
    rng = np.random.default_rng(n + max_points)
    x = np.cumsum(rng.random(n))
    y = rng.standard_normal(n)
    dx, dy = decimate(x, y, max_points)
    assert len(dx) == len(dy)
    assert len(dx) == n if n <= max_points else len(dx) <= max_points
    assert (dx[0], dy[0]) == (x[0], y[0])
    assert (dx[-1], dy[-1]) == (x[-1], y[-1])
    assert dy.min() == y.min() and dy.max() == y.max()
    assert np.all(np.diff(dx) > 0)  # still in x order, no duplicates
    # every kept point is a real point of the input
    keep = decimate_indices(y, max_points)
    np.testing.assert_array_equal(dx, x[keep])
    np.testing.assert_array_equal(dy, y[keep])


def test_short_input_unchanged():
    x, y = np.arange(7.0), np.array([3, 1, 4, 1, 5, 9, 2.0])
    dx, dy = decimate(x, y, 7)
    np.testing.assert_array_equal(dx, x)
    np.testing.assert_array_equal(dy, y)


def test_every_local_spike_survives():
    # 50 narrow spikes up and 50 down in 100 k flat points: with 1500 points (749 buckets of ~134) each
    # spike falls in its own bucket and must be kept.
    n = 100_000
    y = np.zeros(n)
    ups = np.arange(500, n - 500, 2000)[:50]
    downs = ups + 1000
    y[ups], y[downs] = 1.0, -1.0
    dx, dy = decimate(np.arange(n, dtype=float), y, 1500)
    assert set(ups) <= set(dx.astype(int)) and set(downs) <= set(dx.astype(int))


def test_nan_and_inf():
    y = np.full(10_000, np.nan)
    y[0], y[-1] = 1.0, 2.0
    y[5000:5100] = np.linspace(0, 1, 100)
    y[7000] = np.inf
    dx, dy = decimate(np.arange(len(y), dtype=float), y, 100)
    assert len(dx) <= 100
    assert np.inf in dy  # inf counts as an extreme
    assert np.nanmin(dy) == 0.0
    assert np.isnan(dy).any()  # all-NaN buckets keep one point, so the gap stays a gap


def test_bad_input_messages():
    with pytest.raises(ValueError, match="max_points must be an integer >= 4"):
        decimate([0, 1], [0, 1], 3)
    with pytest.raises(ValueError, match="same shape"):
        decimate([0, 1, 2], [0, 1], 10)
    with pytest.raises(ValueError, match="1-D"):
        decimate_indices(np.zeros((3, 3)), 10)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 100, 1499, 1500, 1501, 10_000, 54_321])
@pytest.mark.parametrize("max_points", [8, 9, 12, 100, 1500])
def test_stream_bounded_and_keeps_endpoints_and_extrema(n, max_points):
    rng = np.random.default_rng(n * 7 + max_points)
    y = rng.standard_normal(n)
    y[rng.random(n) < 0.05] = np.nan
    stream = MinMaxStream(max_points)
    for i, value in enumerate(y):
        stream.append(value)
        if i % 997 == 0 or i == n - 1:  # the bound holds at every moment, not only at the end
            keep = stream.indices()
            assert len(keep) <= max_points
            assert keep[0] == 0 and keep[-1] == i
            seen = y[: i + 1]
            if not np.isnan(seen).all():
                assert np.nanmin(seen[keep]) == np.nanmin(seen) and np.nanmax(seen[keep]) == np.nanmax(seen)
            assert np.all(np.diff(keep) > 0)
    if n == 0:
        assert len(stream.indices()) == 0


def test_stream_keeps_every_spike_of_its_buckets():
    n = 100_000
    y = np.zeros(n)
    ups = np.arange(500, n - 500, 2000)[:50]
    y[ups] = 1.0
    stream = MinMaxStream(1500)
    for value in y:
        stream.append(value)
    assert set(ups) <= set(stream.indices())
    full = len(stream._lo_i)  # full buckets of equal width, then the open one: together the whole curve
    assert stream.width * full <= n < stream.width * (full + 1)


def test_stream_bad_max_points():
    with pytest.raises(ValueError, match="max_points must be an integer >= 8"):
        MinMaxStream(7)
