/*
 * Preflight (read-only) and staging. Preflight is a table of checks: a command, and a judge that
 * reads its output and decides, quoting the line that decided (the evidence). Every check runs
 * and reports, so one `check` shows everything wrong with a router at once; the router fails
 * with the first failing check's code. Both REs already on the target: skipped, not failed.
 */
#include "scheduler/sched_internal.h"

#include <stdint.h>
#include <string.h>

enum verdict { V_PASS, V_FAIL, V_SKIP_ROUTER, V_INFO };
static const char *const verdict_names[] = {"pass", "fail", "on-target", "info"};

struct judgement {
  enum verdict v;
  const char *code; /* for V_FAIL */
  char why[300];
  const char *evidence[4];
  size_t nevidence;
};

typedef void (*judge_fn)(struct device *dv, struct judgement *j);

static const char *const *L(const struct device *dv)
{
  return (const char *const *)dv->out.lines;
}

static void cite(struct judgement *j, const char *line)
{
  if (line && *line && j->nevidence < ARRAY_LEN(j->evidence))
    j->evidence[j->nevidence++] = line;
}

static void judge_routing_engines(struct device *dv, struct judgement *j)
{
  struct junos_re_status s;
  if (!junos_parse_routing_engines(L(dv), dv->out.n, &s)) {
    j->v = V_FAIL, j->code = "output-unparsed";
    snprintf(j->why, sizeof j->why, "no 'Slot' in the output of show chassis routing-engine");
    cite(j, device_out_line(dv, NULL));
    return;
  }
  for (size_t i = 0; i < dv->out.n; i++)
    if (strstr(dv->out.lines[i], "Current state"))
      cite(j, dv->out.lines[i]);
  if (!s.re[0].present || !s.re[1].present) {
    j->v = V_FAIL, j->code = "single-re";
    snprintf(j->why, sizeof j->why, "unified ISSU needs two routing engines; re%d is absent",
             s.re[0].present ? 1 : 0);
  } else if (!s.re[0].up || !s.re[1].up || s.master < 0) {
    j->v = V_FAIL, j->code = "re-down";
    snprintf(j->why, sizeof j->why, "re%d is not up as master or backup", s.re[0].up ? 1 : 0);
  } else {
    dv->orig_master = s.master;
    snprintf(j->why, sizeof j->why, "two routing engines, re%d master", s.master);
  }
}

static void judge_versions(struct device *dv, struct judgement *j)
{
  struct junos_versions v;
  const char *target = dv->run->p->target.version;
  junos_parse_versions(L(dv), dv->out.n, &v);
  for (size_t i = 0; i < dv->out.n; i++)
    if (strncmp(dv->out.lines[i], "Junos:", 6) == 0 || strstr(dv->out.lines[i], "Could not"))
      cite(j, dv->out.lines[i]);
  for (int s = 0; s < 2; s++)
    snprintf(dv->before[s], sizeof dv->before[s], "%s", v.version[s]);
  /* An ISSU under way (another tool, a hand, a run that crashed) shows as a backup RE that does
   * not answer or REs on different releases: no real router prints an ISSU state line. */
  if (v.unreachable[0] || v.unreachable[1]) {
    j->v = V_FAIL, j->code = "re-down";
    snprintf(j->why, sizeof j->why,
             "re%d does not answer (an earlier ISSU or hand work may be under way)",
             v.unreachable[0] ? 0 : 1);
  } else if (!v.version[0][0] || !v.version[1][0]) {
    j->v = V_FAIL, j->code = "output-unparsed";
    snprintf(j->why, sizeof j->why, "no version for re%d in the output", v.version[0][0] ? 1 : 0);
  } else if (device_on_target(dv, v.version[0]) && device_on_target(dv, v.version[1])) {
    j->v = V_SKIP_ROUTER;
    snprintf(j->why, sizeof j->why, "both routing engines already run %s", target);
  } else if (strcmp(v.version[0], v.version[1]) != 0) {
    j->v = V_FAIL, j->code = "version-mismatch";
    snprintf(j->why, sizeof j->why,
             "re0 runs %s and re1 runs %s; unified ISSU needs one release on both (an earlier "
             "ISSU or hand work may be under way)",
             v.version[0], v.version[1]);
  } else
    snprintf(j->why, sizeof j->why, "both routing engines run %s", v.version[0]);
}

static void judge_config(struct device *dv, struct judgement *j, bool want, const char *code,
                         const char *statement)
{
  cite(j, device_out_line(dv, statement));
  if (!want) {
    j->v = V_FAIL, j->code = code;
    snprintf(j->why, sizeof j->why, "'set %s' is not in the configuration (ISSU needs it)",
             statement);
  } else
    snprintf(j->why, sizeof j->why, "%s is configured", statement);
}

