"""A small HTTP/1.1 backend for the proxy tests: ``python backend.py HOST PORT NAME [SLOW_S]``.

Answers every request with its NAME as the body (so a test sees which backend served it), keeps connections
alive, and on ``/slow`` waits SLOW_S seconds first; ``/big?n=N`` answers N bytes. Prints ``ready PORT`` once it listens
(PORT 0 picks a free one).
"""

import asyncio
import sys


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: bytes, slow: float) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1]
            body = name
            if path.startswith(b"/slow"):
                await asyncio.sleep(slow)
            elif path.startswith(b"/big"):
                body = b"x" * int(path.split(b"n=", 1)[1])
            close = b"connection: close" in head.lower()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n" % (
                len(body), b"Connection: close\r\n" if close else b"") + body)
            await writer.drain()
            if close:
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(host: str, port: int, name: str, slow: float) -> None:
    server = await asyncio.start_server(lambda r, w: handle(r, w, name.encode(), slow), host, port, backlog=1024)
    print("ready", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 0.0))
