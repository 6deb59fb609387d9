"""The garbage collector inside ``portside up``: dangling references, several owners, owners that never were."""

import uuid

from kubernetes import client, config
from kubernetes.client.rest import ApiException
from support.wait import eventually


def ref(owner):
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name, "uid": owner.metadata.uid}


def gone(core, name, ns):
    try:
        core.read_namespaced_config_map(name, ns)
        return False
    except ApiException as exc:
        return exc.status == 404


def test_dependent_lives_while_any_owner_lives(cluster):
    ns = cluster.namespace("gc-owners")
    core = client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig))
    first = core.create_namespaced_config_map(ns, {"metadata": {"name": "first"}})
    second = core.create_namespaced_config_map(ns, {"metadata": {"name": "second"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "dep", "ownerReferences": [ref(first),
                                                                                          ref(second)]}})
    core.delete_namespaced_config_map("first", ns)
    eventually(lambda: [r.name for r in core.read_namespaced_config_map("dep", ns).metadata.owner_references or []]
             == ["second"], what="the dangling reference dropped")
    core.delete_namespaced_config_map("second", ns)
    eventually(lambda: gone(core, "dep", ns), what="the dependent deleted with its last owner")


def test_dependent_of_an_owner_that_never_existed_is_collected(cluster):
    ns = cluster.namespace("gc-phantom")
    core = client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig))
    phantom = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "nobody", "uid": str(uuid.uuid4())}
    core.create_namespaced_config_map(ns, {"metadata": {"name": "orphaned", "ownerReferences": [phantom]}})
    foreign = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": str(uuid.uuid4())}
    core.create_namespaced_config_map(ns, {"metadata": {"name": "foreign", "ownerReferences": [foreign]}})
    eventually(lambda: gone(core, "orphaned", ns), what="the dependent of a missing owner deleted")
    assert not gone(core, "foreign", ns)  # an owner kind this server does not serve is not judged
