"""The metrics ConfigMap's documents, from the planes' raw counters (pure)."""

from __future__ import annotations

import json

from portside.proxy.metrics import merge, rows


def test_two_ports_sharing_a_backend_add_up() -> None:
    userspace = {"default/web:http/tcp": {"refused": 1, "backends": {"10.0.0.2:5000": [3, 1, 30, 60, 0]}},
                 "default/web:alt/tcp": {"refused": 0, "backends": {"10.0.0.2:5000": [2, 0, 20, 40, 1]}}}
    doc = json.loads(merge(userspace, {})["default.web"])
    assert doc["endpoints"]["10.0.0.2:5000/userspace"] == {
        "plane": "userspace", "connections": 5, "active": 1, "bytes_in": 50, "bytes_out": 100, "errors": 1}
    assert rows(merge(userspace, {}))[0] == ["default/web", "10.0.0.2:5000", "userspace", "5", "1", "50", "100",
                                            "1"]
