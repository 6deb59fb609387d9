"""A node agent makes its engine before it knows its pod CIDR, then writes ``engine.json``: nothing the engine
builds at construction may have read the settings already."""

from __future__ import annotations

import json

from portside.engine import Engine


def test_settings_written_after_the_engine_was_made_are_the_ones_it_uses(tmp_path) -> None:
    engine = Engine(tmp_path)
    (tmp_path / "engine.json").write_text(json.dumps({"subnet": "10.42.3.0/24", "bridge": "pstset0",
                                                      "resolv_conf": "/etc/other-resolv.conf"}))
    assert engine.settings()["subnet"] == "10.42.3.0/24"
    assert engine.network.bridge == "pstset0"
