"""read_data_sets with the TF 1.x semantics, and a classic tutorial running on it."""
import gzip

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from lowtf.data import mnist
from lowtf.data.idx import IdxError
from lowtf.tutorials.mnist import input_data


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    return input_data.read_data_sets(str(tmp_path_factory.mktemp("MNIST_data")), one_hot=True, seed=1)


def test_split_shapes_and_dtypes(datasets):
    assert (datasets.train.num_examples, datasets.validation.num_examples, datasets.test.num_examples) == (
        55000, 5000, 10000)
    assert datasets.train.images.shape == (55000, 784) and datasets.train.images.dtype == np.float32
    assert datasets.train.labels.shape == (55000, 10) and datasets.train.labels.dtype == np.float64
    assert 0.0 == datasets.test.images.min() and datasets.test.images.max() == 1.0


def test_validation_is_the_first_rows_of_the_training_file(datasets):
    raw_images, raw_labels = mnist.load("train", log=lambda m: None)
    np.testing.assert_allclose(datasets.validation.images, raw_images[:5000].reshape(5000, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(datasets.validation.labels.argmax(1), raw_labels[:5000])
    np.testing.assert_array_equal(datasets.train.labels[:3].argmax(1), raw_labels[5000:5003])


def test_train_dir_is_honoured(tmp_path):
    """Files already in train_dir are used (gzip or raw); missing ones are placed there."""
    input_data.read_data_sets(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(s.name for s in mnist.FILES)
    labels = tmp_path / mnist.TEST_LABELS.name
    (tmp_path / (labels.name + ".gz")).write_bytes(gzip.compress(labels.read_bytes()))
    labels.unlink()
    sets = input_data.read_data_sets(str(tmp_path), validation_size=0)
    assert sets.test.labels[:3].tolist() == [7, 2, 1] and not labels.exists()


def test_wrong_file_in_train_dir_is_a_clear_error_and_is_left_alone(tmp_path):
    input_data.read_data_sets(str(tmp_path))
    wrong = b"\0\0\x08\x01" + b"\0" * 4
    (tmp_path / mnist.TRAIN_LABELS.name).write_bytes(wrong)
    with pytest.raises(IdxError, match="neither the canonical MNIST nor the Fashion-MNIST.*leaves it alone"):
        input_data.read_data_sets(str(tmp_path))
    assert (tmp_path / mnist.TRAIN_LABELS.name).read_bytes() == wrong


def test_truncated_gzip_and_a_file_as_train_dir_are_clear_errors(tmp_path):
    input_data.read_data_sets(str(tmp_path))
    labels = tmp_path / mnist.TEST_LABELS.name
    (tmp_path / (labels.name + ".gz")).write_bytes(gzip.compress(labels.read_bytes())[:100])
    labels.unlink()
    with pytest.raises(IdxError, match=f"{labels.name}.gz: corrupt or truncated gzip"):
        input_data.read_data_sets(str(tmp_path))
    with pytest.raises(NotADirectoryError, match="is a file; give the folder"):
        input_data.read_data_sets(str(tmp_path / (labels.name + ".gz")))


def test_fashion_mnist_files_are_read_not_replaced(tmp_path):
    """Fashion-MNIST's README loads its files with read_data_sets: they are read as they are."""
    from lowtf.data import fashion_mnist
    import shutil
    for name, path in fashion_mnist.fetch(log=lambda m: None).items():
        shutil.copyfile(path, tmp_path / name)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    sets = input_data.read_data_sets(str(tmp_path), validation_size=0)
    x, y = fashion_mnist.load("test", log=lambda m: None)
    assert sets.test.labels.tolist() == y.tolist()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_uint8_dense_and_unreshaped(tmp_path):
    sets = input_data.read_data_sets(str(tmp_path), dtype=tf.uint8, reshape=False)
    assert sets.train.images.dtype == np.uint8 and sets.train.images.shape == (55000, 28, 28, 1)
    assert sets.train.labels.dtype == np.uint8 and sets.train.labels.shape == (55000,)


def test_validation_size_bounds(tmp_path):
    with pytest.raises(ValueError, match="Validation size should be between 0 and 60000. Received: 60001."):
        input_data.read_data_sets(str(tmp_path), validation_size=60001)
    with pytest.raises(TypeError, match="expected uint8 or float32"):
        input_data.read_data_sets(str(tmp_path), dtype=tf.int32)


def test_next_batch_epochs_and_stitching():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    ds = input_data.DataSet(images, np.arange(10), dtype=tf.uint8, seed=0)
    seen = [ds.next_batch(4)[1] for _ in range(2)]
    assert ds.epochs_completed == 0 and all(len(b) == 4 for b in seen)
    crossing_images, crossing = ds.next_batch(4)  # 2 left in epoch 0, 2 from the reshuffled epoch 1
    assert ds.epochs_completed == 1 and len(crossing) == 4
    first_epoch = np.concatenate(seen + [crossing[:2]])
    assert sorted(first_epoch.tolist()) == list(range(10))
    np.testing.assert_array_equal(crossing_images.ravel(), crossing)


def test_next_batch_without_shuffle_is_in_order():
    ds = input_data.DataSet(np.arange(5, dtype=np.uint8).reshape(5, 1, 1, 1), np.arange(5), dtype=tf.uint8)
    assert [ds.next_batch(3, shuffle=False)[1].tolist() for _ in range(2)] == [[0, 1, 2], [3, 4, 0]]


def test_seeded_shuffles_repeat_and_leave_numpy_global_rng_alone():
    def first_batch():
        ds = input_data.DataSet(np.zeros((100, 1, 1, 1), np.uint8), np.arange(100), dtype=tf.uint8, seed=7)
        return ds.next_batch(10)[1]
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    np.testing.assert_array_equal(first_batch(), first_batch())
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_fake_data():
    sets = input_data.read_data_sets("unused", fake_data=True, one_hot=True)
    images, labels = sets.train.next_batch(3, fake_data=True)
    assert sets.train.num_examples == 10000
    assert images == [[1] * 784] * 3 and labels == [[1] + [0] * 9] * 3


def test_classic_tf1_softmax_tutorial_runs_unchanged(datasets):
    """The body of TF 1.x mnist_softmax.py, with only its imports changed."""
    x = tf.placeholder(tf.float32, [None, 784])
    W = tf.Variable(tf.zeros([784, 10]))
    b = tf.Variable(tf.zeros([10]))
    y = tf.matmul(x, W) + b
    y_ = tf.placeholder(tf.float32, [None, 10])
    cross_entropy = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y))
    train_step = tf.train.GradientDescentOptimizer(0.5).minimize(cross_entropy)
    sess = tf.InteractiveSession()
    tf.global_variables_initializer().run()
    for _ in range(300):
        batch_xs, batch_ys = datasets.train.next_batch(100)
        sess.run(train_step, feed_dict={x: batch_xs, y_: batch_ys})
    correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1))
    accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32))
    acc = sess.run(accuracy, feed_dict={x: datasets.test.images, y_: datasets.test.labels})
    sess.close()
    assert acc > 0.88


