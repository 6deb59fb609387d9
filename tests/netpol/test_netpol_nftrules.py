"""Allow sets as nft text and the batches between states, on data; then the same batches through the real nft, in
a network namespace of the test's own."""

from __future__ import annotations

import json
import subprocess
import sys

from support.require import require

from portside.netpol import Allow, PodRules, PortRange, RuleState, desired, diff, replace
from portside.netpol.nftrules import chain_rules

TABLE = "portside_np_test"
DB_RULES = PodRules(ingress=(Allow(("10.42.0.2", "10.42.1.0/24"), (PortRange("tcp", 5432, 5432),
                                                                   PortRange("udp", 0, 65535))),
                             Allow(("192.0.2.7",), None)))


def test_a_chain_returns_on_each_allowed_thing_and_ends_in_deny():
    assert chain_rules("ingress", DB_RULES.ingress) == (
        "ip saddr { 10.42.0.2, 10.42.1.0/24 } tcp dport 5432 return",
        "ip saddr { 10.42.0.2, 10.42.1.0/24 } meta l4proto udp return",
        "ip saddr 192.0.2.7 return",
        "goto deny")
    ranges = (Allow(None, (PortRange("tcp", 80, 80), PortRange("tcp", 8000, 8080), PortRange("sctp", 9, 9))),)
    assert chain_rules("egress", ranges) == ("tcp dport { 80, 8000-8080 } return", "sctp dport 9 return", "goto deny")
    assert chain_rules("egress", ()) == ("goto deny",)
    assert chain_rules("ingress", (Allow(None, None),)) == ("return",)


def test_pods_with_equal_rules_share_one_chain_per_direction():
    deny = PodRules(ingress=(), egress=())
    state = desired({"10.42.0.3": DB_RULES, "10.42.0.4": deny, "10.42.0.5": deny})
    deny_in, deny_eg = state.elements["ingress"]["10.42.0.4"], state.elements["egress"]["10.42.0.4"]
    assert state.elements["ingress"]["10.42.0.5"] == deny_in and deny_in != deny_eg
    assert state.elements["ingress"]["10.42.0.3"] != deny_in
    assert "10.42.0.3" not in state.elements["egress"]  # not isolated for egress: open
    assert len(state.chains) == 3 and all(name.startswith(("in_", "eg_")) for name in state.chains)


def test_a_change_adds_the_new_chain_moves_the_element_then_drops_the_old_chain():
    before = desired({"10.42.0.3": DB_RULES})
    after = desired({"10.42.0.3": PodRules(ingress=())})
    old_chain = before.elements["ingress"]["10.42.0.3"].split()[1]
    new_chain = after.elements["ingress"]["10.42.0.3"].split()[1]
    assert diff(TABLE, before, after) == (
        f"add chain ip {TABLE} {new_chain}\n"
        f"add rule ip {TABLE} {new_chain} goto deny\n"
        f"delete element ip {TABLE} ingress {{ 10.42.0.3 }}\n"
        f"add element ip {TABLE} ingress {{ 10.42.0.3 : jump {new_chain} }}\n"
        f"flush chain ip {TABLE} {old_chain}\n"
        f"delete chain ip {TABLE} {old_chain}\n")
    assert diff(TABLE, after, after) == ""
    assert diff(TABLE, after, RuleState()).endswith(f"delete chain ip {TABLE} {new_chain}\n")


def test_the_first_batch_replaces_the_table_whole():
    batch = replace(TABLE, desired({"10.42.0.3": DB_RULES}))
    assert batch.startswith(f"add table ip {TABLE}\ndelete table ip {TABLE}\ntable ip {TABLE} {{\n")
    assert "type filter hook forward priority 0" in batch and "type filter hook input priority 0" in batch
    assert "ct state established,related accept\n    ip saddr vmap @egress\n    ip daddr vmap @ingress" in batch
    assert "hook output" not in batch  # the node reaching its pods is never judged


def nft_in_netns(script: str) -> dict:
    """Apply ``script`` in a new network namespace and list the table back as JSON."""
    proc = subprocess.run(["unshare", "--net", "sh", "-c", f"nft -f - && nft -j list table ip {TABLE}"],
                          input=script, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_nft_takes_the_batches(needs_root):
    require("nft")
    many = {f"10.42.{i // 200}.{i % 200 + 2}": PodRules(
        ingress=(Allow((f"10.42.9.{i % 50}", "10.43.0.0/16"), (PortRange("tcp", 80 + i % 7, 90 + i % 7),
                                                               PortRange("sctp", 9, 9), PortRange("udp", 0, 65535))),
                 Allow(None, (PortRange("udp", 53, 53),))),
        egress=() if i % 2 else None) for i in range(400)}
    first, second = desired(many), desired({ip: PodRules(ingress=()) for ip in list(many)[:100]})
    listed = nft_in_netns(replace(TABLE, first) + diff(TABLE, first, second))["nftables"]
    chains = {item["chain"]["name"] for item in listed if "chain" in item}
    maps = {item["map"]["name"]: item["map"] for item in listed if "map" in item}
    assert chains == {"deny", "forward", "input", *second.chains}
    assert len(maps["ingress"]["elem"]) == 100 and "elem" not in maps["egress"]


TABLE_LIFE = """
import json, subprocess
from portside.netpol import PolicyTable, PodRules, RuleState, desired
def tables():
    out = subprocess.run(["nft", "-j", "list", "tables"], capture_output=True, text=True, check=True).stdout
    return [i["table"]["name"] for i in json.loads(out)["nftables"] if "table" in i]
subprocess.run(["nft", "add table ip portside_np_test"], check=True)  # a stale one, as a killed enforcer leaves
seen, t = [], PolicyTable("portside_np_test")
t.sync(RuleState()); seen.append(tables())
t.sync(desired({"10.42.0.3": PodRules(ingress=())})); seen.append(tables())
t.sync(RuleState()); seen.append(tables())
t.sync(desired({"10.42.0.3": PodRules(egress=())})); t.close(); seen.append(tables())
print(json.dumps(seen))
"""


def test_the_table_exists_only_while_a_pod_is_isolated(needs_root):
    require("nft")
    proc = subprocess.run(["unshare", "--net", sys.executable, "-c", TABLE_LIFE], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [[], [TABLE], [], []]
