"""The node agent: runs the pods bound to this node on the container engine (the kubelet's role).

``run_component`` is its ``portside up`` component; ``Agent`` the daemon; the sans-I/O cores are ``plan``
(what to start, kill or hold back), ``status`` (pod status from what runs), ``probes`` (probe accounting) and
``backoff`` (CrashLoopBackOff), each usable on plain data.
"""

from portside.agent.agent import Agent, run_component
from portside.agent.backoff import Policy
from portside.agent.plan import Action, Kind, Observed, decide
from portside.agent.status import Facts, compute

__all__ = ["Action", "Agent", "Facts", "Kind", "Observed", "Policy", "compute", "decide", "run_component"]
