"""The runtime's network interface; the implementation lives in ``portside.runtime.net``.

Importing this module costs no subprocess and no ctypes load beyond what ``BridgeNetwork`` needs, but the
``--network none`` and ``host`` paths should not import it at all.
"""

from portside.runtime.net import Attachment, BridgeNetwork, PortMapping, parse_publish

__all__ = ["Attachment", "BridgeNetwork", "PortMapping", "parse_publish"]
