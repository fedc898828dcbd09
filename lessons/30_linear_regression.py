"""Linear regression from scratch in a graph: the loss surface, the gradient by hand, the loop, the fit with its noise."""
from lowtf.lesson import Lesson  # first: loads TensorFlow quietly, with its fast CPU kernels on

import matplotlib

matplotlib.use("Agg")  # files, no screen
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

from lowtf import verdicts  # noqa: E402

tf.disable_v2_behavior()

lesson = Lesson("30", "linear regression")

# --- knobs -----------------------------------------------------------------------------
SEED = 30
POINTS = 100  # (x, y) pairs made in the lesson
TRUE_W, TRUE_B = (
    2.0,
    -1.0,
)  # the line the data come from: y = 2 x - 1 + noise
NOISE = 0.5  # standard deviation of the noise added to every y
LEARNING_RATE = 0.2
STEPS = 300  # gradient-descent steps of the loop
SHOWN_STEPS = (
    0,
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    299,
)  # rows of the loop's table
UNSTABLE_STEPS = (
    40  # steps at each side of the largest stable learning rate
)


@lesson.step("the data: 100 points from y = 2x - 1, plus noise, made here")
def data(ctx):
    """A first model should be small enough to see whole, on data whose truth we know.
    x is drawn uniformly from [0, 2] and y = TRUE_W x + TRUE_B + noise, the noise normal
    with standard deviation NOISE. A seeded numpy generator makes the same points every
    run. The model will not be told TRUE_W or TRUE_B: it has to find them from the points,
    and we can then ask how close it came, and how close it could come (the noise limits
    that: the last step)."""
    rng = np.random.RandomState(SEED)
    ctx.xs = rng.uniform(0.0, 2.0, POINTS).astype(np.float32)
    noise = rng.normal(0.0, NOISE, POINTS).astype(np.float32)
    ctx.ys = TRUE_W * ctx.xs + TRUE_B + noise
    return {
        "points": len(ctx.xs),
        "first three (x, y)": [
            (round(float(x), 3), round(float(y), 3))
            for x, y in zip(ctx.xs[:3], ctx.ys[:3])
        ],
        "the truth (hidden from the model)": {"w": TRUE_W, "b": TRUE_B},
    }


@lesson.step("the model and its loss, as a graph: y_hat = w x + b")
def model(ctx):
    """Two placeholders take the points, two Variables hold what is learned, both starting
    at 0. The prediction is w * x + b for every point at once (x is a vector, w and b are
    scalars: broadcasting). The loss is the mean squared error, mean((y_hat - y)^2): one
    number that is small when the line passes close to the points. Nothing is computed
    yet; these lines only add nodes to the graph."""
    tf.set_random_seed(SEED)
    ctx.x = tf.placeholder(tf.float32, [None], name="x")
    ctx.y = tf.placeholder(tf.float32, [None], name="y")
    ctx.w = tf.Variable(0.0, name="w")
    ctx.b = tf.Variable(0.0, name="b")
    ctx.y_hat = ctx.w * ctx.x + ctx.b
    ctx.loss = tf.reduce_mean(tf.square(ctx.y_hat - ctx.y), name="loss")
    ctx.feed = {ctx.x: ctx.xs, ctx.y: ctx.ys}
    return {"y_hat": ctx.y_hat, "loss": ctx.loss, "parameters": 2}


