#!/usr/bin/env python3
"""The suite's last test (a ctest FIXTURES_CLEANUP of every other test): no process the tests
started is still alive.

Every test runs with ISSU_TEST_SUITE=TAG (one per build directory) in its environment, which the
processes it starts inherit; sshd does not pass it on, so a lab's sshd and the junos-sim sessions
it starts are found by the lab's directory, which carries the tag (/tmp/issu-lab-TAG-*,
tests/unit/lab.h). Only this suite's processes match: others running tests on the same machine
are left alone. Exiting processes get a few seconds to go; whatever is left is listed, ended
(nothing outlives the suite even when this fails), and fails the test.

Usage: no_process_left.py TAG
"""
import os
import signal
import sys
import time

tag = sys.argv[1]
marker = ("ISSU_TEST_SUITE=" + tag).encode()
lab = ("/tmp/issu-lab-" + tag + "-").encode()


def left():
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if cmd and (marker in env or lab in cmd):
            found.append((int(pid), cmd.replace(b"\0", b" ").decode(errors="replace")))
    return found


for _ in range(50):
    found = left()
    if not found:
        print("no process started by the tests is left")
        sys.exit(0)
    time.sleep(0.2)
print("FAIL: processes started by the tests are still alive after the suite:")
for pid, cmd in found:
    print(f"  {pid}: {cmd[:300]}")
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
sys.exit(1)
