"""Exercise 07: summaries that a FileWriter writes."""
import glob

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lowtf.practice.checking import check, expect, expect_close

HINT = "s = tf.summary.scalar(\"loss\", value); writer = tf.summary.FileWriter(logdir, graph); writer.add_summary(sess.run(s, ...), step)"


@check(HINT, ("04", "a scalar summary of a random walk"))
def test_events_hold_each_value_at_its_step(ex, tmp_path):
    values = [3.0, 2.5, 1.75, 1.5]
    ex.write_losses(str(tmp_path), values)
    files = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    expect(len(files) >= 1, "an events file in logdir", "none")
    events = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0}).Reload()
    expect("loss" in events.Tags()["scalars"], "a scalar tagged 'loss'", events.Tags()["scalars"])
    points = events.Scalars("loss")
    expect([p.step for p in points] == list(range(len(values))), "steps 0, 1, 2, 3", [p.step for p in points])
    expect_close([p.value for p in points], values, "the values written")
    expect(events.Tags()["graph"], "the graph in the events file (pass it to the FileWriter)", "no graph")
