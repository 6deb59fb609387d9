from portside.scheduler.explain import Diagnosis, message


def test_reasons_most_frequent_first_then_alphabetical():
    d = Diagnosis(5000, {"node(s) had untolerated taint {gpu: true}": 1880, "Insufficient cpu": 3120,
                         "Insufficient memory": 1880})
    assert message(d) == ("0/5000 nodes are available: 3120 Insufficient cpu, 1880 Insufficient memory, "
                          "1880 node(s) had untolerated taint {gpu: true}.")


def test_no_nodes_and_preemption_note():
    assert message(Diagnosis(0)) == "0/0 nodes are available."
    assert message(Diagnosis(2, {"Insufficient cpu": 2}), "nominated a.") == \
        "0/2 nodes are available: 2 Insufficient cpu. preemption: nominated a."