@lesson.step(
    "the gradient: tf.gradients against the formula worked by hand"
)
def gradient(ctx):
    """Gradient descent needs the slope of the loss in each direction: dloss/dw and
    dloss/db. With r = w x + b - y (the residuals) and loss = mean(r^2), the chain rule
    gives dloss/dr = 2 r / N, and since dr/dw = x and dr/db = 1:
        dloss/dw = 2 mean(r x)        dloss/db = 2 mean(r)
    tf.gradients builds the same derivative as ops in the graph (backpropagation: from
    the loss back through square, subtract, add and multiply to w and b). At the start
    (w = b = 0) both are negative: raising w or b lowers the loss."""
    ctx.grad_w, ctx.grad_b = tf.gradients(ctx.loss, [ctx.w, ctx.b])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        w, b, by_tf = sess.run(
            [ctx.w, ctx.b, [ctx.grad_w, ctx.grad_b]], ctx.feed
        )
    r = w * ctx.xs.astype(np.float64) + b - ctx.ys
    by_hand = [2 * np.mean(r * ctx.xs), 2 * np.mean(r)]
    diff = float(np.max(np.abs(np.array(by_tf) - by_hand)))
    ctx.record(
        gradient_at_start=[float(g) for g in by_tf],
        gradient_tf_vs_hand_max_diff=diff,
    )
    return {
        "at w = 0, b = 0": {"w": float(w), "b": float(b)},
        "tf.gradients (dloss/dw, dloss/db)": [
            round(float(g), 5) for g in by_tf
        ],
        "by hand: 2 mean(r x), 2 mean(r)": [round(g, 5) for g in by_hand],
        "max difference": diff,
    }


@lesson.step("one step of gradient descent, by hand and by the optimizer")
def one_step(ctx):
    """A step moves each parameter against its slope, scaled by the learning rate:
        w <- w - rate * dloss/dw        b <- b - rate * dloss/db
    Written with tf.assign_sub it is two ops grouped into one; GradientDescentOptimizer
    (rate).minimize(loss) builds the gradients and the same update for every trainable
    Variable. From the same start both land on the same (w, b), and the loss drops."""
    hand_step = tf.group(
        tf.assign_sub(ctx.w, LEARNING_RATE * ctx.grad_w),
        tf.assign_sub(ctx.b, LEARNING_RATE * ctx.grad_b),
    )
    optimizer = tf.train.GradientDescentOptimizer(LEARNING_RATE)
    ctx.train_op = optimizer.minimize(ctx.loss)
    init = tf.global_variables_initializer()
    with tf.Session() as sess:
        sess.run(init)
        before = sess.run(ctx.loss, ctx.feed)
        sess.run(hand_step, ctx.feed)
        by_hand = sess.run([ctx.w, ctx.b])
        sess.run(init)  # back to w = b = 0
        sess.run(ctx.train_op, ctx.feed)
        by_minimize = sess.run([ctx.w, ctx.b])
        after = sess.run(ctx.loss, ctx.feed)
    diff = float(np.max(np.abs(np.subtract(by_hand, by_minimize))))
    ctx.record(
        hand_step_vs_minimize_max_diff=diff,
        loss_before_and_after_one_step=[float(before), float(after)],
    )
    return {
        "(w, b) after the hand step": [
            round(float(v), 5) for v in by_hand
        ],
        "(w, b) after minimize": [round(float(v), 5) for v in by_minimize],
        "max difference": diff,
        "loss before -> after": (float(before), float(after)),
    }


@lesson.step("the training loop, written out: 300 steps on all 100 points")
def train(ctx):
    """The loop is the whole of training: run the train op with the data fed, again and
    again. Here every step sees all 100 points (batch gradient descent: the data are that
    small); lesson 07 meets data too big for that and samples batches. Each step's (w, b)
    and loss are kept, to draw the path on the loss surface next. The loss falls fast at
    first, then slowly: the steps shrink with the slope as the bottom nears."""
    ctx.path = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for step in range(STEPS):
            w, b, loss = sess.run([ctx.w, ctx.b, ctx.loss], ctx.feed)
            ctx.path.append((float(w), float(b), float(loss)))
            sess.run(ctx.train_op, ctx.feed)
        ctx.fit = [float(v) for v in sess.run([ctx.w, ctx.b])]
        final_loss = float(sess.run(ctx.loss, ctx.feed))
    table = "\n".join(
        f"step {s:>4}   w {ctx.path[s][0]:7.4f}   b {ctx.path[s][1]:7.4f}"
        f"   loss {ctx.path[s][2]:.5f}"
        for s in SHOWN_STEPS
    )
    ctx.record(
        fitted_w=ctx.fit[0],
        fitted_b=ctx.fit[1],
        loss_start=ctx.path[0][2],
        loss_end=final_loss,
    )
    return {
        "the loop": "\n" + table,
        f"after {STEPS} steps": {
            "w": ctx.fit[0],
            "b": ctx.fit[1],
            "loss": final_loss,
        },
    }


