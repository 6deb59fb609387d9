"""Container networking: a bridge with leased addresses, persistent network namespaces, published ports."""

from portside.runtime.net.bridge import Attachment, BridgeNetwork
from portside.runtime.net.ports import PortMapping, parse_publish

__all__ = ["Attachment", "BridgeNetwork", "PortMapping", "parse_publish"]
