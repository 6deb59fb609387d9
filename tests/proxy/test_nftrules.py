"""The kernel plane's rule diff on data: what one change sends, in which order, and that no-change sends nothing."""

from __future__ import annotations

import dataclasses

from portside.proxy.balance import Backend
from portside.proxy.model import ServicePort
from portside.proxy.nftrules import RuleState, desired, diff, endpoint_id

T = "portside_svc_t"
B1, B2, B3 = Backend("10.1.0.2", 8080), Backend("10.1.0.3", 8080), Backend("10.1.0.4", 8080)
WEB = ServicePort("default", "web", "", "tcp", 80, "NodePort", "10.96.0.10", 30080, backends=(B1, B2))
DB = ServicePort("default", "db", "", "tcp", 5432, "ClusterIP", "10.96.0.11", backends=(B3,))


def lines(batch: str) -> list[str]:
    return batch.splitlines()


def test_first_sync_builds_chains_before_the_maps_point_at_them() -> None:
    batch = lines(diff(T, RuleState(), desired([WEB])))
    svc = f"svc_{WEB.id}"
    assert batch.index(f"add chain ip {T} {svc}") < batch.index(
        f"add element ip {T} service_ips {{ 10.96.0.10 . tcp . 80 : goto {svc} }}")
    assert f"add element ip {T} service_ports {{ tcp . 30080 : goto ext_{WEB.id} }}" in batch
    # NodePort traffic is marked for masquerade on its way to the service: its endpoint may be on another node
    assert batch.index(f"add rule ip {T} ext_{WEB.id} meta mark set meta mark | 0x4000") < batch.index(
        f"add rule ip {T} ext_{WEB.id} goto {svc}")
    assert f"add rule ip {T} {svc} numgen inc mod 2 vmap {{ 0 : goto ep_{endpoint_id(WEB, B1)}, " \
           f"1 : goto ep_{endpoint_id(WEB, B2)} }}" in batch
    assert f"add rule ip {T} ep_{endpoint_id(WEB, B1)} meta l4proto tcp dnat ip to 10.1.0.2:8080" in batch


def test_no_change_sends_nothing() -> None:
    assert diff(T, desired([WEB, DB]), desired([WEB, DB])) == ""


def test_a_new_endpoint_touches_only_its_service() -> None:
    before = desired([WEB, DB])
    after = desired([dataclasses.replace(WEB, backends=(B1, B2, B3)), DB])
    batch = diff(T, before, after)
    new_ep = f"ep_{endpoint_id(WEB, B3)}"
    assert f"add chain ip {T} {new_ep}" in batch
    assert f"flush chain ip {T} svc_{WEB.id}" in batch
    assert "db" not in batch and DB.id not in batch and "element" not in batch  # maps untouched
    assert "delete" not in batch


def test_losing_every_endpoint_moves_the_service_to_the_reject_maps() -> None:
    before = desired([WEB])
    batch = lines(diff(T, before, desired([dataclasses.replace(WEB, backends=())])))
    assert f"delete element ip {T} service_ips {{ 10.96.0.10 . tcp . 80 }}" in batch
    assert f"add element ip {T} reject_ips {{ 10.96.0.10 . tcp . 80 : goto reject_new }}" in batch
    assert f"add element ip {T} reject_ports {{ tcp . 30080 : goto reject_new }}" in batch
    # chains are flushed before the elements go and deleted only after: nothing is deleted while referenced
    flush = batch.index(f"flush chain ip {T} svc_{WEB.id}")
    element = batch.index(f"delete element ip {T} service_ips {{ 10.96.0.10 . tcp . 80 }}")
    delete = batch.index(f"delete chain ip {T} svc_{WEB.id}")
    assert flush < element < delete


def test_removing_everything_leaves_the_empty_state() -> None:
    batch = diff(T, desired([WEB, DB]), RuleState())
    assert "add " not in batch
    for chain in desired([WEB, DB]).chains:
        assert f"delete chain ip {T} {chain}\n" in batch


def test_session_affinity_adds_a_timed_set_per_endpoint() -> None:
    sticky = dataclasses.replace(WEB, affinity_s=30)
    state = desired([sticky])
    eid = endpoint_id(sticky, B1)
    assert state.sets[f"aff_{eid}_30"] == 30
    assert f"ip saddr @aff_{eid}_30 goto ep_{eid}" in state.chains[f"svc_{sticky.id}"]
    assert f"update @aff_{eid}_30 {{ ip saddr }}" in state.chains[f"ep_{eid}"]
    batch = diff(T, state, desired([dataclasses.replace(WEB, affinity_s=60)]))
    assert f"delete set ip {T} aff_{eid}_30" in batch and f"aff_{eid}_60" in batch


def test_load_balancer_ports_enter_the_kernel_only_when_asked() -> None:
    lb = ServicePort("default", "lb", "", "tcp", 8443, "LoadBalancer", "10.96.0.12", 31000, backends=(B1,))
    lb_no_node_port = dataclasses.replace(lb, node_port=0)
    assert "tcp . 8443" not in desired([lb_no_node_port]).elements["service_ports"]
    assert "tcp . 8443" in desired([lb_no_node_port], kernel_lb=True).elements["service_ports"]
    assert set(desired([lb], kernel_lb=True).elements["service_ports"]) == {"tcp . 8443", "tcp . 31000"}
    assert set(desired([lb]).elements["service_ports"]) == {"tcp . 31000"}


def test_one_backend_is_a_plain_goto() -> None:
    state = desired([DB])
    assert state.chains[f"svc_{DB.id}"] == (f"goto ep_{endpoint_id(DB, B3)}",)


def test_cluster_ip_traffic_from_outside_the_pod_range_is_marked_for_masquerade() -> None:
    state = desired([WEB], cluster_cidr="10.244.0.0/16")
    assert state.chains[f"svc_{WEB.id}"][0] == "ip saddr != 10.244.0.0/16 meta mark set meta mark | 0x4000"
    assert not any("saddr !=" in rule for rule in desired([WEB]).chains[f"svc_{WEB.id}"])
