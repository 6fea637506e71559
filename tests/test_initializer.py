"""mx.init: dispatch rules, dumps/create, every initializer's statistics and layout."""
from __future__ import annotations

import json
import logging
import math

import numpy as np
import pytest

import mixnet as mx
from mixnet import initializer as init
from mixnet.initializer import InitDesc

DTYPES = ["float16", "float32", "float64"]


def fill(initializer, name, shape, dtype="float32", attrs=None):
    arr = mx.nd.zeros(shape, dtype=dtype)
    initializer(InitDesc(name, attrs), arr)
    return arr


def bilinear_reference(shape):
    """Element-by-element form of the upsampling kernel (f and c from the width)."""
    out = np.zeros(shape, dtype=np.float32)
    f = math.ceil(shape[3] / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    for idx in np.ndindex(*shape):
        y, x = idx[2], idx[3]
        out[idx] = (1 - abs(x / f - c)) * (1 - abs(y / f - c))
    return out


class _NameCode(init.Initializer):
    """Writes a number that encodes the piece's name, so layouts can be read back."""

    CODES: dict = {}

    def _init_weight(self, name, arr):
        arr[:] = self.CODES.setdefault(str(name), float(len(self.CODES) + 1))

    _init_bias = _init_weight


# --------------------------------------------------------------------- dumps / create
@pytest.mark.parametrize("obj, text", [
    (init.Uniform(), '["uniform", {"scale": 0.07}]'),
    (init.Uniform(0.5), '["uniform", {"scale": 0.5}]'),
    (init.Normal(), '["normal", {"sigma": 0.01}]'),
    (init.Xavier(), '["xavier", {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 3}]'),
    (init.Xavier("gaussian", "in", 2.0),
     '["xavier", {"rnd_type": "gaussian", "factor_type": "in", "magnitude": 2.0}]'),
    (init.MSRAPrelu(), '["msraprelu", {"factor_type": "avg", "slope": 0.25}]'),
    (init.Orthogonal(), '["orthogonal", {"scale": 1.414, "rand_type": "uniform"}]'),
    (init.Zero(), '["zero", {}]'),
    (init.One(), '["one", {}]'),
    (init.Constant(2.5), '["constant", {"value": 2.5}]'),
    (init.Constant(np.array([1.0, 2.0])), '["constant", {"value": [1.0, 2.0]}]'),
    (init.Constant(mx.nd.array([3.0])), '["constant", {"value": [3.0]}]'),
    (init.Bilinear(), '["bilinear", {}]'),
    (init.LSTMBias(), '["lstmbias", {"forget_bias": 1.0}]'),
    (init.FusedRNN(init.Zero(), 4, 2, "gru", True),
     '["fusedrnn", {"init": "[\\"zero\\", {}]", "num_hidden": 4, "num_layers": 2, '
     '"mode": "gru", "bidirectional": true, "forget_bias": 1.0}]'),
    (init.FusedRNN(None, 3, 1, "lstm"),
     '["fusedrnn", {"init": null, "num_hidden": 3, "num_layers": 1, "mode": "lstm", '
     '"bidirectional": false, "forget_bias": 1.0}]'),
])
def test_dumps_is_mxnet_json(obj, text):
    assert obj.dumps() == text
    back = init.create(text)
    assert type(back) is type(obj)
    assert back.dumps() == text


def test_create_by_name_alias_instance_and_dict():
    assert isinstance(init.create("xavier"), init.Xavier)
    assert isinstance(init.create("Xavier"), init.Xavier)
    assert isinstance(init.create("zeros"), init.Zero)
    assert isinstance(init.create("ones"), init.One)
    assert init.create("uniform", 0.3).scale == 0.3
    assert init.create("normal", sigma=2.0).sigma == 2.0
    u = init.Uniform()
    assert init.create(u) is u
    assert init.create({"initializer": "constant", "value": 4}).value == 4
    assert init.create('{"initializer": "normal", "sigma": 0.5}').sigma == 0.5


@pytest.mark.parametrize("bad", ["xavierr", '["nosuch", {}]'])
def test_create_unknown_name_lists_known(bad):
    with pytest.raises(mx.MXNetError, match=r"unknown initializer .*known: .*xavier"):
        init.create(bad)


def test_create_bad_inputs():
    with pytest.raises(ValueError, match="cannot be parsed"):
        init.create('["xavier", {')
    with pytest.raises(ValueError, match=r"\[name, \{kwargs\}\]"):
        init.create('["xavier"]')
    with pytest.raises(ValueError, match="must be a name"):
        init.create(3)
    with pytest.raises(ValueError, match="extra arguments"):
        init.create(init.Zero(), 1)


def test_register_and_alias():
    @init.register
    @init.alias("my_sevens")
    class MySeven(init.Initializer):
        def _init_weight(self, _, arr):
            arr[:] = 7

    assert isinstance(init.create("myseven"), MySeven)
    a = fill(init.Uniform(), "x_weight", (2,), attrs={"__init__": '["my_sevens", {}]'})
    np.testing.assert_array_equal(a.asnumpy(), [7, 7])
    with pytest.raises(ValueError, match="subclasses of Initializer"):
        init.register(int)


# --------------------------------------------------------------------------- dispatch
def test_init_desc_is_str():
    d = InitDesc("fc1_weight", {"a": "1"}, init.One())
    assert isinstance(d, str) and d == "fc1_weight" and d.endswith("weight")
    assert d.attrs == {"a": "1"} and isinstance(d.global_init, init.One)
    assert InitDesc("x").attrs == {} and InitDesc("x").global_init is None


@pytest.mark.parametrize("name, expected", [
    ("fc_bias", 0.0), ("bn_gamma", 1.0), ("bn_beta", 0.0), ("q_min", 0.0), ("q_max", 1.0),
])
def test_suffix_rules(name, expected):
    arr = mx.nd.full((3, 2), 5.0)
    init.Uniform()(InitDesc(name), arr)
    np.testing.assert_array_equal(arr.asnumpy(), np.full((3, 2), expected))


def test_weight_suffix_uses_weight_rule_and_sets_global_init():
    u = init.Constant(3.0)
    desc = InitDesc("conv_weight")
    arr = mx.nd.zeros((2, 2))
    u(desc, arr)
    np.testing.assert_array_equal(arr.asnumpy(), np.full((2, 2), 3.0))
    assert desc.global_init is u


@pytest.mark.parametrize("spec", ['["constant", {"value": 3}]', "constant", init.Constant(3)])
def test_init_attr_wins_over_suffix(spec):
    if spec == "constant":
        spec = '["constant", {"value": 3}]'
    # a bias name would be zeroed and a moving_var name be unknown: the attr decides
    for name in ("fc_bias", "bn_moving_var"):
        a = fill(init.Uniform(), name, (4,), attrs={"__init__": spec})
        np.testing.assert_array_equal(a.asnumpy(), [3, 3, 3, 3])


def test_aux_states_through_attrs():
    mean = fill(init.Xavier(), "bn_moving_mean", (3,), attrs={"__init__": '["zero", {}]'})
    var = fill(init.Xavier(), "bn_moving_var", (3,), attrs={"__init__": '["one", {}]'})
    np.testing.assert_array_equal(mean.asnumpy(), np.zeros(3))
    np.testing.assert_array_equal(var.asnumpy(), np.ones(3))


def test_unknown_name_is_clear_error():
    arr = mx.nd.zeros((2,))
    with pytest.raises(ValueError, match=r"Unknown initialization pattern for bn_moving_var"):
        init.Uniform()(InitDesc("bn_moving_var"), arr)
    with pytest.raises(mx.MXNetError, match="mystery"):
        init.Uniform()(InitDesc("mystery"), arr)


def test_base_initializer_needs_weight_rule():
    with pytest.raises(NotImplementedError, match="Initializer must override"):
        init.Initializer()(InitDesc("w_weight"), mx.nd.zeros((2,)))


def test_quantized_suffixes():
    w = fill(init.Uniform(), "q_weight_quantize", (50,), dtype="int8")
    v = w.asnumpy()
    assert v.dtype == np.int8 and v.min() >= -127 and v.max() <= 127 and len(set(v)) > 5
    b = mx.nd.full((4,), 3, dtype="int8")
    init.Uniform()(InitDesc("q_bias_quantize"), b)
    np.testing.assert_array_equal(b.asnumpy(), np.zeros(4))


@pytest.mark.parametrize("name, shape, expected", [
    ("bn_moving_mean", (3,), np.zeros(3)),
    ("bn_moving_var", (3,), np.ones(3)),
    ("bn_moving_inv_var", (3,), np.zeros(3)),
    ("x_moving_avg", (3,), np.zeros(3)),
    ("fc_bias", (3,), np.zeros(3)),
    ("bn_gamma", (3,), np.ones(3)),
    ("bn_beta", (3,), np.zeros(3)),
    ("q_min", (2,), np.zeros(2)),
    ("q_max", (2,), np.ones(2)),
    ("stn_loc_weight", (6, 4), np.zeros((6, 4))),
    ("stn_loc_bias", (6,), np.array([1, 0, 0, 0, 1, 0])),
    ("fc_weight", (2, 2), np.full((2, 2), 9.0)),
    ("upsampling0_weight", (2, 1, 4, 4), bilinear_reference((2, 1, 4, 4))),
])
def test_legacy_string_path(name, shape, expected):
    arr = mx.nd.full(shape, 5.0)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        init.Constant(9.0)(name, arr)
    np.testing.assert_allclose(arr.asnumpy(), expected, rtol=1e-6)


def test_legacy_path_errors():
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match="Unknown initialization pattern for mystery"):
            init.Uniform()("mystery", mx.nd.zeros((2,)))
    with pytest.warns(DeprecationWarning):
        with pytest.raises(TypeError, match="NDArray"):
            init.Uniform()("fc_weight", np.zeros(2))
    with pytest.warns(DeprecationWarning):
        with pytest.raises(ValueError, match="6 elements"):
            init.Uniform()("stn_loc_bias", mx.nd.zeros((5,)))


