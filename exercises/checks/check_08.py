"""Exercise 08: save, then restore into a fresh graph."""
import numpy as np

from lowtf.practice.checking import check, expect, expect_close

HINT = "save: tf.train.Saver().save(sess, path); restore: in tf.Graph().as_default(), a Variable named \"w\", Saver().restore"


@check(HINT, [("06", "a Saver writes"), ("06", "restoring into a fresh graph")])
def test_round_trip(ex, tmp_path):
    value = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    saved = ex.save(str(tmp_path / "model"), value)
    expect(isinstance(saved, str) and (tmp_path / "model.index").exists(), "a checkpoint at the path given",
           sorted(p.name for p in tmp_path.iterdir()))
    expect_close(ex.restore(saved, (2, 3)), value, "the restored value")
