"""Exercise 11: a ClusterSpec for given hosts."""
from lowtf.practice.checking import check, expect

HINT = "tf.train.ClusterSpec({\"ps\": ps_hosts, \"worker\": worker_hosts}); devices look like \"/job:worker/task:1\""


@check(HINT, ("14", "a ClusterSpec names every task"))
def test_cluster_and_devices(ex):
    spec = ex.cluster_for(["ps0:2222"], ["w0:2222", "w1:2222"])
    expect(spec.as_dict() == {"ps": ["ps0:2222"], "worker": ["w0:2222", "w1:2222"]},
           "{'ps': ['ps0:2222'], 'worker': ['w0:2222', 'w1:2222']}", spec.as_dict())
    expect(spec.task_address("worker", 1) == "w1:2222", "worker 1 at w1:2222", spec.task_address("worker", 1))
    expect(ex.device_for("worker", 1) == "/job:worker/task:1", "/job:worker/task:1", ex.device_for("worker", 1))
    expect(ex.device_for("ps", 0) == "/job:ps/task:0", "/job:ps/task:0", ex.device_for("ps", 0))