# ----------------------------------------------------------------------- statistics
@pytest.mark.parametrize("dtype", DTYPES)
def test_uniform_bounds_in_place_and_dtype(dtype):
    arr = mx.nd.zeros((40, 50), dtype=dtype)
    handle = arr
    init.Uniform(0.3)(InitDesc("w_weight"), arr)
    v = arr.asnumpy()
    assert arr is handle and v.dtype == np.dtype(dtype) and v.shape == (40, 50)
    assert np.abs(v).max() <= 0.3 and np.abs(v).max() > 0.25
    assert abs(v.astype(np.float64).mean()) < 0.02
    assert abs(v.astype(np.float64).std() - 0.3 / math.sqrt(3)) < 0.01


@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_std(dtype):
    v = fill(init.Normal(0.5), "w_weight", (100, 100), dtype).asnumpy()
    assert v.dtype == np.dtype(dtype)
    assert abs(v.astype(np.float64).std() - 0.5) < 0.02
    assert abs(v.astype(np.float64).mean()) < 0.02


@pytest.mark.parametrize("factor_type, fan", [("avg", (6 * 9 + 8 * 9) / 2), ("in", 6 * 9),
                                              ("out", 8 * 9)])
def test_xavier_uniform_bound(factor_type, fan):
    shape = (8, 6, 3, 3)   # fan_in = 6*3*3, fan_out = 8*3*3
    v = fill(init.Xavier("uniform", factor_type, 3), "c_weight", shape).asnumpy()
    bound = math.sqrt(3.0 / fan)
    assert np.abs(v).max() <= bound * (1 + 1e-6)
    assert np.abs(v).max() > 0.95 * bound


