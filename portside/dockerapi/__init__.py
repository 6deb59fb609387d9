"""The Docker Engine API over the engine: the docker CLI, docker-py and docker-compose talk to portside unchanged.

Each handler parses docker's request, calls the one ``engine/`` function that implements the verb (the CLI and
the node agent call the same ones) and renders docker's response. Nothing here keeps a second container model:
inspect, list and the rest render the engine's records, whose files are already in docker's shape.
"""

from portside.dockerapi.server import Listener, make_app, serve

__all__ = ["Listener", "make_app", "serve"]
