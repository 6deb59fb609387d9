"""Stock kubectl's protobuf bodies keep every field: a rich pod template goes in as JSON (a CronJob, a Pod) and
comes back through the commands that copy it as protobuf (``create job --from``, ``debug --copy-to``)."""

import copy
import json

PROTOBUF_POST = "Content-Type: application/vnd.kubernetes.protobuf"

CONTAINER = {
    "name": "main", "image": "busybox:1.36", "command": ["sh", "-c"], "args": ["echo hi"], "workingDir": "/work",
    "imagePullPolicy": "IfNotPresent",
    "ports": [{"name": "http", "containerPort": 8080, "hostPort": 18080, "protocol": "TCP", "hostIP": "127.0.0.1"}],
    "envFrom": [{"prefix": "CM_", "configMapRef": {"name": "settings", "optional": True}},
                {"secretRef": {"name": "creds", "optional": False}}],
    "env": [{"name": "PLAIN", "value": "v"}, {"name": "UNSET"},
            {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"containerName": "main", "resource": "limits.memory",
                                                                "divisor": "1Mi"}}},
            {"name": "CMKEY", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "k", "optional": True}}},
            {"name": "SKEY", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password", "optional": False}}}],
    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m", "memory": "64Mi"}},
    "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"},
                     {"name": "config", "mountPath": "/etc/config", "readOnly": True, "subPath": "app.conf"},
                     {"name": "info", "mountPath": "/etc/podinfo", "mountPropagation": "None"}],
    "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "initialDelaySeconds": 5, "timeoutSeconds": 2,
                      "periodSeconds": 7, "successThreshold": 1, "failureThreshold": 4,
                      "terminationGracePeriodSeconds": 0},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": "http", "host": "localhost", "scheme": "HTTP",
                                   "httpHeaders": [{"name": "X-Probe", "value": ""}]}, "periodSeconds": 3},
    "startupProbe": {"tcpSocket": {"port": 8080}, "failureThreshold": 30, "periodSeconds": 1},
    "lifecycle": {"postStart": {"exec": {"command": ["touch", "/tmp/started"]}},
                  "preStop": {"sleep": {"seconds": 2}}},
    "securityContext": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}, "privileged": False,
                        "runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": False, "readOnlyRootFilesystem": True,
                        "allowPrivilegeEscalation": False, "seccompProfile": {"type": "RuntimeDefault"},
                        "seLinuxOptions": {"level": "s0:c123,c456"}},
    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "FallbackToLogsOnError",
    "stdin": True, "stdinOnce": True, "tty": True,
}
AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "preference": {"matchExpressions": [{"key": "fast", "operator": "Exists"}]}}]},
    "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname",
         "namespaces": ["data"]}]},
    "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "podAffinityTerm": {
            "labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["batch"]}]},
            "topologyKey": "zone"}}]},
}
VOLUMES = [
    {"name": "scratch", "emptyDir": {}},
    {"name": "memory", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
    {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
    {"name": "config", "configMap": {"name": "settings", "items": [{"key": "k", "path": "app.conf", "mode": 256}],
                                     "defaultMode": 420, "optional": True}},
    {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 256, "optional": False}},
    {"name": "data", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}},
    {"name": "info", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "main", "resource": "limits.cpu", "divisor": "1m"},
         "mode": 292}]}},
]
# Zeros and falses where Go has a pointer (runAsUser 0, tolerationSeconds 0, automount false) are values the
# user gave; an empty string where Go has none (env value "") cannot be told from unset, so none is used here.
POD_SPEC = {
    "restartPolicy": "OnFailure", "terminationGracePeriodSeconds": 0, "activeDeadlineSeconds": 600,
    "dnsPolicy": "ClusterFirst", "nodeSelector": {"disk": "ssd"}, "serviceAccountName": "default",
    "automountServiceAccountToken": False, "enableServiceLinks": False, "hostname": "worker", "subdomain": "jobs",
    "schedulerName": "default-scheduler", "preemptionPolicy": "Never",
    "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "runAsNonRoot": True, "fsGroup": 2000,
                        "supplementalGroups": [4000, 5000], "fsGroupChangePolicy": "OnRootMismatch",
                        "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
                        "seccompProfile": {"type": "RuntimeDefault"}},
    "imagePullSecrets": [{"name": "registry"}],
    "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db.local", "cache.local"]}],
    "dnsConfig": {"nameservers": ["10.0.0.53"], "searches": ["svc.local"],
                  "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]},
    "affinity": AFFINITY,
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "batch", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                     "tolerationSeconds": 0}],
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
                                   "labelSelector": {"matchLabels": {"app": "batch"}}}],
    "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"],
                        "resources": {"requests": {"cpu": "10m"}}}],
    "containers": [CONTAINER],
    "volumes": VOLUMES,
}
JOB_SPEC = {"suspend": True, "backoffLimit": 0, "parallelism": 2, "completions": 4, "activeDeadlineSeconds": 900,
            "ttlSecondsAfterFinished": 0, "completionMode": "Indexed", "backoffLimitPerIndex": 1,
            "maxFailedIndexes": 2, "podReplacementPolicy": "Failed",
            "template": {"metadata": {"labels": {"app": "batch"}, "annotations": {"a": "b"}}, "spec": POD_SPEC}}


