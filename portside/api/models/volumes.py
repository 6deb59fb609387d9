"""core/v1 volume sources a pod can mount: emptyDir, hostPath, configMap, secret, persistentVolumeClaim,
downwardAPI, and projected (several of those, and a ServiceAccount token, in one directory)."""

from __future__ import annotations

from ..schema import QuantityValue, model, prop
from ..typed import Model
from .container import ObjectFieldSelector, ResourceFieldSelector

__all__ = [
    "KeyToPath", "EmptyDirVolumeSource", "HostPathVolumeSource", "ConfigMapVolumeSource", "SecretVolumeSource",
    "PersistentVolumeClaimVolumeSource", "DownwardAPIVolumeFile", "DownwardAPIVolumeSource", "Volume",
    "ServiceAccountTokenProjection", "ConfigMapProjection", "SecretProjection", "DownwardAPIProjection",
    "VolumeProjection", "ProjectedVolumeSource",
]

core = model("io.k8s.api.core.v1")


@core
class KeyToPath(Model):
    key: str | None = prop(required=True)
    path: str | None = prop(required=True)
    mode: int | None = prop()


@core
class EmptyDirVolumeSource(Model):
    medium: str | None = prop()
    size_limit: QuantityValue | None = prop()


@core
class HostPathVolumeSource(Model):
    path: str | None = prop(required=True)
    type: str | None = prop()


@core
class ConfigMapVolumeSource(Model):
    name: str | None = prop()
    items: list[KeyToPath] | None = prop(list_type="atomic")
    default_mode: int | None = prop()
    optional: bool | None = prop()


@core
class SecretVolumeSource(Model):
    secret_name: str | None = prop()
    items: list[KeyToPath] | None = prop(list_type="atomic")
    default_mode: int | None = prop()
    optional: bool | None = prop()


@core
class PersistentVolumeClaimVolumeSource(Model):
    claim_name: str | None = prop(required=True)
    read_only: bool | None = prop()


@core
class DownwardAPIVolumeFile(Model):
    path: str | None = prop(required=True)
    field_ref: ObjectFieldSelector | None = prop()
    resource_field_ref: ResourceFieldSelector | None = prop()
    mode: int | None = prop()


@core
class DownwardAPIVolumeSource(Model):
    items: list[DownwardAPIVolumeFile] | None = prop(list_type="atomic")
    default_mode: int | None = prop()


@core
class ServiceAccountTokenProjection(Model):
    """A token of the pod's ServiceAccount, bound to the pod, for ``audience`` (default: the API server's)."""

    audience: str | None = prop()
    expiration_seconds: int | None = prop()
    path: str | None = prop(required=True)


@core
class ConfigMapProjection(Model):
    name: str | None = prop()
    items: list[KeyToPath] | None = prop(list_type="atomic")
    optional: bool | None = prop()


@core
class SecretProjection(Model):
    name: str | None = prop()
    items: list[KeyToPath] | None = prop(list_type="atomic")
    optional: bool | None = prop()


@core
class DownwardAPIProjection(Model):
    items: list[DownwardAPIVolumeFile] | None = prop(list_type="atomic")


@core
class VolumeProjection(Model):
    """Exactly one source."""

    secret: SecretProjection | None = prop()
    downward_api: DownwardAPIProjection | None = prop(json="downwardAPI")
    config_map: ConfigMapProjection | None = prop()
    service_account_token: ServiceAccountTokenProjection | None = prop()


@core
class ProjectedVolumeSource(Model):
    sources: list[VolumeProjection] | None = prop(list_type="atomic")
    default_mode: int | None = prop()


@core
class Volume(Model):
    """A named volume with exactly one source."""

    name: str | None = prop(required=True)
    empty_dir: EmptyDirVolumeSource | None = prop()
    host_path: HostPathVolumeSource | None = prop()
    config_map: ConfigMapVolumeSource | None = prop()
    secret: SecretVolumeSource | None = prop()
    persistent_volume_claim: PersistentVolumeClaimVolumeSource | None = prop()
    downward_api: DownwardAPIVolumeSource | None = prop(json="downwardAPI")
    projected: ProjectedVolumeSource | None = prop()
