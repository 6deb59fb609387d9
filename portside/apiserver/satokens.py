"""ServiceAccount tokens: signed JWTs the API server issues (``serviceaccounts/NAME/token``) and accepts.

A token is a JWS (RS256) signed with ``DATA_DIR/pki/sa.key``, which every server of a cluster shares (bootstrap
data), with Kubernetes' claims: ``iss``, ``aud``, ``exp``/``iat``/``nbf``, ``sub``
(``system:serviceaccount:NS:NAME``), ``jti``, and ``kubernetes.io`` naming the namespace, the ServiceAccount (name
and uid) and, for a token bound to a pod, the pod (name and uid) and its node. Accepting one checks, in order:
the signature and key id, the issuer, that one audience is the API server's, the time window, and then that the
ServiceAccount still exists with that uid and the bound pod too (not past its deletion). So deleting a pod or its
ServiceAccount revokes every token bound to it at once, as on Kubernetes.

A pod's projected token is requested by its node's agent for 3607 seconds, and given a year instead (the claim
``warnafter`` keeps the nominal end): Kubernetes' ``--service-account-extend-token-expiration``, so that a
long-running pod's client keeps working while the token is still bound to the pod's life.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from portside import api
from portside.apiserver.auth import User, authenticated
from portside.apiserver.objects import key

ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)
KEY_FILE = "pki/sa.key"
SA_PREFIX = "system:serviceaccount:"
KUBELET_SECONDS = 3607  # what a kubelet asks for; answered with EXTENDED_SECONDS
EXTENDED_SECONDS = 365 * 24 * 3600
LEEWAY_S = 60
CACHE_SIZE = 4096
SERVICE_ACCOUNTS, PODS = api.lookup("", "v1", "serviceaccounts"), api.lookup("", "v1", "pods")
Claims = dict[str, Any]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ensure_key(data_dir: str) -> Path:
    """``DATA_DIR/pki/sa.key`` (RSA 2048, 0600), made when missing."""
    path = Path(data_dir) / KEY_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        key_obj = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key_obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.replace(tmp, path)
    return path


class Signer:
    """RS256 over the cluster's ServiceAccount key; the key id is the SHA-256 of the public key, as Kubernetes'."""

    def __init__(self, key_path: Path) -> None:
        self._key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        self.public = self._key.public_key()
        der = self.public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = _b64(hashlib.sha256(der).digest())
        self._header = _b64(json.dumps({"alg": "RS256", "kid": self.kid}, separators=(",", ":")).encode())

    def sign(self, claims: Claims) -> str:
        body = self._header + "." + _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = self._key.sign(body.encode(), padding.PKCS1v15(), hashes.SHA256())
        return body + "." + _b64(signature)

    def verify(self, token: str) -> Claims | None:
        """The claims of a token this key signed, else None (no time or audience checks here)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            if header.get("alg") != "RS256" or header.get("kid", self.kid) != self.kid:
                return None
            self.public.verify(_unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(),
                               hashes.SHA256())
            claims = json.loads(_unb64(parts[1]))
        except (ValueError, InvalidSignature, TypeError):
            return None
        return claims if isinstance(claims, dict) else None


def looks_like_jwt(token: str) -> bool:
    return token.startswith("eyJ") and token.count(".") == 2


