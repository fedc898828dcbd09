"""Exercise 27: augmentation that keeps the label, inside a Keras model."""
import keras
import numpy as np

from lowtf.practice.checking import check, expect

HINT = ("keras.Sequential([keras.layers.RandomTranslation(shift, shift, fill_mode=\"constant\", seed=seed)]); "
        "Keras's random layers act only when called with training=True")
SHIFTS = ("29", "shifts on 300 digits")
MIRROR = ("29", "a mirror keeps a garment's label")


def digits(n: int = 200) -> np.ndarray:
    """The first ``n`` MNIST test digits as float32 [n, 28, 28, 1] in [0, 1]."""
    from lowtf.data import mnist

    images, _ = mnist.load("test")
    return (images[:n, :, :, None] / 255.0).astype("float32")


def centre(images: np.ndarray) -> np.ndarray:
    """Each image's centre of mass (row, column), [n, 2]."""
    grid = np.arange(28, dtype="float64")
    mass = images[..., 0].sum(axis=(1, 2))
    rows = (images[..., 0].sum(axis=2) * grid).sum(axis=1) / mass
    cols = (images[..., 0].sum(axis=1) * grid).sum(axis=1) / mass
    return np.stack([rows, cols], axis=1)


def aligned_distance(out: np.ndarray, reference: np.ndarray, reach: int = 7) -> np.ndarray:
    """Each output image's L1 distance to its reference image under the best whole-pixel shift, [n]."""
    padded = np.pad(reference[..., 0], ((0, 0), (reach, reach), (reach, reach)))
    best = np.full(len(out), np.inf)
    for dr in range(2 * reach + 1):
        for dc in range(2 * reach + 1):
            window = padded[:, dr:dr + 28, dc:dc + 28]
            best = np.minimum(best, np.abs(out[..., 0] - window).sum(axis=(1, 2)))
    return best


def run(model, x, training: bool) -> np.ndarray:
    return np.asarray(model(x, training=training))


@check(HINT, SHIFTS, keras=True)
def test_shifts_while_training_nothing_at_inference(ex):
    x = digits()
    model = ex.augmenter(0.1, seed=3)
    expect(isinstance(model, keras.Model), "a keras model (keras.Sequential)", type(model).__name__)
    at_inference = run(model, x, training=False)
    expect(at_inference.shape == x.shape, f"images of shape {x.shape} back", at_inference.shape)
    expect(np.array_equal(at_inference, x), "the images unchanged with training=False", "changed images",
           nudge="preprocessing done outside Keras's random layers acts at inference too; RandomTranslation "
                 "acts only while training")
    first, second = run(model, x, training=True), run(model, x, training=True)
    moved = np.abs(centre(first) - centre(x)).max(axis=1)
    expect(np.mean(moved > 0.25) > 0.5, "most digits moved while training",
           f"{np.mean(moved > 0.25):.0%} moved by more than a quarter pixel")
    expect(not np.array_equal(first, second), "a new shift on every call", "the same images twice")


@check(HINT, [SHIFTS, MIRROR], keras=True)
def test_a_shift_of_at_most_the_factor_and_nothing_else(ex):
    """A translation by up to 10% (2.8 pixels) moves a digit's centre by about that much and keeps its ink
    (MNIST's digits sit inside a 4-pixel margin); a mirror, a zoom or a brightness change would not."""
    x = digits()
    for shift in (0.1, 0.2):
        out = run(ex.augmenter(shift, seed=5), x, training=True)
        moved = np.abs(centre(out) - centre(x))
        most = float(np.quantile(moved, 0.95))
        expect(most <= 28 * shift + 1.0, f"centres moved by at most {28 * shift:.1f} pixels (+1) at shift {shift}",
               f"95% of moves up to {most:.2f} pixels", nudge="the factor is a fraction of the image's size")
        if shift == 0.2:
            expect(most > 28 * 0.1 + 0.5, "larger moves for shift 0.2 than 0.1", f"up to {most:.2f} pixels",
                   nudge="pass shift to both of RandomTranslation's factors (height and width)")
        ink = out[..., 0].sum(axis=(1, 2)) / x[..., 0].sum(axis=(1, 2))
        expect(np.quantile(np.abs(ink - 1), 0.9) < 0.1, "each digit's ink kept (a shift, not a zoom or a "
               "brightness change)", f"ink ratios from {ink.min():.2f} to {ink.max():.2f}")
        mirrored = x[:, :, ::-1, :]
        nearer_mirror = float(np.mean(aligned_distance(out, mirrored) < aligned_distance(out, x)))
        flips = [type(layer).__name__ for layer in getattr(ex.augmenter(shift), "layers", [])
                 if "Flip" in type(layer).__name__]
        expect(not flips and nearer_mirror < 0.2, "no mirroring (a mirrored digit is another digit or none)",
               f"flip layers {flips}; {nearer_mirror:.0%} of images nearer their mirror",
               nudge="leave RandomFlip out: it keeps a garment's label, not a digit's")
