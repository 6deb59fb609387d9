"""Routing the events of a workload's pods and ControllerRevisions to the workload's key, for the controllers that
own both (DaemonSet, StatefulSet): a pod's or revision's controller is queued, an orphan queues every set of its
namespace whose selector matches it (adoption), and a pod's creates and deletes are counted against expectations."""

from __future__ import annotations

from portside.api.models import ControllerRevision, Pod
from portside.controllers import scaling
from portside.controllers.informer import cache_key
from portside.controllers.pods import controller_of, is_terminating


class OwnedRouting:
    """Mixed into a controller with ``queue``, ``expectations`` and ``sets_in`` (its sets by namespace)."""

    OWNER_KIND = ""

    def _pod_changed(self, kind: str, pod: Pod, prev: Pod | None) -> None:
        ns, ref = pod.metadata.namespace or "", controller_of(pod)
        if ref is not None and ref.kind == self.OWNER_KIND:
            key = f"{ns}/{ref.name}"
            if kind == "ADDED":
                self.expectations.observed_add(key)
            elif kind == "DELETED" or is_terminating(pod):
                self.expectations.observed_delete(key, pod.metadata.uid or "")
            self.queue.add(key)
        elif ref is None:
            self._enqueue_matching(ns, pod.metadata.labels)
        old = controller_of(prev) if prev else None
        if old is not None and old != ref and old.kind == self.OWNER_KIND:
            self.queue.add(f"{ns}/{old.name}")

    def _revision_changed(self, kind: str, rev: ControllerRevision, prev: ControllerRevision | None) -> None:
        ns, ref = rev.metadata.namespace or "", controller_of(rev)
        if ref is not None and ref.kind == self.OWNER_KIND:
            self.queue.add(f"{ns}/{ref.name}")
        elif ref is None:
            self._enqueue_matching(ns, rev.metadata.labels)

    def _enqueue_matching(self, namespace: str, labels: dict[str, str] | None) -> None:
        for owner in self.sets_in(namespace):
            if scaling.selector_of(owner).matches(labels):
                self.queue.add(cache_key(owner))
