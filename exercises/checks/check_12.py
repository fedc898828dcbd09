"""Exercise 12: a SavedModel that lowtf serve answers (starts a real server on 127.0.0.1)."""
import json
import subprocess
import sys
import time
import urllib.request

from lowtf.ports import free_ports
from lowtf.practice.checking import check, expect, expect_close

HINT = "tf.saved_model.simple_save(sess, f\"{base_path}/{version}\", inputs={\"x\": x}, outputs={\"y\": y})"


@check(HINT, "21, step 4")
def test_served_predictions(ex, tmp_path):
    path = ex.export(str(tmp_path / "affine"), 1)
    expect((tmp_path / "affine" / "1" / "saved_model.pb").exists(), "affine/1/saved_model.pb", path)
    port = free_ports(1)[0]
    server = subprocess.Popen([sys.executable, "-m", "lowtf", "serve", "--model_base_path", str(tmp_path / "affine"),
                               "--model_name", "affine", "--rest_api_port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, answer = time.monotonic() + 60, None
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models/affine:predict",
                                         data=json.dumps({"instances": [1.0, 2.5, -3.0]}).encode(),
                                         headers={"Content-Type": "application/json"})
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(request, timeout=5) as r:
                    answer = json.loads(r.read())
            except OSError:
                time.sleep(0.3)
        expect(answer is not None, "lowtf serve to answer", (server.stderr.read().decode()[-300:]
                                                              if server.poll() is not None else "no answer in 60 s"))
        expect_close(answer["predictions"], [3.0, 6.0, -5.0], "predictions of 2x + 1 for x = 1, 2.5, -3")
    finally:
        server.terminate()
        server.wait(timeout=15)
