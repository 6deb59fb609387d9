import numpy as np
from support.builders import node_info as node
from support.builders import pod_info as pod

from portside.scheduler.scores.image_locality import MIN_BYTES, score

MB = 1024 * 1024


def test_score_is_linear_between_the_thresholds():
    assert np.allclose(score(np.array([0.0, MIN_BYTES, 1000 * MB, 5000 * MB]), 1), [0, 0, 100, 100])


def test_node_holding_the_image_wins(cluster):
    c = cluster([node("cold", cpu=8), node("warm", images={"app:v1": 800 * MB}), node("cold2", cpu=8)])
    assert c.place(pod("p", images=("app:v1",))) == "warm"
