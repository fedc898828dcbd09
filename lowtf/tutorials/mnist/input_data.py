"""The TF 1.x ``input_data.read_data_sets`` API, with its exact semantics, on offline MNIST.

Old tutorials run unchanged once their imports read::

    import tensorflow.compat.v1 as tf
    tf.disable_v2_behavior()
    from lowtf.tutorials.mnist import input_data
    mnist = input_data.read_data_sets("MNIST_data/", one_hot=True)
    batch_xs, batch_ys = mnist.train.next_batch(100)

Semantics kept from ``tensorflow/contrib/learn/python/learn/datasets/mnist.py``:
validation is the *first* ``validation_size`` rows of the training file; float32
images are scaled by 1/255 into [0, 1]; one-hot labels are float64 ``[N, 10]``;
``next_batch`` shuffles on its first call and stitches the batch that crosses an epoch
boundary, so every batch has exactly ``batch_size`` rows. One thing is deliberately not
copied: the original reseeded numpy's *global* RNG; here each DataSet owns its RNG.
Fashion-MNIST's files work too (its README loads them this way): any of the two
verified datasets found in ``train_dir`` is read; a file that is neither is left alone.
"""
from __future__ import annotations

import collections
import gzip
import shutil
from pathlib import Path

import numpy as np

from lowtf.data import fashion_mnist as _fashion
from lowtf.data import mnist as _mnist
from lowtf.data.idx import IdxError, read_idx
from lowtf.data.store import md5_of

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


def _dtype_name(dtype) -> str:
    """Accept tf.float32 / tf.uint8, numpy dtypes or strings without importing TensorFlow."""
    name = getattr(dtype, "name", None) or np.dtype(dtype).name
    if name not in ("float32", "uint8"):
        raise TypeError(f"Invalid image dtype {dtype!r}, expected uint8 or float32")
    return name


