"""kill -9 of a process in the middle of acknowledged writes loses none of them."""

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

from portside import store

WRITER = textwrap.dedent("""
    import asyncio, sys
    from portside import store

    async def main(path):
        s = await store.open_store(path)
        async def one(i):
            await s.create(f"/crash/{i}", b"x" * 200)
            sys.stdout.write(f"{i}\\n")
            sys.stdout.flush()
        await asyncio.gather(*(one(i) for i in range(100000)))

    asyncio.run(main(sys.argv[1]))
""")


def test_every_acknowledged_write_survives_kill_9(tmp_path):
    path = str(tmp_path / "state.db")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, path], stdout=subprocess.PIPE, text=True)
    acked = []
    deadline = time.monotonic() + 20
    while len(acked) < 1500 and time.monotonic() < deadline:
        acked.append(int(proc.stdout.readline()))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(acked) >= 1500

    async def check():
        s = await store.open_store(path)
        try:
            return {kv.key for kv in (await s.list("/crash/")).items}
        finally:
            await s.close()

    present = asyncio.run(check())
    missing = [i for i in acked if f"/crash/{i}" not in present]
    assert missing == []
