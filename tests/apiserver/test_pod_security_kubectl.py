"""Pod Security admission on a real ``portside up`` through stock kubectl: enforce refuses with Kubernetes'
message, warn and workload templates come back as ``Warning:`` lines on kubectl's stderr, labelling a namespace
warns about the pods already in it, audit writes the server's log, and the configuration's exemptions hold."""

import json
import subprocess
import sys

import pytest
from support.cluster import only
from support.wait import eventually

LABEL = "pod-security.kubernetes.io/"
CONFIG = """apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: privileged, audit: privileged, warn: privileged}
    exemptions: {namespaces: [ops-exempt], runtimeClasses: [trusted], usernames: []}
"""
RESTRICTED = ('allowPrivilegeEscalation != false (container "{c}" must set securityContext.allowPrivilegeEscalation=false), '
              'unrestricted capabilities (container "{c}" must set securityContext.capabilities.drop=["ALL"]), '
              'runAsNonRoot != true (pod or container "{c}" must set securityContext.runAsNonRoot=true), '
              'seccompProfile (pod or container "{c}" must set securityContext.seccompProfile.type to "RuntimeDefault" '
              'or "Localhost")')


@pytest.fixture(scope="module")
def up_flags(tmp_path_factory):
    path = tmp_path_factory.mktemp("pod-security") / "admission.yaml"
    path.write_text(CONFIG)
    return (*only(), "--pod-security-config", str(path))


def namespace(cluster, name, **labels):
    cluster.namespace(name)
    if labels:
        cluster.kubectl("label", "ns", name, *(f"{LABEL}{k.replace('_', '-')}={v}" for k, v in labels.items()))
    return name


def pod_json(name, security=None, **spec):
    c = {"name": name, "image": "busybox", **({"securityContext": security} if security is not None else {})}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [c], **spec}})


HARDENED = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def test_enforce_refuses_with_kubernetes_message_and_admits_a_hardened_pod(cluster):
    ns = namespace(cluster, "psa-enforce", enforce="restricted")
    refused = cluster.kubectl("run", "x", "-n", ns, "--image=busybox", check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ('Error from server (Forbidden): pods "x" is forbidden: violates PodSecurity '
                                      '"restricted:latest": ' + RESTRICTED.format(c="x"))
    made = cluster.kubectl("apply", "-n", ns, "-f", "-", input=pod_json("hardened", HARDENED))
    assert made.stdout.strip() == "pod/hardened created" and "Warning" not in made.stderr


def test_enforce_by_version_and_baseline(cluster):
    ns = namespace(cluster, "psa-baseline", enforce="baseline", enforce_version="v1.30")
    refused = cluster.kubectl("apply", "-n", ns, "-f", "-", check=False,
                              input=pod_json("root", {"privileged": True}, hostNetwork=True))
    assert refused.stderr.strip().endswith('pods "root" is forbidden: violates PodSecurity "baseline:v1.30": host '
                                           'namespaces (hostNetwork=true), privileged (container "root" must not set '
                                           'securityContext.privileged=true)')
    cluster.kubectl("run", "plain", "-n", ns, "--image=busybox")  # a default pod is baseline


def test_warn_is_a_kubectl_warning_and_the_pod_is_made(cluster):
    ns = namespace(cluster, "psa-warn", warn="baseline")
    made = cluster.kubectl("apply", "-n", ns, "-f", "-", input=pod_json("priv", {"privileged": True}))
    assert made.stdout.strip() == "pod/priv created"
    assert made.stderr.strip() == ('Warning: would violate PodSecurity "baseline:latest": privileged (container "priv" '
                                   'must not set securityContext.privileged=true)')


def test_workloads_are_warned_at_the_enforce_level_not_refused(cluster):
    ns = namespace(cluster, "psa-workloads", enforce="restricted")
    made = cluster.kubectl("create", "deployment", "web", "-n", ns, "--image=busybox")
    assert made.stdout.strip() == "deployment.apps/web created"
    assert made.stderr.strip() == 'Warning: would violate PodSecurity "restricted:latest": ' + \
        RESTRICTED.format(c="busybox")
    job = cluster.kubectl("create", "job", "batch", "-n", ns, "--image=busybox")
    assert job.stdout.strip() == "job.batch/batch created" and "would violate PodSecurity" in job.stderr
    status = cluster.kubectl("scale", "deployment", "web", "-n", ns, "--replicas=2")
    assert "Warning" not in status.stderr  # subresources are not evaluated


def test_labelling_a_namespace_warns_about_its_pods(cluster):
    ns = namespace(cluster, "psa-label")
    for name in ("web-1", "web-2", "web-3"):
        cluster.kubectl("run", name, "-n", ns, "--image=busybox")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=pod_json("net", HARDENED, hostNetwork=True))
    labelled = cluster.kubectl("label", "ns", ns, f"{LABEL}enforce=restricted")
    assert labelled.stdout.strip() == f"namespace/{ns} labeled"
    assert labelled.stderr.strip().splitlines() == [
        f'Warning: existing pods in namespace "{ns}" violate the new PodSecurity enforce level "restricted:latest"',
        "Warning: net: host namespaces",
        "Warning: web-1 (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, "
        "runAsNonRoot != true, seccompProfile"]
    relaxed = cluster.kubectl("label", "ns", ns, f"{LABEL}enforce=baseline", "--overwrite")
    assert "Warning" not in relaxed.stderr  # a looser level cannot break what runs
    bad = cluster.kubectl("label", "ns", ns, f"{LABEL}enforce=strict", "--overwrite", check=False)
    assert bad.stderr.strip() == (f'The Namespace "{ns}" is invalid: metadata.labels[{LABEL}enforce]: Invalid value: '
                                  '"strict": must be one of privileged, baseline, restricted')


def test_audit_goes_to_the_server_log(cluster):
    ns = namespace(cluster, "psa-audit", audit="restricted")
    made = cluster.kubectl("run", "watched", "-n", ns, "--image=busybox")
    assert "Warning" not in made.stderr
    line = f'pods "watched" in namespace "{ns}" (user "admin") would violate PodSecurity "restricted:latest"'
    eventually(lambda: line in cluster.log(), timeout=10, what="the audit line in the server log")


def test_exemptions_from_the_configuration(cluster):
    ns = namespace(cluster, "ops-exempt", enforce="restricted")
    cluster.kubectl("run", "tool", "-n", ns, "--image=busybox")
    ns = namespace(cluster, "psa-runtime", enforce="restricted")
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=pod_json("sandboxed", runtimeClassName="trusted"))
    refused = cluster.kubectl("apply", "-n", ns, "-f", "-", check=False, input=pod_json("other"))
    assert "violates PodSecurity" in refused.stderr


def test_a_bad_configuration_stops_up_before_it_starts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: PodSecurityConfiguration\ndefaults: {enforce: strict}\n")
    proc = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path / "data"),
                           "--pod-security-config", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f'portside: up: --pod-security-config: {bad}: defaults.enforce: Invalid value: '
                                   '"strict": must be one of privileged, baseline, restricted')
