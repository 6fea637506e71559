"""mixnet.registry: the shared name registry behind mx.init, mx.metric and mx.optimizer."""
import json
import warnings

import pytest

from mixnet import registry
from mixnet.base import MXNetError
from mixnet import initializer as init
from mixnet import metric as M
from mixnet import optimizer as opt


class _Shape:
    """A small family with constructor arguments, to see them arrive."""

    def __init__(self, size=1, colour="red"):
        self.size = size
        self.colour = colour


class _ShapeError(MXNetError, ValueError):
    pass


def _fresh(error=_ShapeError):
    """A new base class and its registry, so tests share no names."""
    base = type("Base", (_Shape,), {})
    return base, registry.registry_for(base, "shape", error)


def test_register_alias_and_case_insensitive_lookup():
    base, reg = _fresh()

    @reg.register
    @reg.alias("Sq", "box")
    class Square(base):
        pass

    assert reg.names() == ["box", "sq", "square"]
    assert reg.find("SQUARE") is Square and reg.find("sQ") is Square
    assert reg.register(Square, name="Cube") is Square and reg.find("cube") is Square
    with pytest.raises(_ShapeError, match=r"unknown shape 'circle' \(known: box, cube, sq, "
                                          r"square\)"):
        reg.find("circle")
    with pytest.raises(_ShapeError, match="unknown shape 3"):
        reg.find(3)


def test_register_rejects_other_classes_and_warns_on_rebinding():
    base, reg = _fresh()
    with pytest.raises(_ShapeError, match="can only register subclasses of Base, got "):
        reg.register(dict)
    with pytest.raises(ValueError):  # the family's error is a ValueError here
        reg.register("square")
    first = reg.register(type("Tri", (base,), {}))
    second = type("Tri", (base,), {})
    with pytest.warns(UserWarning, match=r"New shape .*Tri registered with name tri is "
                                         r"overriding existing shape .*Tri"):
        reg.register(second)
    assert reg.find("tri") is second and reg.find("tri") is not first


def test_create_from_every_spec_form():
    base, reg = _fresh()

    @reg.register
    class Square(base):
        pass

    a = reg.create("square", 4, colour="blue")
    assert type(a) is Square and (a.size, a.colour) == (4, "blue")
    assert reg.create(a) is a
    b = reg.create(shape="SQUARE", size=2)  # the nickname keyword names the class
    assert type(b) is Square and b.size == 2
    c = reg.create({"shape": "square", "size": 3}, colour="green")  # dict merged with kwargs
    assert (c.size, c.colour) == (3, "green")
    d = reg.create(json.dumps(["square", {"size": 5}]))
    assert type(d) is Square and (d.size, d.colour) == (5, "red")
    e = reg.create('  {"shape": "square", "colour": "black"}  ')
    assert (e.size, e.colour) == (1, "black")
    # the spec is positional: a constructor keyword equal to the nickname is no spec
    f = reg.create("square", size=7)
    assert f.size == 7


def test_create_bad_specs_raise_the_family_error():
    base, reg = _fresh()
    reg.register(type("Square", (base,), {}))
    with pytest.raises(_ShapeError, match="create\\(\\) needs the shape"):
        reg.create()
    with pytest.raises(_ShapeError, match="extra arguments"):
        reg.create(reg.create("square"), 1)
    with pytest.raises(_ShapeError, match=r"shape must be a name, JSON string, dict or "
                                          r"Base, got int"):
        reg.create(3)
    with pytest.raises(_ShapeError, match="shape JSON .* cannot be parsed"):
        reg.create('["square", {')
    for bad in ('["square"]', '["square", 1]', '[1, {}]', '["a", {}, 3]'):
        with pytest.raises(_ShapeError, match=r"must be \[name, \{kwargs\}\]"):
            reg.create(bad)
    with pytest.raises(_ShapeError, match="a JSON spec takes no extra arguments"):
        reg.create('["square", {}]', size=2)
    with pytest.raises(_ShapeError, match=r"unknown shape 'circle' \(known: square\)"):
        reg.create('["circle", {}]')


def test_mxnet_functional_api_shares_one_registry_per_base_class():
    base = type("Other", (_Shape,), {})
    register = registry.get_register_func(base, "other")
    alias = registry.get_alias_func(base, "other")
    create = registry.get_create_func(base, "other")
    assert registry.get_registry(base) == {}

    @register
    @alias("o1")
    class One(base):
        pass

    table = registry.get_registry(base)
    assert table == {"one": One, "o1": One}
    table.clear()  # a copy: the registry keeps its names
    assert type(create("O1", size=9)) is One and create("one").size == 1
    assert registry.registry_for(base, "ignored").nickname == "other"
    # no error class given: plain MXNetError
    with pytest.raises(MXNetError, match="unknown other 'two'"):
        create("two")


def test_initializer_metric_optimizer_use_the_shared_registry():
    assert registry.get_registry(init.Initializer)["xavier"] is init.Xavier
    assert registry.get_registry(init.Initializer)["zeros"] is init.Zero
    assert registry.get_registry(M.EvalMetric)["acc"] is M.Accuracy
    assert registry.get_registry(opt.Optimizer)["adam"] is opt.Adam
    # the optimizer's public table is the registry's own, not a copy
    assert opt.Optimizer.opt_registry is registry.registry_for(opt.Optimizer, "x").entries
    x = registry.get_create_func(init.Initializer, "initializer")('["xavier", '
                                                                  '{"magnitude": 2}]')
    assert type(x) is init.Xavier and x.magnitude == 2.0
    m = registry.get_create_func(M.EvalMetric, "metric")("top_k_acc", top_k=3)
    assert type(m) is M.TopKAccuracy and m.top_k == 3
    for create, error, nick in ((init.create, init.InitError, "initializer"),
                                (M.create, M.MetricError, "metric"),
                                (opt.create, opt.OptimizerNameError, "optimizer")):
        with pytest.raises(error, match="unknown %s 'nosuch'" % nick) as info:
            create("nosuch")
        assert isinstance(info.value, MXNetError) and isinstance(info.value, ValueError)
    with pytest.raises(opt.OptimizerNameError):  # not a name at all
        opt.create(3)
    # re-registering a built-in name warns in every family
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            init.register(type("Xavier", (init.Initializer,), {}))
        finally:
            registry.registry_for(init.Initializer, "initializer").entries["xavier"] = \
                init.Xavier
    assert any("overriding existing initializer" in str(w.message) for w in seen)
    assert type(init.create("xavier")) is init.Xavier