def dense_to_one_hot(labels_dense: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Dense class ids ``[N]`` to one-hot float64 ``[N, num_classes]``."""
    one_hot = np.zeros((labels_dense.shape[0], num_classes))
    one_hot[np.arange(labels_dense.shape[0]), labels_dense.ravel()] = 1
    return one_hot


class DataSet:
    """One split: ``images`` ``[N, 784]`` (or ``[N, 28, 28, 1]``), ``labels`` ``[N]`` or ``[N, 10]``."""

    def __init__(self, images, labels, fake_data=False, one_hot=False, dtype="float32", reshape=True, seed=None):
        dtype = _dtype_name(dtype)
        self._rng = np.random.RandomState(seed)
        if fake_data:
            self._num_examples = 10000
            self.one_hot = one_hot
        else:
            if images.shape[0] != labels.shape[0]:
                raise ValueError(f"images.shape: {images.shape} labels.shape: {labels.shape}")
            self._num_examples = images.shape[0]
            if reshape:
                assert images.shape[3] == 1
                images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
            if dtype == "float32":
                images = images.astype(np.float32) * np.float32(1.0 / 255.0)
        self._images = images
        self._labels = labels
        self._epochs_completed = 0
        self._index_in_epoch = 0

    @property
    def images(self):
        return self._images

    @property
    def labels(self):
        return self._labels

    @property
    def num_examples(self) -> int:
        return self._num_examples

    @property
    def epochs_completed(self) -> int:
        return self._epochs_completed

    def _shuffle(self) -> None:
        perm = np.arange(self._num_examples)
        self._rng.shuffle(perm)
        self._images = self._images[perm]
        self._labels = self._labels[perm]

    def next_batch(self, batch_size: int, fake_data: bool = False, shuffle: bool = True):
        """Return the next ``batch_size`` examples as ``(images, labels)``."""
        if fake_data:
            fake_image = [1] * 784
            fake_label = [1] + [0] * 9 if self.one_hot else 0
            return [fake_image] * batch_size, [fake_label] * batch_size
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:
            self._shuffle()
        if start + batch_size > self._num_examples:
            # Finish the epoch, reshuffle, and fill the batch from the new order.
            self._epochs_completed += 1
            images_rest = self._images[start:self._num_examples]
            labels_rest = self._labels[start:self._num_examples]
            if shuffle:
                self._shuffle()
            self._index_in_epoch = batch_size - (self._num_examples - start)
            end = self._index_in_epoch
            return (np.concatenate((images_rest, self._images[:end]), axis=0),
                    np.concatenate((labels_rest, self._labels[:end]), axis=0))
        self._index_in_epoch += batch_size
        return self._images[start:self._index_in_epoch], self._labels[start:self._index_in_epoch]


def _dataset_of(candidate: Path, spec) -> str:
    """Which verified dataset ``candidate`` (raw or gzip) is: "MNIST" or "Fashion-MNIST"; else IdxError."""
    raw = candidate.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise IdxError(f"{candidate}: corrupt or truncated gzip file ({e}); lowtf leaves it alone: "
                           "move it away (a verified MNIST copy is then placed there) or fetch it again") from None
    digest = md5_of(raw)
    for name, files in (("MNIST", _mnist.FILES), ("Fashion-MNIST", _fashion.FILES)):
        if digest == next(f.md5 for f in files if f.name == spec.name):
            return name
    raise IdxError(f"{candidate}: neither the canonical MNIST nor the Fashion-MNIST {spec.name} (md5 {digest}); "
                   "lowtf leaves it alone: move it away (a verified MNIST copy is then placed there) "
                   "or point train_dir at another folder")


def _find(train_dir: Path, spec) -> tuple[Path, str] | None:
    """``spec``'s file in train_dir (raw or .gz) and which dataset it is, or None when absent."""
    for candidate in (train_dir / spec.name, train_dir / f"{spec.name}.gz"):
        if candidate.is_file():
            return candidate, _dataset_of(candidate, spec)
    return None


def _place(train_dir: Path, spec) -> Path:
    """Put lowtf's verified MNIST copy of ``spec`` in train_dir (and say so), as the original downloaded it."""
    store = _mnist.fetch(log=lambda m: None)
    train_dir.mkdir(parents=True, exist_ok=True)
    target = train_dir / spec.name
    if not (target.exists() and target.samefile(store[spec.name])):   # train_dir may be the store itself
        shutil.copyfile(store[spec.name], target)
        print(f"Placed a verified copy of MNIST's {spec.name} in {train_dir}")
    return target


def read_data_sets(train_dir, fake_data=False, one_hot=False, dtype="float32", reshape=True,
                   validation_size=5000, seed=None, source_url=None) -> Datasets:
    """MNIST as ``Datasets(train, validation, test)``: 55,000 / 5,000 / 10,000 by default.

    ``source_url`` is accepted for compatibility and ignored: data comes from lowtf's verified store.
    """
    if fake_data:
        def fake():
            return DataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype, seed=seed)
        return Datasets(train=fake(), validation=fake(), test=fake())

    train_dir = Path(train_dir)
    if train_dir.exists() and not train_dir.is_dir():
        raise NotADirectoryError(f"train_dir {train_dir} is a file; give the folder that holds (or will hold) "
                                 "the MNIST files")
    if train_dir.is_dir() and train_dir.resolve() == _mnist.folder().resolve():
        _mnist.fetch(log=lambda m: None)   # the verified store itself: let it check (and repair) its files
    present = {spec.name: _find(train_dir, spec) for spec in _mnist.FILES}
    kinds = {found[1] for found in present.values() if found}
    if len(kinds) > 1:
        raise IdxError(f"{train_dir} mixes MNIST and Fashion-MNIST files ({', '.join(sorted(kinds))}); "
                       "keep one dataset per folder")
    missing = [name for name, found in present.items() if found is None]
    if missing and kinds == {"Fashion-MNIST"}:   # lowtf places only MNIST: it would make a mix
        raise IdxError(f"{train_dir} holds Fashion-MNIST files but not {', '.join(missing)}; add them "
                       "(`lowtf data fetch --fashion` keeps a verified set) or give a folder with all four")
    found = {spec.name: present[spec.name] or (_place(train_dir, spec), None) for spec in _mnist.FILES}
    f = {name: read_idx(path, spec.magic) for spec in _mnist.FILES for name, (path, _) in found.items()
         if name == spec.name}
    train_images = f[_mnist.TRAIN_IMAGES.name][..., None]  # [N, 28, 28, 1] as the original extract_images
    train_labels = f[_mnist.TRAIN_LABELS.name]
    test_images = f[_mnist.TEST_IMAGES.name][..., None]
    test_labels = f[_mnist.TEST_LABELS.name]
    if one_hot:
        train_labels, test_labels = dense_to_one_hot(train_labels), dense_to_one_hot(test_labels)

    if not 0 <= validation_size <= len(train_images):
        raise ValueError(f"Validation size should be between 0 and {len(train_images)}. Received: {validation_size}.")

    options = dict(dtype=dtype, reshape=reshape, seed=seed)
    return Datasets(
        train=DataSet(train_images[validation_size:], train_labels[validation_size:], **options),
        validation=DataSet(train_images[:validation_size], train_labels[:validation_size], **options),
        test=DataSet(test_images, test_labels, **options),
    )


def load_mnist(train_dir="MNIST-data"):
    return read_data_sets(train_dir)