static void judge_gres(struct device *dv, struct judgement *j)
{
  struct junos_config c;
  junos_parse_config(L(dv), dv->out.n, &c);
  judge_config(dv, j, c.gres, "gres-off", "chassis redundancy graceful-switchover");
}

static void judge_nsr(struct device *dv, struct judgement *j)
{
  struct junos_config c;
  junos_parse_config(L(dv), dv->out.n, &c);
  judge_config(dv, j, c.nsr, "nsr-off", "routing-options nonstop-routing");
}

static void judge_commit_sync(struct device *dv, struct judgement *j)
{
  struct junos_config c;
  junos_parse_config(L(dv), dv->out.n, &c);
  judge_config(dv, j, c.commit_sync, "commit-sync-off", "system commit synchronize");
}

static void judge_replication(struct device *dv, struct judgement *j)
{
  bool master;
  bool on = junos_parse_replication(L(dv), dv->out.n, &master);
  cite(j, device_out_line(dv, "Stateful Replication"));
  cite(j, device_out_line(dv, "RE mode"));
  if (!on || !master) {
    j->v = V_FAIL, j->code = "replication-off";
    snprintf(j->why, sizeof j->why, "stateful replication is %s%s", on ? "on" : "not enabled",
             master ? "" : " or this is not the master RE");
  } else
    snprintf(j->why, sizeof j->why, "stateful replication enabled on the master");
}

static void judge_switchover(struct device *dv, struct judgement *j)
{
  struct junos_switchover s;
  junos_parse_switchover(L(dv), dv->out.n, &s);
  cite(j, device_out_line(dv, "Graceful switchover"));
  cite(j, device_out_line(dv, "Kernel database"));
  const char *status = device_out_line(dv, "Switchover Status");
  cite(j, strstr(status, "Switchover Status") ? status : device_out_line(dv, "Peer state"));
  if (!s.found || !s.gres_on || !s.kernel_ready || !s.ready) {
    j->v = V_FAIL, j->code = "switchover-not-ready";
    snprintf(j->why, sizeof j->why, "the backup RE is not ready for a graceful switchover");
  } else
    snprintf(j->why, sizeof j->why, "the backup RE is ready for a graceful switchover");
}

static void judge_switch_check(struct device *dv, struct judgement *j)
{
  unsigned hold;
  enum junos_switch_check c = junos_parse_switch_check(L(dv), dv->out.n, &hold);
  cite(j, device_out_line(dv, NULL));
  switch (c) {
  case SWITCH_READY:
    snprintf(j->why, sizeof j->why, "mastership switch ready");
    break;
  case SWITCH_HOLDDOWN:
    j->v = V_FAIL, j->code = "switchover-holddown";
    snprintf(j->why, sizeof j->why, "a mastership hold-down is running (%u s left)", hold);
    break;
  case SWITCH_NOT_READY:
  case SWITCH_UNKNOWN:
    j->v = V_FAIL, j->code = "switchover-not-ready";
    snprintf(j->why, sizeof j->why, "the router does not say 'Switchover Ready'");
    break;
  }
}

#define STORAGE_MAX_PCT 90

/* One RE's storage from its part of the reply. */
static void judge_storage_of(struct device *dv, struct judgement *j, const char *re, size_t from,
                             size_t to)
{
  struct junos_storage s;
  junos_parse_storage(L(dv) + from, to - from, &s);
  size_t used = strlen(j->why);
  if (!s.found) {
    if (j->v != V_FAIL)
      j->v = V_FAIL, j->code = "output-unparsed";
    snprintf(j->why + used, sizeof j->why - used, "%sno /var filesystem for %s", used ? "; " : "",
             re);
    return;
  }
  for (size_t i = from; i < to; i++)
    if (strstr(dv->out.lines[i], s.mount))
      cite(j, dv->out.lines[i]);
  if (s.capacity_pct >= STORAGE_MAX_PCT && j->v != V_FAIL)
    j->v = V_FAIL, j->code = "storage-low";
  snprintf(j->why + used, sizeof j->why - used, "%s%s %s is %u%% full%s", used ? "; " : "", re,
           s.mount, s.capacity_pct,
           s.capacity_pct >= STORAGE_MAX_PCT
               ? " (the ISSU installs on both REs and needs room below 90%; try request system "
                 "storage cleanup invoke-on all-routing-engines)"
               : "");
}

/* Both REs (B14): the ISSU copies and installs the image on the backup RE too. The reply has a
 * `re0:` / `re1:` section per RE; a router that answers with one table is judged on it. */
