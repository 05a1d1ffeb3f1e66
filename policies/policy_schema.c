/*
 * The policy schema: one row per key. The walker below reads a policy file against this table;
 * policy_schema_markdown() prints the same table as the reference in docs/, so the docs cannot
 * drift from what the parser accepts. Adding a key is one row (and a field in struct policy).
 */
#include "policies/policy_internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct schema_key {
  const char *section; /* NULL for a top-level key */
  const char *key;
  value_parser parse;
  size_t offset;
  bool required;
  const char *type;
  const char *fallback; /* the default, as the docs show it */
  const char *doc;
};

#define AT(field) offsetof(struct policy, field)

static const struct schema_key schema[] = {
    {"target", "version", parse_version, AT(target.version), true, "Junos version", "(required)",
     "What success looks like: both routing engines run this version."},
    {"target", "package", parse_package, AT(target.package), true, "path on the router",
     "(required)", "The install package on the router, e.g. /var/tmp/jinstall-...tgz."},
    {"target", "sha256", parse_sha256, AT(target.sha256), false, "64 hex digits", "(none)",
     "Checked with `file checksum sha-256` before the upgrade starts."},
    {"target", "source", parse_text, AT(target.source), false, "local file path", "(none)",
     "Copied to the router by SCP when the package is missing there."},
    {"target", "vmhost", parse_vmhost, AT(target.vmhost), false, "true|false", "detected",
     "Whether the REs run Junos on a VM host (RE-S-X6/X8 and later): `request vmhost software "
     "in-service-upgrade`. Unset, each router's own report decides (its REs' last reboot reason "
     "or model, or a VMHost alarm)."},
    {"preflight", "accept_alarms", parse_alarm_names, AT(preflight.accept_alarms), false,
     "list of alarm descriptions", "[]",
     "Active major alarms that do not stop a router at preflight, by description as `show "
     "chassis alarms` prints it. Minor alarms never stop one; all alarms present at preflight are "
     "the baseline for verify's \"no new alarms\"."},
    {"issu", "options", parse_options, AT(issu.options), false, "list", "[]",
     "Passed to the ISSU command: no-copy, unlink, no-validate, no-tcp-syn-check, enhanced-mode."},
    {"issu", "old_master", parse_old_master, AT(issu.old_master), false, "reboot|leave|skip",
     "reboot",
     "After switchover: reboot the old master onto the new version (the ISSU's own `reboot` "
     "option; issu-fleet waits for it to come back as backup on the target), leave it upgraded "
     "with the install pending until its next reboot, or skip its upgrade "
     "(no-old-master-upgrade)."},
    {"issu", "switchback", parse_bool, AT(issu.switchback), false, "true|false", "true",
     "Give mastership back to the original master RE at the end (with old_master: reboot "
     "only: the other values leave the old master on the old release)."},
    {"issu", "timeouts", parse_timeouts, AT(issu.timeouts_s), false, "phase: duration", "see below",
     "Per-phase time limits; `device` bounds one router's whole upgrade."},
    {"waves", "canary", parse_canary, AT(waves.canary), false, "count | \"N%\" | [hosts]", "0",
     "The first wave, alone; a canary failure always halts the run."},
    {"waves", "serial", parse_serial, AT(waves.serial), false, "size or list of sizes",
     "all at once",
     "Batch sizes after the canary, with Ansible's `serial` semantics (percentages of all hosts, "
     "rounded down, at least 1; the last size repeats)."},
    {"waves", "mode", parse_mode, AT(waves.mode), false, "waves|rolling", "waves",
     "waves: a wave starts when the previous one ended and soaked; rolling: a router starts as "
     "soon as the limits allow."},
    {"waves", "soak", parse_duration, AT(waves.soak_s), false, "duration", "0",
     "Pause after each wave before the next starts (rolling: after the canary only)."},
    {"waves", "approve", parse_approve, AT(waves.approve), false, "list of wave names", "[]",
     "Waves that wait for `issu-fleet ctl approve`: canary, wave-N, or all."},
    {"waves", "order", parse_order, AT(waves.order), false,
     "inventory|reverse_inventory|sorted|reverse_sorted|shuffle", "inventory",
     "Host order before batching; inventory order is the order hosts first appear in the file."},
    {"waves", "seed", parse_seed, AT(waves.seed), false, "whole number", "0",
     "Seed for `order: shuffle`, so a shuffled plan is reproducible."},
    {"waves", "pack", parse_bool, AT(waves.pack), false, "true|false", "true",
     "Pack each wave with routers that can all run at once under the limits. false keeps "
     "Ansible's batches as `serial` cuts them; the limits are then enforced at run time, so a "
     "wave's routers wait for each other and the rollout takes longer (for comparison)."},
    {"limits", "max_parallel", parse_positive, AT(limits.max_parallel), false, "count", "unlimited",
     "Routers in flight at once, over the whole run."},
    {"limits", "jump_channels", parse_positive, AT(limits.jump_channels), false, "count", "10",
     "Routers that share one SSH session to a jump host (ProxyJump), one direct-tcpip channel "
     "each; more sessions are opened as needed. Keep it at or under the bastion's sshd "
     "MaxSessions (OpenSSH's default is 10)."},
    {"limits", "per", parse_per, AT(limits.per), false, "variable: count | \"N%\"", "{}",
     "At most this many routers in flight per value of a host variable (or per `group`); a "
     "percentage is of the hosts sharing that value."},
    {"limits", "exclusive", parse_labels, AT(limits.exclusive), false, "list of variables", "[]",
     "Never two routers with the same value of these variables in flight (redundant pairs)."},
    {"failures", "max_failed", parse_count, AT(failures.max_failed), false, "count", "0",
     "Halt when more than this many routers have failed over the whole run."},
    {"failures", "max_fail_percentage", parse_percent_limit, AT(failures.max_fail_percentage),
     false, "0-100", "100",
     "Halt when a wave's failed/size is strictly above this percentage (Ansible semantics)."},
    {"window", "days", parse_days, AT(window.days), false, "list of mon..sun", "every day",
     "Days on which new routers may start."},
    {"window", "start", parse_hhmm, AT(window.start_min), true, "\"HH:MM\"", "(required)",
     "Start of the window, in the window's time zone."},
    {"window", "end", parse_hhmm, AT(window.end_min), true, "\"HH:MM\"", "(required)",
     "End of the window; earlier than start means the window crosses midnight."},
    {"window", "tz", parse_tz, AT(window.tz), true, "tz database name", "(required)",
     "Time zone of start and end, e.g. Europe/Amsterdam."},
    {"checks", "builtin", parse_check_builtin, AT(checks), false, "check: on|off, or off for all",
     "all on",
     "The built-in ISSU suite (docs/checks.md): bgp-peers, bgp-state, bgp-prefixes, ospf, isis, "
     "ldp, interfaces, routes, fpc, alarms, nsr. bgp-prefixes and routes also take a tolerance "
     "in JSNAPy's delta forms (\"5%\", \"+-5%\", \"10\"), which keeps them on."},
    {"checks", "files", parse_check_files, AT(checks.files), false, "list of file paths", "[]",
     "JSNAPy test files added to the suite, read as they are (the supported subset is in "
     "docs/checks.md); a relative path is read from the policy's folder."},
    {"checks", "converge", parse_positive_duration, AT(checks.converge_s), false, "duration", "10m",
     "After verify, a failing post-check is retried until it passes or this long has passed "
     "since the first try; then the router fails with post-check-failed. Must be shorter than "
     "issu.timeouts.device, which the wait extends (the device timeout bounds the upgrade)."},
    {"checks", "interval", parse_positive_duration, AT(checks.interval_s), false, "duration", "30s",
     "Time between post-check attempts."},
    {"checks", "pre_check", parse_pre_check, AT(checks.pre_check), false, "fail|warn", "fail",
     "A single-snapshot test failing on the pre snapshot (a BGP peer already down): fail the "
     "router with pre-check-failed before anything is done to it, or only warn (an event)."},
    {"checks", "channels", parse_check_channels, AT(checks.channels), false, "1-9", "5",
     "Commands of a snapshot run at once on the router's session, each on an SSH channel of its "
     "own (1: one after another). A router that refuses a channel is no failure: that command "
     "waits for another to end. Keep it at or under the router's sessions per connection "
     "(OpenSSH's MaxSessions, 10 by default)."},
    {NULL, "estimate", parse_positive_duration, AT(estimate_s), false, "duration", "40m",
     "Expected duration of one router's upgrade, for plans and ETAs."},
};

