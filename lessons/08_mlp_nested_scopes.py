"""A 784-500-100-10 MLP (the computation-framework article's) in nested name scopes, trained with Adam; >= 0.97."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import inspect

import tensorflow.compat.v1 as tf

from lowtf.data.splits import load_splits
from lowtf.models import count_parameters, mlp
from lowtf.nn import dense
from lowtf.train import TrainConfig, train

tf.disable_v2_behavior()

lesson = Lesson("08", "mlp nested scopes")

# --- knobs -----------------------------------------------------------------------------
STEPS = {"fast": 600, "full": 2000}
BATCH_SIZE = 128
LEARNING_RATE = 1e-3


@lesson.step("a dense layer is a name scope around matmul + bias + ReLU")
def layer(ctx):
    """lowtf.nn.dense opens a scope named for the layer and creates 'weights' and 'biases'
    inside it, so every op reads like a path: mlp/hidden1/weights."""
    return {"dense": inspect.getsource(dense)}


@lesson.step("the model: three dense layers inside an 'mlp' scope")
def model(ctx):
    """Nested scopes make the graph fold into mlp > hidden1, hidden2, logits in TensorBoard."""
    with tf.Graph().as_default():
        logits, params = mlp(tf.placeholder(tf.float32, [None, 28, 28, 1]), tf.constant(False))
        ops = [op.name for op in tf.get_default_graph().get_operations() if op.name.startswith("mlp/hidden1/")]
    ctx.record(parameters=count_parameters(params))
    return {"mlp": inspect.getsource(mlp), "variables": list(params), "parameters": count_parameters(params),
            "ops under mlp/hidden1": ops[:8]}


@lesson.step("train with Adam 1e-3, batches of 128")
def fit(ctx):
    """Adam adapts a step size per parameter from running averages of the gradient and its
    square; 1e-3 is the usual default. lowtf.train.train runs lesson 10's loop (written
    out there): loss, Adam, train/validation/test writers, checkpoints."""
    splits = load_splits(validation_size=5000)
    steps = STEPS[ctx.mode]
    config = TrainConfig(steps=steps, batch_size=BATCH_SIZE, eval_every=steps // 20, seed=0, name="mlp")
    h = train(mlp, splits, lambda step: tf.train.AdamOptimizer(LEARNING_RATE), config, ctx.logdir)
    ctx.record(test_accuracy=round(h.final_test_accuracy, 4), steps=h.final_step,
               train_seconds=round(h.train_seconds, 1), images_per_second=round(h.images_per_second))
    return {"test accuracy": h.final_test_accuracy, "seconds": round(h.seconds, 1),
            "see the scopes": ctx.tensorboard() + " (Graphs tab)"}


if __name__ == "__main__":
    raise SystemExit(lesson.main())
