"""Dependency-engine semantics, checked on every engine class directly."""
import random
import threading
import time

import pytest

import mixnet as mx
from mixnet.engine import NaiveEngine, ThreadedEngine, ThreadedEnginePerDevice, Var

BIG = 1 << 30  # a cost that always sends a ready task to a worker thread


@pytest.fixture(params=["NaiveEngine", "ThreadedEngine", "ThreadedEnginePerDevice"])
def eng(request, monkeypatch):
    monkeypatch.setenv("MXNET_CPU_WORKER_NTHREADS", "4")
    e = {"NaiveEngine": NaiveEngine, "ThreadedEngine": ThreadedEngine,
         "ThreadedEnginePerDevice": ThreadedEnginePerDevice}[request.param]()
    yield e
    try:
        e.wait_for_all()
    except mx.MXNetError:
        pass
    e.stop()


def test_write_after_read_and_read_after_write(eng):
    v = Var("v")
    log = []
    gate = threading.Event()

    def slow_write():
        gate.wait(5)
        log.append("w1")

    if isinstance(eng, NaiveEngine):
        gate.set()  # synchronous: the write runs inside push
    eng.push(slow_write, mx.cpu(), (), (v,), cost=BIG)
    eng.push(lambda: log.append("r1"), mx.cpu(), (v,), ())
    eng.push(lambda: log.append("r2"), mx.cpu(), (v,), ())
    eng.push(lambda: log.append("w2"), mx.cpu(), (), (v,))
    gate.set()
    eng.wait_for_var(v)
    eng.wait_for_all()
    assert log[0] == "w1" and log[-1] == "w2" and sorted(log[1:3]) == ["r1", "r2"]


def test_independent_tasks_run_concurrently():
    eng = ThreadedEngine()
    barrier = threading.Barrier(2, timeout=5)
    met = []

    def task():
        barrier.wait()  # both tasks must be running at once to pass
        met.append(1)

    eng.push(task, mx.cpu(), (), (Var(),), cost=BIG)
    eng.push(task, mx.cpu(), (), (Var(),), cost=BIG)
    eng.wait_for_all()
    eng.stop()
    assert met == [1, 1]


def test_priority_orders_ready_tasks():
    eng = ThreadedEnginePerDevice()  # one CPU worker by default: a strict queue
    gate = threading.Event()
    order = []
    eng.push(lambda: gate.wait(5), mx.cpu(), (), (Var(),), cost=BIG)
    for pr in (0, 5, 1):
        eng.push(lambda pr=pr: order.append(pr), mx.cpu(), (), (Var(),), priority=pr, cost=BIG)
    gate.set()
    eng.wait_for_all()
    eng.stop()
    assert order == [5, 1, 0]


def test_error_is_kept_on_var_and_raised_with_op_name(eng):
    a, b, c = Var("a"), Var("b"), Var("c")

    def boom():
        raise ValueError("kernel exploded")

    eng.push(boom, mx.cpu(), (), (a,), name="my_failing_op")
    ran = []
    eng.push(lambda: ran.append(1), mx.cpu(), (a,), (b,), name="dependent")
    eng.push(lambda: ran.append(2), mx.cpu(), (), (c,), name="independent")
    with pytest.raises(mx.MXNetError, match="my_failing_op.*kernel exploded"):
        eng.wait_for_var(a)
    # the dependent task did not run and fails the same way; the independent one ran
    with pytest.raises(mx.MXNetError, match="my_failing_op"):
        eng.wait_for_var(b)
    eng.wait_for_var(c)
    assert ran == [2]
    # the error stays on the var
    with pytest.raises(mx.MXNetError, match="my_failing_op"):
        eng.wait_for_var(a)
    eng.wait_for_all()  # already reported at the waits above


def test_wait_for_all_raises_pending_error_once(eng):
    def boom():
        raise RuntimeError("late failure")

    eng.push(boom, mx.cpu(), (), (Var(),), name="late_op", cost=BIG)
    with pytest.raises(mx.MXNetError, match="late_op"):
        eng.wait_for_all()
    eng.wait_for_all()  # reported, so the next wait is clean


def test_error_reaches_caller_thread_not_worker(eng):
    v = Var()

    def boom():
        raise KeyError("x")

    eng.push(boom, mx.cpu(), (), (v,), name="op_on_worker", cost=BIG)
    with pytest.raises(mx.MXNetError, match="op_on_worker") as info:
        eng.wait_for_var(v)
    assert isinstance(info.value.__cause__, KeyError)  # the original error is chained


def test_push_sync_returns_value_after_dependencies(eng):
    v = Var()
    box = []
    eng.push(lambda: (time.sleep(0.01), box.append(7)), mx.cpu(), (), (v,), cost=BIG)
    assert eng.push_sync(lambda: list(box), mx.cpu(), (v,), ()) == [7]