static const char *const sections[] = {"target", "preflight", "issu",   "waves",
                                       "limits", "failures",  "window", "checks"};

static const uint64_t default_timeouts[TIMEOUT_COUNT] = {
    30, 300, 1800, 900, 1800, 1200, 900, 1800, 900, 1800, 1200, 600, 300, 7200,
};

static void set_defaults(struct policy *p)
{
  p->issu.old_master = OLD_MASTER_REBOOT;
  p->issu.switchback = true;
  p->waves.pack = true;
  memcpy(p->issu.timeouts_s, default_timeouts, sizeof default_timeouts);
  p->waves.mode = MODE_WAVES;
  p->waves.order = ORDER_INVENTORY;
  p->failures.max_fail_percentage = 100;
  p->window.days = 0x7f;
  p->estimate_s = 40 * 60;
  p->checks.converge_s = 10 * 60;
  p->checks.interval_s = 30;
  p->checks.pre_check = PRE_CHECK_FAIL;
  p->checks.channels = CHECK_CHANNELS_DEFAULT;
}

/* Every key name valid at one level, for "did you mean". */
static size_t level_names(const char *section, const char **names, size_t max)
{
  size_t n = 0;
  if (section == NULL)
    for (size_t i = 0; i < ARRAY_LEN(sections) && n < max; i++)
      names[n++] = sections[i];
  for (size_t i = 0; i < ARRAY_LEN(schema) && n < max; i++) {
    bool same = section ? schema[i].section && strcmp(schema[i].section, section) == 0
                        : schema[i].section == NULL;
    if (same)
      names[n++] = schema[i].key;
  }
  return n;
}

