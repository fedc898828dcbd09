"""REST bodies to arrays: the numeric reader agrees with orjson wherever it answers, declines what it
cannot read exactly, and stays within the memory it reserves."""
import json
import tracemalloc

import numpy as np
import orjson
import pytest

from lowtf.serve import json_numbers, rest_json
from lowtf.serve.json_numbers import numeric_body
from lowtf.serve.predictor import ONLY_INPUT

READ = [
    b'{"instances": [1.0, 2, 3]}',
    b'{"instances": [[1, 2], [3, 4]], "signature_name": "x"}',
    b'{"signature_name": "s", "inputs": [[[1], [2]]]}',
    b' {\n "instances" : [ [ -1.5e-3 , 2E+2 ] ]\n} ',
    b'{"instances": [[5], [6]]}',
    b'{"instances": []}',
    b'{"inputs": [[], []]}',
    b'{"instances": [0, 9007199254740991]}',
    b'{"instances": [[1, 2]], "signature_name": "a]b"}',     # a "]" after the array, in a name
    b'{"inputs": [[[1]], [[2]]]}\n',
]
DECLINED = [
    b'{"instances": [[1, 2], [3]]}',              # ragged
    b'{"instances": [1 2]}',                      # no comma: not JSON
    b'{"instances": [1-2]}',                      # a run of number characters that is no number
    b'{"instances": [1,,2]}', b'{"instances": [1, 2,]}',
    b'{"instances": [true]}', b'{"instances": ["a"]}', b'{"instances": [NaN]}',
    b'{"instances": [{"b64": "AA=="}]}', b'{"instances": [{"x": 1}]}',
    b'{"instances": 5}',
    b'{"instances": [1], "x": 1}',
    b'{"signature_name": "a", "instances": [1], "signature_name": "b"}',
    b'{"instances": [9007199254740993]}',          # float64 would round it
    b'{"instances": [+1]}', b'{"instances": [.5]}', b'{"instances": [01]}', b'{"instances": [1.]}',   # not JSON
    b'{"instances": [[1]2]}', b'{"instances": [[1], []2]}', b'{"instances": [1[2]]}',   # outside the brackets
    b'{"instances": [[1], []]}', b'{"instances": [[], [1]]}',
    b'{"instances": [1], "x": [2]}', b'{"instances": [1]], "x": 2}',
]


@pytest.mark.parametrize("body", READ)
def test_the_numeric_reader_agrees_with_orjson(body):
    read = numeric_body(body)
    assert read is not None
    decoded = orjson.loads(body)
    expected = np.asarray(decoded[read.key], dtype=np.float64)
    assert read.values.shape == expected.shape and np.array_equal(read.values, expected)
    assert read.signature_name == decoded.get("signature_name")


@pytest.mark.parametrize("body", DECLINED)
def test_the_numeric_reader_declines_what_it_cannot_read_exactly(body):
    assert numeric_body(body) is None


@pytest.mark.parametrize("chunk", [1, 7, 64 * 1024])
def test_the_numbers_read_a_chunk_at_a_time_are_every_number_once(monkeypatch, chunk):
    """Chunks end at commas wherever they fall (the default, 64 KB, splits this body in several)."""
    monkeypatch.setattr(json_numbers, "CHUNK_BYTES", chunk)
    rng = np.random.default_rng(1)
    values = rng.random((40 if chunk > 7 else 3, 28, 28, 1)) * 10.0 ** rng.integers(-20, 12, (1, 28, 28, 1))
    values[0, 0, :5, 0] = [0, -1, 7, 2.0 ** 52, -0.0]
    body = json.dumps({"instances": values.tolist()}).encode()
    assert np.array_equal(numeric_body(body).values, np.asarray(orjson.loads(body)["instances"], np.float64))
    for bad in (b'{"instances": [1, 2, 3,]}', b'{"instances": [1, 2,, 3]}', b'{"instances": [1, 2 3]}'):
        assert numeric_body(bad) is None


def test_both_paths_give_the_predictor_the_same_call():
    images = np.random.default_rng(0).random((3, 4, 4, 1)).astype(np.float32)
    fast = json.dumps({"instances": images.tolist()}).encode()
    slow = json.dumps({"instances": images.tolist(), "note": "a key the fast path does not take"}).encode()
    a, b = rest_json.parse_predict(fast), rest_json.parse_predict(slow)
    assert numeric_body(fast) is not None and numeric_body(slow) is None
    assert a.row_format and b.row_format and a.signature == b.signature == "serving_default"
    assert np.array_equal(np.asarray(a.inputs[ONLY_INPUT], np.float32), np.asarray(b.inputs[ONLY_INPUT], np.float32))


def test_a_numeric_body_decodes_within_its_reservation():
    """What the server reserves for a numeric body (rest_json.decoding_bytes: NUMERIC_AMPLIFICATION x
    its size and one chunk's orjson peak) covers the reader's peak, for large bodies and a one-image
    one; orjson's Python objects for the whole body would take up to 76x (measured)."""
    images = json.dumps({"instances": np.zeros((400, 28, 28, 1)).tolist()}).encode()    # 2.2 MB of "0.0, "
    densest = b'{"instances":[' + b",".join([b"0"] * 500_000) + b"]}"    # 2 bytes a number: 4x as float64
    digits = json.dumps({"instances": np.random.default_rng(0).random((200, 28, 28, 1)).tolist()}).encode()
    one = json.dumps({"instances": np.random.default_rng(0).random((1, 28, 28, 1)).tolist()}).encode()
    small_ints = b'{"instances":[' + b",".join([b"257"] * 2000) + b"]}"    # a new Python int for each
    for body, shape in ((images, (400, 28, 28, 1)), (densest, (500_000,)), (digits, (200, 28, 28, 1)),
                        (one, (1, 28, 28, 1)), (small_ints, (2000,))):
        assert rest_json.amplification(body) == rest_json.NUMERIC_AMPLIFICATION
        tracemalloc.start()
        try:
            read = rest_json.parse_predict(body)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert read.inputs[ONLY_INPUT].shape == shape
        assert peak < rest_json.decoding_bytes(body), (peak, len(body))


def test_replies_are_tf_servings_shapes_with_numbers_written_from_the_arrays():
    probabilities = np.array([[0.25, 0.75]], np.float32)
    assert orjson.loads(rest_json.format_predict({"p": probabilities}, row_format=True)) == {"predictions": [[0.25, 0.75]]}
    two = orjson.loads(rest_json.format_predict({"p": probabilities, "c": np.array([1])}, row_format=True))
    assert two == {"predictions": [{"p": [0.25, 0.75], "c": 1}]}
    assert orjson.loads(rest_json.format_predict({"p": probabilities}, row_format=False)) == {"outputs": [[0.25, 0.75]]}
    # NaN is written as TF Serving writes it (orjson would write null), strings as text
    assert b"NaN" in rest_json.format_predict({"p": np.array([np.nan], np.float32)}, row_format=True)
    assert json.loads(rest_json.format_predict({"s": np.array([b"cat"], object)}, row_format=True)) == {"predictions": ["cat"]}
