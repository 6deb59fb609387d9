"""Saved registry logins, in the shape of docker's ``config.json``: ``{"auths": {"HOST": {"auth": base64}}}``.

The file lives under the engine root (``ROOT/auth.json``) so that each engine root carries its own logins, and
is written with mode 0600 through a rename, so a crash never leaves half a file or a readable password.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import pathlib

from portside.runtime.errors import InvalidArgument

FILE_NAME = "auth.json"


@dataclasses.dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def header(self) -> str:
        """The value of a basic ``Authorization`` header."""
        return "Basic " + self.encoded()

    def encoded(self) -> str:
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


class CredentialStore:
    """Reads and writes the logins of one engine root."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(root) / FILE_NAME

    def get(self, registry: str) -> Credentials | None:
        entry = self._load().get("auths", {}).get(registry)
        if not entry or "auth" not in entry:
            return None
        return _decode(self.path, registry, entry["auth"])

    def save(self, registry: str, credentials: Credentials) -> None:
        data = self._load()
        data.setdefault("auths", {})[registry] = {"auth": credentials.encoded()}
        self._write(data)

    def remove(self, registry: str) -> bool:
        """Forget ``registry``'s login; False when there was none."""
        data = self._load()
        if registry not in data.get("auths", {}):
            return False
        del data["auths"][registry]
        self._write(data)
        return True

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise InvalidArgument(f"{self.path}: not a readable JSON credentials file: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("auths", {}), dict):
            raise InvalidArgument(f"{self.path}: expected an object with an \"auths\" object")
        return data

    def _write(self, data: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
        os.replace(tmp, self.path)


def _decode(path: pathlib.Path, registry: str, value: str) -> Credentials:
    try:
        username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        sep = ""
    if not sep:
        raise InvalidArgument(f"{path}: auths.{registry}.auth must be base64 of USER:PASSWORD")
    return Credentials(username, password)
