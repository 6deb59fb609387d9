"""The Pod Security Standards without a server (``portside.api.podsecurity``): every Baseline and Restricted
control with Kubernetes' reasons and details, their order, versions, namespace labels and the configuration."""

import pytest

from portside.api import podsecurity as ps
from portside.api.podsecurity import LevelVersion, Policy, Version

RESTRICTED_OK = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                 "seccompProfile": {"type": "RuntimeDefault"}}


def container(name="c", **security):
    return {"name": name, "image": "busybox", "securityContext": security} if security else \
        {"name": name, "image": "busybox"}


def detail(level, spec, meta=None, version=None):
    return ps.forbidden_detail(ps.evaluate(LevelVersion(level, Version(version)), meta or {}, spec))


def baseline(spec, meta=None, version=None):
    return detail("baseline", spec, meta, version)


def restricted(spec, meta=None, version=None):
    return detail("restricted", spec, meta, version)


# -- baseline ----------------------------------------------------------------------------------------------------

def test_a_default_pod_is_baseline_and_a_hardened_one_restricted():
    assert baseline({"containers": [container()]}) == ""
    assert restricted({"containers": [container(**RESTRICTED_OK)]}) == ""
    assert detail("privileged", {"hostNetwork": True, "containers": [container(privileged=True)]}) == ""


@pytest.mark.parametrize(("spec", "expected"), [
    ({"hostNetwork": True, "hostPID": True, "hostIPC": True, "containers": [container()]},
     "host namespaces (hostIPC=true, hostNetwork=true, hostPID=true)"),
    ({"containers": [container("a", privileged=True), container("b", privileged=True)]},
     'privileged (containers "a", "b" must not set securityContext.privileged=true)'),
    ({"containers": [container(capabilities={"add": ["NET_ADMIN", "CHOWN", "SYS_TIME"]})]},
     'non-default capabilities (container "c" must not include "NET_ADMIN", "SYS_TIME" in '
     'securityContext.capabilities.add)'),
    ({"containers": [container()], "volumes": [{"name": "host", "hostPath": {"path": "/"}}, {"name": "e", "emptyDir": {}}]},
     'hostPath volumes (volume "host")'),
    ({"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080},
                                                                 {"containerPort": 81, "hostPort": 81}]}]},
     'hostPort (container "web" uses hostPorts 8080, 81)'),  # sorted as text, as Kubernetes sorts them
    ({"containers": [container(appArmorProfile={"type": "Unconfined"})]},
     'forbidden AppArmor profile (container "c" must not set AppArmor profile type to "Unconfined")'),
    ({"securityContext": {"seLinuxOptions": {"type": "spc_t", "user": "root"}}, "containers": [container()]},
     'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; user may not be set)'),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [container()]},
     'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")'),
    ({"containers": [container(procMount="Unmasked")]},
     'procMount (container "c" must not set securityContext.procMount to "Unmasked")'),
    ({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"},
                                      {"name": "net.ipv4.tcp_syncookies", "value": "1"}]}, "containers": [container()]},
     "forbidden sysctls (kernel.msgmax)"),
    ({"containers": [container(windowsOptions={"hostProcess": True})]},
     'hostProcess (container "c" must not set securityContext.windowsOptions.hostProcess=true)'),
])
def test_baseline_controls(spec, expected):
    assert baseline(spec) == expected


def test_apparmor_annotations_are_checked_too():
    meta = {"annotations": {"container.apparmor.security.beta.kubernetes.io/c": "unconfined",
                            "container.apparmor.security.beta.kubernetes.io/d": "localhost/mine"}}
    assert baseline({"containers": [container()]}, meta) == (
        'forbidden AppArmor profile (annotation must not set AppArmor profile type to '
        '"container.apparmor.security.beta.kubernetes.io/c="unconfined"")')


def test_the_allowed_values_pass():
    spec = {"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"},
                                "seLinuxOptions": {"type": "container_t", "level": "s0:c1"},
                                "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1 2"}]},
            "containers": [container(capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"]}, procMount="Default",
                                     appArmorProfile={"type": "RuntimeDefault"}, privileged=False)]}
    assert baseline(spec) == ""


