"""Where runc hands over the terminal it made for a container (``runc run --detach --console-socket PATH``).

runc creates the pseudo-terminal inside the container, makes its follower end the process's stdio and sends the
leader end over a unix socket to whoever listens at PATH (one descriptor, SCM_RIGHTS), before it returns. The
socket lives in a fresh directory under the temporary directory: a container's own directory may lie deeper than
the 107 bytes a socket address holds.
"""

from __future__ import annotations

import _socket
import array
import os
import select
import tempfile

from portside.runtime.errors import OCIRuntimeError

RECEIVE_TIMEOUT_S = 10.0


class ConsoleSocket:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="portside-console-")
        self.path = os.path.join(self.dir, "sock")
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
        self.sock.bind(self.path)
        self.sock.listen(1)

    def receive(self) -> int:
        """The terminal's leader end, once runc has sent it (it has by the time ``runc run --detach`` returns)."""
        if not select.select([self.sock], [], [], RECEIVE_TIMEOUT_S)[0]:
            raise OCIRuntimeError("runc did not hand over the container's terminal")
        fd, _ = self.sock._accept()  # the C method behind socket.accept
        conn = _socket.socket(fileno=fd)
        try:
            fds = array.array("i")
            _, ancillary, _, _ = conn.recvmsg(4096, _socket.CMSG_SPACE(fds.itemsize))
            for level, kind, data in ancillary:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
        finally:
            conn.close()
        if not fds:
            raise OCIRuntimeError("runc connected to the console socket but sent no terminal")
        for extra in fds[1:]:
            os.close(extra)
        os.set_inheritable(fds[0], False)
        return fds[0]

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.rmdir(self.dir)
