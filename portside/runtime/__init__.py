"""The container engine's low level: OCI bundles run by runc, cgroups, overlay root filesystems, networks.

Knows nothing of Kubernetes or of image names: it is given layer directories and a process to run.
"""