def test_violations_come_in_kubernetes_order():
    spec = {"hostPID": True, "containers": [container(privileged=True, capabilities={"add": ["SYS_ADMIN"]})],
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
    reasons = ps.forbidden_reason(ps.evaluate(LevelVersion("baseline"), {}, spec))
    assert reasons == "non-default capabilities, host namespaces, hostPath volumes, privileged"


# -- restricted --------------------------------------------------------------------------------------------------

def test_restricted_refusal_of_a_default_pod_reads_as_kubernetes():
    assert restricted({"containers": [container()]}) == (
        'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost")')


@pytest.mark.parametrize(("change", "expected"), [
    ({"allowPrivilegeEscalation": True},
     'allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)'),
    ({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "SYS_TIME"]}},
     'unrestricted capabilities (container "c" must not include "SYS_TIME" in securityContext.capabilities.add)'),
    ({"runAsNonRoot": False}, 'runAsNonRoot != true (container "c" must not set securityContext.runAsNonRoot=false)'),
    ({"runAsUser": 0}, 'runAsUser=0 (container "c" must not set runAsUser=0)'),
    ({"seccompProfile": {"type": "Unconfined"}},
     'seccompProfile (container "c" must not set securityContext.seccompProfile.type to "Unconfined")'),
])
def test_restricted_controls(change, expected):
    assert restricted({"containers": [container(**{**RESTRICTED_OK, **change})]}) == expected


def test_pod_level_settings_cover_containers():
    spec = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [container(allowPrivilegeEscalation=False, capabilities={"drop": ["ALL"]})]}
    assert restricted(spec) == ""
    spec["securityContext"]["runAsUser"] = 0
    assert restricted(spec) == "runAsUser=0 (pod must not set runAsUser=0)"


def test_restricted_volume_types():
    spec = {"containers": [container(**RESTRICTED_OK)],
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}, {"name": "n", "nfs": {"server": "x", "path": "/"}},
                        {"name": "ok", "projected": {"sources": []}}, {"name": "odd", "weird": {}}]}
    assert restricted(spec) == ('restricted volume types (volumes "h", "n", "odd" use restricted volume types '
                                '"hostPath", "nfs", "unknown")')


def test_restricted_checks_replace_the_baseline_checks_they_tighten():
    spec = {"containers": [container(**{**RESTRICTED_OK, "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}})],
            "volumes": [{"name": "h", "hostPath": {"path": "/"}}]}
    reasons = ps.forbidden_reason(ps.evaluate(LevelVersion("restricted"), {}, spec))
    assert reasons == "unrestricted capabilities, restricted volume types"


def test_windows_pods_skip_the_linux_only_controls_from_1_25():
    spec = {"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": True}, "containers": [container()]}
    assert restricted(spec) == ""
    assert "allowPrivilegeEscalation" in restricted(spec, version=24)


# -- versions ----------------------------------------------------------------------------------------------------

def test_safe_sysctls_grow_with_the_version():
    spec = {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1 2 3"},
                                            {"name": "net.ipv4.tcp_keepalive_time", "value": "1"},
                                            {"name": "net.ipv4.ip_local_reserved_ports", "value": "1"}]},
            "containers": [container()]}
    assert baseline(spec) == ""
    assert baseline(spec, version=31) == "forbidden sysctls (net.ipv4.tcp_rmem)"
    assert baseline(spec, version=28) == "forbidden sysctls (net.ipv4.tcp_rmem, net.ipv4.tcp_keepalive_time)"
    assert baseline(spec, version=26) == ("forbidden sysctls (net.ipv4.tcp_rmem, net.ipv4.tcp_keepalive_time, "
                                          "net.ipv4.ip_local_reserved_ports)")


