"""Output into a pipeline whose reader has gone (`portside images | head -1`) ends quietly, as shell tools do."""

import os
import subprocess
import sys


def test_a_closed_pipe_ends_the_command_without_a_traceback(tmp_path):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    try:
        proc = subprocess.run([sys.executable, "-m", "portside", "--root", str(tmp_path), "images"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=30)
    finally:
        os.close(write)
    assert proc.returncode == 141 and proc.stderr == ""
