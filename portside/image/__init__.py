"""The OCI image store: content-addressed blobs, manifests, names and tags; layers, builds and registries."""