def test_before_1_19_seccomp_was_an_annotation():
    meta = {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}
    spec = {"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [container()]}
    assert baseline(spec, meta, version=18) == \
        'seccompProfile (forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined")'


def test_older_versions_lack_newer_controls():
    spec = {"containers": [container(**{**RESTRICTED_OK, "runAsUser": 0,
                                        "capabilities": {"add": ["SYS_TIME"]}})]}
    assert restricted(spec, version=21) == ('non-default capabilities (container "c" must not include "SYS_TIME" in '
                                            'securityContext.capabilities.add)')


def test_latest_and_future_versions_are_this_servers_standards():
    assert Version().effective == ps.LATEST_MINOR == Version(99).effective
    assert str(LevelVersion("baseline", Version(30))) == "baseline:v1.30"


# -- namespace labels ------------------------------------------------------------------------------------------

LABEL = ps.LABEL_PREFIX


def test_labels_set_each_mode_and_unset_ones_keep_the_defaults():
    policy, errs = ps.policy_from_labels({LABEL + "enforce": "baseline", LABEL + "enforce-version": "v1.29",
                                          LABEL + "audit": "restricted"})
    assert errs == []
    assert policy.enforce == LevelVersion("baseline", Version(29))
    assert policy.audit == LevelVersion("restricted")
    assert policy.warn == LevelVersion("baseline", Version(29))  # warn follows a stricter enforce (since 1.26)


def test_warn_follows_enforce_only_when_unset_and_less_strict():
    policy, _ = ps.policy_from_labels({LABEL + "enforce": "restricted", LABEL + "warn": "baseline"})
    assert policy.warn.level == "baseline"
    policy, _ = ps.policy_from_labels({LABEL + "enforce": "restricted", LABEL + "warn-version": "v1.30",
                                       LABEL + "enforce-version": "v1.28"})
    assert policy.warn == LevelVersion("restricted", Version(30))


def test_bad_labels_fail_closed_for_enforce_and_open_for_warn_and_audit():
    policy, errs = ps.policy_from_labels({LABEL + "enforce": "strict", LABEL + "warn": "loud",
                                          LABEL + "audit-version": "1.30"})
    assert policy.enforce.level == "restricted" and policy.warn.level == "privileged"
    assert [str(e) for e in errs] == [
        'metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": must be one of privileged, '
        'baseline, restricted',
        'metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: "1.30": must be "latest" or "v1.x"',
        'metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "loud": must be one of privileged, '
        'baseline, restricted']


def test_defaults_apply_to_unlabelled_namespaces():
    defaults = Policy(enforce=LevelVersion("baseline"))
    assert ps.policy_from_labels({}, defaults)[0].enforce.level == "baseline"
    assert ps.policy_from_labels({LABEL + "enforce": "privileged"}, defaults)[0].enforce.level == "privileged"


# -- configuration -------------------------------------------------------------------------------------------

def test_config_from_an_admission_configuration():
    config = ps.load_config({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
        "plugins": [{"name": "PodSecurity", "configuration": {
            "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "baseline", "enforce-version": "v1.31", "warn": "restricted"},
            "exemptions": {"usernames": ["ci-bot"], "namespaces": ["kube-system"], "runtimeClasses": ["kata"]}}}]})
    assert config.defaults.enforce == LevelVersion("baseline", Version(31))
    assert config.defaults.warn == LevelVersion("restricted") and config.defaults.audit == LevelVersion()
    assert config.usernames == {"ci-bot"} and config.namespaces == {"kube-system"}
    assert config.runtime_classes == {"kata"}


def test_nothing_is_exempt_by_default():
    config = ps.load_config({"kind": "PodSecurityConfiguration"})
    assert config == ps.Config()
    assert not config.namespaces and config.defaults.enforce.level == "privileged"


@pytest.mark.parametrize(("doc", "message"), [
    ({"kind": "PodSecurityConfiguration", "defaults": {"enforce": "strict"}},
     'defaults.enforce: Invalid value: "strict": must be one of privileged, baseline, restricted'),
    ({"kind": "PodSecurityConfiguration", "defaults": {"warn-version": "1.2"}},
     'defaults.warn-version: Invalid value: "1.2": must be "latest" or "v1.x"'),
    ({"kind": "PodSecurityConfiguration", "exemptions": {"namespaces": "kube-system"}},
     "exemptions.namespaces: expected a list of non-empty names"),
    ({"kind": "AdmissionConfiguration", "plugins": []}, "plugins: the AdmissionConfiguration has no PodSecurity plugin"),
    ({"kind": "Pod"}, 'kind: expected PodSecurityConfiguration or AdmissionConfiguration, not "Pod"'),
])
def test_bad_configurations_name_the_field(doc, message):
    with pytest.raises(ps.ConfigError) as err:
        ps.load_config(doc)
    assert str(err.value) == message


# -- pod templates -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("group", "kind", "obj"), [
    ("apps", "Deployment", {"spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}}}),
    ("batch", "CronJob", {"spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {"a": "b"}},
                                                                         "spec": {"containers": []}}}}}}),
])
def test_pod_templates_of_workloads(group, kind, obj):
    assert ps.pod_template(group, kind, obj) == ({"labels": {"a": "b"}}, {"containers": []})


def test_kinds_without_templates_have_none():
    assert ps.pod_template("", "ConfigMap", {"data": {}}) is None
    assert ps.pod_template("apps", "Deployment", {"spec": {}}) is None
