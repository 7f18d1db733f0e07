"""keyframe.peaks re-states scipy.signal.find_peaks (height, prominence, distance): the
anatomy check uses it to avoid scipy.signal's 1.2 s import; it must find the same peaks."""
import numpy as np
import pytest

from keyframe.peaks import find_peaks

signal = pytest.importorskip("scipy.signal")


def _signals():
    rng = np.random.default_rng(18)
    for n in (3, 5, 40, 200, 1000):
        for _ in range(30):
            x = rng.normal(size=n).cumsum()
            yield x
            yield np.round(x, 0)                       # plateaus of equal samples
            yield np.convolve(x, np.ones(7) / 7, "same")
    yield np.zeros(10)
    yield np.array([0.0, 1.0, 1.0, 1.0, 0.0, 2.0, 2.0, 0.0])


@pytest.mark.parametrize("kw", [{"height": 0.5, "prominence": 0.3, "distance": 4},
                                {"height": -1.0, "prominence": 1.0, "distance": 1},
                                {"prominence": 0.05}, {"distance": 9.5},
                                {"height": 0.0}])
def test_find_peaks_equals_scipy(kw):
    for x in _signals():
        ours, props = find_peaks(x, **kw)
        ref, ref_props = signal.find_peaks(x, **kw)
        np.testing.assert_array_equal(ours, ref)
        for key in ("peak_heights", "prominences"):
            if key in ref_props:
                np.testing.assert_allclose(props[key], ref_props[key])


def test_rejects_two_dimensions_and_short_distance():
    with pytest.raises(ValueError):
        find_peaks(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        find_peaks(np.zeros(5), distance=0.5)
