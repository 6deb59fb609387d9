"""A lease's owner paths: written only when given (older tables read unchanged), and an orphan is a lease one of
whose owner paths is gone, never one without owners (its container owns it)."""

from __future__ import annotations

from portside.runtime.net.ipam import Lease


def test_a_lease_without_owners_reads_and_writes_as_before_and_is_never_an_orphan() -> None:
    old = {"ip": "10.1.0.2", "veth": "vpsabc", "ports": []}
    lease = Lease.from_json(old)
    assert lease.owners == [] and lease.to_json() == old and not lease.orphaned()


def test_a_lease_is_orphaned_once_one_owner_path_is_gone(tmp_path) -> None:
    pod, data = tmp_path / "pod", tmp_path / "data"
    pod.mkdir()
    data.mkdir()
    lease = Lease.from_json(Lease("10.1.0.3", "vpsdef", owners=[str(pod), str(data)]).to_json())
    assert lease.owners == [str(pod), str(data)] and not lease.orphaned()
    data.rmdir()
    assert lease.orphaned()
