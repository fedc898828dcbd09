"""Layer output shapes, dropout behaviour, model shapes and parameter counts."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from lowtf.models import MODELS, count_parameters, lenet5
from lowtf.nn import conv2d, dense, dropout, flatten, max_pool, training_flag


@pytest.mark.parametrize("padding,strides,kernel,expected", [
    ("SAME", 1, 5, (28, 28)), ("VALID", 1, 5, (24, 24)), ("SAME", 2, 5, (14, 14)),
    ("VALID", 2, 5, (12, 12)), ("VALID", 3, 3, (9, 9)), ("SAME", 3, 3, (10, 10))])
def test_conv2d_output_shapes(padding, strides, kernel, expected):
    x = tf.placeholder(tf.float32, [None, 28, 28, 3])
    y, (w, b) = conv2d(x, 16, kernel, "c", strides=strides, padding=padding)
    assert y.shape.as_list() == [None, *expected, 16]
    assert w.shape.as_list() == [kernel, kernel, 3, 16] and b.shape.as_list() == [16]
    assert w.op.name == "c/weights" and b.op.name == "c/biases"
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(y, {x: np.zeros((2, 28, 28, 3))}).shape == (2, *expected, 16)


@pytest.mark.parametrize("padding,size,stride,expected", [("SAME", 2, 2, 14), ("VALID", 3, 2, 13), ("SAME", 3, 1, 28)])
def test_max_pool_shapes(padding, size, stride, expected):
    y = max_pool(tf.zeros([1, 28, 28, 4]), "p", size=size, stride=stride, padding=padding)
    assert y.shape.as_list() == [1, expected, expected, 4]


def test_max_pool_takes_the_max():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    with tf.Session() as sess:
        out = sess.run(max_pool(tf.constant(x), "p"))
    assert out[0, :, :, 0].tolist() == [[5, 7], [13, 15]]


def test_dense_and_flatten():
    x = tf.zeros([3, 7, 7, 64])
    f = flatten(x)
    y, (w, b) = dense(f, 1024, "fc1", activation=None)
    assert f.shape.as_list() == [3, 3136] and y.shape.as_list() == [3, 1024]
    assert w.shape.as_list() == [3136, 1024]


def test_dropout_is_identity_unless_training():
    tf.set_random_seed(0)
    x = tf.ones([200, 500])
    training = training_flag()
    y = dropout(x, 0.3, training)
    with tf.Session() as sess:
        off = sess.run(y)
        on = sess.run(y, {training: True})
    np.testing.assert_array_equal(off, np.ones((200, 500)))
    kept = on != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(on[kept], 1 / 0.7, rtol=1e-6)
    assert abs(on.mean() - 1.0) < 0.02
    with pytest.raises(ValueError, match="rate must be in"):
        dropout(x, 1.0, training)


@pytest.mark.parametrize("name,params", [("softmax", 7_850), ("mlp", 443_610), ("lenet5", 3_274_634),
                                         ("convnet", 1_676_266)])
def test_models_shapes_and_parameter_counts(name, params):
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    logits, variables = MODELS[name](x, training_flag())
    assert logits.shape.as_list() == [None, 10]
    assert count_parameters(variables) == params


def test_convnet_takes_other_input_shapes():
    logits, variables = MODELS["convnet"](tf.zeros([2, 32, 32, 3]), training_flag())
    assert logits.shape.as_list() == [2, 10]
    assert variables["convnet/conv1_1/weights"].shape.as_list() == [3, 3, 3, 32]
    assert variables["convnet/fc/weights"].shape.as_list() == [8 * 8 * 64, 512]


def test_he_init_scales_each_layer_to_its_fan_in():
    tf.set_random_seed(0)
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    _, he = lenet5(x, training_flag(), init="he")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        values = sess.run(he)
    for name, fan_in in [("conv1", 25), ("conv2", 800), ("fc1", 3136), ("logits", 1024)]:
        w = values[f"lenet5/{name}/weights"]
        assert abs(w.std() / np.sqrt(2 / fan_in) - 1) < 0.05, name  # the truncation is compensated
        assert not values[f"lenet5/{name}/biases"].any()
    with pytest.raises(ValueError, match="init must be 'tutorial' or 'he'"):
        lenet5(x, training_flag(), init="xavier")


def test_he_weights_keep_a_relu_layers_output_scale():
    # A dense ReLU layer with He weights: the mean square of its output equals that of its input
    # (to sampling error), where stddev 0.1 with 3136 inputs multiplies it by about 16.
    tf.set_random_seed(0)
    x = tf.random_normal([512, 3136], seed=1)
    he_out, _ = dense(x, 1024, "he", stddev="he", bias=0.0)
    seed_out, _ = dense(x, 1024, "seed", stddev=0.1, bias=0.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        xv, hv, sv = sess.run([x, he_out, seed_out])
    assert abs(np.mean(hv ** 2) / np.mean(xv ** 2) - 1) < 0.1
    assert np.mean(sv ** 2) / np.mean(xv ** 2) > 10