def test_xavier_gaussian_and_msra_std():
    shape = (200, 100)
    v = fill(init.Xavier("gaussian", "in", 2), "w_weight", shape, "float64").asnumpy()
    assert abs(v.std() - math.sqrt(2.0 / 100)) < 0.003
    v = fill(init.MSRAPrelu("out", 0.5), "w_weight", shape, "float64").asnumpy()
    assert abs(v.std() - math.sqrt(2.0 / (1 + 0.25) / 200)) < 0.003
    v = fill(init.MSRAPrelu(), "w_weight", (60, 20, 2, 2), "float64").asnumpy()
    assert abs(v.std() - math.sqrt(2.0 / 1.0625 / ((80 + 240) / 2))) < 0.004


def test_xavier_errors():
    with pytest.raises(ValueError, match=r"vector fc_bias_weight .*at least 2D"):
        fill(init.Xavier(), "fc_bias_weight", (5,))
    with pytest.raises(ValueError, match="factor_type 'bad'"):
        fill(init.Xavier(factor_type="bad"), "w_weight", (2, 2))
    with pytest.raises(ValueError, match="rnd_type 'bad'"):
        fill(init.Xavier(rnd_type="bad"), "w_weight", (2, 2))


@pytest.mark.parametrize("shape", [(4, 2, 3), (6, 4), (5, 5)])
@pytest.mark.parametrize("rand_type", ["uniform", "normal"])
def test_orthogonal(shape, rand_type):
    w = fill(init.Orthogonal(2.0, rand_type), "w_weight", shape, "float64").asnumpy()
    assert w.shape == shape
    m = w.reshape(shape[0], -1)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-5)


