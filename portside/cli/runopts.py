"""The options of ``run`` and ``create`` (docker's names), and their translation into a ``ContainerConfig``.

Values are parsed by ``portside.engine.config``, so every front end refuses the same input with the same words.
"""

from __future__ import annotations

from portside.cli.flags import flag

RUN_FLAGS = [
    flag("-d --detach", "detach", help="run in the background and print the container id"),
    flag("--rm", "rm", help="remove the container when it exits"),
    flag("-i --interactive", "interactive", help="keep stdin open: this command's (foreground run) or an "
                                                 "attachment's (portside attach)"),
    flag("-t --tty", "tty", help="give the container a terminal"),
    flag("--name", "name", "value", "assign a name"),
    flag("-p --publish", "publish", "list", "publish a port: [IP:]HOST:CONTAINER[/PROTO]"),
    flag("-e --env", "env", "list", "set an environment variable KEY=VALUE"),
    flag("--env-file", "env_file", "list", "read KEY=VALUE lines from a file"),
    flag("-v --volume", "volume", "list", "bind HOSTPATH:PATH[:ro] or volume NAME:PATH[:ro]"),
    flag("-w --workdir", "workdir", "value", "working directory inside the container"),
    flag("-u --user", "user", "value", "UID[:GID] or NAME[:GROUP]"),
    flag("-h --hostname", "hostname", "value", "container host name"),
    flag("-m --memory", "memory", "value", "memory limit, e.g. 128m"),
    flag("--cpus", "cpus", "value", "CPU quota in cores, e.g. 0.5"),
    flag("-c --cpu-shares", "cpu_shares", "value", "relative CPU weight"),
    flag("--pids-limit", "pids_limit", "value", "maximum number of processes"),
    flag("--restart", "restart", "value", "no | on-failure[:N] | always | unless-stopped"),
    flag("--entrypoint", "entrypoint", "value", "override the image's entrypoint"),
    flag("--network --net", "network", "value", "bridge | none | host | a network's name"),
    flag("--network-alias --net-alias", "network_alias", "list", "a name the container answers to on its network"),
    flag("--ip", "ip", "value", "the container's IPv4 address on its network"),
    flag("--cap-add", "cap_add", "list", "add a capability"),
    flag("--cap-drop", "cap_drop", "list", "drop a capability (ALL for every one)"),
    flag("--privileged", "privileged", help="all capabilities, no seccomp, no masked paths"),
    flag("--security-opt", "security_opt", "list", "seccomp=unconfined|FILE, no-new-privileges"),
    flag("--read-only", "read_only", help="mount the root filesystem read-only"),
    flag("-l --label", "label", "list", "set a label KEY=VALUE"),
    flag("--health-cmd", "health_cmd", "value", "command to run to check health (in a shell)"),
    flag("--health-interval", "health_interval", "value", "time between checks, e.g. 30s (default 30s)"),
    flag("--health-timeout", "health_timeout", "value", "longest a check may run (default 30s)"),
    flag("--health-retries", "health_retries", "value", "failures in a row that make it unhealthy (default 3)"),
    flag("--health-start-period", "health_start_period", "value", "time to start before failures count"),
    flag("--health-start-interval", "health_start_interval", "value", "time between checks in the start period "
                                                                     "(default 5s)"),
    flag("--no-healthcheck", "no_healthcheck", help="disable the image's HEALTHCHECK"),
    flag("--log-driver", "log_driver", "value", "json-file (the only driver)"),
    flag("--log-opt", "log_opt", "list", "a json-file option: max-size=10m, max-file=3"),
    flag("--tmpfs", "tmpfs", "list", "mount a tmpfs: PATH[:OPTIONS], e.g. /run:size=64m"),
    flag("--stop-signal", "stop_signal", "value", "signal that stops the container (default the image's, or "
                                                  "SIGTERM)"),
    flag("--stop-timeout", "stop_timeout", "value", "seconds a stop waits before SIGKILL (default 10)"),
    flag("--cpu-quota", "cpu_quota", "value", "CFS quota in microseconds per period"),
    flag("--cpu-period", "cpu_period", "value", "CFS period in microseconds (default 100000)"),
    flag("--add-host", "add_host", "list", "add a NAME:IP line to /etc/hosts"),
    flag("--expose", "expose", "list", "expose a port (published by -P): PORT[/PROTO]"),
    flag("-P --publish-all", "publish_all", help="publish every exposed port on a free host port"),
]
# -h is --hostname for run/create, as in docker; --help still prints usage.


def config_from(opts: dict, args: list[str]):
    """``args`` is IMAGE [COMMAND...]; raises InvalidArgument naming the flag whose value is malformed. A
    foreground ``run -i`` ends the container's input with this command's (docker's StdinOnce); ``run -d -i`` and
    ``create -i`` keep it open for every attachment."""
    from portside.engine import config as c

    env = [e for f in opts["env_file"] for e in c.parse_env_file(f)] + [c.parse_env(e) for e in opts["env"]]
    labels = dict(item.partition("=")[::2] for item in opts["label"])
    return c.ContainerConfig(
        image=args[0], cmd=args[1:] or None,
        entrypoint=None if opts["entrypoint"] is None else [opts["entrypoint"]],
        env=env, workdir=opts["workdir"] or "", user=opts["user"] or "", name=opts["name"] or "",
        hostname=opts["hostname"] or "", publish=opts["publish"], volumes=opts["volume"],
        memory=c.parse_memory(opts["memory"]) if opts["memory"] else None,
        cpus=c.parse_cpus(opts["cpus"]) if opts["cpus"] else None,
        cpu_shares=c.parse_int(opts["cpu_shares"], "--cpu-shares", 2) if opts["cpu_shares"] else None,
        pids_limit=c.parse_int(opts["pids_limit"], "--pids-limit") if opts["pids_limit"] else None,
        restart=opts["restart"] or "no", network=opts["network"] or "bridge", cap_add=opts["cap_add"],
        cap_drop=opts["cap_drop"], privileged=opts["privileged"], security_opt=opts["security_opt"],
        read_only=opts["read_only"], autoremove=opts["rm"], labels=labels, open_stdin=opts["interactive"],
        stdin_once=opts["interactive"] and opts.get("detach") is False, tty=opts["tty"],
        network_aliases=opts["network_alias"], ip=opts["ip"] or "",
        healthcheck=c.health_options(opts["health_cmd"], opts["health_interval"], opts["health_timeout"],
                                     opts["health_start_period"], opts["health_start_interval"],
                                     opts["health_retries"], opts["no_healthcheck"]),
        log_driver=opts["log_driver"] or "json-file", log_opts=dict(c.parse_log_opt(o) for o in opts["log_opt"]),
        tmpfs=dict(c.parse_tmpfs(t) for t in opts["tmpfs"]), stop_signal=opts["stop_signal"] or "",
        stop_timeout=c.parse_int(opts["stop_timeout"], "--stop-timeout", -1) if opts["stop_timeout"] else None,
        cpu_quota=c.parse_int(opts["cpu_quota"], "--cpu-quota", -1) if opts["cpu_quota"] else None,
        cpu_period=c.parse_int(opts["cpu_period"], "--cpu-period", 0) if opts["cpu_period"] else None,
        extra_hosts=[c.parse_extra_host(h) for h in opts["add_host"]], expose=opts["expose"],
        publish_all=opts["publish_all"])
