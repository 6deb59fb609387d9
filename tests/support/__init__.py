"""The tests' one support package: waiting (``wait``), prerequisites (``require``), object builders
(``builders``) and a real cluster to run against (``cluster``).

``tests/`` is on ``sys.path`` (pytest puts the root conftest's directory there), so tests import these as
``from support.wait import eventually``.
"""