def test_a_fashion_folder_missing_files_is_an_error_not_a_mix(tmp_path):
    """Fashion-MNIST training files without the test files: lowtf places only MNIST, so it says so."""
    import shutil

    from lowtf.data import fashion_mnist
    from lowtf.data.idx import IdxError

    for name, path in fashion_mnist.fetch(log=lambda m: None).items():
        if name.startswith("train"):
            shutil.copy(path, tmp_path / name)
    with pytest.raises(IdxError, match="holds Fashion-MNIST files but not t10k-images-idx3-ubyte"):
        input_data.read_data_sets(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"]


def test_reading_the_store_folder_itself_when_a_file_is_missing(tmp_path, monkeypatch):
    """train_dir is where the store fetches to (lesson 07 reads the store's own folder): no copy onto itself."""
    import shutil

    from lowtf.data import mnist as mnist_store

    real = mnist_store.fetch(log=lambda m: None)
    for name, path in real.items():
        if name != "t10k-labels-idx1-ubyte":
            shutil.copy(path, tmp_path / name)

    def fetch_into_tmp(log=print):   # what the store does when tmp_path is its folder: fetch, then point there
        shutil.copy(real["t10k-labels-idx1-ubyte"], tmp_path / "t10k-labels-idx1-ubyte")
        return {name: tmp_path / name for name in real}

    monkeypatch.setattr(mnist_store, "fetch", fetch_into_tmp)
    data = input_data.read_data_sets(str(tmp_path))
    assert data.test.num_examples == 10_000
