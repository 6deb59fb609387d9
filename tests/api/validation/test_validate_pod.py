"""Pod spec rules, each with the message Kubernetes gives."""

import pytest
from support.builders import container, pod

from tests.api.messages import messages

QUANTITY_RE = "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"


def test_valid_pod_has_no_errors() -> None:
    assert messages(pod()) == []
    assert messages(pod(dnsPolicy="None", dnsConfig={"nameservers": ["192.0.2.53"], "searches": ["corp.example."],
                                                     "options": [{"name": "ndots", "value": "2"}]})) == []


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (pod(restartPolicy="Sometimes"),
         'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
        (pod(dnsPolicy="Google"), 'spec.dnsPolicy: Unsupported value: "Google": supported values: '
                                  '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'),
        (pod(containers=[]), "spec.containers: Required value"),
        (pod(terminationGracePeriodSeconds=-1),
         "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"),
        (pod(activeDeadlineSeconds=0),
         "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"),
        (pod(nodeName="Node_1"), 'spec.nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain'),
        (pod(preemptionPolicy="Sometimes"),
         'spec.preemptionPolicy: Unsupported value: "Sometimes": supported values: "Never", "PreemptLowerPriority"'),
        (pod(overhead={"cpu": "-1"}), 'spec.overhead.cpu: Invalid value: "-1": must be greater than or equal to 0'),
        (pod(dnsPolicy="None"), "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"),
        (pod(dnsPolicy="None", dnsConfig={"searches": ["a.example"]}),
         "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver"),
        (pod(dnsConfig={"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"]}),
         "spec.dnsConfig.nameservers: Invalid value: "),
        (pod(dnsConfig={"nameservers": ["dns.example"]}),
         'spec.dnsConfig.nameservers[0]: Invalid value: "dns.example": must be a valid IP address'),
        (pod(dnsConfig={"searches": ["Bad_Domain"]}),
         'spec.dnsConfig.searches[0]: Invalid value: "Bad_Domain": a lowercase RFC 1123 subdomain'),
        (pod(dnsConfig={"searches": [f"s{i}.example" for i in range(33)]}), "spec.dnsConfig.searches: Invalid value"),
        (pod(dnsConfig={"options": [{"value": "2"}]}),
         "spec.dnsConfig.options[0].name: Required value: Option.Name must not be empty"),
    ],
)
def test_pod_spec_rules(obj: dict, expected: str) -> None:
    assert any(m.startswith(expected) for m in messages(obj)), messages(obj)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": "App"}, 'spec.containers[0].name: Invalid value: "App": a lowercase RFC 1123 label must consist'),
        ({"image": ""}, "spec.containers[0].image: Required value"),
        ({"imagePullPolicy": "Sometimes"}, 'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": '
                                           'supported values: "Always", "IfNotPresent", "Never"'),
        ({"ports": [{"containerPort": 0}]},
         "spec.containers[0].ports[0].containerPort: Invalid value: 0: must be between 1 and 65535, inclusive"),
        ({"ports": [{"containerPort": 80, "protocol": "HTTP"}]},
         'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'),
        ({"ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 81, "name": "web"}]},
         'spec.containers[0].ports[1].name: Duplicate value: "web"'),
        ({"ports": [{"containerPort": 80, "name": "this-name-is-too-long"}]},
         'spec.containers[0].ports[0].name: Invalid value: "this-name-is-too-long": must be no more than 15 characters'),
        ({"env": [{"name": "1X", "value": "v"}]},
         'spec.containers[0].env[0].name: Invalid value: "1X": a valid environment variable name must consist of'),
        ({"env": [{"name": "A", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]},
         'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty'),
        ({"resources": {"limits": {"memory": "12x"}}},
         f'spec.containers[0].resources.limits.memory: Invalid value: "12x": quantities must match the regular '
         f"expression {QUANTITY_RE}"),
        ({"resources": {"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}},
         'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'),
        ({"resources": {"requests": {"memory": "-1"}}},
         'spec.containers[0].resources.requests.memory: Invalid value: "-1": must be greater than or equal to 0'),
        ({"resources": {"limits": {"gpus": "1"}}},
         'spec.containers[0].resources.limits.gpus: Invalid value: "gpus": must be a standard resource type or '
         "fully qualified"),
        ({"resources": {"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}},
         'spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2'),
        ({"volumeMounts": [{"name": "data", "mountPath": "/data"}]},
         'spec.containers[0].volumeMounts[0].name: Not found: "data"'),
        ({"livenessProbe": {"periodSeconds": 5}},
         "spec.containers[0].livenessProbe: Required value: must specify a handler type"),
        ({"livenessProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}},
         "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"),
        ({"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}},
         "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"),
        ({"readinessProbe": {"httpGet": {"port": 70000}}},
         "spec.containers[0].readinessProbe.httpGet.port: Invalid value: 70000: must be between 1 and 65535"),
        ({"terminationMessagePolicy": "Always"},
         'spec.containers[0].terminationMessagePolicy: Unsupported value: "Always": supported values: "File", '
         '"FallbackToLogsOnError"'),
    ],
)
def test_container_rules(fields: dict, expected: str) -> None:
    found = messages(container(pod(), **fields))
    assert any(m.startswith(expected) for m in found), found


def test_container_names_unique_across_init_and_app() -> None:
    obj = pod(initContainers=[{"name": "app", "image": "busybox"}])
    assert 'spec.containers[0].name: Duplicate value: "app"' in messages(obj)


@pytest.mark.parametrize(
    ("volumes", "expected"),
    [
        ([{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}], 'spec.volumes[1].name: Duplicate value: "a"'),
        ([{"name": "a", "hostPath": {"path": "/x"}, "emptyDir": {}}],
         "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"),
        ([{"name": "a", "hostPath": {"path": ""}}], "spec.volumes[0].hostPath.path: Required value"),
        ([{"name": "a", "hostPath": {"path": "/x", "type": "Pipe"}}],
         'spec.volumes[0].hostPath.type: Unsupported value: "Pipe"'),
        ([{"name": "a", "configMap": {}}], "spec.volumes[0].configMap.name: Required value"),
        ([{"name": "a", "secret": {"secretName": "s", "defaultMode": 1000}}],
         "spec.volumes[0].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal)"),
        ([{"name": "Bad"}], 'spec.volumes[0].name: Invalid value: "Bad": a lowercase RFC 1123 label'),
    ],
)
def test_volume_rules(volumes: list, expected: str) -> None:
    found = messages(pod(volumes=volumes))
    assert any(m.startswith(expected) for m in found), found


def test_mount_of_declared_volume_is_valid() -> None:
    obj = container(pod(volumes=[{"name": "data"}]), volumeMounts=[{"name": "data", "mountPath": "/data"}])
    assert messages(obj) == []


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"tolerations": [{"operator": "Equal", "value": "x"}]},
         'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty'),
        ({"tolerations": [{"key": "k", "operator": "Exists", "value": "x"}]},
         "spec.tolerations[0].operator: Invalid value: \"x\": value must be empty when `operator` is 'Exists'"),
        ({"tolerations": [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}]},
         "spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when "
         "`tolerationSeconds` is set"),
        ({"tolerations": [{"key": "k", "effect": "Never"}]}, 'spec.tolerations[0].effect: Unsupported value: "Never"'),
        ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}},
         "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required "
         "value: must have at least one node selector term"),
        ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In"}]}]}}}},
         "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]."
         "matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"),
        ({"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 0, "preference": {}}]}}},
         "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: "
         "must be in the range 1-100"),
        ({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "x"}}}]}}},
         "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: Required "
         "value: can not be empty"),
        ({"topologySpreadConstraints": [{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]},
         "spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero"),
        ({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"}]},
         'spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe": supported values: '
         '"DoNotSchedule", "ScheduleAnyway"'),
        ({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "z", "whenUnsatisfiable": "DoNotSchedule"}] * 2},
         'spec.topologySpreadConstraints[1]: Duplicate value: "{z, DoNotSchedule}"'),
        ({"schedulingGates": [{"name": "a"}, {"name": "a"}]}, 'spec.schedulingGates[1]: Duplicate value: "a"'),
        ({"nodeSelector": {"disk": "ssd!"}}, 'spec.nodeSelector: Invalid value: "ssd!": a valid label must be'),
    ],
)
def test_placement_rules(spec: dict, expected: str) -> None:
    found = messages(pod(**spec))
    assert any(m.startswith(expected) for m in found), found


def test_metadata_rules() -> None:
    obj = pod()
    obj["metadata"] = {"name": "My_App", "namespace": "default", "labels": {"bad key": "v"}}
    found = messages(obj)
    assert found[0].startswith('metadata.name: Invalid value: "My_App": a lowercase RFC 1123 subdomain must consist')
    assert any(m.startswith('metadata.labels: Invalid value: "bad key": name part must consist') for m in found)
    missing = pod()
    missing["metadata"] = {"namespace": "default"}
    assert messages(missing) == ["metadata.name: Required value: name or generateName is required"]
    no_ns = pod()
    del no_ns["metadata"]["namespace"]
    assert messages(no_ns) == ["metadata.namespace: Required value"]
