"""A running pod's ConfigMap, Secret, downward API and projected files follow their sources (the kubelet's
periodic sync), here with a one-second period instead of a minute."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.wait import eventually

from tests.agent.conftest import engine_root, ready, run_node

pytestmark = pytest.mark.integration


@pytest.fixture
def fast_node(needs_root, tmp_path: Path, busybox_rootfs_tar: Path, monkeypatch):
    monkeypatch.setenv("PORTSIDE_VOLUME_SYNC_S", "1")
    root, settings = engine_root(tmp_path, busybox_rootfs_tar)
    yield from run_node(tmp_path, root, settings, monkeypatch)


def test_edits_reach_a_running_pod_and_a_deleted_key_goes(fast_node):
    node = fast_node
    node.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"},
                "data": {"color": "blue", "size": "L"}})
    node.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"pw": "one"}})
    node.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader", "labels": {"tier": "a"}},
                "spec": {"terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "main", "image": "busybox", "imagePullPolicy": "IfNotPresent",
                                         "command": ["sleep", "3600"],
                                         "volumeMounts": [{"name": "conf", "mountPath": "/conf"},
                                                          {"name": "creds", "mountPath": "/creds"},
                                                          {"name": "all", "mountPath": "/all"}]}],
                         "volumes": [{"name": "conf", "configMap": {"name": "conf"}},
                                     {"name": "creds", "secret": {"secretName": "creds"}},
                                     {"name": "all", "projected": {"sources": [
                                         {"configMap": {"name": "conf", "items": [{"key": "color",
                                                                                  "path": "c/color"}]}},
                                         {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {
                                             "fieldPath": "metadata.labels"}}]}}]}}]}})
    node.wait_pod("reader", ready, 60, what="Ready")
    started = node.pod("reader")["status"]["containerStatuses"][0]["containerID"]

    def seen() -> str:
        script = ("cat /conf/color; echo; ls /conf | tr '\\n' ,; echo; cat /creds/pw; echo; cat /all/c/color; echo; "
                  "cat /all/labels")
        return node.kubectl("exec", "reader", "--", "sh", "-c", script).stdout

    assert seen() == 'blue\ncolor,size,\none\nblue\ntier="a"\n'  # as written at the start
    node.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {"color": "red"}})
    node.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"pw": "two"}})
    node.kubectl("label", "pod", "reader", "tier=b", "--overwrite")
    want = 'red\ncolor,\ntwo\nred\ntier="b"\n'
    eventually(lambda: seen() == want, 30, 0.5, what=f"the running pod's files to read {want!r}")
    # the same container throughout: the files changed under it, nothing was restarted
    assert node.pod("reader")["status"]["containerStatuses"][0]["containerID"] == started
