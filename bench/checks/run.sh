#!/bin/sh
# What issue 15's health checks cost: the time their snapshots take (issu.checks.took_s of the
# check-snapshot and check-attempt events) as a fraction of each router's wall time (device-started
# to device-finished), both on the run's clock, over a junos-sim lab behind OpenSSH.
#   bench/checks/run.sh BUILD_DIR [ROUTERS] [TIME_SCALE] [CHANNELS]
# CHANNELS: the policy's checks.channels (default: the policy's default, 5); 1 for one command
# after another, as before the snapshot's commands ran at once.
set -eu
B=$(cd "${1:?usage: run.sh BUILD_DIR [ROUTERS] [TIME_SCALE] [CHANNELS]}" && pwd)
N=${2:-4}
SCALE=${3:-600}
CHANNELS=${4:-}
D=$(mktemp -d /tmp/issu-bench-checks-XXXXXX)
trap '"$B/junos-sim" lab down "$D/lab" >/dev/null 2>&1 || true; rm -rf "$D"' EXIT
"$B/junos-sim" lab init "$D/lab" --devices "$N" --sites 1 --time-scale "$SCALE" \
  --known-hosts both >/dev/null
"$B/junos-sim" lab up "$D/lab" >/dev/null
cd "$D/lab"
# The lab's target section, then all routers in one wave with the default (built-in) checks.
(sed -n '1,/^issu/p' rollout.yaml | grep -v '^issu'
 printf 'waves: {serial: ["100%%"], soak: 0}\n'
 if [ -n "$CHANNELS" ]; then printf 'checks: {channels: %s}\n' "$CHANNELS"; fi) >bench.yaml
"$B/issu-fleet" run -i inventory.yaml -p bench.yaml --time-scale "$SCALE" --state-dir state \
  --run-id bench --yes </dev/null >/dev/null 2>&1 || echo "issu-fleet exited $?"
python3 - state/bench.jsonl "$SCALE" "$CHANNELS" <<'PY'
import json, sys
from datetime import datetime

def ts(e):
    return datetime.strptime(e['@timestamp'], '%Y-%m-%dT%H:%M:%S.%fZ').timestamp()

per = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    h = e.get('host', {}).get('name')
    if h:
        per.setdefault(h, []).append(e)
total = cost = 0.0
for h, es in sorted(per.items()):
    start = next(ts(e) for e in es if e['event']['action'] == 'device-started')
    end = next(ts(e) for e in es if e['event']['action'] == 'device-finished')
    took = sum(e['issu']['checks'].get('took_s', 0) for e in es
               if e['event']['action'] in ('check-snapshot', 'check-attempt'))
    print(f'{h:12} router {end - start:7.0f} s  checks {took:5.0f} s  {100 * took / (end - start):5.1f}%')
    total += end - start
    cost += took
print(f'time scale {sys.argv[2]}, checks.channels {sys.argv[3] or "default"}: checks {cost:.0f} s of {total:.0f} s of router time: {100 * cost / total:.1f}%')
PY