static void judge_storage(struct device *dv, struct judgement *j)
{
  size_t start[2] = {SIZE_MAX, SIZE_MAX};
  for (size_t i = 0; i < dv->out.n; i++)
    for (int s = 0; s < 2; s++)
      if (strcmp(dv->out.lines[i], s ? "re1:" : "re0:") == 0)
        start[s] = i + 1;
  j->why[0] = '\0';
  if (start[0] == SIZE_MAX && start[1] == SIZE_MAX) {
    judge_storage_of(dv, j, "the router", 0, dv->out.n);
    return;
  }
  for (int s = 0; s < 2; s++) {
    if (start[s] == SIZE_MAX) {
      if (j->v != V_FAIL)
        j->v = V_FAIL, j->code = "re-down";
      size_t used = strlen(j->why);
      snprintf(j->why + used, sizeof j->why - used, "%sre%d gives no storage", used ? "; " : "", s);
      continue;
    }
    size_t end = start[1 - s] > start[s] ? start[1 - s] - 1 : dv->out.n;
    judge_storage_of(dv, j, s ? "re1" : "re0", start[s], end);
  }
}

static void judge_alarms(struct device *dv, struct judgement *j)
{
  junos_parse_alarms(L(dv), dv->out.n, &dv->baseline);
  j->v = V_INFO;
  cite(j, device_out_line(dv, "currently active"));
  snprintf(j->why, sizeof j->why, "%u alarms before the upgrade (the baseline for verify)",
           dv->baseline.count);
}

static void judge_package(struct device *dv, struct judgement *j)
{
  const struct policy *p = dv->run->p;
  char hex[80];
  enum junos_checksum c = junos_parse_checksum(L(dv), dv->out.n, hex, sizeof hex);
  cite(j, device_out_line(dv, NULL));
  bool can_stage = p->target.source != NULL;
  if (c == CHECKSUM_FOUND && (p->target.sha256 == NULL || strcmp(hex, p->target.sha256) == 0)) {
    dv->package_verified = true;
    snprintf(j->why, sizeof j->why, "%s is on the router%s", p->target.package,
             p->target.sha256 ? " with the expected SHA-256" : "");
    return;
  }
  if (c == CHECKSUM_UNPARSED) {
    j->v = V_FAIL, j->code = "output-unparsed";
    snprintf(j->why, sizeof j->why, "no checksum in the output of file checksum");
    return;
  }
  bool missing = c == CHECKSUM_MISSING;
  if (can_stage) {
    dv->need_stage = true;
    snprintf(j->why, sizeof j->why, "%s %s; it will be copied from %s", p->target.package,
             missing ? "is not on the router" : "has another SHA-256", p->target.source);
    return;
  }
  j->v = V_FAIL, j->code = missing ? "package-missing" : "checksum-mismatch";
  snprintf(j->why, sizeof j->why, "%s %s (and target.source is not set)", p->target.package,
           missing ? "is not on the router" : "has another SHA-256 than target.sha256");
}

static const struct check {
  const char *name;
  const char *command; /* "{package}" is replaced */
  judge_fn judge;
} checks[] = {
    {"routing-engines", "show chassis routing-engine", judge_routing_engines},
    {"versions", "show version invoke-on all-routing-engines", judge_versions},
    {"gres", "show configuration chassis redundancy | display set", judge_gres},
    {"nsr", "show configuration routing-options | display set", judge_nsr},
    {"commit-synchronize", "show configuration system commit | display set", judge_commit_sync},
    {"replication", "show task replication", judge_replication},
    {"switchover-ready", "show system switchover invoke-on other-routing-engine", judge_switchover},
    {"switch-check", "request chassis routing-engine master switch check", judge_switch_check},
    {"storage", "show system storage invoke-on all-routing-engines", judge_storage},
    {"alarms", "show chassis alarms", judge_alarms},
    {"package", "file checksum sha-256 {package}", judge_package},
};

static void run_check(struct device *dv);

