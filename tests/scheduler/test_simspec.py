import pytest

from portside.scheduler.simspec import SimInputError, load_workload, parse_csv, parse_node_spec

GI = 1 << 30


def test_node_spec_groups():
    nodes = parse_node_spec("2xcpu=8,memory=32Gi+1xcpu=4,memory=16Gi,nvidia.com/gpu=2")
    assert [n.name for n in nodes] == ["node-00001", "node-00002", "node-00003"]
    assert nodes[0].allocatable["cpu"] == 8000 and nodes[0].allocatable["memory"] == 32 * GI
    assert nodes[2].allocatable["nvidia.com/gpu"] == 2
    assert nodes[2].labels["portside.io/node-group"] == "2"


@pytest.mark.parametrize("spec, error", [
    ("cpu=8,memory=32Gi", "--nodes: group 1 'cpu=8,memory=32Gi': expected COUNTxRESOURCE=QUANTITY"),
    ("0xcpu=8,memory=1Gi", "COUNT >= 1"),
    ("2xcpu=8,memory", "--nodes: group 1 '2xcpu=8,memory': 'memory' is not RESOURCE=QUANTITY"),
    ("2xcpu=8,memory=1Gi+3xcpu=eight,memory=1Gi", "--nodes: group 2 '3xcpu=eight,memory=1Gi': cpu: invalid quantity 'eight'"),
    ("2xcpu=8", "missing memory"),
])
def test_malformed_spec(spec, error):
    with pytest.raises(SimInputError) as info:
        parse_node_spec(spec)
    assert error in str(info.value)


def test_csv_columns():
    pods = parse_csv("name,arrival_s,duration_s,cpu,memory,priority,gpu,gang,gang_min,labels,node_selector\n"
                     "a,1.5,10,500m,1Gi,7,1,g,2,app=x;tier=web,disk=ssd\n"
                     "b,0,5,2,512Mi,,,,,,\n")
    a, b = pods
    assert (a.arrival, a.duration, a.pod.priority, a.pod.gang, a.pod.gang_min) == (1.5, 10, 7, "g", 2)
    assert a.pod.requests == {"cpu": 500, "memory": GI, "nvidia.com/gpu": 1}
    assert a.pod.labels == {"app": "x", "tier": "web"} and a.pod.node_selector.matches({"disk": "ssd"}) and not a.pod.node_selector.matches({})
    assert b.pod.requests == {"cpu": 2000, "memory": 512 << 20} and b.pod.priority == 0


@pytest.mark.parametrize("text, error", [
    ("name,arrival_s,duration_s,cpu\na,0,1,1\n",
     "w.csv: line 1: header lacks column(s) memory (required: name,arrival_s,duration_s,cpu,memory)"),
    ("name,arrival_s,duration_s,cpu,memory\na,0,1,1,1Gi\nb,0,1,1,12x\n",
     "w.csv: line 3: column memory: invalid quantity '12x'"),
    ("name,arrival_s,duration_s,cpu,memory\na,soon,1,1,1Gi\n", "w.csv: line 2: column arrival_s: expected a number, got 'soon'"),
    ("name,arrival_s,duration_s,cpu,memory\na,0,-1,1,1Gi\n", "w.csv: line 2: column duration_s: must not be negative"),
    ("name,arrival_s,duration_s,cpu,memory\na,0,1,1,1Gi\na,0,1,1,1Gi\n", "w.csv: line 3: column name: duplicate pod name 'a'"),
    ("name,arrival_s,duration_s,cpu,memory\na,0,1,1,1Gi,extra\n", "w.csv: line 2: more fields than the header has columns"),
    ("name,arrival_s,duration_s,cpu,memory,labels\na,0,1,1,1Gi,app\n", "w.csv: line 2: column labels: 'app' is not key=value"),
    ("name,arrival_s,duration_s,cpu,memory,gpu\na,0,1,1,1Gi,0.5\n", "w.csv: line 2: column gpu: expected a whole number"),
])
def test_bad_csv_names_line_and_column(text, error):
    with pytest.raises(SimInputError) as info:
        parse_csv(text, "w.csv")
    assert str(info.value).startswith(error)


def test_pod_manifests_and_node_manifests(tmp_path):
    pods = tmp_path / "pods.yaml"
    pods.write_text("""
apiVersion: v1
kind: Pod
metadata: {name: a, annotations: {portside.io/arrival-s: "3", portside.io/duration-s: "60"}}
spec: {containers: [{name: c, image: x, resources: {requests: {cpu: 250m, memory: 64Mi}}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, annotations: {portside.io/arrival-s: "0"}}
spec: {containers: [{name: c, image: x}]}
""")
    with pytest.raises(SimInputError, match="document 2: metadata.annotations: annotation portside.io/duration-s: "
                                            "expected a number, got nothing"):
        load_workload(pods)
    pods.write_text(pods.read_text().replace('arrival-s: "0"}', 'arrival-s: "0", portside.io/duration-s: "5"}'))
    items = load_workload(pods)
    assert [(i.pod.name, i.arrival, i.duration, i.pod.requests.get("cpu")) for i in items] == \
        [("a", 3, 60, 250), ("b", 0, 5, None)]
    nodes = tmp_path / "nodes.yaml"
    nodes.write_text("kind: List\nitems:\n- kind: Node\n  metadata: {name: big}\n"
                     "  status: {allocatable: {cpu: '64', memory: 256Gi}}\n")
    assert [n.name for n in parse_node_spec(str(nodes))] == ["big"]
    nodes.write_text("kind: Pod\nmetadata: {name: x}\n")
    with pytest.raises(SimInputError, match="document 1: kind: expected Node"):
        parse_node_spec(str(nodes))
