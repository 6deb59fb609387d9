"""CronJob rules: the schedule and time zone (parsed by ``api.cron``), the concurrency policy, history limits,
and the job template, whose errors carry their ``spec.jobTemplate`` path."""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import cron
from ..names import is_dns1123_subdomain
from .common import Errs, child, validate_annotations, validate_labels, validate_meta
from .workloads import validate_job_spec

__all__ = ["validate_cronjob", "CONCURRENCY_POLICIES", "MAX_NAME"]

CONCURRENCY_POLICIES = ["Allow", "Forbid", "Replace"]
MAX_NAME = 52  # a Job's name is the CronJob's plus "-" and ten digits of minutes, and must fit in 63


def _name(name: str) -> list[str]:
    problems = is_dns1123_subdomain(name)
    return problems or ([f"must be no more than {MAX_NAME} characters"] if len(name) > MAX_NAME else [])


def _schedule(spec: dict[str, Any], errs: Errs) -> None:
    schedule, zone_name = spec.get("schedule"), spec.get("timeZone")
    zone = None
    if zone_name is not None:
        try:
            zone = cron.load_zone(zone_name)
        except cron.ScheduleError as exc:
            errs.invalid("spec.timeZone", zone_name, str(exc))
    if not schedule:
        errs.required("spec.schedule")
        return
    if "TZ" in schedule:
        errs.invalid("spec.schedule", schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
        return
    try:
        cron.parse(schedule, zone)
    except cron.ScheduleError as exc:
        errs.invalid("spec.schedule", schedule, str(exc))


def _job_template(template: dict[str, Any] | None, errs: Errs) -> None:
    if template is None:
        errs.required("spec.jobTemplate")
        return
    meta = template.get("metadata") or {}
    validate_labels(meta.get("labels"), "spec.jobTemplate.metadata.labels", errs)
    validate_annotations(meta.get("annotations"), "spec.jobTemplate.metadata.annotations", errs)
    spec = template.get("spec") or {}
    inner = Errs()
    validate_job_spec(spec, inner)
    errs.extend(dataclasses.replace(e, path=f"spec.jobTemplate.{e.path}") for e in inner)
    if spec.get("selector") is not None:
        errs.invalid("spec.jobTemplate.spec.selector", spec["selector"], "`selector` will be auto-generated")
    if spec.get("manualSelector"):
        errs.unsupported("spec.jobTemplate.spec.manualSelector", True, ["nil", "false"])


def validate_cronjob(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, _name, errs)
    spec = obj.get("spec") or {}
    _schedule(spec, errs)
    errs.enum("spec.concurrencyPolicy", spec.get("concurrencyPolicy"), CONCURRENCY_POLICIES, required=True)
    for key in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        errs.nonnegative(child("spec", key), spec.get(key))
    _job_template(spec.get("jobTemplate"), errs)