def draw_surface(ws, bs, losses, path, file):
    """A contour map of ``losses`` [len(bs), len(ws)] over (w, b), the
    descent's ``path`` of (w, b, loss) drawn on it, saved to ``file``."""
    fig, ax = plt.subplots(figsize=(6.4, 5))
    levels = np.quantile(losses, np.linspace(0, 1, 25) ** 2)
    ax.contour(
        ws, bs, losses, levels=levels, cmap="viridis", linewidths=0.8
    )
    steps = np.array(path)
    ax.plot(
        steps[:, 0],
        steps[:, 1],
        ".-",
        color="crimson",
        markersize=3,
        label="gradient descent from (0, 0)",
    )
    ax.plot(
        [TRUE_W], [TRUE_B], "k*", markersize=10, label="the true (w, b)"
    )
    ax.set(xlabel="w", ylabel="b", title="mean squared error over (w, b)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(file, dpi=100)
    plt.close(fig)
    return str(file)


@lesson.step(
    "the loss surface: the loss at every (w, b), and the path descent took"
)
def surface(ctx):
    """With two parameters the loss is a surface over the (w, b) plane, and we can compute
    it everywhere: a grid of 81 x 81 candidate lines, each scored on all points in one
    graph (w_grid [81, 81, 1] * x [100] broadcasts to [81, 81, 100]). Its contours are
    long thin ellipses: x lies in [0, 2], so raising w and lowering b changes the
    predictions little, and the valley runs along that direction. Descent goes straight
    down the steep walls first, then creeps along the valley floor: the shape of the
    path in loss_surface.png, and why the loss fell fast then slowly. The grid's lowest
    point lies where the path ends (within a grid cell)."""
    ws, bs = np.linspace(-1.0, 5.0, 81), np.linspace(-4.0, 2.0, 81)
    w_grid = tf.placeholder(tf.float32, [None, None], name="w_grid")
    b_grid = tf.placeholder(tf.float32, [None, None], name="b_grid")
    residuals = w_grid[..., None] * ctx.x + b_grid[..., None] - ctx.y
    grid_loss = tf.reduce_mean(tf.square(residuals), axis=-1)
    w_mesh, b_mesh = np.meshgrid(ws, bs)
    with tf.Session() as sess:
        losses = sess.run(
            grid_loss, {w_grid: w_mesh, b_grid: b_mesh, **ctx.feed}
        )
    row, col = np.unravel_index(np.argmin(losses), losses.shape)
    lowest = (float(ws[col]), float(bs[row]))
    cell = float(ws[1] - ws[0])
    picture = draw_surface(
        ws,
        bs,
        losses,
        [p[:2] for p in ctx.path],
        ctx.logdir / "loss_surface.png",
    )
    ctx.record(grid_minimum=lowest, grid_cell=cell, loss_surface=picture)
    return {
        "grid": losses.shape,
        "lowest point of the grid (w, b)": lowest,
        "where descent ended (w, b)": [round(v, 4) for v in ctx.fit],
        "grid spacing": round(cell, 4),
        "picture": picture,
    }


@lesson.step(
    "the step size: the valley's steepest curvature sets the limit"
)
def step_size(ctx):
    """For this loss the surface is exactly a bowl: its curvature (second derivative) is
    the matrix H = 2 [[mean(x^2), mean(x)], [mean(x), 1]], the same everywhere. Along H's
    steepest direction, curvature L (its largest eigenvalue), a step multiplies the
    distance to the bottom by (1 - rate * L). Below rate = 2 / L that shrinks it; above,
    it overshoots by more each step and the loss explodes. Below: UNSTABLE_STEPS steps
    at 0.9 and 1.1 times that limit, from the same start."""
    xs = ctx.xs.astype(np.float64)
    hessian = 2 * np.array(
        [[np.mean(xs**2), np.mean(xs)], [np.mean(xs), 1.0]]
    )
    steepest = float(np.linalg.eigvalsh(hessian).max())
    limit = 2.0 / steepest
    rate = tf.placeholder(tf.float32, [], name="rate")
    step = tf.train.GradientDescentOptimizer(rate).minimize(ctx.loss)
    finals, init = {}, tf.global_variables_initializer()
    with tf.Session() as sess:
        for factor in (0.9, 1.1):
            sess.run(init)  # the same start: w = b = 0
            for _ in range(UNSTABLE_STEPS):
                sess.run(step, {rate: factor * limit, **ctx.feed})
            finals[factor] = float(sess.run(ctx.loss, ctx.feed))
    start = ctx.path[0][2]
    ctx.record(
        largest_stable_rate=limit,
        loss_below_limit=finals[0.9],
        loss_above_limit=finals[1.1],
    )
    return {
        "largest curvature L": round(steepest, 4),
        "largest stable rate 2 / L": round(limit, 4),
        "this lesson's rate": LEARNING_RATE,
        f"loss after {UNSTABLE_STEPS} steps, from {start:.3f}": {
            f"rate {0.9 * limit:.3f} (0.9 x limit)": finals[0.9],
            f"rate {1.1 * limit:.3f} (1.1 x limit)": finals[1.1],
        },
    }


@lesson.step(
    "how close did it come? the fit against the truth, with its noise"
)
def with_noise(ctx):
    """Descent found the (w, b) with the least squared error on these 100 points; least
    squares has a closed form too, (A^T A)^-1 A^T y with A = [x, 1], and the two agree.
    Neither is the truth: another 100 points would give another fit. How far a fit
    wanders is its standard error: with s^2 = sum(r^2) / (N - 2) the noise estimated
    from the residuals, the covariance of (w, b) is s^2 (A^T A)^-1, and the standard
    errors are the square roots of its diagonal. A fitted w within two standard errors
    of the true w is all a fit can promise (about 1 seed in 20 lands further by chance).
    And the slope is real: w is many standard errors away from 0."""
    a = np.stack([ctx.xs, np.ones_like(ctx.xs)], axis=1).astype(np.float64)
    closed_form, *_ = np.linalg.lstsq(
        a, ctx.ys.astype(np.float64), rcond=None
    )
    residuals = ctx.ys - a @ closed_form
    s2 = float(residuals @ residuals) / (len(ctx.xs) - 2)
    se_w, se_b = np.sqrt(np.diag(s2 * np.linalg.inv(a.T @ a)))
    (w, b), gap = (
        ctx.fit,
        float(np.max(np.abs(np.subtract(ctx.fit, closed_form)))),
    )
    said = {
        "w against the truth": ctx.verdict(
            verdicts.with_se(
                "fitted w vs true w",
                w,
                TRUE_W,
                se_w,
                names=("fitted w", "true w"),
                ahead="larger than",
            )
        ),
        "b against the truth": ctx.verdict(
            verdicts.with_se(
                "fitted b vs true b",
                b,
                TRUE_B,
                se_b,
                names=("fitted b", "true b"),
                ahead="larger than",
            )
        ),
        "is there a slope?": ctx.verdict(
            verdicts.with_se(
                "fitted w vs no slope (0)",
                w,
                0.0,
                se_w,
                names=("fitted w", "0"),
                ahead="larger than",
            ),
            expects="fitted w",
        ),
    }
    ctx.record(
        closed_form=[float(v) for v in closed_form],
        descent_vs_closed_form_max_diff=gap,
        standard_errors={"w": float(se_w), "b": float(se_b)},
        noise_estimate=float(np.sqrt(s2)),
    )
    return {
        "descent (w, b)": [round(v, 4) for v in ctx.fit],
        "closed form (w, b)": [round(float(v), 4) for v in closed_form],
        "standard errors (w, b)": [
            round(float(se_w), 4),
            round(float(se_b), 4),
        ],
        "noise estimated from residuals (true 0.5)": round(
            float(np.sqrt(s2)), 4
        ),
        **said,
    }


if __name__ == "__main__":
    raise SystemExit(lesson.main())
