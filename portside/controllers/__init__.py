"""Controllers: reconcile loops over the API (through the client, never the store).

``Controller`` is the base every controller derives from: informers feed keys into a ``WorkQueue``; workers run
the subclass's level-triggered ``async def sync(key)``, with back-off on failure. ``GarbageCollector`` is the
first controller: ownerReferences with Background, Foreground and Orphan propagation. The workload controllers
(ReplicaSet, Deployment, DaemonSet, StatefulSet, Job, CronJob, Endpoints) run together as one ``portside up``
component; the disruption controller and the horizontal pod autoscaler (``horizontal.py``, over the pure ``replicacalc``,
``hpametrics`` and ``scalerules``) are components of their own. They write the Events ``kubectl describe`` shows
through ``portside.client.EventRecorder``, as every component does.
"""

from portside.controllers.base import Controller
from portside.controllers.cronjob import CronJobController
from portside.controllers.daemonset import DaemonSetController
from portside.controllers.deployment import DeploymentController
from portside.controllers.endpoints import EndpointsController
from portside.controllers.gc import GarbageCollector
from portside.controllers.horizontal import AutoscalerConfig, HorizontalController
from portside.controllers.informer import Informer, cache_key
from portside.controllers.job import JobController
from portside.controllers.queue import WorkQueue
from portside.controllers.replicaset import ReplicaSetController
from portside.controllers.shared import InformerFactory, SharedInformer
from portside.controllers.statefulset import StatefulSetController
from portside.controllers.workloads import WORKLOAD_CONTROLLERS, run_controllers

__all__ = ["AutoscalerConfig", "Controller", "CronJobController", "DaemonSetController", "DeploymentController",
           "EndpointsController", "GarbageCollector", "HorizontalController", "Informer", "InformerFactory",
           "JobController", "ReplicaSetController", "SharedInformer", "StatefulSetController",
           "WORKLOAD_CONTROLLERS", "WorkQueue", "cache_key", "run_controllers"]
