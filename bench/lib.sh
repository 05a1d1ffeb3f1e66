# Shared by the benchmark scripts (sourced): labs, policies, and key=value figures.

# lab_local DIR N SITES SCALE [junos-sim lab init options...]: a steady (jitter-free) lab whose
# routers are reached through the local transport (junos-sim as a child process, no sshd).
lab_local() {
  local dir=$1 n=$2 sites=$3 scale=$4
  shift 4
  ./build/junos-sim lab init "$dir" --devices "$n" --sites "$sites" --time-scale "$scale" \
    --steady "$@" >/dev/null
  sed -i 's|^    issu_known_hosts: \(.*\)|    issu_known_hosts: \1\n    issu_transport: local|' \
    "$dir/inventory.yaml"
}

# lab_policy DIR NAME BODY: DIR/NAME.yaml, the lab's target section (package, checksum, source)
# followed by BODY (printf format: \n for new lines).
lab_policy() {
  local dir=$1 name=$2 body=$3
  sed -n '/^target:/,/^issu:/p' "$dir/rollout.yaml" | grep -v '^issu:' >"$dir/$name.yaml"
  printf "$body" >>"$dir/$name.yaml"
}

# kv "k1=v1 k2=v2" KEY: the value of KEY.
kv() {
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

# ratio A B [DIGITS]: A / B.
ratio() {
  awk -v a="$1" -v b="$2" -v d="${3:-3}" 'BEGIN { printf "%.*f", d, b ? a / b : 0 }'
}
