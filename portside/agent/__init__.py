"""The node agent: runs the pods bound to this node on the container engine (the kubelet's role).

``run_component`` is its ``portside up`` component; ``Agent`` the daemon (Node, Lease, the watch of this node's
pods, one ``Worker`` task per pod); ``server`` the logs and exec endpoints the API server forwards to. The
sans-I/O cores are ``plan`` (what to start, kill or hold back), ``status`` (pod status from what runs), ``probes``
(probe accounting) and ``backoff`` (CrashLoopBackOff), each usable on plain data.

Every run of a container is its own engine container labelled with its cluster, pod uid, container name and
attempt; a pod's containers share one network namespace (its sandbox, the bridge network's attachment for the
pod uid). Those labels and the sandbox directory are all the state there is: a restarted agent rebuilds its view
from the engine and adopts what runs.
"""

from portside.agent.agent import Agent, run_component
from portside.agent.backoff import Policy
from portside.agent.plan import Action, Kind, Observed, decide
from portside.agent.status import Facts, compute

__all__ = ["Action", "Agent", "Facts", "Kind", "Observed", "Policy", "compute", "decide", "run_component"]
