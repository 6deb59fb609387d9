from portside.scheduler.sim import Simulator
from portside.scheduler.simspec import parse_csv, parse_node_spec

WORKLOAD = """name,arrival_s,duration_s,cpu,memory,priority,gang,gang_min
a,0,10,2,2Gi,0,,
b,0,10,2,2Gi,0,,
late,1,10,4,2Gi,0,,
vip,2,5,4,1Gi,100,,
w0,3,4,1,1Gi,0,job,2
w1,3,4,1,1Gi,0,job,2
"""


def run(workload: str = WORKLOAD, nodes: str = "2xcpu=4,memory=16Gi", profile: str = "default"):
    result = Simulator(parse_node_spec(nodes), parse_csv(workload), profile).run()
    return result, {r.name: r for r in result.records}


def test_end_to_end_small_csv():
    result, pods = run()
    # a and b start at once; vip (4 cpu, priority 100) arrives at 2 and preempts one of them, which is
    # re-queued and restarted at once next to the other; late (4 cpu) waits until vip finishes.
    assert pods["a"].start_s == pods["b"].start_s == 0.0
    assert pods["vip"].start_s == 3.0  # preempted at 2, bound after the 1 s back-off
    assert result.preempted == 1
    victim = pods["a"] if pods["a"].preempted else pods["b"]
    assert victim.preempted == 1 and victim.end_s == 12.0  # restarted at 2, ran its 10 s in full
    assert pods["late"].start_s == pods["vip"].end_s == 8.0
    assert pods["w0"].start_s == pods["w1"].start_s == 10.0  # the gang starts together, when room allows
    assert result.placed == 6 and result.pending == 0
    assert result.nodes_used == result.peak_nodes_used == 2
    assert 0 < result.mean_cpu_utilisation <= 1


def test_binpack_uses_fewer_nodes_than_spread():
    workload = "name,arrival_s,duration_s,cpu,memory\n" + "".join(f"p{i},0,10,1,1Gi\n" for i in range(8))
    spread, _ = run(workload, "8xcpu=4,memory=16Gi", "default")
    packed, _ = run(workload, "8xcpu=4,memory=16Gi", "binpack")
    assert spread.nodes_used == 8
    assert packed.nodes_used == 2
    assert packed.mean_cpu_utilisation == 1.0


def test_pod_that_never_fits_stays_pending_with_the_reason():
    result, pods = run("name,arrival_s,duration_s,cpu,memory\nhuge,0,1,64,1Gi\nok,0,1,1,1Gi\n")
    assert result.pending == 1 and result.placed == 1
    assert pods["huge"].node is None
    assert pods["huge"].message.startswith("0/2 nodes are available: 2 Insufficient cpu.")


def test_node_selector_from_csv():
    nodes = parse_node_spec("1xcpu=4,memory=8Gi+1xcpu=4,memory=8Gi")
    workload = parse_csv("name,arrival_s,duration_s,cpu,memory,node_selector\n"
                         "p,0,1,1,1Gi,portside.io/node-group=2\n")
    result = Simulator(nodes, workload).run()
    assert result.records[0].node == "node-00002"
