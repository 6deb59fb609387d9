"""A pod's ``/etc/resolv.conf`` and ``/etc/hosts``, as the kubelet writes them. Pure.

resolv.conf by ``dnsPolicy``:
- ``ClusterFirst`` (the default): the cluster DNS as the only nameserver, the search path
  ``<ns>.svc.<domain> svc.<domain> <domain>`` followed by the node's own search domains, and ``options ndots:5``
  (so that ``my-svc`` and ``my-svc.other-ns`` are tried under the cluster domain first). Without a cluster DNS
  on the node (``--disable dns``), or for a pod on the host's network, it falls back to ``Default``, as the
  kubelet does, with a Warning;
- ``ClusterFirstWithHostNet``: ``ClusterFirst``, also on the host's network;
- ``Default``: the node's resolv.conf (``--resolv-conf``);
- ``None``: only what ``dnsConfig`` says.
Then ``dnsConfig`` is merged in: its nameservers and searches appended (duplicates dropped), its options
replacing those of the same name. The result keeps at most 3 nameservers and 32 search domains of at most 2048
characters in all (glibc's and the kubelet's limits); what is dropped is said in a Warning ``DNSConfigForming``.

hosts: localhost, then the pod's address with its hostname, preceded by its fully qualified name when the pod
sets ``subdomain`` (``<hostname>.<subdomain>.<ns>.svc.<domain>``, the name the headless Service's DNS gives
it), then ``hostAliases``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portside.api.models import Pod, PodDNSConfig
from portside.runtime.net.resolvconf import ResolvConf

__all__ = ["MAX_NAMESERVERS", "MAX_SEARCHES", "PodDNS", "hosts_file", "resolv_conf"]

MAX_NAMESERVERS, MAX_SEARCHES, MAX_SEARCH_CHARS = 3, 32, 2048
CLUSTER_OPTIONS = ("ndots:5",)


@dataclass(frozen=True)
class PodDNS:
    """The node's side: its cluster DNS address ("" when none runs here), the cluster domain, its resolv.conf."""

    nameserver: str
    domain: str
    host: ResolvConf = field(default_factory=ResolvConf)


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _cluster_first(pod: Pod, dns: PodDNS) -> ResolvConf:
    ns = pod.metadata.namespace or "default"
    searches = (f"{ns}.svc.{dns.domain}", f"svc.{dns.domain}", dns.domain, *dns.host.searches)
    return ResolvConf((dns.nameserver,), _unique(searches), CLUSTER_OPTIONS)


def _base(pod: Pod, dns: PodDNS, warnings: list[str]) -> ResolvConf:
    policy = pod.spec.dns_policy or "ClusterFirst"
    if policy == "None":
        return ResolvConf()
    wants_cluster = policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not pod.spec.host_network)
    if wants_cluster and dns.nameserver:
        return _cluster_first(pod, dns)
    if wants_cluster:
        warnings.append('pod: "ClusterFirst" policy specified but no cluster DNS runs on this node; falling '
                        'back to "Default" policy')
    return dns.host


def _option_name(option: str) -> str:
    return option.split(":", 1)[0]


def _merge(base: ResolvConf, extra: PodDNSConfig | None) -> ResolvConf:
    if extra is None:
        return base
    options = {_option_name(o): o for o in base.options}
    for o in extra.options or []:
        options[o.name] = f"{o.name}:{o.value}" if o.value is not None else o.name
    return ResolvConf(_unique([*base.nameservers, *(extra.nameservers or [])]),
                      _unique([*base.searches, *(s.rstrip(".") for s in extra.searches or [])]),
                      tuple(options.values()))


def _limit(conf: ResolvConf, warnings: list[str]) -> ResolvConf:
    servers = conf.nameservers[:MAX_NAMESERVERS]
    if len(conf.nameservers) > MAX_NAMESERVERS:
        warnings.append(f"Nameserver limits were exceeded, some nameservers have been omitted, the applied "
                        f"nameserver line is: {' '.join(servers)}")
    searches: list[str] = []
    for search in conf.searches[:MAX_SEARCHES]:
        if sum(len(s) + 1 for s in searches) + len(search) > MAX_SEARCH_CHARS:
            break
        searches.append(search)
    if len(searches) < len(conf.searches):
        warnings.append(f"Search Line limits were exceeded, some search paths have been omitted, the applied "
                        f"search line is: {' '.join(searches)}")
    return ResolvConf(servers, tuple(searches), conf.options)


def resolv_conf(pod: Pod, dns: PodDNS) -> tuple[str, list[str]]:
    """The file's text, and the Warnings (``DNSConfigForming``) about what had to be changed."""
    warnings: list[str] = []
    conf = _limit(_merge(_base(pod, dns, warnings), pod.spec.dns_config), warnings)
    return conf.render(), warnings


def hostname(pod: Pod) -> str:
    return (pod.spec.hostname or pod.metadata.name or "")[:63]


def hosts_file(pod: Pod, ip: str, domain: str) -> str:
    lines = ["# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             "fe00::0\tip6-localnet", "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters"]
    name = hostname(pod)
    if ip:
        if pod.spec.subdomain:
            fqdn = f"{name}.{pod.spec.subdomain}.{pod.metadata.namespace or 'default'}.svc.{domain}"
            lines.append(f"{ip}\t{fqdn}\t{name}")
        else:
            lines.append(f"{ip}\t{name}")
    aliases = [a for a in pod.spec.host_aliases or [] if a.ip and a.hostnames]
    if aliases:
        lines.append("")
        lines.append("# Entries added by HostAliases.")
        lines += [f"{a.ip}\t" + "\t".join(a.hostnames) for a in aliases]
    return "\n".join(lines) + "\n"
