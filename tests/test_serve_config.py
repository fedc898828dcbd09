"""lowtf serve as TF Serving is configured: --model_config_file, version policies, polling, the REST timeout."""
import contextlib
import subprocess
import threading
import time

import numpy as np
import pytest

from lowtf import cli
import requests
import tensorflow.compat.v1 as tf

from conftest import PYTHON, REPO, export_affine, free_port
from lowtf.serve.model_config import ModelConfigError, read_model_config
from lowtf.serve.core.manager import Models, ModelStore
from lowtf.serve.core.version_policy import VersionPolicy
from lowtf.serve.errors import NotFound
from lowtf.serve.process import start_server
from lowtf.serve.rest_server import make_server


def export_spinner(base, version: int = 1) -> None:
    """y = x after ``n`` loop iterations: a model whose run time the request chooses."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        n = tf.placeholder(tf.int32, [None], name="n")
        _, y = tf.while_loop(lambda i, v: i < n[0], lambda i, v: (i + 1, v), [tf.constant(0), x])
        with tf.Session() as sess:
            tf.saved_model.simple_save(sess, str(base / str(version)), inputs={"x": x, "n": n}, outputs={"y": y})


def test_version_policies_pick_what_tf_serving_would(tmp_path):
    for version in (1, 2, 3):
        export_affine(tmp_path / "m", version, float(version))
    quiet = dict(log=lambda message: None)
    assert ModelStore(tmp_path / "m", "m", VersionPolicy(), **quiet).serving_versions == [3]
    assert ModelStore(tmp_path / "m", "m", VersionPolicy("latest", num_versions=2), **quiet).serving_versions == [2, 3]
    assert ModelStore(tmp_path / "m", "m", VersionPolicy("all"), **quiet).serving_versions == [1, 2, 3]
    specific = ModelStore(tmp_path / "m", "m", VersionPolicy("specific", versions=(1, 3)), **quiet)
    assert specific.serving_versions == [1, 3]
    with specific.use(1) as model:
        assert model.run("serving_default", {"x": [2.0]})["y"].tolist() == [3.0]   # 1 * 2 + 1
    with pytest.raises(NotFound, match=r"Specific\(m, 2\)"):
        specific.get(2)
    with pytest.raises(ValueError, match="at least one version"):
        VersionPolicy("specific")


def test_latest_policy_keeps_serving_when_the_newest_version_is_broken(tmp_path):
    export_affine(tmp_path / "m", 1, 1.0)
    (tmp_path / "m" / "2").mkdir()
    (tmp_path / "m" / "2" / "saved_model.pb").write_bytes(b"half a copy")
    log = []
    store = ModelStore(tmp_path / "m", "m", VersionPolicy(), log=log.append)
    assert store.serving_versions == [1]
    assert sum("version 2 of m did not load" in line for line in log) == 1
    store.refresh()
    assert sum("did not load" in line for line in log) == 1                   # said once, not every poll


def test_config_file_errors_name_the_file_and_the_fix(tmp_path):
    config = tmp_path / "models.config"
    config.write_text("model_config_list { config { name: 'a' base_path: '/x' } config { name: 'a' base_path: '/y' } }")
    with pytest.raises(ModelConfigError, match="used twice"):
        read_model_config(config)
    config.write_text("model_config_list { config { name: 'a' } }")
    with pytest.raises(ModelConfigError, match="needs a name and a base_path"):
        read_model_config(config)
    config.write_text("model_config_list { config { name: 'a' base_path: '/x' model_platform: 'pytorch' } }")
    with pytest.raises(ModelConfigError, match="model_platform"):
        read_model_config(config)
    config.write_text("model_config_list { config { name: 'a' base_path: '/x' ")
    with pytest.raises(ModelConfigError, match=f"{config} is not a ModelServerConfig"):
        read_model_config(config)
    with pytest.raises(ModelConfigError, match="cannot read"):
        read_model_config(tmp_path / "missing.config")
    config.write_text("model_config_list { config { name: 'a' base_path: '/x' "
                      "model_version_policy { specific { versions: 2 versions: 5 } } } }")
    (model,) = read_model_config(config)
    assert model.policy == VersionPolicy("specific", versions=(2, 5))


def test_two_models_from_a_config_file_over_rest(tmp_path):
    """TF Serving's text config, the way its users write it: two models, one serving all its versions."""
    for version in (1, 2):
        export_affine(tmp_path / "affine", version, float(version))
    export_affine(tmp_path / "double", 1, 2.0)
    config = tmp_path / "models.config"
    config.write_text(f"""model_config_list {{
  config {{ name: "affine" base_path: "{tmp_path / 'affine'}" model_platform: "tensorflow"
           model_version_policy {{ all {{}} }} }}
  config {{ name: "double" base_path: "{tmp_path / 'double'}" }}
}}""")
    port = free_port()
    with start_server([f"--model_config_file={config}", f"--rest_api_port={port}"], port, "double") as server:
        status = requests.get(server.url("affine"), timeout=10).json()["model_version_status"]
        assert [s["version"] for s in status] == ["2", "1"]
        for version, expected in ((1, 3.0), (2, 5.0)):      # scale * 2 + 1
            reply = requests.post(server.url("affine") + f"/versions/{version}:predict",
                                  json={"instances": [2.0]}, timeout=10).json()
            assert reply["predictions"] == [expected]
        assert requests.post(server.url("double") + ":predict", json={"instances": [2.0]},
                             timeout=10).json()["predictions"] == [5.0]
        missing = requests.post(server.url("nothing") + ":predict", json={"instances": [2.0]}, timeout=10)
        assert missing.status_code == 404 and "Latest(nothing)" in missing.json()["error"]


