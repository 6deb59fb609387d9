"""batch/v1 CronJob: a Job made from a template on a cron schedule."""

from __future__ import annotations

from ..schema import Time, model, prop
from ..typed import Model
from .meta import ObjectMeta, ObjectReference
from .workloads import JobSpec

__all__ = ["JobTemplateSpec", "CronJobSpec", "CronJobStatus", "CronJob"]

batch = model("io.k8s.api.batch.v1")


@batch
class JobTemplateSpec(Model):
    """The Job each scheduled run creates: its labels and annotations, and its spec."""

    metadata: ObjectMeta | None = prop()
    spec: JobSpec | None = prop()


@batch
class CronJobSpec(Model):
    """When to run (``schedule`` in ``timeZone``), what to run, and how runs may overlap."""

    schedule: str | None = prop(required=True)
    time_zone: str | None = prop()
    starting_deadline_seconds: int | None = prop()
    concurrency_policy: str | None = prop()
    suspend: bool | None = prop()
    job_template: JobTemplateSpec | None = prop(required=True)
    successful_jobs_history_limit: int | None = prop()
    failed_jobs_history_limit: int | None = prop()


@batch
class CronJobStatus(Model):
    active: list[ObjectReference] | None = prop(list_type="atomic")
    last_schedule_time: Time | None = prop()
    last_successful_time: Time | None = prop()


@batch
class CronJob(Model):
    """Creates a Job from ``jobTemplate`` at each time ``schedule`` names."""

    api_version: str | None = prop()
    kind: str | None = prop()
    metadata: ObjectMeta | None = prop()
    spec: CronJobSpec | None = prop()
    status: CronJobStatus | None = prop()
