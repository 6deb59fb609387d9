"""What a test needs from the machine, said once: ``require("skopeo")`` skips on a laptop without it and fails
under CI (``CI=true``), which is root on a fresh Debian machine with everything installed; there a missing
prerequisite is a broken CI image, never a silent skip."""

from __future__ import annotations

import os
import shutil

import pytest

# Where a missing tool comes from, for the message (Debian package names).
PACKAGES = {
    "runc": "runc",
    "skopeo": "skopeo",
    "docker-registry": "docker-registry",
    "htpasswd": "apache2-utils",
    "kubectl": "kubectl",
    "debootstrap": "debootstrap",
    "nft": "nftables",
    "ip": "iproute2",
    "dnsmasq": "dnsmasq-base",
    "redis-server": "redis-server",
    "docker": "docker.io",
    "dockerd": "docker.io",
    "docker-compose": "docker-compose",
}


def missing(*needs: str) -> list[str]:
    """The reasons ``needs`` are not met here: ``"root"`` is the effective user, anything else a command."""
    reasons = []
    for need in needs:
        if need == "root":
            if os.geteuid() != 0:
                reasons.append("needs root")
        elif shutil.which(need) is None:
            reasons.append(f"needs {need} (apt-get install {PACKAGES.get(need, need)})")
    return reasons


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def require(*needs: str) -> None:
    """Skip the calling test when ``needs`` are missing; fail it instead under ``CI=true``."""
    reasons = missing(*needs)
    if not reasons:
        return
    reason = "; ".join(reasons)
    if in_ci():
        pytest.fail(f"CI must provide this: {reason}", pytrace=False)
    pytest.skip(reason)
