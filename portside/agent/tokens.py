"""ServiceAccount tokens for pods' projected volumes, requested from the API as the kubelet requests them.

A token is asked for once per pod, audience and lifetime (``serviceaccounts/NAME/token``, bound to the pod, so
that it dies with it) and kept; it is asked for again once 80 % of its nominal life has passed, as the kubelet
renews it, and written anew by the pod's worker at its next volume sync (``worker.VOLUME_SYNC_S``) or when a
container of the pod next starts. A pod that is gone is forgotten.
"""

from __future__ import annotations

import time

from portside.api.models import Pod
from portside.api.timefmt import parse_time
from portside.client import Client

RENEW_AT = 0.8


class PodTokens:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._held: dict[tuple[str, str, int], tuple[str, float]] = {}  # (pod uid, audience, seconds) -> token

    async def for_pod(self, pod: Pod) -> dict[tuple[str, str], str]:
        """(volume name, file path) -> token, for every ServiceAccount token source of the pod's volumes."""
        out = {}
        for v in pod.spec.volumes or []:
            for source in (v.projected.sources if v.projected else None) or []:
                wanted = source.service_account_token
                if wanted is not None:
                    out[(v.name, wanted.path)] = await self._token(pod, wanted.audience or "",
                                                                   wanted.expiration_seconds or 3600)
        return out

    async def _token(self, pod: Pod, audience: str, seconds: int) -> str:
        m = pod.metadata
        held = self._held.get((m.uid, audience, seconds))
        if held is not None and time.time() < held[1]:
            return held[0]
        spec = {"expirationSeconds": seconds, "boundObjectRef": {"kind": "Pod", "apiVersion": "v1",
                                                                 "name": m.name, "uid": m.uid}}
        if audience:
            spec["audiences"] = [audience]
        answer = await self.client.create_token(pod.spec.service_account_name or "default", m.namespace, spec)
        expires = parse_time(answer.status.expiration_timestamp)
        now = time.time()
        life = (expires.timestamp() - now) if expires is not None else seconds
        self._held[(m.uid, audience, seconds)] = (answer.status.token, now + RENEW_AT * life)
        return answer.status.token

    def forget(self, uid: str) -> None:
        for k in [k for k in self._held if k[0] == uid]:
            del self._held[k]
