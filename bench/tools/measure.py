#!/usr/bin/env python3
"""Runs an orchestrator and measures what it costs, children included, as a user would pay it.

    measure.py [--mux-dir DIR] -- COMMAND...   ->  "wall_s=... cpu_s=... peak_pss_kib=... rc=..."

wall_s is the real time to completion. cpu_s is user+system time of the command and every
descendant it reaped (getrusage RUSAGE_CHILDREN), plus the last-seen CPU of SSH multiplexing
masters whose control sockets live in --mux-dir (Ansible's ControlPersist daemonizes them, so
nobody reaps them within the run). peak_pss_kib is the highest sum, over 100 ms samples, of the
proportional set size (PSS: shared pages split between their users, so forks of one Python are
not counted many times) of the command's process tree and those masters.
"""
import os
import resource
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def children_map():
    kids = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            kids.setdefault(int(fields[1]), []).append(int(pid))
        except OSError:
            pass
    return kids


def tree(root, kids):
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def mux_masters(mux_dir):
    if not mux_dir:
        return []
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if cmd.startswith("ssh: ") and mux_dir in cmd:
            pids.append(int(pid))
    return pids


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except OSError:
        return 0.0


def main():
    args = sys.argv[1:]
    mux_dir = None
    if args and args[0] == "--mux-dir":
        mux_dir, args = args[1], args[2:]
    if args and args[0] == "--":
        args = args[1:]
    start = time.monotonic()
    proc = subprocess.Popen(args)
    peak, mux_cpu = 0, {}
    while proc.poll() is None:
        kids = children_map()
        masters = mux_masters(mux_dir)
        total = sum(pss_kib(p) for p in tree(proc.pid, kids)) + sum(pss_kib(p) for p in masters)
        for p in masters:
            mux_cpu[p] = cpu_s(p)
        peak = max(peak, total)
        time.sleep(0.1)
    wall = time.monotonic() - start
    for p in mux_masters(mux_dir):
        mux_cpu[p] = cpu_s(p)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru.ru_utime + ru.ru_stime + sum(mux_cpu.values())
    print(f"wall_s={wall:.1f} cpu_s={cpu:.2f} peak_pss_kib={peak} rc={proc.returncode}")


main()
