#!/usr/bin/env bash
# Differential test against Debian's ansible-core, the reference implementation of the formats
# issu-fleet reads:
#  1. `issu-fleet inventory --list` must equal `ansible-inventory --list` (as JSON values) for
#     every fixture inventory and the example fleet;
#  2. with no limits and no canary, the waves of `issu-fleet plan --json` must equal the batches
#     `ansible-playbook` runs for the same `serial` and `order`.
# Needs only what scripts/setup installs (Debian's ansible-core): the callback that prints the
# batches ships beside this script. A failing ansible command shows its stderr.
# Exits 77 (skipped) when ansible-core is not installed, and only then.
set -euo pipefail
bin=$1
src=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v ansible-inventory >/dev/null && command -v ansible-playbook >/dev/null || {
  echo "SKIP: ansible-core is not installed (ansible-inventory, ansible-playbook not on PATH);" \
    "scripts/setup installs it"
  exit 77
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ANSIBLE_LOCAL_TEMP=$work/tmp ANSIBLE_HOME=$work/home ANSIBLE_NOCOLOR=1
passed=0 failed=0

# COMMAND... with stdout where the caller sends it; on failure, its stderr and exit status, and
# the test fails.
ansible_run() {
  local rc=0
  "$@" 2>"$work/stderr" || rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL: $* exited $rc; its stderr:" >&2
    sed 's/^/  /' "$work/stderr" >&2
    exit 1
  fi
}

same_json() {
  python3 - "$1" "$2" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
if a != b:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                print("  differs at", k, "\n    ansible:", a.get(k), "\n    ours:   ", b.get(k))
    sys.exit(1)
PY
}

for inv in "$src"/tests/fixtures/inventories/*.yaml "$src"/examples/fleet/inventory.yaml; do
  name=inventory:$(basename "$(dirname "$inv")")/$(basename "$inv")
  ansible_run ansible-inventory -i "$inv" --list >"$work/ansible.json"
  "$bin" inventory -i "$inv" --list >"$work/ours.json"
  if same_json "$work/ansible.json" "$work/ours.json"; then
    echo "PASS $name"; passed=$((passed + 1))
  else
    echo "FAIL $name"; failed=$((failed + 1))
  fi
done

# Batches: 20 hosts, each serial list as YAML, each order.
python3 - "$work/hosts.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("all:\n  hosts:\n")
    for i in [7, 3, 12, 1, 19, 5, 14, 9, 2, 20, 11, 6, 17, 4, 13, 8, 16, 10, 18, 15]:
        f.write(f"    mx{i:02d}: {{ansible_connection: local}}\n")
PY
for serial in '"30%"' '[1, 5, 10]' '[2, "25%"]' '3' '["50%", 1]'; do
  for order in inventory sorted reverse_sorted reverse_inventory; do
    cat >"$work/play.yaml" <<YAML
- hosts: all
  gather_facts: false
  serial: $serial
  order: $order
  tasks:
    - name: batch
      debug: {msg: "{{ ansible_play_batch | join(',') }}"}
      run_once: true
YAML
    ANSIBLE_CALLBACK_PLUGINS=$here/callback ANSIBLE_STDOUT_CALLBACK=oracle_batches \
      ansible_run ansible-playbook -i "$work/hosts.yaml" "$work/play.yaml" >"$work/run.json"
    python3 -c 'import json,sys; print(json.dumps([m.split(",") for m in json.load(open(sys.argv[1]))]))' \
      "$work/run.json" >"$work/ansible.json"
    cat >"$work/policy.yaml" <<YAML
target: {version: 23.4R2.3, package: /var/tmp/junos.tgz}
waves: {serial: $serial, order: $order}
YAML
    "$bin" plan -i "$work/hosts.yaml" -p "$work/policy.yaml" --json |
      python3 -c 'import json,sys; print(json.dumps([w["hosts"] for w in json.load(sys.stdin)["waves"]]))' \
        >"$work/ours.json"
    if same_json "$work/ansible.json" "$work/ours.json"; then
      echo "PASS batches serial=$serial order=$order"; passed=$((passed + 1))
    else
      echo "FAIL batches serial=$serial order=$order"
      echo "  ansible: $(cat "$work/ansible.json")"
      echo "  ours:    $(cat "$work/ours.json")"
      failed=$((failed + 1))
    fi
  done
done
echo "oracle: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
