"""SPDY/3.1 framing, the server's half, as ``kubectl port-forward`` speaks it (sans I/O: bytes in, frames out).

kubectl's SPDY is github.com/moby/spdystream over Go's SPDY/3 framer. A frame is either

- control: a 32-bit word with the high bit set, the version (3) and the type, then flags (8 bits) and the length
  (24 bits) of what follows; or
- data: the stream id (high bit clear), then flags (8 bits, FIN = 1) and the length (24 bits), then the bytes.

SYN_STREAM, SYN_REPLY and HEADERS carry a header block: a count, then each name and value with a 32-bit length
before it (several values of one name joined by NUL), all zlib-compressed with the dictionary of the SPDY/3
draft (section 2.6.10.1) in one compression context per direction, flushed (not ended) after every block: a block
can be read only with every earlier one of its direction. spdystream implements no flow control (it sends no
WINDOW_UPDATE and ignores ours), so neither do we: nothing waits for a window. Pings from the client (odd ids)
are echoed; a GOAWAY ends the session.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
MAX_LENGTH = (1 << 24) - 1
CANCEL, INTERNAL_ERROR = 5, 6  # RST_STREAM status codes


def _dictionary() -> bytes:
    """The SPDY/3 header compression dictionary: length-prefixed words, then a run of common values."""
    words = ("options head post put delete trace accept accept-charset accept-encoding accept-language "
             "accept-ranges age allow authorization cache-control connection content-base content-encoding "
             "content-language content-length content-location content-md5 content-range content-type date etag "
             "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
             "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
             "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning "
             "www-authenticate method get status").split()
    words += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    tail = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
            "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
            "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
            "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
            "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3 as spdystream writes it; the session cannot go on."""


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: dict[str, str] = field(default_factory=dict)  # lowercased names; the first value of each
    fin: bool = False


@dataclass(frozen=True)
class Data:
    stream_id: int
    data: bytes
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Ping:
    id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int


@dataclass(frozen=True)
class Ignored:
    """A frame a port-forward server has no use for (SETTINGS, WINDOW_UPDATE, HEADERS, SYN_REPLY)."""

    kind: int


Frame = SynStream | Data | RstStream | Ping | GoAway | Ignored


class Parser:
    """Bytes as they arrive (in any pieces) to whole frames."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.inflate = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= 8:
            length = int.from_bytes(self.buffer[5:8], "big")
            if len(self.buffer) < 8 + length:
                break
            head, body = bytes(self.buffer[:8]), bytes(self.buffer[8:8 + length])
            del self.buffer[:8 + length]
            frames.append(self._frame(head, body))
        return frames

    def _frame(self, head: bytes, body: bytes) -> Frame:
        first, flags = int.from_bytes(head[:4], "big"), head[4]
        if not first & 0x80000000:
            return Data(first & 0x7FFFFFFF, body, bool(flags & FLAG_FIN))
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"SPDY version {version} (only {VERSION} is spoken)")
        if kind == SYN_STREAM:
            stream_id = int.from_bytes(body[:4], "big") & 0x7FFFFFFF
            return SynStream(stream_id, self._headers(body[10:]), bool(flags & FLAG_FIN))
        if kind in (SYN_REPLY, HEADERS):
            self._headers(body[4:])  # read all the same: the next block's decompression depends on this one
            return Ignored(kind)
        if kind == RST_STREAM:
            stream_id, status = struct.unpack(">II", body[:8])
            return RstStream(stream_id & 0x7FFFFFFF, status)
        if kind == PING:
            return Ping(struct.unpack(">I", body[:4])[0])
        if kind == GOAWAY:
            return GoAway(struct.unpack(">I", body[:4])[0] & 0x7FFFFFFF)
        return Ignored(kind)

    def _headers(self, block: bytes) -> dict[str, str]:
        try:
            raw = self.inflate.decompress(block)
        except zlib.error as exc:
            raise ProtocolError(f"a header block does not decompress: {exc}") from None
        count, at, headers = struct.unpack(">I", raw[:4])[0], 4, {}
        for _ in range(count):
            name, at = _string(raw, at)
            value, at = _string(raw, at)
            headers.setdefault(name.lower(), value.split("\0")[0])
        return headers


def _string(raw: bytes, at: int) -> tuple[str, int]:
    if len(raw) < at + 4:
        raise ProtocolError("a header block ends early")
    length = struct.unpack(">I", raw[at:at + 4])[0]
    end = at + 4 + length
    if len(raw) < end:
        raise ProtocolError("a header block ends early")
    return raw[at + 4:end].decode(errors="replace"), end


class Writer:
    """Frames to bytes. Header blocks share one compression context: frames must go out in the order made."""

    def __init__(self) -> None:
        self.deflate = zlib.compressobj(zdict=DICTIONARY)

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None, fin: bool = False) -> bytes:
        return _control(SYN_REPLY, FLAG_FIN if fin else 0,
                        struct.pack(">I", stream_id) + self._headers(headers or {}))

    def data(self, stream_id: int, data: bytes = b"", fin: bool = False) -> bytes:
        """One frame per ``MAX_LENGTH`` bytes; FIN on the last."""
        chunks = [data[i:i + MAX_LENGTH] for i in range(0, len(data), MAX_LENGTH)] or [b""]
        return b"".join(struct.pack(">IB", stream_id & 0x7FFFFFFF, FLAG_FIN if fin and i == len(chunks) - 1 else 0)
                        + len(chunk).to_bytes(3, "big") + chunk for i, chunk in enumerate(chunks))

    @staticmethod
    def rst_stream(stream_id: int, status: int = CANCEL) -> bytes:
        return _control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    @staticmethod
    def ping(ping_id: int) -> bytes:
        return _control(PING, 0, struct.pack(">I", ping_id))

    @staticmethod
    def goaway(last_good_stream_id: int, status: int = 0) -> bytes:
        return _control(GOAWAY, 0, struct.pack(">II", last_good_stream_id, status))

    def _headers(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for name, value in headers.items():
            for text in (name.lower(), value):
                raw += struct.pack(">I", len(text.encode())) + text.encode()
        return self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)


def _control(kind: int, flags: int, body: bytes) -> bytes:
    return struct.pack(">HHB", 0x8000 | VERSION, kind, flags) + len(body).to_bytes(3, "big") + body
