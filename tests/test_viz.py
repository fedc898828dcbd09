"""Filter grids tile as expected; GIFs hold one labelled frame per recorded step."""
import imageio.v3 as iio
import numpy as np
import pytest

from lowtf.viz.filters import filter_gif, filter_grid, grid_shape, relative_change
from lowtf.viz.plots import confusion_matrix


@pytest.mark.parametrize("count,shape", [(32, (6, 6)), (64, (8, 8)), (4, (2, 2)), (5, (2, 3)), (1, (1, 1))])
def test_grid_shape(count, shape):
    assert grid_shape(count) == shape


def test_filter_grid_tiling_and_per_filter_normalisation():
    w = np.random.RandomState(0).randn(5, 5, 1, 32) * np.arange(1, 33)  # very different scales
    grid = filter_grid(w)
    assert grid.shape == (6 * 6 + 1, 6 * 6 + 1) and grid.dtype == np.uint8
    for i in range(32):
        r, c = divmod(i, 6)
        tile = grid[1 + r * 6: 1 + r * 6 + 5, 1 + c * 6: 1 + c * 6 + 5]
        assert tile.min() == 0 and tile.max() == 255
    assert grid[0].max() == 0 and grid[:, 0].max() == 0  # padding stays black
    assert filter_grid(w, scale=3).shape == (37 * 3, 37 * 3)


def test_filter_grid_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"\[k, k, in, out\]"):
        filter_grid(np.zeros((5, 5, 32)))


def test_gif_frames_match_what_was_recorded_play_at_a_visible_pace_and_differ(tmp_path):
    rng = np.random.RandomState(1)
    frames = [rng.randn(5, 5, 1, 8) + 0.3 * i for i in range(7)]   # weights that drift
    path = filter_gif(frames, [0, 10, 20, 30, 40, 50, 60], tmp_path / "f.gif", scale=4)
    read = iio.imread(path, index=None)
    assert len(read) == 7
    grid_h, grid_w = filter_grid(frames[0], scale=4).shape
    assert read.shape[1:3] == (grid_h + 2 * 20 + 4, 2 * grid_w + 8)   # filters | change; two 16-px lines
    durations = [iio.immeta(path, index=i)["duration"] for i in range(7)]
    assert all(d >= 100 for d in durations) and durations[-1] == 2000   # milliseconds, not 0
    assert all(np.abs(read[i].astype(int) - read[0]).mean() > 1 for i in range(1, 7))
    with pytest.raises(ValueError, match="one step per frame"):
        filter_gif(frames, [0], tmp_path / "g.gif")


def test_relative_change():
    w = np.ones((5, 5, 1, 4))
    assert relative_change(w, w) == 0 and relative_change(w, 1.5 * w) == pytest.approx(0.5)


def test_confusion_matrix_counts():
    m = confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], classes=3)
    assert m.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def test_gif_draws_every_input_channel_and_labels_the_layers_whole_change(tmp_path):
    """A layer whose channel 0 never moves (a dead unit feeds it) still shows change: the picture is the
    mean over input channels, and the label's number is the whole layer's relative change."""
    rng = np.random.RandomState(2)
    start = rng.randn(5, 5, 3, 4)
    frames = [start.copy() for _ in range(3)]
    for i, f in enumerate(frames):
        f[:, :, 1:, :] += 0.5 * i                      # channels 1 and 2 move; channel 0 does not
    path = filter_gif(frames, [0, 1, 2], tmp_path / "c.gif", scale=4)
    read = iio.imread(path, index=None)
    grid_h = filter_grid(frames[0][:, :, :1, :], scale=4).shape[0]
    assert np.abs(read[2, :grid_h].astype(int) - read[0, :grid_h]).mean() > 1   # the filters half changes