def test_orthogonal_bad_rand_type():
    with pytest.raises(ValueError, match="rand_type 'cauchy'"):
        fill(init.Orthogonal(rand_type="cauchy"), "w_weight", (2, 2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_constant_zero_one(dtype):
    np.testing.assert_array_equal(fill(init.Constant(1.5), "w_weight", (2, 3), dtype)
                                  .asnumpy(), np.full((2, 3), 1.5))
    np.testing.assert_array_equal(fill(init.Constant([1, 2, 3]), "w_weight", (2, 3), dtype)
                                  .asnumpy(), [[1, 2, 3]] * 2)
    np.testing.assert_array_equal(fill(init.Zero(), "w_weight", (3,), dtype).asnumpy(),
                                  np.zeros(3))
    one = fill(init.One(), "w_weight", (3,), dtype).asnumpy()
    np.testing.assert_array_equal(one, np.ones(3))
    assert one.dtype == np.dtype(dtype)


@pytest.mark.parametrize("shape", [(1, 1, 4, 4), (2, 3, 3, 3), (1, 2, 5, 6)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_bilinear_exact(shape, dtype):
    got = fill(init.Bilinear(), "up_weight", shape, dtype).asnumpy()
    np.testing.assert_allclose(got, bilinear_reference(shape).astype(dtype), rtol=1e-6)
    assert got.dtype == np.dtype(dtype)


def test_bilinear_needs_4d():
    with pytest.raises(ValueError, match="4-D"):
        fill(init.Bilinear(), "up_weight", (4, 4))


def test_lstm_bias_forget_gate():
    # LSTMCell attaches LSTMBias as the bias variable's __init__; by suffix alone a bias
    # name would be zeroed by the bias rule
    b = fill(init.Uniform(), "lstm_i2h_bias", (12,),
             attrs={"__init__": init.LSTMBias(2.5).dumps()}).asnumpy()
    np.testing.assert_array_equal(b, [0, 0, 0, 2.5, 2.5, 2.5, 0, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(fill(init.LSTMBias(2.5), "lstm_i2h_bias", (4,))
                                  .asnumpy(), np.zeros(4))


# --------------------------------------------------------------------------- FusedRNN
def _fused_layout(mode, num_input, hidden, layers, bidirectional):
    """Names and sizes of the vector's pieces, written out independently of the code."""
    gates = {"lstm": ["_i", "_f", "_c", "_o"], "gru": ["_r", "_z", "_o"],
             "rnn_tanh": [""], "rnn_relu": [""]}[mode]
    dirs = ["l", "r"] if bidirectional else ["l"]
    out = []
    for kind in ("weight", "bias"):
        for layer in range(layers):
            cols_in = num_input if layer == 0 else hidden * len(dirs)
            for d in dirs:
                for conn, cols in (("i2h", cols_in), ("h2h", hidden)):
                    for g in gates:
                        size = hidden * cols if kind == "weight" else hidden
                        out.append(("%s%d_%s%s_%s" % (d, layer, conn, g, kind), size))
    return out


@pytest.mark.parametrize("mode, layers, bidir", [("lstm", 2, True), ("gru", 1, False),
                                                 ("rnn_tanh", 2, False),
                                                 ("rnn_relu", 1, True)])
def test_fused_rnn_layout(mode, layers, bidir):
    num_input, hidden = 3, 2
    layout = _fused_layout(mode, num_input, hidden, layers, bidir)
    total = sum(s for _, s in layout)
    _NameCode.CODES = {}
    arr = fill(init.Uniform(), "rnn_parameters", (total,), attrs={
        "__init__": init.FusedRNN(_NameCode(), hidden, layers, mode, bidir, 0.75)})
    got = arr.asnumpy()
    off = 0
    for name, size in layout:
        piece = got[off:off + size]
        if mode == "lstm" and name.endswith("_f_bias"):
            np.testing.assert_array_equal(piece, 0.75)
        else:
            # the inner initializer saw this piece under this name (weights and biases)
            np.testing.assert_array_equal(piece, _NameCode.CODES[name])
        off += size
    assert off == total
    assert set(_NameCode.CODES) == {n for n, _ in layout
                                    if not (mode == "lstm" and n.endswith("_f_bias"))}


def test_fused_rnn_size_matches_api_map():
    # api-map §3.5: LSTM H=5, I=3, L=2, D=2 -> 1080; GRU H=5 I=3 -> 150; RNN -> 50
    assert sum(s for _, s in _fused_layout("lstm", 3, 5, 2, True)) == 1080
    assert sum(s for _, s in _fused_layout("gru", 3, 5, 1, False)) == 150
    assert sum(s for _, s in _fused_layout("rnn_tanh", 3, 5, 1, False)) == 50


def test_fused_rnn_xavier_per_gate_and_biases():
    hidden, num_input = 4, 6
    layout = _fused_layout("lstm", num_input, hidden, 1, False)
    total = sum(s for _, s in layout)
    arr = fill(init.Uniform(), "lstm_parameters", (total,),
               attrs={"__init__": init.FusedRNN(init.Xavier(), hidden, 1, "lstm").dumps()})
    got = arr.asnumpy()
    n_w = 4 * hidden * num_input + 4 * hidden * hidden
    w_i2h, w_h2h, bias = got[:4 * hidden * num_input], got[4 * hidden * num_input:n_w], \
        got[n_w:]
    # each gate matrix is (hidden, cols): Xavier's bound uses that shape, not 4*hidden
    assert np.abs(w_i2h).max() <= math.sqrt(3.0 / ((hidden + num_input) / 2)) + 1e-6
    assert np.abs(w_i2h).max() > math.sqrt(3.0 / (4 * hidden + num_input) * 2)
    assert np.abs(w_h2h).max() <= math.sqrt(3.0 / hidden) + 1e-6
    # biases: i2h then h2h, gates i f c o; both forget-gate blocks get forget_bias
    expected = np.zeros(8 * hidden)
    expected[hidden:2 * hidden] = 1.0
    expected[5 * hidden:6 * hidden] = 1.0
    np.testing.assert_array_equal(bias, expected)


def test_fused_rnn_without_inner_init_uses_global():
    hidden = 2
    total = sum(s for _, s in _fused_layout("gru", 1, hidden, 1, False))
    arr = fill(init.Constant(0.5), "gru_parameters", (total,),
               attrs={"__init__": init.FusedRNN(None, hidden, 1, "gru").dumps()})
    got = arr.asnumpy()
    n_w = 3 * hidden * 1 + 3 * hidden * hidden
    np.testing.assert_array_equal(got[:n_w], 0.5)       # global's weight rule
    np.testing.assert_array_equal(got[n_w:], 0.0)       # global's bias rule


def test_fused_rnn_errors():
    with pytest.raises(ValueError, match="no lstm vector"):
        fill(init.Uniform(), "p", (31,),
             attrs={"__init__": init.FusedRNN(init.Zero(), 2, 1, "lstm")})
    with pytest.raises(ValueError, match="unknown mode 'lstmp'"):
        init.FusedRNN(init.Zero(), 2, 1, "lstmp")
    with pytest.raises(ValueError, match="global initializer"):
        init.FusedRNN(None, 2, 1, "gru")._init_weight(InitDesc("p"), mx.nd.zeros((18,)))


# --------------------------------------------------------------------- Mixed and Load
def test_mixed_first_match_wins():
    mixed = init.Mixed(["fc1.*", ".*weight", ".*"],
                       [init.Constant(1.0), init.Constant(2.0), init.One()])
    # the chosen initializer still dispatches on the suffix (fc1_bias -> bias rule)
    for name, value in (("fc1_weight", 1.0), ("fc1_bias", 0.0), ("fc2_weight", 2.0),
                        ("fc2_gamma", 1.0), ("fc2_beta", 0.0)):
        arr = mx.nd.full((2,), 9.0)
        mixed(InitDesc(name), arr)
        np.testing.assert_array_equal(arr.asnumpy(), [value, value])
    with pytest.raises(ValueError, match="fc3_weight did not match"):
        init.Mixed(["fc1.*"], [init.Zero()])(InitDesc("fc3_weight"), mx.nd.zeros((1,)))
    with pytest.raises(ValueError, match="2 patterns but 1"):
        init.Mixed(["a", "b"], [init.Zero()])


def test_load_from_file_and_dict(tmp_path):
    path = str(tmp_path / "p.params")
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    mx.nd.save(path, {"arg:fc_weight": mx.nd.array(w), "aux:bn_moving_mean":
                      mx.nd.array([1.0, 2.0])})
    loader = init.Load(path, default_init=init.Constant(7.0))
    arr = mx.nd.zeros((2, 3))
    loader(InitDesc("fc_weight"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), w)
    mm = mx.nd.zeros((2,))
    loader("bn_moving_mean", mm)
    np.testing.assert_array_equal(mm.asnumpy(), [1.0, 2.0])
    other = mx.nd.zeros((2,))
    loader(InitDesc("fc_bias"), other)     # not in the file: default's bias rule
    np.testing.assert_array_equal(other.asnumpy(), [0.0, 0.0])
    with pytest.raises(ValueError, match=r"fc_weight .*target \(3, 2\) vs loaded \(2, 3\)"):
        loader(InitDesc("fc_weight"), mx.nd.zeros((3, 2)))
    with pytest.raises(ValueError, match="Cannot initialize x_weight"):
        init.Load({"a": mx.nd.zeros((1,))})(InitDesc("x_weight"), mx.nd.zeros((1,)))


# ------------------------------------------------------------- RNG and verbosity
def test_reproducible_under_mx_random_seed_and_numpy_untouched():
    state = np.random.get_state()
    draws = []
    for seed in (11, 11, 12):
        mx.random.seed(seed)
        draws.append(fill(init.Xavier(), "w_weight", (5, 7)).asnumpy())
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1])


def test_set_verbosity_logs(caplog):
    u = init.Constant(2.0).set_verbosity(True)
    assert isinstance(u, init.Constant)
    with caplog.at_level(logging.INFO):
        u(InitDesc("fc_weight"), mx.nd.zeros((4,)))
        u(InitDesc("fc_bias"), mx.nd.zeros((4,)))
    msgs = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Initialized fc_weight as weight: 2.0") for m in msgs)
    assert any(m.startswith("Initialized fc_bias as bias: 0.0") for m in msgs)
    caplog.clear()
    u.set_verbosity(True, print_func=lambda a: "custom")
    with caplog.at_level(logging.INFO):
        u(InitDesc("x", {"__init__": '["one", {}]'}), mx.nd.zeros((1,)))
    assert caplog.records[-1].getMessage() == 'Initialized x as ["one", {}]: custom'
    caplog.clear()
    with caplog.at_level(logging.INFO):
        init.Constant(1.0)(InitDesc("w_weight"), mx.nd.zeros((1,)))
    assert not caplog.records


def test_variable_init_attr_roundtrip():
    v = mx.sym.Variable("w", init=init.Xavier(magnitude=2))
    spec = v.attr("__init__")
    assert json.loads(spec) == ["xavier", {"rnd_type": "uniform", "factor_type": "avg",
                                           "magnitude": 2}]
    arr = fill(init.Zero(), "w", (3, 3), attrs={"__init__": spec})
    assert np.abs(arr.asnumpy()).max() > 0