static void unknown_key(struct pctx *c, const char *section, const struct ynode *k)
{
  const char *names[64];
  size_t n = level_names(section, names, ARRAY_LEN(names));
  const char *near = text_nearest(k->text, names, n);
  char list[512] = "";
  for (size_t i = 0; i < n; i++) {
    strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
    strncat(list, names[i], sizeof list - strlen(list) - 1);
  }
  const char *where = section ? section : "the policy";
  if (near)
    diag_add(c->d, c->p->file, k->line, k->col, "unknown key '%s' in %s (did you mean '%s'?)",
             k->text, where, near);
  else
    diag_add(c->d, c->p->file, k->line, k->col, "unknown key '%s' in %s (expected one of: %s)",
             k->text, where, list);
}

static const struct schema_key *find_key(const char *section, const char *key)
{
  for (size_t i = 0; i < ARRAY_LEN(schema); i++) {
    bool same = section ? schema[i].section && strcmp(schema[i].section, section) == 0
                        : schema[i].section == NULL;
    if (same && strcmp(schema[i].key, key) == 0)
      return &schema[i];
  }
  return NULL;
}

static void apply(struct pctx *c, const struct schema_key *k, const struct ynode *value)
{
  char *path = k->section ? xasprintf("%s.%s", k->section, k->key) : xstrdup(k->key);
  c->path = path;
  k->parse(c, value, (char *)c->p + k->offset);
  c->path = NULL;
  free(path);
}

/* Reports required keys of `section` that the file does not set. */
static void check_required(struct pctx *c, const char *section, const struct ynode *map,
                           const struct ynode *at)
{
  for (size_t i = 0; i < ARRAY_LEN(schema); i++) {
    const struct schema_key *k = &schema[i];
    if (!k->required || k->section == NULL || strcmp(k->section, section) != 0)
      continue;
    if (ynode_get(map, k->key) == NULL)
      diag_add(c->d, c->p->file, at ? at->line : 0, at ? at->col : 0, "%s.%s is required (%s: %s)",
               section, k->key, k->type, k->doc);
  }
}

static void walk_section(struct pctx *c, const char *section, const struct ynode *map)
{
  if (map->kind != YNODE_MAP) {
    diag_add(c->d, c->p->file, map->line, map->col, "%s must be a mapping of keys (found %s)",
             section, ynode_kind_name(map));
    return;
  }
  for (size_t i = 0; i < map->count; i++) {
    const struct schema_key *k = find_key(section, map->pairs[i].key->text);
    if (k == NULL)
      unknown_key(c, section, map->pairs[i].key);
    else
      apply(c, k, map->pairs[i].value);
  }
}

/* The post-check's wait for the network (checks.converge) is added to the router's time limit
 * (issu.timeouts.device) at run time, but a converge as long as the whole limit says the limit
 * was not thought about: refused here, where the file can be named, rather than found out hours
 * into a run as a held router. Only when the checks run commands at all. */