def contains(got, wanted) -> bool:
    """Every field of ``wanted`` is in ``got`` with its value; ``got`` may have more (the server's defaults, such as
    a pod's default tolerations)."""
    if isinstance(wanted, dict):
        return isinstance(got, dict) and all(k in got and contains(got[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(got, list) and all(any(contains(g, w) for g in got) for w in wanted)
    return got == wanted


def get_json(cluster, *args):
    return json.loads(cluster.kubectl("get", "-o", "json", *args).stdout)


def test_create_job_from_cronjob_keeps_every_field_of_the_template(cluster):
    ns = cluster.namespace("pb-from-cronjob")
    cronjob = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "rich"},
               "spec": {"schedule": "0 0 1 1 *", "suspend": True, "jobTemplate": {
                   "metadata": {"labels": {"team": "data"}, "annotations": {"note": "from the template"}},
                   "spec": JOB_SPEC}}}
    cluster.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(cronjob))
    sent = cluster.kubectl("create", "job", "-n", ns, "manual", "--from=cronjob/rich", "-v=8")
    assert PROTOBUF_POST in sent.stderr  # the body under test really was protobuf
    template = get_json(cluster, "-n", ns, "cronjob", "rich")["spec"]["jobTemplate"]
    job = get_json(cluster, "-n", ns, "job", "manual")
    spec = copy.deepcopy(job["spec"])
    del spec["selector"]  # the server's: the job's own uid, as on Kubernetes
    labels = spec["template"]["metadata"]["labels"]
    spec["template"]["metadata"]["labels"] = {"app": labels["app"]}
    assert spec == template["spec"]
    assert contains(spec, JOB_SPEC)  # and what was compared is what was written (the server only adds defaults)
    assert job["metadata"]["labels"] == {"team": "data"}
    assert job["metadata"]["annotations"] == {"note": "from the template", "cronjob.kubernetes.io/instantiate": "manual"}


def test_debug_copy_to_keeps_the_whole_pod(cluster):
    ns = cluster.namespace("pb-debug-copy")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rich", "labels": {"app": "batch"}},
           "spec": POD_SPEC}
    cluster.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(pod))
    sent = cluster.kubectl("debug", "-n", ns, "rich", "--copy-to=rich-copy", "--set-image=main=busybox:1.37",
                           "--keep-labels", "--keep-liveness", "--keep-readiness", "--keep-startup",
                           "--share-processes=false", "-v=8")
    assert PROTOBUF_POST in sent.stderr
    original = get_json(cluster, "-n", ns, "pod", "rich")
    copied = get_json(cluster, "-n", ns, "pod", "rich-copy")
    expected = copy.deepcopy(original["spec"])
    expected["containers"][0]["image"] = "busybox:1.37"
    expected["shareProcessNamespace"] = False  # a false kubectl set: kept, as Go's pointer says it was given
    assert copied["spec"] == expected and contains(original["spec"], POD_SPEC)
    assert copied["metadata"]["labels"] == {"app": "batch"}


def test_create_deployment_with_zero_replicas_keeps_the_zero(cluster):
    ns = cluster.namespace("pb-zero")
    cluster.kubectl("create", "deployment", "-n", ns, "idle", "--image=busybox", "--replicas=0")
    assert get_json(cluster, "-n", ns, "deployment", "idle")["spec"]["replicas"] == 0
