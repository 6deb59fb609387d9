"""``--token-auth-file``: static bearer tokens in Kubernetes' CSV form, one user a line:

    token,user,uid,"group1,group2"

The first three columns are required; the fourth (quoted when it holds several groups) is optional. Blank lines
and lines starting with ``#`` are skipped. The file is read once at start, as kube-apiserver reads it; a malformed
line stops the start with its line number.
"""

from __future__ import annotations

import csv
import io
import logging

from portside.apiserver.auth import User, authenticated

log = logging.getLogger("portside.apiserver")


class TokenFileError(ValueError):
    pass


def parse(text: str, where: str = "token file") -> dict[str, User]:
    """Token -> user; TokenFileError names the line that is wrong."""
    users: dict[str, User] = {}
    for number, record in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not record or not "".join(record).strip() or record[0].lstrip().startswith("#"):
            continue
        if len(record) < 3:
            raise TokenFileError(f"{where}: line {number}: expected at least 3 columns (token, user name, user uid), "
                                 f"found {len(record)}")
        token, name, uid = (c.strip() for c in record[:3])
        if not token or not name:
            raise TokenFileError(f"{where}: line {number}: the token and the user name may not be empty")
        groups = tuple(g.strip() for g in record[3].split(",") if g.strip()) if len(record) > 3 else ()
        if token in users:
            log.warning("%s: line %d: duplicate token; the later line wins", where, number)
        users[token] = authenticated(name, groups, uid)
    return users


def load(path: str) -> dict[str, User]:
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)