static void check_converge(struct pctx *c, const struct ynode *root)
{
  const struct policy *p = c->p;
  uint64_t device = p->issu.timeouts_s[TIMEOUT_DEVICE];
  if (!policy_checks_on(p) || p->checks.converge_s < device)
    return;
  const struct ynode *at = ynode_get(ynode_get(root, "checks"), "converge");
  if (at == NULL)
    at = ynode_get(ynode_get(ynode_get(root, "issu"), "timeouts"), "device");
  if (at == NULL)
    at = root;
  char conv[32], dev[32];
  text_duration(p->checks.converge_s, conv, sizeof conv);
  text_duration(device, dev, sizeof dev);
  diag_add(c->d, p->file, at->line, at->col,
           "checks.converge (%s) is not shorter than issu.timeouts.device (%s): the post-check "
           "would wait for the network longer than the whole upgrade may take (raise "
           "issu.timeouts.device or shorten checks.converge)",
           conv, dev);
}

static void walk(struct pctx *c, const struct ynode *root)
{
  if (root == NULL || root->kind != YNODE_MAP) {
    diag_add(c->d, c->p->file, root ? root->line : 0, root ? root->col : 0,
             "a policy must be a mapping with target, waves, limits, ... (found %s)",
             root ? ynode_kind_name(root) : "an empty file");
    return;
  }
  for (size_t i = 0; i < root->count; i++) {
    const struct ynode *k = root->pairs[i].key;
    size_t s;
    for (s = 0; s < ARRAY_LEN(sections); s++)
      if (strcmp(k->text, sections[s]) == 0)
        break;
    if (s < ARRAY_LEN(sections))
      walk_section(c, sections[s], root->pairs[i].value);
    else if (find_key(NULL, k->text) != NULL)
      apply(c, find_key(NULL, k->text), root->pairs[i].value);
    else
      unknown_key(c, NULL, k);
  }
  const struct ynode *target = ynode_get(root, "target");
  if (target == NULL)
    diag_add(c->d, c->p->file, root->line, root->col,
             "target is required (target.version and target.package: what to install)");
  else if (target->kind == YNODE_MAP)
    check_required(c, "target", target, target);
  const struct ynode *window = ynode_get(root, "window");
  if (window != NULL && window->kind == YNODE_MAP) {
    c->p->window.set = true;
    check_required(c, "window", window, window);
    if (c->p->window.tz && c->p->window.start_min == c->p->window.end_min)
      diag_add(c->d, c->p->file, window->line, window->col,
               "window: start and end are the same time (expected a window of some length)");
  }
  check_converge(c, root);
}

static int load_doc(struct ydoc *doc, struct policy **out, struct diag *d)
{
  struct policy *p = xcalloc(1, sizeof *p);
  p->file = xstrdup(doc->file);
  set_defaults(p);
  size_t before = d->count;
  struct pctx c = {p, d, NULL};
  walk(&c, doc->root);
  ydoc_free(doc);
  if (d->count == before) {
    /* The whole suite is built once here, so a bad tolerance or an unsupported key in a test
     * file stops `plan` and `check` as well as `run`, at its own file:line:col. */
    check_suite_free(policy_check_suite(p, false, d));
  }
  if (d->count > before) {
    policy_free(p);
    return -EINVAL;
  }
  *out = p;
  return 0;
}

int policy_load_buffer(const char *name, const char *buf, size_t len, struct policy **out,
                       struct diag *d)
{
  struct ydoc doc;
  *out = NULL;
  if (ydoc_load_buffer(name, buf, len, &doc, d) < 0) {
    ydoc_free(&doc);
    return -EINVAL;
  }
  return load_doc(&doc, out, d);
}

int policy_load(const char *path, struct policy **out, struct diag *d)
{
  struct ydoc doc;
  *out = NULL;
  if (ydoc_load_file(path, &doc, d) < 0) {
    ydoc_free(&doc);
    return -EINVAL;
  }
  return load_doc(&doc, out, d);
}

void policy_free(struct policy *p)
{
  if (p == NULL)
    return;
  free(p->file);
  free(p->target.version);
  free(p->target.package);
  free(p->target.sha256);
  free(p->target.source);
  amount_free(&p->waves.canary);
  for (size_t i = 0; i < p->waves.serial.count; i++)
    amount_free(&p->waves.serial.items[i]);
  free(p->waves.serial.items);
  labels_free(&p->waves.approve);
  for (size_t i = 0; i < p->limits.per.count; i++)
    free(p->limits.per.items[i].var);
  free(p->limits.per.items);
  labels_free(&p->limits.exclusive);
  labels_free(&p->preflight.accept_alarms);
  free(p->window.tz);
  for (size_t i = 0; i < CHECK_BUILTIN_COUNT; i++)
    free(p->checks.tolerance[i]);
  labels_free(&p->checks.files);
  free(p);
}

