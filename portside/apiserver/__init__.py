"""The Kubernetes-compatible API server over the store: HTTPS, bearer tokens, discovery, OpenAPI, the verbs.

    server = APIServer(ServerConfig(data_dir, port=6443))
    await server.start()        # credentials and kubeconfig made at first start, namespaces bootstrapped
    ...
    await server.stop()         # stop intake, end watches, drain, close the store
"""

from portside.apiserver.server import APIServer, ServerConfig

__all__ = ["APIServer", "ServerConfig"]
