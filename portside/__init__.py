"""Portside: a container platform.

The data path reads straight down the packages: a manifest enters ``apiserver``, is validated against ``api``,
lands in ``store``; ``scheduler`` binds it; ``controllers`` and ``agent`` act on it; ``engine`` (over ``runtime``
and ``image``) makes it real; ``proxy`` routes to it.
"""

__version__ = "0.1.0"