def test_duplicate_vars_do_not_deadlock(eng):
    v = Var()
    hits = []
    eng.push(lambda: hits.append(1), mx.cpu(), (v, v), (v, v))
    eng.wait_for_var(v)
    assert hits == [1]


def _stress(eng, n_tasks, n_vars, n_threads, seed):
    """Push random read/write tasks from several threads; return (final, replay)."""
    state = [0] * n_vars
    vars_ = [Var("s%d" % i) for i in range(n_vars)]
    log = []
    log_lock = threading.Lock()
    rng = random.Random(seed)
    plans = []
    for t in range(n_tasks):
        reads = rng.sample(range(n_vars), rng.randint(0, 3))
        writes = rng.sample([i for i in range(n_vars) if i not in reads], rng.randint(1, 2))
        plans.append((t, reads, writes, rng.random() < 0.3))

    def make(tid, reads, writes):
        def task():
            acc = tid
            for r in reads:
                acc = (acc * 31 + state[r]) % 1000003
            if tid % 7 == 0:
                time.sleep(0)  # yield mid-task so races would show
            for w in writes:
                state[w] = (acc + w * 17 + state[w]) % 1000003
        return task

    def worker(chunk):
        for tid, reads, writes, heavy in chunk:
            with log_lock:  # the engine sees pushes in exactly the logged order
                log.append((tid, reads, writes))
                eng.push(make(tid, reads, writes), mx.cpu(tid % 2),
                         [vars_[r] for r in reads], [vars_[w] for w in writes],
                         name="t%d" % tid, cost=BIG if heavy else 0)

    threads = [threading.Thread(target=worker, args=(plans[i::n_threads],))
               for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    eng.wait_for_all()
    replay = [0] * n_vars
    for tid, reads, writes in log:
        acc = tid
        for r in reads:
            acc = (acc * 31 + replay[r]) % 1000003
        for w in writes:
            replay[w] = (acc + w * 17 + replay[w]) % 1000003
    return state, replay


@pytest.mark.timeout(120)
def test_stress_matches_serial_replay(eng):
    final, replay = _stress(eng, n_tasks=10000, n_vars=32, n_threads=4, seed=1234)
    assert final == replay


@pytest.mark.timeout(60)
def test_stress_failure_reaches_waiter(eng):
    vars_ = [Var() for _ in range(8)]
    for i in range(200):
        eng.push(lambda: None, mx.cpu(), [vars_[i % 8]], [vars_[(i + 1) % 8]], cost=BIG * (i % 2))

    def boom():
        raise ZeroDivisionError("division in task 200")

    eng.push(boom, mx.cpu(), [vars_[0]], [vars_[3]], name="failing_task_200", cost=BIG)
    with pytest.raises(mx.MXNetError, match="failing_task_200"):
        eng.wait_for_var(vars_[3])


def test_bulk_scope_and_set_bulk_size():
    prev = mx.engine.set_bulk_size(4)
    try:
        assert mx.engine.get_bulk_size() == 4
        with mx.engine.bulk(16):
            assert mx.engine.get_bulk_size() == 16
        assert mx.engine.get_bulk_size() == 4
    finally:
        mx.engine.set_bulk_size(prev)
    with pytest.raises(mx.MXNetError):
        mx.engine.set_bulk_size(-1)


def test_unknown_engine_type_is_a_clear_error(monkeypatch):
    with pytest.raises(mx.MXNetError, match="Cannot find Engine"):
        mx.engine.set_engine_type("NoSuchEngine")


def test_switch_engine_type_drains_and_keeps_arrays_valid():
    a = mx.nd.array([1, 2, 3])
    b = a * 2
    old = mx.engine.set_engine_type("NaiveEngine")
    try:
        assert mx.engine.engine_type() == "NaiveEngine"
        assert (b + 1).asnumpy().tolist() == [3, 5, 7]
    finally:
        mx.engine.set_engine_type(old)
    assert mx.engine.engine_type() == old


@pytest.mark.parametrize("cls", [NaiveEngine, ThreadedEnginePerDevice])
def test_debug_mode_names_the_line_that_pushed_the_failing_op(cls, monkeypatch):
    monkeypatch.setenv("MXNET_ENGINE_INFO", "1")
    eng = cls()
    v = Var()

    def boom():
        raise ValueError("x")

    eng.push(boom, mx.cpu(), (), (v,), name="traced_op", cost=BIG)
    with pytest.raises(mx.MXNetError, match=r"(?s)traced_op.*pushed at.*test_engine\.py"):
        eng.wait_for_var(v)
    eng.stop()
