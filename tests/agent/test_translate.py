"""Pod container specs to engine configurations, on data."""

import pytest

from portside.agent.translate import ConfigError, Context, config, expand
from portside.api.models import Pod


def pod(container: dict, **spec) -> Pod:
    return Pod.from_dict({"metadata": {"name": "web-1", "namespace": "shop", "uid": "u-1234567890"},
                          "spec": {"containers": [{"name": "app", "image": "busybox", **container}], **spec}})


def cfg(container: dict, **kw):
    p = pod(container, **kw.pop("spec", {}))
    return config(p.spec.containers[0], Context(p, "10.1.0.7", "/run/ns/u", **kw))


def test_command_and_args_follow_kubernetes_over_the_image():
    assert (cfg({}).entrypoint, cfg({}).cmd) == (None, None)  # the image's Entrypoint and Cmd
    assert (cfg({"args": ["-x"]}).entrypoint, cfg({"args": ["-x"]}).cmd) == (None, ["-x"])
    only_command = cfg({"command": ["sh"]})
    assert (only_command.entrypoint, only_command.cmd) == (["sh"], [])  # the image's Cmd is dropped
    both = cfg({"command": ["sh"], "args": ["-c", "echo $(GREETING) $$(x)"], "env": [{"name": "GREETING",
                                                                                      "value": "hi"}]})
    assert both.cmd == ["-c", "echo hi $(x)"]


def test_env_sources():
    c = cfg({"env": [
        {"name": "NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "color"}}},
        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "URL", "value": "http://$(IP):80"}]},
        config_maps={"settings": {"color": "blue"}}, secrets={"creds": {"password": "s3cret"}})
    assert c.env == ["NAME=web-1", "NS=shop", "IP=10.1.0.7", "COLOR=blue", "PASS=s3cret", "URL=http://10.1.0.7:80"]


def test_a_missing_config_map_key_is_one_clear_error():
    with pytest.raises(ConfigError, match="couldn't find key shade in configmap shop/settings"):
        cfg({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "shade"}}}]},
            config_maps={"settings": {"color": "blue"}})
    with pytest.raises(ConfigError, match='configmap "gone" not found'):
        cfg({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}]})
    optional = {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k", "optional": True}}}
    assert cfg({"env": [optional]}).env == []


def test_resources_become_cgroup_limits_and_shares():
    c = cfg({"resources": {"limits": {"cpu": "100m", "memory": "128Mi"}, "requests": {"cpu": "50m"}}})
    assert (c.memory, c.cpus, c.cpu_shares) == (128 << 20, 0.1, 51)
    limit_only = cfg({"resources": {"limits": {"cpu": "2"}}})
    assert (limit_only.memory, limit_only.cpus, limit_only.cpu_shares) == (None, 2.0, 2048)


def test_security_context():
    c = cfg({"securityContext": {"runAsUser": 1000, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation":
                                 False, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}},
            spec={"securityContext": {"runAsGroup": 3000}})
    assert (c.user, c.read_only, c.security_opt, c.cap_drop, c.cap_add) == (
        "1000:3000", True, ["no-new-privileges"], ["ALL"], ["NET_BIND_SERVICE"])


def test_mounts_network_labels_and_name():
    c = cfg({"workingDir": "/srv", "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                                    {"name": "conf", "mountPath": "/etc/app", "readOnly": True,
                                                     "subPath": "app"}]},
            volumes={"data": "/v/data", "conf": "/v/conf"}, attempt=2)
    assert c.volumes == ["/v/data:/data", "/v/conf/app:/etc/app:ro"]
    assert (c.workdir, c.network, c.hostname) == ("/srv", "ns:/run/ns/u", "web-1")
    assert c.labels["io.portside.container.attempt"] == "2" and c.name == "k8s_app_web-1_shop_u-123456_2"
    with pytest.raises(ConfigError, match="names no volume"):
        cfg({"volumeMounts": [{"name": "nope", "mountPath": "/x"}]})


def test_expand_leaves_unknown_names():
    assert expand("$(A)-$(B)-$$(A)", {"A": "1"}) == "1-$(B)-$(A)"
