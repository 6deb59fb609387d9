"""Acceptance on synthetic traces: forecasts beat the seasonal-naive baseline on a held-out week, the plan's
node count replayed on that week leaves nothing pending and is at most one node above the smallest count that
does, and right-sizing lands within 15 % of the known truth."""

from __future__ import annotations

import numpy as np
import pytest

from portside.capacity import forecast as fc
from portside.capacity.analysis import plan, replay, what_if
from portside.capacity.histogram import CPU_MARGIN, MEMORY_MARGIN, DecayingHistogram, recommend
from portside.capacity.plan import Demand, NodeShape
from portside.capacity.synth import DAY, generate, write_csv
from portside.capacity.trace import parse_trace


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    path = tmp_path_factory.mktemp("trace") / "trace.csv"
    _, columns = generate(40, 28, seed=7)
    write_csv(columns, path)
    trace = parse_trace(path)
    cut = trace.start + 21 * DAY
    return trace.window(trace.start, cut), trace.window(cut, trace.end)


def test_forecast_beats_seasonal_naive_on_held_out_week(split):
    train, held = split
    history, actual = fc.hourly(train), fc.hourly(held)
    assert actual.cpu.shape[1] == 168
    f = fc.fit(history.cpu, 168)
    ours = fc.mase(actual.cpu, f.point, history.cpu)
    naive = fc.mase(actual.cpu, f.naive, history.cpu)
    assert ours.mean() < 1 and ours.mean() < naive.mean(), (ours.mean(), naive.mean())
    total = history.cpu.sum(axis=0, keepdims=True)
    ft = fc.fit(total, 168)
    assert fc.mase(actual.cpu.sum(axis=0, keepdims=True), ft.point, total)[0] < 1
    inside = (actual.cpu >= f.lo95) & (actual.cpu <= f.hi95)
    assert inside.mean() > 0.85  # the 95 % band holds most of the held-out hours


@pytest.mark.parametrize("shape", ["cpu=4,memory=16Gi", "cpu=8,memory=32Gi"])
def test_plan_replayed_on_held_out_week(split, shape):
    train, held = split
    p = plan(train, NodeShape.parse(shape), target=0.99)
    result = replay(p, held)
    assert result["pending_on_plan"] == 0, result
    assert result["nodes_min_feasible"] <= p.nodes_needed <= result["nodes_min_feasible"] + 1, result


def test_spare_and_what_if(split):
    train, _ = split
    p = plan(train, NodeShape.parse("cpu=8,memory=32Gi"), target=0.95, spare=2)
    assert p.nodes_planned == p.nodes_needed + 2
    small = what_if(p, Demand("shop/web", 2, 0.1, 2**28))
    assert small["fits"] and small["reason"] == ""
    big = what_if(p, Demand("shop/batch", 20, 6.0, 2**30))
    assert not big["fits"] and big["pending"] > 0
    assert "Insufficient cpu" in big["reason"]


def test_recommendation_within_15_percent_of_known_truth():
    rng = np.random.default_rng(3)
    t = 1_793_491_200.0 + np.arange(28 * 288) * 300.0
    mu, s = np.log(0.4), 0.3  # cpu per replica: lognormal, so its true p90 is exp(mu + 1.2816 s)
    cpu = rng.lognormal(mu, s, len(t))
    low, high = 300 * 2**20, 500 * 2**20  # memory: uniform, true peak `high`
    memory = rng.uniform(low, high, len(t))
    rec = recommend(t, cpu, memory)
    cpu_truth = np.exp(mu + 1.2816 * s) * (1 + CPU_MARGIN)
    memory_truth = high * (1 + MEMORY_MARGIN)
    assert abs(rec.cpu_request / cpu_truth - 1) < 0.15, (rec.cpu_request, cpu_truth)
    assert abs(rec.memory_request / memory_truth - 1) < 0.15, (rec.memory_request, memory_truth)


def test_recommendation_follows_recent_usage():
    """The decaying histogram sizes a workload that doubled a week ago for its present usage."""
    t = 1_793_491_200.0 + np.arange(28 * 288) * 300.0
    cpu = np.where(t < t[-1] - 7 * DAY, 0.5, 1.0)
    rec = recommend(t, cpu, np.full(len(t), 2.0**28))
    assert abs(rec.cpu_request / (1.0 * (1 + CPU_MARGIN)) - 1) < 0.15


def test_synthetic_recommendations_match_the_generator(split):
    """Known truth in the synthetic trace: the cpu recommendation is p90 of the generator's last days (+15 %)."""
    specs, columns = generate(5, 28, seed=11, bursts=False, growth=(0.0, 0.0))
    from portside.capacity.analysis import rightsize
    from portside.capacity.trace import Trace, WorkloadSeries

    trace = Trace()
    for w in specs:
        rows = columns["workload"] == w.name
        n = int(rows.sum())
        trace.workloads[w.name] = WorkloadSeries(w.name, columns["timestamp"][rows], columns["cpu"][rows],
                                                 columns["memory"][rows], columns["replicas"][rows],
                                                 np.full(n, np.nan), np.full(n, np.nan), np.zeros(n))
    sizing = rightsize(trace)
    for w in specs:
        noiseless = columns["cpu"][columns["workload"] == w.name] / w.replicas
        truth = np.quantile(noiseless, 0.9) * (1 + CPU_MARGIN)
        assert abs(sizing[w.name].recommendation.cpu_request / truth - 1) < 0.15


def test_histogram_percentiles_err_up_by_at_most_a_bucket():
    h = DecayingHistogram(0.01, half_life_s=1e12)
    values = np.linspace(0.0, 10.0, 10001)
    h.add(np.zeros(len(values)), values)
    for p in (0.5, 0.9, 0.99):
        estimate, truth = h.percentile(p), np.quantile(values, p)
        assert truth <= estimate <= truth * 1.06


def test_smallest_fit_is_the_first_count_that_fits():
    from portside.capacity.plan import lower_bound, pods_for, smallest_fit, try_fit

    shape = NodeShape.parse("cpu=4,memory=16Gi")
    pods = pods_for([Demand("a/web", 7, 1.5, 2**30), Demand("a/db", 3, 2.5, 6 * 2**30), Demand("b/x", 9, 0.3, 2**28)])
    fit = smallest_fit(shape, pods)
    assert fit.pending == 0
    assert try_fit(shape, fit.nodes - 1, pods).pending  # one node fewer leaves pods pending
    # five 3-core pods: dividing 15 cores by 4 says 4 nodes, but no two share a node
    lone = pods_for([Demand("a/wide", 5, 3.0, 2**30)])
    assert lower_bound(shape, lone) == 4 and smallest_fit(shape, lone).nodes == 5


def test_headroom_and_fragmentation():
    from portside.capacity.plan import fragmentation, headroom, pods_for, try_fit

    shape = NodeShape.parse("cpu=4,memory=16Gi")
    wanted = [Demand("a/big", 2, 3.0, 2**30), Demand("a/small", 1, 0.5, 2**30)]
    placement = try_fit(shape, 2, pods_for(wanted))
    assert not placement.pending
    room = headroom(placement, wanted)
    assert room == {"a/big": 0, "a/small": 3}  # 1 core left on one node, 0.5 on the other
    frag = fragmentation(placement, wanted)
    assert frag["free_cpu"] == 1.5 and frag["stranded_cpu"] == 0.0