@pytest.mark.parametrize("flags, message", [
    (["--model_config_file=CONFIG", "--model_base_path=/x"], "not both"),
    ([], "say what to serve"),
    (["--model_config_file=/no/such.config"], "cannot read --model_config_file"),
    (["--model_base_path=/no/such/folder"], "does not exist"),
    (["--model_base_path=/x", "--file_system_poll_wait_seconds=-1"], "must be at least 0"),
    (["--model_base_path=/x", "--rest_api_timeout_in_ms=soon"], "expected a whole number"),
    (["--model_base_path=TMP", "--host="], "--host is empty"),
    (["--model_base_path=TMP", "--model_name=a/b"], "'a/b' holds '/'"),
    (["--model_base_path=TMP", "--model_name="], "the model name is empty"),
    (["--model_config_file=COLON"], "'a:predict' holds ':'"),
    (["--model_config_file=BINARY"], "is not a text file"),
    (["--model_config_file=CONFIG", "--enable_batching", "--batching_parameters_file=BINARY"], "is not a text file"),
])
def test_serve_flags_are_checked(tmp_path, capsys, flags, message):
    config = tmp_path / "models.config"
    config.write_text("model_config_list { config { name: 'a' base_path: '/x' } }")
    (tmp_path / "colon.config").write_text(f"model_config_list {{ config {{ name: 'a:predict' base_path: '{tmp_path}' }} }}")
    (tmp_path / "binary.config").write_bytes(bytes(range(256)))
    flags = [f.replace("CONFIG", str(config)).replace("COLON", str(tmp_path / "colon.config"))
             .replace("BINARY", str(tmp_path / "binary.config")).replace("TMP", str(tmp_path)) for f in flags]
    with pytest.raises(SystemExit) if "expected" in message or "at least" in message else contextlib.nullcontext():
        assert cli.main(["serve", *flags]) == 2    # (argparse's own errors exit 2 themselves)
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err, err


def test_serve_flags_are_checked_before_tensorflow_loads():
    """A wrong command line answers at once: TensorFlow (seconds to import) is not loaded to say so."""
    run = subprocess.run([PYTHON, "-c", "import sys; from lowtf.cli import main; code = main(['serve']); "
                          "print(code, 'tensorflow' in sys.modules)"], capture_output=True, text=True, timeout=60,
                         cwd=REPO)
    assert run.stdout.split() == ["2", "False"] and "say what to serve" in run.stderr, run.stdout + run.stderr