def _rfc3339(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(int(seconds), datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TokenError(Exception):
    """A token that does not authenticate; the message says why (for logs and TokenReview, never for clients)."""


class ServiceAccountTokens:
    def __init__(self, store, signer: Signer) -> None:
        self.store, self.signer = store, signer
        self._verified: OrderedDict[str, Claims] = OrderedDict()  # token -> claims: the signature check, cached

    def issue(self, namespace: str, account: dict[str, Any], audiences: list[str], seconds: int,
              pod: dict[str, Any] | None = None) -> tuple[str, str]:
        """(token, its nominal expiration as RFC 3339) for ``account`` (a stored ServiceAccount), bound to ``pod``
        (a stored Pod) when given."""
        now = int(time.time())
        lifetime = EXTENDED_SECONDS if pod is not None and seconds == KUBELET_SECONDS else seconds
        am = account["metadata"]
        k8s: Claims = {"namespace": namespace, "serviceaccount": {"name": am["name"], "uid": am["uid"]}}
        if pod is not None:
            pm = pod["metadata"]
            k8s["pod"] = {"name": pm["name"], "uid": pm["uid"]}
            node = (pod.get("spec") or {}).get("nodeName")
            if node:
                k8s["node"] = {"name": node}
        claims: Claims = {"aud": list(audiences), "exp": now + lifetime, "iat": now, "iss": ISSUER,
                          "jti": str(uuid.uuid4()), "kubernetes.io": k8s, "nbf": now,
                          "sub": f"{SA_PREFIX}{namespace}:{am['name']}"}
        if lifetime != seconds:
            claims["kubernetes.io"]["warnafter"] = now + seconds
        return self.signer.sign(claims), _rfc3339(now + seconds)

    def _claims(self, token: str) -> Claims:
        claims = self._verified.get(token)
        if claims is None:
            claims = self.signer.verify(token)
            if claims is None:
                raise TokenError("invalid signature or not a token of this cluster")
            self._verified[token] = claims
            if len(self._verified) > CACHE_SIZE:
                self._verified.popitem(last=False)
        return claims

    async def validate(self, token: str, audiences: tuple[str, ...] = API_AUDIENCES) -> tuple[User, list[str]]:
        """The token's user and the audiences (of those asked) it is valid for; TokenError otherwise."""
        claims = self._claims(token)
        if claims.get("iss") != ISSUER:
            raise TokenError(f"issuer {claims.get('iss')!r} is not this cluster's")
        aud = claims.get("aud") or []
        valid_for = [a for a in audiences if a in (aud if isinstance(aud, list) else [aud])]
        if not valid_for:
            raise TokenError("token audiences do not match")
        now = time.time()
        if not (claims.get("nbf", 0) - LEEWAY_S <= now < claims.get("exp", 0) + LEEWAY_S):
            raise TokenError("token has expired or is not valid yet")
        k8s = claims.get("kubernetes.io") or {}
        namespace, account = k8s.get("namespace", ""), k8s.get("serviceaccount") or {}
        sa = await self._live(SERVICE_ACCOUNTS, namespace, account.get("name", ""), account.get("uid", ""))
        extra: list[tuple[str, tuple[str, ...]]] = [("authentication.kubernetes.io/credential-id",
                                                     (f"JTI={claims.get('jti', '')}",))]
        pod = k8s.get("pod")
        if pod:
            await self._live(PODS, namespace, pod.get("name", ""), pod.get("uid", ""))
            extra += [("authentication.kubernetes.io/pod-name", (pod.get("name", ""),)),
                      ("authentication.kubernetes.io/pod-uid", (pod.get("uid", ""),))]
            if (k8s.get("node") or {}).get("name"):
                extra.append(("authentication.kubernetes.io/node-name", (k8s["node"]["name"],)))
        name = sa["metadata"]["name"]
        user = authenticated(f"{SA_PREFIX}{namespace}:{name}",
                             ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
                             sa["metadata"]["uid"], extra=tuple(sorted(extra)))
        return user, valid_for

    async def _live(self, info: api.ResourceInfo, namespace: str, name: str, uid: str) -> dict[str, Any]:
        kv = await self.store.get(key(info, namespace, name))
        if kv is None:
            raise TokenError(f"{info.plural} {namespace}/{name} no longer exists: the token has been invalidated")
        obj = json.loads(kv.value)
        m = obj["metadata"]
        if m.get("uid") != uid:
            raise TokenError(f"{info.plural} {namespace}/{name} uid {m.get('uid')} does not match the claim's "
                             f"{uid}: the token has been invalidated")
        deleting = m.get("deletionTimestamp")
        if deleting and deleting < _rfc3339(time.time()):
            raise TokenError(f"{info.plural} {namespace}/{name} is being deleted: the token has been invalidated")
        return obj

    async def authenticate(self, token: str) -> User | None:
        """For the authenticator chain: the user, or None (another authenticator may know the token)."""
        if not looks_like_jwt(token):
            return None
        try:
            return (await self.validate(token))[0]
        except TokenError:
            return None
