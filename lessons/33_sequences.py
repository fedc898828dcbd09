"""Sequences in graph mode: a GRU cell from raw ops, run over time with tf.scan, and word embeddings."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import numpy as np
import tensorflow.compat.v1 as tf

from lowtf import verdicts
from lowtf.data.splits import load_splits
from lowtf.verdicts import accuracy_se

tf.disable_v2_behavior()

lesson = Lesson("33", "sequences")

# --- knobs -----------------------------------------------------------------------------
HIDDEN = 64  # units of the GRU's state
STEPS = {"fast": 250, "full": 1500}  # training steps of each model
BATCH_SIZE = 100
LEARNING_RATE = 0.01  # Adam
CLIP_NORM = 5.0  # gradients clipped to this global norm
TRAIN_IMAGES = 20_000
TEST_IMAGES = {"fast": 5000, "full": None}  # None: all 10,000
EMBEDDING_SIZE = 8
EMBEDDING_STEPS = {"fast": 600, "full": 2000}
SEED = 0
# a toy vocabulary in four groups; sentences are made from templates below
GROUPS = {
    "animal": ["cat", "dog", "horse", "cow", "goat"],
    "food": ["apple", "bread", "rice", "cheese", "grass"],
    "person": ["teacher", "doctor", "pilot", "farmer", "baker"],
    "vehicle": ["car", "bus", "train", "bike", "truck"],
}
TEMPLATES = [
    "the {animal} eats the {food}",
    "a hungry {animal} eats {food}",
    "the {person} drives the {vehicle}",
    "a {person} drives a fast {vehicle}",
]


@lesson.step(
    "tf.nn.rnn_cell is gone: Keras 3 took it, so cells are written by hand"
)
def no_rnn_cell(ctx):
    """TensorFlow 1.x shipped recurrent cells in tf.nn.rnn_cell (BasicLSTMCell, GRUCell,
    MultiRNNCell) and ran them with tf.nn.dynamic_rnn. Those classes were Keras layers
    underneath, and TensorFlow 2.16 made Keras 3 the default: compat.v1 still has the
    names, but using one raises the error below. Keras 3's own GRU and LSTM layers run
    eagerly (lesson 23's world) and do not mix with a Session. In graph mode the way that
    is left is the one that shows everything: the cell's few matrix products written
    out, and a graph op that loops over time (tf.scan or tf.while_loop, lesson 32).
    (pip install tf-keras and TF_USE_LEGACY_KERAS=1 bring the old classes back for old
    code; the course does not use them.)"""
    try:
        tf.nn.rnn_cell.GRUCell(HIDDEN)
        said = "GRUCell built (a legacy Keras is installed and switched on)"
    except AttributeError as error:
        said = f"AttributeError: {error}"
    ctx.record(rnn_cell_error=said)
    return {"tf.nn.rnn_cell.GRUCell(64)": said}


@lesson.step("MNIST as sequences: 28 rows of 28 pixels, read top to bottom")
def data(ctx):
    """A recurrent network reads one piece at a time. An MNIST digit, read a row at a
    time, is a sequence of 28 steps, each a vector of 28 pixels: the network sees the top
    row first and must remember what it saw until the last row, where it names the digit.
    tf.scan loops over the first axis, so the batch [N, 28 rows, 28 pixels] is turned
    "time-major": [28, N, 28], one slice per step."""
    splits = load_splits(
        validation_size=0,
        train_size=TRAIN_IMAGES,
        test_size=TEST_IMAGES[ctx.mode],
    )
    # [N, 28, 28, 1] uint8 -> [N, 28, 28] floats in [0, 1]
    ctx.train_x = splits.train.images[..., 0] / np.float32(255)
    ctx.train_y = splits.train.labels
    ctx.test_x = splits.test.images[..., 0] / np.float32(255)
    ctx.test_y = splits.test.labels
    ctx.x = tf.placeholder(tf.float32, [None, 28, 28], name="rows")
    ctx.y = tf.placeholder(tf.int64, [None], name="digit")
    ctx.time_major = tf.transpose(ctx.x, [1, 0, 2])  # [28, N, 28]
    return {
        "train": ctx.train_x.shape,
        "test": ctx.test_x.shape,
        "one step of the sequence (batch of rows)": ctx.time_major[0],
    }


def gru_variables(inputs: int, hidden: int) -> dict:
    """The GRU's weights, made in the current variable scope: for the
    update gate z, the reset gate r and the candidate state c, a matrix
    [inputs + hidden, hidden] and a bias [hidden]. Glorot-uniform matrices
    (tf.get_variable's default), zero biases."""
    found = {}
    for gate in ("z", "r", "c"):
        found["W" + gate] = tf.get_variable(
            f"W{gate}", [inputs + hidden, hidden]
        )
        found["b" + gate] = tf.get_variable(
            f"b{gate}", [hidden], initializer=tf.zeros_initializer()
        )
    return found


def gru_step(v: dict, h, x_t):
    """One step of a GRU: state h [N, hidden] and input x_t [N, inputs] ->
    new h. z says how much of the old state to keep, r how much of it the
    candidate sees."""
    both = tf.concat([x_t, h], axis=1)
    z = tf.sigmoid(tf.matmul(both, v["Wz"]) + v["bz"])  # update gate
    r = tf.sigmoid(tf.matmul(both, v["Wr"]) + v["br"])  # reset gate
    reset = tf.concat([x_t, r * h], axis=1)
    c = tf.tanh(tf.matmul(reset, v["Wc"]) + v["bc"])  # candidate
    return z * h + (1.0 - z) * c


@lesson.step("a GRU cell from raw ops, its weights in a variable scope")
def cell(ctx):
    """A GRU (Cho et al., 2014) keeps a state vector h and updates it at every step:
        z = sigmoid([x, h] Wz + bz)       how much of h to keep
        r = sigmoid([x, h] Wr + br)       how much of h the candidate may see
        c = tanh([x, r * h] Wc + bc)      a candidate new state
        h' = z * h + (1 - z) * c
    The gates are numbers between 0 and 1, so when z is near 1 the state passes through a
    step almost untouched, and so does its gradient: that is how a GRU remembers the top
    of a digit 28 steps later, where a plain tanh RNN's gradient fades. (An LSTM does the
    same with a separate memory cell and three gates.) The weights are made once with
    tf.get_variable inside tf.variable_scope("gru") (lesson 31), so their names read
    gru/Wz ..., and every time step uses the same ones: a recurrent network shares its
    weights across time as a convolution shares them across space."""
    tf.set_random_seed(SEED)
    with tf.variable_scope("gru"):
        ctx.gru = gru_variables(inputs=28, hidden=HIDDEN)
    batch = tf.shape(ctx.x)[0]
    ctx.h0 = tf.zeros([batch, HIDDEN])  # the state before the first row
    h1 = gru_step(ctx.gru, ctx.h0, ctx.time_major[0])
    parameters = sum(v.shape.num_elements() for v in ctx.gru.values())
    ctx.record(gru_parameters=parameters)
    return {
        "variables": sorted(v.op.name for v in ctx.gru.values()),
        "state after one step": h1,
        "parameters": parameters,
    }


@lesson.step(
    "over time: tf.scan, tf.while_loop, and a Python loop that unrolls"
)
def over_time(ctx):
    """tf.scan(fn, elems, initializer) is a loop inside the graph: it calls fn(state,
    elem) for each slice of elems along axis 0 and stacks the states, [28, N, 64]. The
    same loop written with tf.while_loop needs a TensorArray to collect the states; scan
    is that, packaged. A Python for-loop also works, but it is not a loop in the graph:
    it copies the cell's ops once per step (unrolling), so the graph grows with the
    sequence's length and is fixed to it. Below, the three give the same final state,
    and the op counts show what each put in the graph."""
    ops_before = len(tf.get_default_graph().get_operations())
    ctx.states = tf.scan(
        lambda h, x_t: gru_step(ctx.gru, h, x_t),
        ctx.time_major,
        initializer=ctx.h0,
    )
    ops_scan = len(tf.get_default_graph().get_operations()) - ops_before

    def body(t, h, collected):
        h = gru_step(ctx.gru, h, ctx.time_major[t])
        return t + 1, h, collected.write(t, h)

    _, _, collected = tf.while_loop(
        lambda t, h, collected: t < 28,
        body,
        [tf.constant(0), ctx.h0, tf.TensorArray(tf.float32, size=28)],
    )
    states_while = collected.stack()  # [28, N, 64], as scan's
    ops_before = len(tf.get_default_graph().get_operations())
    h_unrolled = ctx.h0
    for t in range(28):
        h_unrolled = gru_step(ctx.gru, h_unrolled, ctx.time_major[t])
    ops_unrolled = len(tf.get_default_graph().get_operations()) - ops_before
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        feed = {ctx.x: ctx.test_x[:50]}
        scanned, looped, unrolled = sess.run(
            [ctx.states, states_while, h_unrolled], feed
        )
    differences = {
        "while_loop vs scan, all states": float(
            np.abs(looped - scanned).max()
        ),
        "unrolled vs scan, last state": float(
            np.abs(unrolled - scanned[-1]).max()
        ),
    }
    ctx.record(
        loop_max_difference=max(differences.values()),
        ops_scan=ops_scan,
        ops_unrolled=ops_unrolled,
    )
    return {
        "all states (scan), shape": str(ctx.states.shape),
        "largest difference": differences,
        "ops added: scan, unrolled 28 steps": (ops_scan, ops_unrolled),
    }


def fit(ctx, logits, name: str) -> float:
    """Train ``logits`` (over placeholders ctx.x, ctx.y) with Adam and
    clipped gradients for STEPS batches; return the test accuracy. The same
    seed, the same batches."""
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=ctx.y, logits=logits
        )
    )
    params = tf.trainable_variables(scope=name)
    grads = tf.gradients(loss, params)
    grads, _ = tf.clip_by_global_norm(grads, CLIP_NORM)
    optimizer = tf.train.AdamOptimizer(LEARNING_RATE)
    train_step = optimizer.apply_gradients(zip(grads, params))
    correct = tf.equal(tf.argmax(logits, 1), ctx.y)
    rng = np.random.RandomState(SEED)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        steps = STEPS[ctx.mode]
        for i in range(1, steps + 1):
            batch = rng.randint(0, len(ctx.train_y), BATCH_SIZE)
            feed = {ctx.x: ctx.train_x[batch], ctx.y: ctx.train_y[batch]}
            _, value = sess.run([train_step, loss], feed)
            if i % (steps // 5) == 0:  # a sign of life, five times a run
                print(f"   {name}: step {i}/{steps}, loss {value:.3f}")
        ctx.correct[name] = sess.run(
            correct, {ctx.x: ctx.test_x, ctx.y: ctx.test_y}
        )
        reversed_rows = ctx.test_x[:, ::-1, :]  # bottom row first
        ctx.correct[name + " reversed"] = sess.run(
            correct, {ctx.x: reversed_rows, ctx.y: ctx.test_y}
        )
    return float(ctx.correct[name].mean())


@lesson.step("train it: the last state names the digit")
def train(ctx):
    """After the 28th row the state h holds what the network kept of the digit; one
    matrix turns it into 10 logits, and the loss is lesson 07's. The gradient flows back
    through tf.scan's 28 steps (backpropagation through time, built by tf.gradients as
    for any op). Recurrent networks' gradients can grow large in a few steps, so they are
    clipped to a global norm (tf.clip_by_global_norm) before Adam applies them."""
    ctx.correct = {}
    with tf.variable_scope("gru"):
        w_out = tf.get_variable("W_out", [HIDDEN, 10])
        b_out = tf.get_variable(
            "b_out", [10], initializer=tf.zeros_initializer()
        )
    logits = tf.matmul(ctx.states[-1], w_out) + b_out
    accuracy = fit(ctx, logits, "gru")
    ctx.record(gru_test_accuracy=round(accuracy, 4))
    return {
        f"test accuracy after {STEPS[ctx.mode]} steps": round(accuracy, 4),
        "test images": len(ctx.test_y),
    }


@lesson.step(
    "does the memory matter? the same cell without it, and rows reversed"
)
def baselines(ctx):
    """Two ways to see what the recurrence does. First, a network without memory: the
    same cell, but its state never fed back: each row goes through the cell from a zero
    state on its own, and the 28 results are averaged before the output matrix. It sees
    every row, but not their order or how they combine. Second, the trained GRU shown the
    rows bottom to top: the same pixels, in an order it never saw. Each claim is computed
    with its standard error; the models are scored on the same test images, so their
    differences are read image by image (paired: an image hard for one is often hard for
    the other, and that adds no noise to the difference)."""
    rows = tf.reshape(
        ctx.x, [-1, 28]
    )  # every row of every image: [N * 28, 28]
    with tf.variable_scope("no_memory"):
        v = gru_variables(inputs=28, hidden=HIDDEN)
        w_out = tf.get_variable("W_out", [HIDDEN, 10])
        b_out = tf.get_variable(
            "b_out", [10], initializer=tf.zeros_initializer()
        )
    each_row = gru_step(v, tf.zeros([tf.shape(rows)[0], HIDDEN]), rows)
    averaged = tf.reduce_mean(tf.reshape(each_row, [-1, 28, HIDDEN]), axis=1)
    no_memory = fit(ctx, tf.matmul(averaged, w_out) + b_out, "no_memory")
    n, gru = len(ctx.test_y), float(ctx.correct["gru"].mean())
    reversed_accuracy = float(ctx.correct["gru reversed"].mean())
    said = {
        "GRU vs chance (0.1)": ctx.verdict(
            verdicts.with_se(
                "test accuracy, GRU vs chance",
                gru,
                0.1,
                accuracy_se(gru, n),
                names=("GRU", "chance"),
                kind="proportion",
            ),
            expects="GRU",
        ),
        "GRU vs the same cell without memory": ctx.verdict(
            verdicts.paired(
                "test accuracy, GRU vs the cell without memory",
                ctx.correct["gru"],
                ctx.correct["no_memory"],
                names=("GRU", "no memory"),
            )
        ),
        "GRU, rows in order vs reversed": ctx.verdict(
            verdicts.paired(
                "test accuracy of the trained GRU, rows in order vs reversed",
                ctx.correct["gru"],
                ctx.correct["gru reversed"],
                names=("in order", "reversed"),
            ),
            expects="in order",
        ),
    }
    ctx.record(
        no_memory_test_accuracy=round(no_memory, 4),
        gru_reversed_test_accuracy=round(reversed_accuracy, 4),
    )
    return {
        "test accuracy": {
            "GRU": round(gru, 4),
            "no memory": round(no_memory, 4),
            "GRU, rows reversed": round(reversed_accuracy, 4),
        },
        **said,
    }


def sentences(count: int, rng) -> list:
    """``count`` sentences from TEMPLATES, each slot filled with a word of
    its group."""
    made = []
    for _ in range(count):
        template = TEMPLATES[rng.randint(len(TEMPLATES))]
        words = {group: rng.choice(names)
                 for group, names in GROUPS.items()}
        made.append(template.format(**words).split())
    return made


@lesson.step("word embeddings: a matrix, and tf.nn.embedding_lookup")
def embeddings(ctx):
    """Words are not numbers: a vocabulary gives each word an id, and an embedding is a
    Variable [vocabulary, size] with one trainable row per word. tf.nn.embedding_lookup
    (E, ids) picks the rows: the same as tf.gather, and the same as multiplying one-hot
    vectors by E, without building them. Its gradient is an IndexedSlices: only the rows
    that were looked up are touched by a step, which is what makes a vocabulary of a
    million words affordable. The vocabulary here is made in the lesson (a few words in
    four groups) so nothing is downloaded."""
    fixed = {w for t in TEMPLATES for w in t.split() if "{" not in w}
    in_groups = {w for words in GROUPS.values() for w in words}
    ctx.vocabulary = ["<pad>"] + sorted(fixed | in_groups)
    ctx.word_id = {w: i for i, w in enumerate(ctx.vocabulary)}
    ids = tf.constant([ctx.word_id[w] for w in ["the", "cat", "eats"]])
    tf.set_random_seed(SEED)
    with tf.variable_scope("words"):
        ctx.E = tf.get_variable(
            "embedding",
            [len(ctx.vocabulary), EMBEDDING_SIZE],
            initializer=tf.random_uniform_initializer(-1.0, 1.0),
        )
    looked_up = tf.nn.embedding_lookup(ctx.E, ids)  # [3, EMBEDDING_SIZE]
    one_hot = tf.one_hot(ids, len(ctx.vocabulary))
    as_matmul = tf.matmul(one_hot, ctx.E)
    (gradient,) = tf.gradients(tf.reduce_sum(looked_up), [ctx.E])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        rows, product, grad = sess.run([looked_up, as_matmul, gradient])
    difference = float(np.abs(rows - product).max())
    ctx.record(lookup_vs_one_hot_max_difference=difference)
    return {
        "vocabulary": f"{len(ctx.vocabulary)} words: {ctx.vocabulary[:5]}",
        "lookup of [the, cat, eats]": rows.round(3),
        "lookup vs one_hot @ E, largest difference": difference,
        "gradient's type": type(gradient).__name__,
        "rows the gradient touches": grad.indices,
    }


@lesson.step(
    "embeddings that learn: words met in the same places end up close"
)
def learn_embeddings(ctx):
    """Train the embedding to predict a word's neighbours (skip-gram, the idea of
    word2vec): from the embedding of a word, a softmax over the vocabulary scores each
    word that stands one or two places away. Words that appear in the same places (cat and
    dog both come after "the" and before "eats") get similar gradients, so their rows
    move together. Measured: the cosine similarity of two words of the same group against
    two words of different groups, over all such pairs (pairs share words, so the
    standard error from their spread understates the noise a little)."""
    rng = np.random.RandomState(SEED + 1)
    pairs = [
        (ctx.word_id[s[i]], ctx.word_id[s[j]])
        for s in sentences(2000, rng)
        for i in range(len(s))
        for j in range(max(0, i - 2), min(len(s), i + 3))
        if i != j
    ]
    centre, context = (np.array(p) for p in zip(*pairs))
    c_ids = tf.placeholder(tf.int32, [None])
    o_ids = tf.placeholder(tf.int32, [None])
    with tf.variable_scope("words"):
        size = [EMBEDDING_SIZE, len(ctx.vocabulary)]
        w_out = tf.get_variable("W_out", size)
    logits = tf.matmul(tf.nn.embedding_lookup(ctx.E, c_ids), w_out)
    loss = tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=o_ids, logits=logits
        )
    )
    train_step = tf.train.AdamOptimizer(0.05).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(EMBEDDING_STEPS[ctx.mode]):
            batch = rng.randint(0, len(centre), 256)
            feed = {c_ids: centre[batch], o_ids: context[batch]}
            sess.run(train_step, feed)
        rows = sess.run(ctx.E)
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    group_of = {w: g for g, words in GROUPS.items() for w in words}
    words = sorted(group_of)
    same, different = [], []
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            cosine = float(unit[ctx.word_id[a]] @ unit[ctx.word_id[b]])
            same_group = group_of[a] == group_of[b]
            (same if same_group else different).append(cosine)
    said = ctx.verdict(
        verdicts.repeated(
            "cosine similarity of word pairs, same group vs different groups",
            same,
            different,
            names=("same group", "different groups"),
        ),
        expects="same group",
    )
    nearest = {}
    for word in ("cat", "bread", "pilot", "bus"):
        scores = unit @ unit[ctx.word_id[word]]
        order = [ctx.vocabulary[i] for i in np.argsort(-scores)]
        nearest[word] = [w for w in order if w != word][:3]
    ctx.record(
        same_group_cosine=round(float(np.mean(same)), 4),
        different_group_cosine=round(float(np.mean(different)), 4),
    )
    return {
        "training pairs (word, neighbour)": len(centre),
        "mean cosine: same group, different groups": (
            round(float(np.mean(same)), 3),
            round(float(np.mean(different)), 3),
        ),
        "verdict": said,
        "nearest words": nearest,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
