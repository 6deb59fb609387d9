"""What the API server decides itself about pods/log and pods/exec before it forwards them to the pod's node.

The forwarding to the node agent is tested against the real agent, running real containers, in
tests/agent/test_pods.py (kubectl logs, --tail, --previous, -f; kubectl exec with and without stdin).
"""

import json

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from support.cluster import only
from support.net import free_port

UP_FLAGS = only("garbage-collector")  # no scheduler: the tests decide which pods are bound, and where


def test_exec_needs_a_token_that_may_create_pods_exec(cluster):
    """Refused by the API server itself, before it reaches the node (here a port where no agent listens).
    Forwarding logs and exec to a real agent is tested in tests/agent/test_pods.py."""
    ns = cluster.namespace("nodeproxy")
    port = free_port()
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"proxy-node-{port}"},
            "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}
    cluster.kubectl("apply", "-f", "-", input=json.dumps(node))
    cluster.kubectl("patch", "node", node["metadata"]["name"], "--subresource=status", "--type=merge", "-p",
                    json.dumps({"status": node["status"]}))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "talker"},
           "spec": {"nodeName": node["metadata"]["name"], "containers": [{"name": "app", "image": "busybox"}]}}
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(pod))
    readonly = str(cluster.data_dir / "kubeconfig-readonly.yaml")
    refused = cluster.kubectl("exec", "-n", ns, "talker", "--", "true", kubeconfig=readonly, check=False)
    assert refused.returncode != 0 and "Forbidden" in refused.stderr, refused.stderr


def test_logs_of_an_unbound_pod_say_why(cluster):
    ns = cluster.namespace("nodeproxy-unbound")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "waiting"},
           "spec": {"containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}}
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(pod))
    unbound = cluster.kubectl("logs", "-n", ns, "waiting", "-c", "a", check=False)
    assert "pod waiting does not have a host assigned" in unbound.stderr
    core = client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig))
    with pytest.raises(ApiException) as ambiguous:
        core.read_namespaced_pod_log("waiting", ns)
    assert ambiguous.value.status == 400
    assert "a container name must be specified for pod waiting, choose one of: [a b]" in ambiguous.value.body