static void check_done(struct device *dv, const struct transport_result *r)
{
  struct rollout *run = dv->run;
  const struct check *c = &checks[dv->step];
  if (r->error != TRANSPORT_OK) {
    device_fail(dv, transport_error_name(r->error), "failure", "preflight %s: %s", c->name,
                r->message);
    return;
  }
  struct judgement j = {.v = V_PASS};
  c->judge(dv, &j);
  for (size_t i = 0; i < j.nevidence; i++)
    device_note(dv, j.evidence[i]);
  cJSON *ev = event_new(run->log, j.v == V_FAIL ? "warn" : "info", "check-result", dv->name,
                        "%s: %s %s: %s", dv->name, c->name, verdict_names[j.v], j.why);
  cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(ev, "event"), "outcome",
                          j.v == V_FAIL ? "failure" : "success");
  if (dv->site)
    cJSON_AddStringToObject(event_labels(ev), "site", dv->site);
  cJSON *is = event_issu(ev);
  cJSON_AddNumberToObject(is, "wave", (double)dv->wave);
  cJSON *ck = cJSON_AddObjectToObject(is, "check");
  cJSON_AddStringToObject(ck, "name", c->name);
  cJSON_AddStringToObject(ck, "result", verdict_names[j.v]);
  if (j.code)
    cJSON_AddStringToObject(ck, "code", j.code);
  cJSON_AddStringToObject(ck, "reason", j.why);
  cJSON *evd = cJSON_AddArrayToObject(ck, "evidence");
  for (size_t i = 0; i < j.nevidence; i++)
    cJSON_AddItemToArray(evd, cJSON_CreateString(j.evidence[i]));
  if (rollout_note(run, ev) < 0)
    return;
  if (j.v == V_FAIL && dv->failed_checks++ == 0) {
    snprintf(dv->error_code, sizeof dv->error_code, "%s", j.code);
    snprintf(dv->error_message, sizeof dv->error_message, "preflight %s: %s", c->name, j.why);
  }
  if (j.v == V_SKIP_ROUTER && dv->failed_checks == 0) {
    if (run->o->check_only) {
      device_succeed(dv, PH_SKIPPED);
      return;
    }
    device_set_phase(dv, PH_SKIPPED, j.why);
    device_succeed(dv, PH_SKIPPED);
    return;
  }
  dv->step++;
  run_check(dv);
}

static void run_check(struct device *dv)
{
  if (dv->step == ARRAY_LEN(checks)) {
    if (dv->failed_checks > 0) {
      char code[48], msg[700];
      snprintf(code, sizeof code, "%s", dv->error_code);
      snprintf(msg, sizeof msg, "%s%s", dv->error_message,
               dv->failed_checks > 1 ? " (and more checks failed: see check-result events)" : "");
      device_fail(dv, code, "failure", "%s", msg);
      return;
    }
    if (dv->run->o->check_only)
      device_succeed(dv, PH_DONE);
    else
      stage_start(dv);
    return;
  }
  const struct check *c = &checks[dv->step];
  char cmd[600];
  const char *at = strstr(c->command, "{package}");
  if (at)
    snprintf(cmd, sizeof cmd, "%.*s%s", (int)(at - c->command), c->command,
             dv->run->p->target.package);
  else
    snprintf(cmd, sizeof cmd, "%s", c->command);
  device_exec(dv, cmd, NULL, check_done);
}

void preflight_start(struct device *dv)
{
  if (!device_set_phase(dv, PH_PREFLIGHT, NULL))
    return;
  dv->step = 0;
  run_check(dv);
}

/* ---- stage ---- */

static void staged_checksum(struct device *dv, const struct transport_result *r)
{
  const struct policy *p = dv->run->p;
  if (r->error != TRANSPORT_OK) {
    device_fail(dv, transport_error_name(r->error), "failure", "stage: %s", r->message);
    return;
  }
  char hex[80];
  enum junos_checksum c =
      junos_parse_checksum((const char *const *)dv->out.lines, dv->out.n, hex, sizeof hex);
  device_note(dv, device_out_line(dv, NULL));
  if (c != CHECKSUM_FOUND) {
    device_fail(dv, "stage-failed", "failure", "%s is not on the router after the copy: %s",
                p->target.package, device_out_line(dv, NULL));
    return;
  }
  if (p->target.sha256 && strcmp(hex, p->target.sha256) != 0) {
    device_fail(dv, "checksum-mismatch", "failure",
                "after the copy, %s has SHA-256 %s, not target.sha256 %s", p->target.package, hex,
                p->target.sha256);
    return;
  }
  dv->package_verified = true;
  issu_start(dv);
}

static void uploaded(struct transport *t, const struct transport_result *r, void *data)
{
  struct device *dv = data;
  if (dv->t != t || dv->finished)
    return;
  if (r->error != TRANSPORT_OK) {
    device_note(dv, r->message);
    device_fail(dv, "stage-failed", "failure", "copying %s to %s: %s", dv->run->p->target.source,
                dv->run->p->target.package, r->message);
    return;
  }
  char cmd[600];
  snprintf(cmd, sizeof cmd, "file checksum sha-256 %s", dv->run->p->target.package);
  device_exec(dv, cmd, NULL, staged_checksum);
}

void stage_start(struct device *dv)
{
  if (!device_set_phase(dv, PH_STAGE, NULL))
    return;
  if (!dv->need_stage) {
    issu_start(dv);
    return;
  }
  const struct policy *p = dv->run->p;
  int rc = transport_upload(dv->t, p->target.source, p->target.package, 0, NULL, uploaded, dv);
  if (rc < 0)
    device_fail(dv, "stage-failed", "failure", "cannot copy %s: %s", p->target.source,
                transport_error_name(rc));
}
