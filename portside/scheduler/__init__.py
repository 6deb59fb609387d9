"""Placement: a queue, filter and score plugins over node arrays, preemption, gangs, and a simulator.

The public contract: build a ``Scheduler`` with a ``Binder`` (``InMemoryBinder`` for simulation), feed it nodes
and pods (``NodeInfo``/``PodInfo``, built from the typed models ``portside.api.models.Node``/``Pod`` by
``node_info``/``pod_info``, or from Kubernetes JSON by ``node_from_wire``/``pod_from_wire``), call
``run(now)``. The daemon of ``portside up`` is ``portside.scheduler.service.run_component``; the simulator is
``portside.scheduler.sim.Simulator`` (not imported here: it pulls in the HiGHS solver).
"""

from portside.scheduler.binder import Binder, InMemoryBinder
from portside.scheduler.explain import Diagnosis, message
from portside.scheduler.framework import Code, CycleState, Status
from portside.scheduler.model import NodeInfo, PodInfo, Taint, Toleration
from portside.scheduler.nodes import NodeArrays
from portside.scheduler.profile import Profile, ProfileError, builtin_profiles, load_config
from portside.scheduler.scheduler import Scheduler
from portside.scheduler.wire import WireError, node_from_wire, node_info, pod_from_wire, pod_info

__all__ = ["Binder", "Code", "CycleState", "Diagnosis", "InMemoryBinder", "NodeArrays", "NodeInfo", "PodInfo", "Profile",
           "ProfileError", "Scheduler", "Status", "Taint", "Toleration", "WireError", "builtin_profiles",
           "load_config", "message", "node_from_wire", "node_info", "pod_from_wire", "pod_info"]