def test_poll_wait_zero_reads_the_disk_once(tmp_path):
    export_affine(tmp_path / "m", 1, 1.0)
    models = Models([ModelStore(tmp_path / "m", "m", log=lambda message: None)], poll_seconds=0)
    stop = threading.Event()
    thread = threading.Thread(target=models.poll_forever, args=(stop,))
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()                       # no polling loop at all
    export_affine(tmp_path / "m", 2, 2.0)
    assert models["m"].serving_versions == [1]


def test_rest_timeout_answers_504_and_the_server_goes_on(tmp_path):
    export_spinner(tmp_path / "spin")
    models = Models([ModelStore(tmp_path / "spin", "spin", log=lambda message: None)], poll_seconds=0)
    server = make_server(models, "127.0.0.1", free_port(), timeout_ms=300, log=lambda line: None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/models/spin:predict"
    try:
        slow = requests.post(url, json={"inputs": {"x": [1.0], "n": [2_000_000_000]}}, timeout=30)
        assert slow.status_code == 504 and "rest_api_timeout_in_ms" in slow.json()["error"]
        quick = requests.post(url, json={"inputs": {"x": [1.0], "n": [10]}}, timeout=30)
        assert quick.status_code == 200 and quick.json()["outputs"] == [1.0]
    finally:
        server.shutdown()
        server.server_close()


def test_batching_merges_concurrent_requests_and_gives_each_its_own_rows(tmp_path):
    from lowtf.serve.core.servable import Batching, ServingOptions, load_version

    export_affine(tmp_path / "m", 1, 3.0)
    model = load_version(tmp_path / "m" / "1", 1, ServingOptions(batching=Batching(max_batch_size=8, timeout_s=0.05)))
    answers, errors = {}, []

    def client(i: int) -> None:
        try:
            for j in range(5):
                x = float(10 * i + j)
                answers[(i, j)] = model.run("serving_default", {"x": np.array([x, -x], np.float32)})["y"].tolist()
        except Exception as e:     # recorded, and the test fails on it below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    model.close()
    assert not errors and len(answers) == 40
    assert all(answers[(i, j)] == [3 * (10 * i + j) + 1, -3 * (10 * i + j) + 1] for i, j in answers)
    assert model.batcher.examples == 80 and model.batcher.batches < 40     # requests did share runs


def test_batching_parameters_file_is_read_as_tf_serving_writes_it(tmp_path):
    from lowtf.serve.model_config import read_batching_parameters
    from lowtf.serve.core.servable import Batching

    params = tmp_path / "batching.config"
    params.write_text("max_batch_size { value: 8 }\nbatch_timeout_micros { value: 500 }\nnum_batch_threads { value: 4 }\n"
                      "max_enqueued_batches { value: 100 }\n")
    assert read_batching_parameters(params) == (Batching(8, 0.0005, threads=4), ["max_enqueued_batches"])
    params.write_text("max_batch_size { value: 0 }")
    with pytest.raises(ModelConfigError, match="at least 1"):
        read_batching_parameters(params)
    params.write_text("max_batch_size: 8")
    with pytest.raises(ModelConfigError, match="no field like"):
        read_batching_parameters(params)


def test_batches_wait_for_their_timeout_or_until_full_and_a_late_request_fails_in_the_queue():
    """TF Serving's scheduling: a batch runs once it holds max_batch_size examples or its timeout
    has passed since its first request; a request whose deadline passes while queued is not run."""
    from lowtf.serve.batching import Batcher

    runs = []

    def run(signature, feeds, timeout_ms):
        runs.append(len(feeds["x"]))
        return {"y": feeds["x"] * 2}

    # full long before the timeout; two threads: the one timing the batch must be woken when it fills
    batcher = Batcher(run, max_batch_size=6, timeout_s=5.0, threads=2)
    answers = {}
    threads = [threading.Thread(target=lambda i=i: answers.update({i: batcher.run(
        "s", {"x": np.array([i, -i], np.float32)})["y"].tolist()})) for i in range(3)]
    for t in threads:
        t.start()
    began = time.monotonic()
    for t in threads:
        t.join(timeout=4)
    assert time.monotonic() - began < 4
    assert runs == [6] and answers == {i: [2 * i, -2 * i] for i in range(3)}   # one run, each its own rows
    assert (batcher.batches, batcher.examples) == (1, 6)

    def slow(signature, feeds, timeout_ms):
        time.sleep(0.3)
        return {"y": feeds["x"]}

    busy = Batcher(slow, max_batch_size=1, timeout_s=0.0, threads=1)
    outcomes = []

    def client():
        try:
            busy.run("s", {"x": np.zeros(1, np.float32)}, timeout_ms=100)
            outcomes.append("ran")
        except tf.errors.DeadlineExceededError as e:
            outcomes.append("queue" if "batching queue" in e.message else "run")

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    busy.close()
    assert sorted(outcomes) == ["queue", "queue", "ran"]       # the two queued behind a 0.3 s run expired
    assert busy.run("s", {"x": np.ones(2, np.float32)})["y"].tolist() == [1.0, 1.0]   # closed: runs alone


def test_batching_gives_the_fronts_threads_for_twice_a_batch_and_counts_its_batches(tmp_path):
    """With --enable_batching the REST front takes 2 x max_batch_size requests at once (TF Serving's
    advice), and the Prometheus page says how many runs the batches made and how many examples."""
    from lowtf.serve.core.servable import Batching, ServingOptions
    from lowtf.serve.limits import FrontOptions, default_threads
    from lowtf.serve.main import front_threads
    from lowtf.serve.metrics import Metrics

    batching = ServingOptions(batching=Batching(max_batch_size=40, timeout_s=1.0, threads=1))
    assert front_threads(batching, FrontOptions()).rest_threads == max(80, default_threads())
    assert front_threads(batching, FrontOptions(rest_threads=3, grpc_threads=5)).grpc_threads == 5
    assert front_threads(ServingOptions(), FrontOptions()) == FrontOptions()

    export_affine(tmp_path / "m", 1, 2.0)
    models = Models([ModelStore(tmp_path / "m", "m", log=lambda line: None, options=ServingOptions(
        batching=Batching(max_batch_size=8, timeout_s=2.0, threads=1)))], poll_seconds=0)
    server = make_server(models, "127.0.0.1", free_port(), num_threads=16, metrics=Metrics(), log=lambda line: None)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        replies = {}
        threads = [threading.Thread(target=lambda i=i: replies.update({i: requests.post(
            f"{url}/v1/models/m:predict", json={"instances": [float(i)]}, timeout=30).json()})) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert replies == {i: {"predictions": [2.0 * i + 1]} for i in range(8)}
        page = requests.get(url + "/monitoring/prometheus/metrics", timeout=30).text
        counts = {line.split("{")[0].split(" ")[0]: int(line.rsplit(" ", 1)[1]) for line in page.splitlines()
                  if line.startswith((":lowtf:serving:batched", ":tensorflow:serving:batching_session"))}
        assert counts[":lowtf:serving:batched_examples"] == 8
        runs = counts[":lowtf:serving:batched_runs"]
        assert counts[":tensorflow:serving:batching_session:wrapped_run_count"] == runs and 1 <= runs < 8
        # the serving bench's load generator: requests one after another on one kept-alive socket
        from lowtf.bench.serving import _KeepAlive

        body = b'{"instances": [3.0]}'
        client = _KeepAlive(server.server_address[1], b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        assert [client.post() for _ in range(2)] == [(200, b'{"predictions":[7.0]}')] * 2
        client.close()
    finally:
        server.shutdown()
        server.server_close()
