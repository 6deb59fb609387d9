"""The SPDY/3.1 framing of ``kubectl port-forward``, frame by frame, with a client's frames built here from the
draft's layout (kubectl itself speaks to it in tests/agent/test_pod_streams.py)."""

from __future__ import annotations

import struct
import zlib

import pytest

from portside.agent import spdy


class Client:
    """What spdystream writes: one compression context for all of its header blocks, flushed after each."""

    def __init__(self) -> None:
        self.deflate = zlib.compressobj(zdict=spdy.DICTIONARY)

    def syn_stream(self, stream_id: int, headers: dict[str, str], fin: bool = False) -> bytes:
        block = struct.pack(">I", len(headers))
        for name, value in headers.items():
            block += struct.pack(">I", len(name)) + name.encode() + struct.pack(">I", len(value)) + value.encode()
        packed = self.deflate.compress(block) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        body = struct.pack(">IIBB", stream_id, 0, 0, 0) + packed
        return struct.pack(">HHB", 0x8003, spdy.SYN_STREAM, int(fin)) + len(body).to_bytes(3, "big") + body


def test_the_dictionary_is_the_drafts() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2  # the dictionary id a SPDY/3 zlib stream names


def test_frames_cut_anywhere_come_out_whole_and_headers_share_one_context() -> None:
    client, parser = Client(), spdy.Parser()
    wire = (client.syn_stream(1, {"streamType": "error", "port": "8080", "requestID": "0"})
            + client.syn_stream(3, {"streamtype": "data", "port": "8080", "requestid": "0"})
            + struct.pack(">IB", 3, 0) + (5).to_bytes(3, "big") + b"hello"
            + struct.pack(">IB", 3, spdy.FLAG_FIN) + (0).to_bytes(3, "big")
            + spdy.Writer.ping(7) + spdy.Writer.rst_stream(3) + spdy.Writer.goaway(3))
    frames = [f for i in range(len(wire)) for f in parser.feed(wire[i:i + 1])]  # a byte at a time
    assert frames == [
        spdy.SynStream(1, {"streamtype": "error", "port": "8080", "requestid": "0"}),
        spdy.SynStream(3, {"streamtype": "data", "port": "8080", "requestid": "0"}),
        spdy.Data(3, b"hello"), spdy.Data(3, b"", fin=True),
        spdy.Ping(7), spdy.RstStream(3, spdy.CANCEL), spdy.GoAway(3)]


def test_replies_decompress_in_order_and_big_data_is_cut_into_frames() -> None:
    writer, inflate = spdy.Writer(), zlib.decompressobj(zdict=spdy.DICTIONARY)
    for stream_id in (1, 3):
        reply = writer.syn_reply(stream_id)
        assert reply[:4] == struct.pack(">HH", 0x8003, spdy.SYN_REPLY)
        assert struct.unpack(">I", reply[8:12])[0] == stream_id
        assert inflate.decompress(reply[12:]) == b"\0\0\0\0"  # no headers, in the shared context
    frames = spdy.Parser().feed(writer.data(5, b"x" * (spdy.MAX_LENGTH + 10), fin=True))
    assert [(len(f.data), f.fin) for f in frames] == [(spdy.MAX_LENGTH, False), (10, True)]


def test_a_foreign_version_or_a_broken_header_block_is_refused() -> None:
    with pytest.raises(spdy.ProtocolError, match="SPDY version 2"):
        spdy.Parser().feed(struct.pack(">HHB", 0x8002, spdy.PING, 0) + (4).to_bytes(3, "big") + b"\0\0\0\1")
    broken = struct.pack(">HHB", 0x8003, spdy.SYN_STREAM, 0) + (14).to_bytes(3, "big") + b"\0" * 10 + b"junk"
    with pytest.raises(spdy.ProtocolError, match="does not decompress"):
        spdy.Parser().feed(broken)