/* Markdown table cells cannot hold a bare '|'. */
static void cell(FILE *out, const char *s)
{
  for (; *s; s++) {
    if (*s == '|')
      fputc('\\', out);
    fputc(*s, out);
  }
}

/* One example per key for the reference, as it is written in a policy file. */
static const struct {
  const char *key, *example;
} examples[] = {
    {"target.version", "`version: 23.4R2-S3.7`"},
    {"target.package", "`package: /var/tmp/junos-install-mx-x86-64-23.4R2-S3.7.tgz`"},
    {"target.sha256", "`sha256: 0b6dc6d3...1a15ec9` (all 64 digits)"},
    {"target.source", "`source: /srv/images/junos-install-mx-x86-64-23.4R2-S3.7.tgz`"},
    {"target.vmhost", "`vmhost: true`"},
    {"preflight.accept_alarms", "`accept_alarms: [\"Host 0 fan tray failure\"]`"},
    {"issu.options", "`options: [no-tcp-syn-check]`"},
    {"issu.old_master", "`old_master: reboot`"},
    {"issu.switchback", "`switchback: false`"},
    {"issu.timeouts", "`timeouts: {validate: 15m, device: 2h}`"},
    {"waves.canary", "`canary: [mx-ams-1]`, `canary: 2`, `canary: \"5%\"`"},
    {"waves.serial", "`serial: [1, 5, \"25%\"]`"},
    {"waves.mode", "`mode: rolling`"},
    {"waves.soak", "`soak: 15m`"},
    {"waves.approve", "`approve: [canary, wave-1]`"},
    {"waves.order", "`order: sorted`"},
    {"waves.seed", "`seed: 42`"},
    {"waves.pack", "`pack: false`"},
    {"limits.max_parallel", "`max_parallel: 8`"},
    {"limits.jump_channels", "`jump_channels: 8`"},
    {"limits.per", "`per: {site: 1, region: \"25%\"}`"},
    {"limits.exclusive", "`exclusive: [pair]`"},
    {"failures.max_failed", "`max_failed: 2`"},
    {"failures.max_fail_percentage", "`max_fail_percentage: 20`"},
    {"window.days", "`days: [sat, sun]`"},
    {"window.start", "`start: \"01:00\"`"},
    {"window.end", "`end: \"05:00\"`"},
    {"window.tz", "`tz: Europe/Amsterdam`"},
    {"checks.builtin", "`builtin: {alarms: off, bgp-prefixes: \"10%\"}`"},
    {"checks.files", "`files: [tests/bgp.yaml]`"},
    {"checks.converge", "`converge: 15m`"},
    {"checks.interval", "`interval: 1m`"},
    {"checks.pre_check", "`pre_check: warn`"},
    {"checks.channels", "`channels: 1`"},
    {"estimate", "`estimate: 45m`"},
};

static const char *example_of(const struct schema_key *k)
{
  char name[64];
  snprintf(name, sizeof name, "%s%s%s", k->section ? k->section : "", k->section ? "." : "",
           k->key);
  for (size_t i = 0; i < ARRAY_LEN(examples); i++)
    if (strcmp(examples[i].key, name) == 0)
      return examples[i].example;
  return "";
}

void policy_schema_markdown(FILE *out)
{
  fprintf(out, "| key | type | default | meaning | example |\n|---|---|---|---|---|\n");
  for (size_t i = 0; i < ARRAY_LEN(schema); i++) {
    const struct schema_key *k = &schema[i];
    fprintf(out, "| `%s%s%s` | ", k->section ? k->section : "", k->section ? "." : "", k->key);
    cell(out, k->type);
    fputs(" | ", out);
    cell(out, k->fallback);
    fputs(" | ", out);
    cell(out, k->doc);
    fputs(" | ", out);
    cell(out, example_of(k));
    fputs(" |\n", out);
  }
  fprintf(out, "\nDefault timeouts (`issu.timeouts`):\n\n| phase | default |\n|---|---|\n");
  for (size_t t = 0; t < TIMEOUT_COUNT; t++) {
    char buf[32];
    text_duration(default_timeouts[t], buf, sizeof buf);
    fprintf(out, "| `%s` | %s |\n", policy_timeout_names[t], buf);
  }
}
