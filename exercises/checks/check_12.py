"""Exercise 12: a SavedModel that lowtf serve answers (starts a real server on 127.0.0.1)."""
import json
import urllib.request

from lowtf.practice.checking import check, expect, expect_close, served

HINT = "tf.saved_model.simple_save(sess, f\"{base_path}/{version}\", inputs={\"x\": x}, outputs={\"y\": y})"


@check(HINT, [("21", "simple_save"), ("21", "lowtf serve: TF Serving's REST API")])
def test_served_predictions(ex, tmp_path):
    path = ex.export(str(tmp_path / "affine"), 1)
    expect((tmp_path / "affine" / "1" / "saved_model.pb").exists(), "affine/1/saved_model.pb", path)
    with served(tmp_path / "affine", "affine") as server:
        request = urllib.request.Request(server.url("affine") + ":predict",
                                         data=json.dumps({"instances": [1.0, 2.5, -3.0]}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            answer = json.loads(r.read())
        expect_close(answer["predictions"], [3.0, 6.0, -5.0], "predictions of 2x + 1 for x = 1, 2.5, -3")
