/*
 * Malformed inventories and policies: each must be refused with FILE:LINE:COL and a message
 * that says what is wrong and what was expected. One row per case.
 */
#include "helpers.h"

#include <stdlib.h>

enum kind { INVENTORY, POLICY };

struct malformed {
  enum kind kind;
  const char *yaml;
  const char *expect; /* the start of the first diagnostic, or a distinctive part of it */
};

static const struct malformed cases[] = {
    /* Inventories. */
    {INVENTORY, "all:\n  hosts:\n  - mx1\n",
     "inv.yaml:3:3: 'hosts' of group 'all' must be a mapping (found a list"},
    {INVENTORY, "all:\n  host:\n    mx1:\n",
     "inv.yaml:2:3: unexpected key 'host' in group 'all' (expected hosts, vars or children; did "
     "you mean 'hosts'?)"},
    {INVENTORY, "all:\n  hosts:\n    mx1:\n    mx1:\n",
     "inv.yaml:4:5: duplicate key 'mx1' (first defined at 3:5"},
    {INVENTORY, "all:\n  hosts:\n    mx[01:3]:\n",
     "inv.yaml:3:5: host range 'mx[01:3]': begin and end of a zero-padded range must have the same "
     "width"},
    {INVENTORY, "all:\n  hosts:\n    mx[9:1]:\n",
     "inv.yaml:3:5: host range 'mx[9:1]': a range must have begin <= end"},
    {INVENTORY, "all:\n  hosts:\n    mx[1:9999999]:\n", "expands to more than 100000 hosts"},
    {INVENTORY, "all:\n  hosts:\n    mx1: [a, b]\n",
     "inv.yaml:3:10: the variables of host 'mx1' must be a mapping (found a list)"},
    {INVENTORY, "- mx1\n- mx2\n",
     "inv.yaml:1:1: an inventory must be a mapping of group names, like 'all:' (found a list)"},
    {INVENTORY, "site:\n  - mx1\n",
     "inv.yaml:2:3: group 'site' must be a mapping with hosts, vars or children (found a list)"},
    {INVENTORY, "all:\n  vars:\n    a: 1\n   b: 2\n", "inv.yaml:4:"},
    {INVENTORY, "all:\n\thosts:\n", "inv.yaml:2:1: found character that cannot start any token"},
    {INVENTORY, "all:\n  vars: {a: *x}\n",
     "inv.yaml:2:13: alias '*x' has no anchor defined before it"},
    {INVENTORY, "all:\n  vars: {ansible_group_priority: high}\n",
     "inv.yaml:2:34: ansible_group_priority must be a whole number (found 'high')"},
    {INVENTORY, "all:\n  children:\n    a:\n      children:\n        all:\n",
     "cannot be a child of"},
    {INVENTORY, "all:\n  vars: [x\n",
     "inv.yaml:3:1: did not find expected ',' or ']' (while parsing a flow sequence started at "
     "2:9)"},
    /* Policies. */
    {POLICY, "target: {version: 23.4R2, package: \"/var/tmp/x.tgz; reboot\"}\n",
     "policy.yaml:1:36: target.package: '/var/tmp/x.tgz; reboot' is refused: it contains a shell "
     "or CLI control character"},
    {POLICY, "target: {version: v23, package: /var/tmp/x.tgz}\n",
     "policy.yaml:1:19: target.version: 'v23' is refused: it does not start with a digit"},
    {POLICY, "target: {version: 23.4R2, package: /var/tmp/x.tgz, sha256: abc}\n",
     "policy.yaml:1:60: target.sha256: 'abc' is not a SHA-256 checksum (expected 64 hex digits)"},
    {POLICY, POLICY_TARGET "waves:\n  serial: 0\n",
     "policy.yaml:3:11: waves.serial: '0' is not a batch size (expected a whole number of at least "
     "1"},
    {POLICY, POLICY_TARGET "waves:\n  serial: [5, \"0%\"]\n",
     "policy.yaml:3:15: waves.serial: '0%' is not a usable percentage (expected a whole percentage "
     "from 1% to 100%)"},
    {POLICY, POLICY_TARGET "waves:\n  serial: 2.5\n",
     "policy.yaml:3:11: waves.serial: '2.5' is not a batch size"},
    {POLICY, POLICY_TARGET "waves:\n  serial: -3\n",
     "policy.yaml:3:11: waves.serial: '-3' is not a batch size"},
    {POLICY, POLICY_TARGET "waves:\n  mode: rollng\n",
     "policy.yaml:3:9: waves.mode: 'rollng' is not allowed (expected one of waves, rolling; did "
     "you mean 'rolling'?)"},
    {POLICY, POLICY_TARGET "waves:\n  soak: 15\n",
     "policy.yaml:3:9: waves.soak: '15' is not a duration (expected a number with a unit: 90s, "
     "15m, 2h, 1h30m)"},
    {POLICY, POLICY_TARGET "waves:\n  approve: [canary, wave-0]\n",
     "policy.yaml:3:21: waves.approve: 'wave-0' names no wave (expected canary, wave-N with N >= "
     "1, or all)"},
    {POLICY, POLICY_TARGET "issu:\n  options: [no-validate, reboot]\n",
     "policy.yaml:3:26: issu.options: 'reboot' is not allowed (expected one of no-copy, unlink, "
     "no-validate, no-tcp-syn-check, enhanced-mode)"},
    {POLICY, POLICY_TARGET "issu:\n  old_master: rebot\n", "did you mean 'reboot'?"},
    {POLICY, POLICY_TARGET "issu:\n  switchback: yes\n",
     "policy.yaml:3:15: issu.switchback: 'yes' is not allowed (expected true or false)"},
    {POLICY, POLICY_TARGET "issu:\n  timeouts: {validate: 0s}\n",
     "policy.yaml:3:24: issu.timeouts.validate: a duration of 0 would expire at once"},
    {POLICY, POLICY_TARGET "limits:\n  max_parallel: 0\n",
     "policy.yaml:3:17: limits.max_parallel: '0' is not allowed (expected a whole number from 1 to "
     "1000000)"},
    {POLICY, POLICY_TARGET "limits:\n  per: {site: \"0%\"}\n",
     "policy.yaml:3:15: limits.per: '0%' is not a usable percentage"},
    {POLICY, POLICY_TARGET "limits:\n  per: {\"si te\": 1}\n",
     "policy.yaml:3:9: limits.per: 'si te' is not a variable name"},
    {POLICY, POLICY_TARGET "failures:\n  max_fail_percentage: 101\n",
     "policy.yaml:3:24: failures.max_fail_percentage: '101' is not allowed (expected a whole "
     "number from 0 to 100)"},
    {POLICY,
     POLICY_TARGET "window: {days: [sat, sunday], start: \"01:00\", end: \"05:00\", tz: UTC}\n",
     "policy.yaml:2:22: window.days: 'sunday' is not allowed (expected one of mon, tue, wed, thu, "
     "fri, sat, sun; did you mean 'sun'?)"},
    {POLICY, POLICY_TARGET "window: {start: 1:00, end: \"05:00\", tz: UTC}\n",
     "policy.yaml:2:17: window.start: '1:00' is not a time of day (expected HH:MM from 00:00 to "
     "23:59, quoted)"},
    {POLICY, POLICY_TARGET "window: {start: \"01:00\", end: \"05:00\", tz: ../../etc/passwd}\n",
     "window.tz: '../../etc/passwd' is not a time zone"},
    {POLICY, POLICY_TARGET "estimate: 0\n",
     "policy.yaml:2:11: estimate: a duration of 0 would expire at once"},
    {POLICY, POLICY_TARGET "wave:\n  canary: 1\n",
     "policy.yaml:2:1: unknown key 'wave' in the policy (did you mean 'waves'?)"},
    {POLICY, POLICY_TARGET "limits: [max_parallel]\n",
     "policy.yaml:2:9: limits must be a mapping of keys (found a list)"},
    {POLICY, "",
     "policy.yaml: a policy must be a mapping with target, waves, limits, ... (found an empty "
     "file)"},
};

Test(malformed, every_case_is_refused_with_its_position_and_message)
{
  cr_assert_geq(ARRAY_LEN(cases), 20);
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    struct diag d = {0};
    int rc;
    if (cases[i].kind == INVENTORY) {
      struct inventory *inv = NULL;
      rc = inventory_load_buffer("inv.yaml", cases[i].yaml, strlen(cases[i].yaml), &inv, &d);
      inventory_free(inv);
    } else {
      struct policy *p = NULL;
      rc = policy_load_buffer("policy.yaml", cases[i].yaml, strlen(cases[i].yaml), &p, &d);
      policy_free(p);
    }
    cr_expect_lt(rc, 0, "case %zu was accepted:\n%s", i, cases[i].yaml);
    cr_expect(d.count > 0 && strstr(d.lines[0], cases[i].expect) != NULL,
              "case %zu:\n  expected: %s\n  got:      %s", i, cases[i].expect,
              d.count ? d.lines[0] : "(nothing)");
    diag_free(&d);
  }
}
