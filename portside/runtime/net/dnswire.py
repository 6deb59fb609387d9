"""A DNS server's fast path: finished wire replies kept by the question's bytes. Pure.

Almost every query a pod sends to the cluster DNS is one of a few questions asked again and again (its resolver
walks the same search path for the same Service names), and their answers change only when a Service or its
endpoints do. So a reply, once built with dnspython, is kept as bytes, and the next query with the same question gets a copy with
its own ID, flags and question spliced in, without parsing or rendering anything.

``parse`` reads just enough of a query for that: one question in wire form, nothing else but at most one OPT
record of EDNS version 0 without the DO bit. Anything else (several questions, compression in the question, TSIG,
DNSSEC, other opcodes) returns None and takes the full path through dnspython. The key is the question with its
name lowercased (names compare case-insensitively; the client's own spelling goes back in the reply) plus whether
the client spoke EDNS, since that changes the reply.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_ENTRIES", "Question", "ReplyCache", "parse"]

MAX_ENTRIES = 50_000  # a client asking for ever new names must not grow the cache without bound
_COUNTS_PLAIN = b"\x00\x01\x00\x00\x00\x00\x00\x00"
_COUNTS_OPT = b"\x00\x01\x00\x00\x00\x00\x00\x01"
_OPT = 41
RD, CD = 0x01, 0x10  # in the second and third header bytes: the bits a reply copies from its query


@dataclass(frozen=True, slots=True)
class Question:
    key: bytes
    end: int  # where the question section ends
    payload: int  # the largest UDP reply the client takes


def parse(wire: bytes) -> Question | None:
    """The question of a plain query, or None when the query needs the full parser."""
    size = len(wire)
    if size < 17 or wire[2] & 0xF8:  # QR set, or an opcode other than QUERY
        return None
    counts = wire[4:12]
    if counts != _COUNTS_PLAIN and counts != _COUNTS_OPT:
        return None
    i = 12
    while True:
        if i >= size:
            return None
        length = wire[i]
        if length == 0:
            break
        if length & 0xC0:
            return None
        i += length + 1
    end = i + 5
    if end > size:
        return None
    if counts == _COUNTS_PLAIN:
        return Question(wire[12:i].lower() + wire[i:end] + b"\x00", end, 512) if end == size else None
    return _with_opt(wire, i, end)


def _with_opt(wire: bytes, name_end: int, end: int) -> Question | None:
    # OPT: root name (1), type (2), payload size (2), extended rcode (1), version (1), flags (2), rdlength (2)
    if len(wire) < end + 11 or wire[end] != 0 or int.from_bytes(wire[end + 1:end + 3], "big") != _OPT:
        return None
    if wire[end + 6] != 0 or wire[end + 7] & 0x80:  # EDNS version 0 only; DO (DNSSEC) takes the full path
        return None
    if end + 11 + int.from_bytes(wire[end + 9:end + 11], "big") != len(wire):
        return None
    payload = max(512, int.from_bytes(wire[end + 3:end + 5], "big"))
    return Question(wire[12:name_end].lower() + wire[name_end:end] + b"\x01", end, payload)


class ReplyCache:
    """Finished replies by question; ``clear`` whenever the zone changes.

    Two levels: ``exact`` maps a query's bytes after its ID to the reply's bytes after its ID, so a client that
    asks the same way again (a pod's resolver always does) costs one dictionary lookup and one concatenation;
    ``entries`` maps the normalised question to a reply any spelling of it can be spliced into."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.entries: dict[bytes, tuple[bytes, bytes]] = {}
        self.exact: dict[bytes, bytes] = {}
        self.max_entries = max_entries

    def remember(self, query: bytes, reply: bytes) -> None:
        """``reply`` answers ``query`` and every later query with the same bytes but for the ID."""
        if len(self.exact) >= self.max_entries:
            self.exact.clear()
        self.exact[query[2:]] = reply[2:]

    def get(self, query: bytes, question: Question) -> bytes | None:
        """The reply for ``query``, or None when its question has none stored."""
        entry = self.entries.get(question.key)
        if entry is None:
            return None
        reply = entry[0] if len(entry[0]) <= question.payload else entry[1]
        return b"".join((query[:2], bytes((reply[2] | (query[2] & RD), reply[3] | (query[3] & CD))), reply[4:12],
                         query[12:question.end], reply[question.end:]))

    def put(self, question: Question, reply: bytes, truncated: bytes) -> None:
        """Store a reply rendered for a query with this question (its ID and copied bits are reset here);
        ``truncated`` is the one sent when ``reply`` does not fit the client's UDP size."""
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[question.key] = (_neutral(reply), _neutral(truncated))

    def clear(self) -> None:
        self.entries.clear()
        self.exact.clear()


def _neutral(reply: bytes) -> bytes:
    return b"\x00\x00" + bytes((reply[2] & ~RD & 0xFF, reply[3] & ~CD & 0xFF)) + reply[4:]
