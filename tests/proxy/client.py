"""``python client.py HOST PORT N``: N requests, each on a new connection; prints the bodies (or errors) as JSON.

Run inside a network namespace to stand in for a pod calling a Service.
"""

import json
import socket
import sys


def get(host: str, port: int) -> str:
    try:
        with socket.create_connection((host, port), timeout=3) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return data.split(b"\r\n\r\n", 1)[1].decode()
    except OSError as exc:
        return f"error: {type(exc).__name__}"


if __name__ == "__main__":
    print(json.dumps([get(sys.argv[1], int(sys.argv[2])) for _ in range(int(sys.argv[3]))]))
