#!/usr/bin/env python3
"""Figures from an issu-fleet journal, for the benchmarks (standard library only).

  journal.py summary JOURNAL          routers, done, failed, makespan (simulated s), events,
                                      real seconds, event rate, CPU and peak RSS of issu-fleet
  journal.py latency JOURNAL TRACE    from a router printing a console line (JUNOS_SIM_TRACE) to
                                      the phase-changed event it caused being written
  journal.py handshakes JOURNAL STATUS_JSON
                                      SSH sessions opened per router against the sessions the
                                      router itself cut (junos-sim lab status --json)
Every command prints one line of `key=value` pairs.
"""
import datetime
import json
import sys


def events(path):
    with open(path) as f:
        for line in f:
            try:
                yield json.loads(line)
            except ValueError:
                pass


def real_time(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def summary(path):
    evs = list(events(path))
    finished = [e for e in evs if e["event"]["action"] == "run-finished"][-1]
    s, res = finished["issu"]["summary"], finished["issu"].get("resources", {})
    created = [real_time(e["event"]["created"]) for e in evs if "created" in e["event"]]
    real = created[-1] - created[0] if len(created) > 1 else 0
    cpu = res.get("cpu_user_s", 0) + res.get("cpu_system_s", 0)
    n = s["routers"]
    print(f"routers={n} done={s['done']} failed={s['failed']} exit={s['exit_code']} "
          f"makespan_s={finished['event']['duration'] / 1e9:.0f} events={len(evs)} "
          f"real_s={real:.2f} event_rate={len(evs) / real if real else 0:.0f} "
          f"cpu_s={cpu:.3f} cpu_ms_per_router={1000 * cpu / n:.2f} "
          f"max_rss_kib={res.get('max_rss_kib', 0):.0f} peak_in_flight={res.get('peak_in_flight', 0):.0f}")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


def latency(path, trace_path):
    printed = {}
    with open(trace_path) as f:
        for line in f:
            t, host, text = line.rstrip("\n").split(" ", 2)
            printed.setdefault((host, text), float(t))
    lat, unmatched = [], 0
    for e in events(path):
        if e["event"]["action"] != "phase-changed" or not e.get("issu", {}).get("line"):
            continue
        key = (e["host"]["name"], e["issu"]["line"])
        if key not in printed:
            unmatched += 1  # a line read by polling after the session dropped, not printed live
            continue
        lat.append(1000 * (real_time(e["event"]["created"]) - printed[key]))
    print(f"samples={len(lat)} median_ms={percentile(lat, 0.5):.2f} p99_ms={percentile(lat, 0.99):.2f} "
          f"max_ms={max(lat) if lat else float('nan'):.2f} polled_lines={unmatched}")


def handshakes(path, status_path):
    opened = {}
    for e in events(path):
        a = e["event"]["action"]
        if a in ("device-started", "device-reconnected"):
            host = e["host"]["name"]
            opened[host] = opened.get(host, 0) + 1
    status = json.load(open(status_path))
    cut = {r["name"]: r.get("sessions_dropped", 0) for r in status}
    routers = len(opened)
    sessions = sum(opened.values())
    broken = sum(cut.get(h, 0) for h in opened)
    extra = sum(max(0, opened[h] - 1 - cut.get(h, 0)) for h in opened)
    print(f"routers={routers} handshakes={sessions} per_router={sessions / routers:.2f} "
          f"cut_by_router={broken} goal={routers + broken} ratio={sessions / (routers + broken):.3f} "
          f"extra={extra}")


def main():
    cmd = sys.argv[1]
    if cmd == "summary":
        summary(sys.argv[2])
    elif cmd == "latency":
        latency(sys.argv[2], sys.argv[3])
    elif cmd == "handshakes":
        handshakes(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"unknown command {cmd}")


main()
