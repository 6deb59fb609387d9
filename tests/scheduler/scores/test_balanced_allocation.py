import numpy as np
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.scores.balanced_allocation import score


def test_formula_is_one_minus_std_of_fractions():
    frac = np.array([[0.5, 0.9], [0.5, 0.1]])
    assert np.allclose(score(frac), [100.0, 60.0])
    three = np.array([[0.2], [0.4], [0.6]])
    assert np.allclose(score(three), [(1 - np.std([0.2, 0.4, 0.6])) * 100])


def test_prefers_the_node_where_cpu_and_memory_stay_even(cluster):
    # Equal least-allocated totals on both nodes; only balance tells them apart.
    c = cluster([node("cpu-used", cpu=10, mem_gi=10), node("both-used", cpu=10, mem_gi=10)])
    c.bind(pod("x", cpu=4, mem_gi=0), "cpu-used")
    c.bind(pod("y", cpu=2, mem_gi=2), "both-used")
    assert c.place(pod("p", cpu=1, mem_gi=1)) == "both-used"
