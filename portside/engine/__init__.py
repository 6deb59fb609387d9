"""Docker-style containers: resolves images through ``image`` and runs them through ``runtime``."""
