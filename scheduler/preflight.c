/*
 * Preflight (read-only) and staging. Preflight is a table of checks: a command, and a judge that
 * reads its output and decides, quoting the line that decided (the evidence). Every check runs
 * and reports, so one `check` shows everything wrong with a router at once; the router fails
 * with the first failing check's code. Both REs already on the target: skipped, not failed.
 */
#include "common/event_schema.h"
#include "scheduler/sched_internal.h"

#include "junos/junos_facts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum verdict { V_PASS, V_FAIL, V_SKIP_ROUTER, V_INFO };
static const char *const verdict_names[] = {"pass", "fail", "on-target", "info"};

struct judgement {
  enum verdict v;
  const char *code; /* for V_FAIL */
  char why[480];
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
  struct junos_routing_engines *s = xcalloc(1, sizeof *s);
  if (!junos_xml_routing_engines(L(dv), dv->out.n, s) || !s->found) {
    j->v = V_FAIL, j->code = "output-unparsed";
    snprintf(j->why, sizeof j->why,
             "no route-engine in the reply of show chassis routing-engine%s%s",
             s->reply.error[0] ? ": " : "", s->reply.error[0] ? s->reply.error : "");
    cite(j, device_out_line(dv, NULL));
    free(s);
    return;
  }
  for (size_t i = 0; i < dv->out.n; i++)
    if (strstr(dv->out.lines[i], "<mastership-state>"))
      cite(j, dv->out.lines[i]);
  bool present[2] = {s->re[0].mastership != JUNOS_RE_ABSENT,
                     s->re[1].mastership != JUNOS_RE_ABSENT};
  bool up[2] = {s->re[0].mastership == JUNOS_RE_MASTER || s->re[0].mastership == JUNOS_RE_BACKUP,
                s->re[1].mastership == JUNOS_RE_MASTER || s->re[1].mastership == JUNOS_RE_BACKUP};
  dv->vmhost_seen = s->re[0].vmhost || s->re[1].vmhost;
  if (s->two_masters) {
    /* Never re0 by default: which RE would take the ISSU cannot be known. */
    j->v = V_FAIL, j->code = "state-unknown";
    snprintf(j->why, sizeof j->why,
             "re0 and re1 both say they are master: the router's state cannot be established, "
             "and no ISSU is started on it");
  } else if (!present[0] || !present[1]) {
    j->v = V_FAIL, j->code = "single-re";
    snprintf(j->why, sizeof j->why, "unified ISSU needs two routing engines; re%d is absent",
             present[0] ? 1 : 0);
  } else if (!up[0] || !up[1] || s->master < 0) {
    j->v = V_FAIL, j->code = "re-down";
    snprintf(j->why, sizeof j->why,
             "re%d is not up as master or backup (%s; an earlier ISSU or hand work may be under "
             "way)",
             up[0] ? 1 : 0,
             s->re[up[0] ? 1 : 0].state[0] ? s->re[up[0] ? 1 : 0].state : "no state");
  } else {
    dv->orig_master = s->master;
    snprintf(j->why, sizeof j->why, "two routing engines, re%d master%s", s->master,
             dv->vmhost_seen ? ", VM-host REs" : "");
  }
  free(s);
}

static void judge_versions(struct device *dv, struct judgement *j)
{
  struct junos_versions_xml *v = xcalloc(1, sizeof *v);
  const char *target = dv->run->p->target.version;
  junos_xml_versions(L(dv), dv->out.n, v);
  for (size_t i = 0; i < dv->out.n; i++)
    if (strstr(dv->out.lines[i], "<junos-version>") || strstr(dv->out.lines[i], "Could not"))
      cite(j, dv->out.lines[i]);
  bool fits = true;
  char(*before)[48] = device_live(dv)->before;
  for (int s = 0; s < 2; s++) {
    fits = fits && strlen(v->re[s].release) < sizeof before[s];
    snprintf(before[s], sizeof before[s], "%.*s", fits ? (int)sizeof before[s] - 1 : 0,
             v->re[s].release);
  }
  bool answered[2] = {v->multi && v->re[0].answer.answered, v->multi && v->re[1].answer.answered};
  /* An ISSU under way (another tool, a hand, a run that crashed) shows as a backup RE that does
   * not answer or REs on different releases: no real router prints an ISSU state line. */
  if (!answered[0] || !answered[1]) {
    int s = answered[0] ? 1 : 0;
    j->v = V_FAIL, j->code = "re-down";
    snprintf(j->why, sizeof j->why,
             "re%d does not answer%s%s (an earlier ISSU or hand work may be under way)", s,
             v->re[s].answer.error[0] ? ": " : "", v->re[s].answer.error);
  } else if (!v->re[0].release[0] || !v->re[1].release[0] || !fits) {
    j->v = V_FAIL, j->code = "output-unparsed";
    snprintf(j->why, sizeof j->why, "no usable release for re%d in the reply",
             v->re[0].release[0] ? 1 : 0);
  } else if (device_on_target(dv, v->re[0].release) && device_on_target(dv, v->re[1].release)) {
    j->v = V_SKIP_ROUTER;
    snprintf(j->why, sizeof j->why, "both routing engines already run %s", target);
  } else if (!junos_same_release(v->re[0].release, v->re[1].release)) {
    j->v = V_FAIL, j->code = "version-mismatch";
    snprintf(j->why, sizeof j->why,
             "re0 runs %s and re1 runs %s; unified ISSU needs one release on both (an earlier "
             "ISSU or hand work may be under way)",
             device_live(dv)->before[0], device_live(dv)->before[1]);
  } else
    snprintf(j->why, sizeof j->why, "both routing engines run %s", device_live(dv)->before[0]);
  free(v);
}

/* A statement ISSU needs: set and active. An inactive one (`deactivate ...` after the set
 * lines, Juniper's `show | display set` page) does not take effect at commit: it is as absent,
 * and the message names the line that switched it off. */
static void judge_config(struct device *dv, struct judgement *j, const char *code,
                         const char *statement)
{
  const char *line = NULL;
  enum junos_config_state st = junos_config_statement(L(dv), dv->out.n, statement, &line);
  cite(j, line ? line : device_out_line(dv, NULL));
  switch (st) {
  case JUNOS_CONFIG_ACTIVE:
    snprintf(j->why, sizeof j->why, "%s is configured", statement);
    return;
  case JUNOS_CONFIG_INACTIVE:
    j->v = V_FAIL, j->code = code;
    snprintf(j->why, sizeof j->why,
             "'set %s' is in the configuration but inactive ('%.*s'): ISSU needs it active "
             "(activate it and commit)",
             statement, (int)text_utf8_cut(line, 200), line);
    return;
  case JUNOS_CONFIG_ABSENT:
    break;
  }
  j->v = V_FAIL, j->code = code;
  snprintf(j->why, sizeof j->why, "'set %s' is not in the configuration (ISSU needs it)",
           statement);
}

static void judge_gres(struct device *dv, struct judgement *j)
{
  judge_config(dv, j, "gres-off", "chassis redundancy graceful-switchover");
}

static void judge_nsr(struct device *dv, struct judgement *j)
{
  judge_config(dv, j, "nsr-off", "routing-options nonstop-routing");
}

static void judge_commit_sync(struct device *dv, struct judgement *j)
{
  judge_config(dv, j, "commit-sync-off", "system commit synchronize");
}

static void judge_replication(struct device *dv, struct judgement *j)
{
  struct junos_replication_xml r;
  junos_xml_replication(L(dv), dv->out.n, &r);
  cite(j, device_out_line(dv, "task-gres-state"));
  cite(j, device_out_line(dv, "task-re-mode"));
  if (!r.found || !r.enabled || !r.master_mode) {
    j->v = V_FAIL, j->code = "replication-off";
    snprintf(j->why, sizeof j->why, "stateful replication is %s%s",
             r.enabled ? "on" : "not enabled",
             r.master_mode ? "" : " or this is not the master RE");
  } else
    snprintf(j->why, sizeof j->why, "stateful replication enabled on the master");
}

static void judge_switchover(struct device *dv, struct judgement *j)
{
  if (dv->re_skipped) {
    int b = dv->orig_master >= 0 ? 1 - dv->orig_master : 1;
    j->v = V_INFO;
    snprintf(j->why, sizeof j->why,
             "not asked: show system switchover is answered only on the backup RE, and the "
             "inventory gives re%d no address of its own (issu_re%d_host); the switch check "
             "vouches for its readiness",
             b, b);
    return;
  }
  struct junos_switchover_xml s;
  junos_xml_switchover(L(dv), dv->out.n, &s);
  cite(j, device_out_line(dv, "switchover-state"));
  cite(j, device_out_line(dv, "replication-"));
  cite(j, device_out_line(dv, "<output>"));
  if (!s.found || !s.gres_on || !s.ready) {
    j->v = V_FAIL, j->code = "switchover-not-ready";
    snprintf(j->why, sizeof j->why, "the backup RE is not ready for a graceful switchover (%s)",
             s.readiness[0]     ? s.readiness
             : s.replication[0] ? s.replication
                                : "no answer");
  } else
    snprintf(j->why, sizeof j->why, "the backup RE is ready for a graceful switchover");
}

static void judge_switch_check(struct device *dv, struct judgement *j)
{
  unsigned hold;
  const char *said = NULL;
  enum junos_switch_reply c = junos_parse_switch_reply(L(dv), dv->out.n, &hold, &said);
  cite(j, said ? said : device_out_line(dv, NULL));
  switch (c) {
  case SWITCH_REPLY_READY:
    snprintf(j->why, sizeof j->why, "mastership switch ready");
    break;
  case SWITCH_REPLY_HOLDDOWN:
    j->v = V_FAIL, j->code = "switchover-holddown";
    snprintf(j->why, sizeof j->why, "a mastership hold-down is running (%u s left)", hold);
    break;
  case SWITCH_REPLY_DONE:
  case SWITCH_REPLY_NOT_READY:
  case SWITCH_REPLY_UNKNOWN:
    j->v = V_FAIL, j->code = "switchover-not-ready";
    snprintf(j->why, sizeof j->why, "the router does not say 'Switchover Ready'");
    break;
  }
}

#define STORAGE_MAX_PCT 90

/* Both REs (B14): the ISSU copies and installs the image on the backup RE too. */
static void judge_storage(struct device *dv, struct judgement *j)
{
  struct junos_storage_xml *st = xcalloc(1, sizeof *st);
  junos_xml_storage(L(dv), dv->out.n, st);
  size_t used = 0;
  for (int s = 0; s < 2 && used < sizeof j->why; s++) {
    const struct junos_re_storage *re = &st->re[s];
    const char *sep = used ? "; " : "";
    if (!st->multi || !re->answer.answered || !re->found) {
      if (j->v != V_FAIL)
        j->v = V_FAIL, j->code = re->answer.answered ? "output-unparsed" : "re-down";
      used += (size_t)snprintf(j->why + used, sizeof j->why - used, "%sre%d gives no storage%s%s",
                               sep, s, re->answer.error[0] ? ": " : "", re->answer.error);
      continue;
    }
    bool low = re->fs.used_pct >= STORAGE_MAX_PCT;
    if (low && j->v != V_FAIL)
      j->v = V_FAIL, j->code = "storage-low";
    used += (size_t)snprintf(j->why + used, sizeof j->why - used, "%sre%d %s is %u%% full%s", sep,
                             s, re->fs.mount, re->fs.used_pct,
                             low ? " (the ISSU installs on both REs and needs room below 90%; "
                                   "try request system storage cleanup)"
                                 : "");
  }
  for (size_t i = 0; i < dv->out.n; i++)
    if (strstr(dv->out.lines[i], "<used-percent>"))
      cite(j, dv->out.lines[i]);
  free(st);
}

/* Whether the policy accepts an active major alarm by its description. */
static bool alarm_accepted(const struct policy *p, const char *description)
{
  for (size_t i = 0; i < p->preflight.accept_alarms.count; i++)
    if (strcmp(p->preflight.accept_alarms.items[i].name, description) == 0)
      return true;
  return false;
}

/* The alarms now are the baseline for verify's "no new alarms"; minor ones are only that. An
 * active major alarm stops the router unless preflight.accept_alarms names it. */
static void judge_alarm_list(struct device *dv, struct judgement *j, struct junos_alarm_list *b)
{
  if (!junos_xml_alarms(L(dv), dv->out.n, b) || !b->found) {
    j->v = V_FAIL, j->code = "output-unparsed";
    snprintf(j->why, sizeof j->why, "no alarm information in the reply of show chassis alarms%s%s",
             b->reply.error[0] ? ": " : "", b->reply.error);
    cite(j, device_out_line(dv, NULL));
    return;
  }
  if (junos_alarms_show_vmhost(b))
    dv->vmhost_seen = true;
  if (b->cut) {
    /* More alarms than are kept (JUNOS_ALARMS_MAX), or one without its description: an active
     * major alarm may be among those not read, and no decision rests on a list not whole. */
    j->v = V_FAIL, j->code = "output-cut";
    snprintf(j->why, sizeof j->why,
             "the alarm list was not read whole (more than %d alarms, or one without its "
             "description): an active major alarm may be among those not read; clear what can be "
             "cleared, then check again",
             JUNOS_ALARMS_MAX);
    return;
  }
  for (size_t i = 0; i < b->n; i++) {
    const struct junos_alarm *a = &b->a[i];
    if (a->cls != JUNOS_ALARM_MAJOR || alarm_accepted(dv->run->p, a->description))
      continue;
    cite(j, device_out_line(dv, a->description));
    if (j->v != V_FAIL) {
      j->v = V_FAIL, j->code = "major-alarm";
      snprintf(j->why, sizeof j->why,
               "an active major alarm: %s %s (add it to preflight.accept_alarms to go on anyway)",
               a->time, a->description);
    }
  }
  if (j->v == V_FAIL)
    return;
  j->v = V_INFO;
  snprintf(j->why, sizeof j->why,
           "%zu alarms before the upgrade (%u major, accepted; the baseline "
           "for verify)",
           b->n, junos_alarms_count(b, JUNOS_ALARM_MAJOR));
}

static void judge_alarms(struct device *dv, struct judgement *j)
{
  struct junos_alarm_list *b = xcalloc(1, sizeof *b);
  judge_alarm_list(dv, j, b);
  free(dv->baseline);                   /* a resumed router's preflight reads them again */
  dv->baseline = device_alarms_keep(b); /* ~10 KB read, a few hundred bytes kept (B8) */
  free(b);
}

static void judge_package(struct device *dv, struct judgement *j)
{
  const struct policy *p = dv->run->p;
  char hex[sizeof((struct junos_checksum_xml *)0)->hex];
  struct junos_checksum_xml x;
  junos_xml_checksum(L(dv), dv->out.n, &x);
  enum junos_checksum c = x.result;
  snprintf(hex, sizeof hex, "%s", x.hex);
  cite(j, device_out_line(dv, x.result == CHECKSUM_FOUND ? "<checksum>" : NULL));
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
  bool on_backup; /* sent on a session to the backup RE's own address */
} checks[] = {
    {"routing-engines", "show chassis routing-engine | display xml", judge_routing_engines, false},
    {"versions", "show version invoke-on all-routing-engines | display xml", judge_versions, false},
    {"gres", "show configuration chassis redundancy | display set", judge_gres, false},
    {"nsr", "show configuration routing-options | display set", judge_nsr, false},
    {"commit-synchronize", "show configuration system commit | display set", judge_commit_sync,
     false},
    {"replication", "show task replication | display xml", judge_replication, false},
    /* Answered on the backup RE only (Juniper's command page), which has no invoke-on for it:
     * asked on a session to the backup RE's own address. */
    {"switchover-ready", "show system switchover | display xml", judge_switchover, true},
    {"switch-check", "request chassis routing-engine master switch check", judge_switch_check,
     false},
    {"storage", "show system storage invoke-on all-routing-engines | display xml", judge_storage,
     false},
    {"alarms", "show chassis alarms | display xml", judge_alarms, false},
    {"package", "file checksum sha-256 {package} | display xml", judge_package, false},
};

static void run_check(struct device *dv);

/* What the alarms' part of the baseline line may take, so that the whole line stays well under
 * EVENT_LINE_MAX (32 alarms of 256 characters fit; escapes could triple them). */
#define BASELINE_ALARMS_BYTES 12000

/* The alarms before the ISSU, journaled before anything acts: verify counts only alarms not in
 * it, and a --resume reads it back (scheduler/journal.c) instead of finding every alarm new. */
static void journal_baseline(struct device *dv)
{
  const struct device_alarms *b = dv->baseline;
  if (b == NULL)
    return;
  struct rollout *run = dv->run;
  cJSON *ev = event_new(run->log, "info", EV_ALARM_BASELINE, dv->name,
                        "%s: %zu alarm%s before the upgrade", dv->name, b->n, b->n == 1 ? "" : "s");
  if (dv->site)
    cJSON_AddStringToObject(event_labels(ev), L_SITE, dv->site);
  cJSON *is = event_issu(ev);
  cJSON_AddNumberToObject(is, F_WAVE, (double)dv->wave);
  cJSON *list = cJSON_AddArrayToObject(is, F_ALARMS);
  size_t bytes = 0;
  bool cut = b->cut;
  for (size_t i = 0; i < b->n; i++) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, F_ALARM_CLASS, junos_alarm_class_name(b->a[i].cls));
    cJSON_AddStringToObject(a, F_ALARM_DESCRIPTION, b->a[i].description);
    char *text = cJSON_PrintUnformatted(a);
    bytes += text ? strlen(text) + 1 : 0;
    free(text);
    if (bytes > BASELINE_ALARMS_BYTES) {
      /* Never a line over the shippers' limit: the rest is said to be missing, and an alarm
       * of it seen at verify counts as new (a false alarm, never a missed one). */
      cJSON_Delete(a);
      cut = true;
      break;
    }
    cJSON_AddItemToArray(list, a);
  }
  cJSON_AddBoolToObject(is, F_ALARMS_CUT, cut);
  rollout_note(run, ev);
}

static void check_done(struct device *dv, const struct transport_result *r)
{
  struct rollout *run = dv->run;
  const struct check *c = &checks[dv->step];
  if (r->error != TRANSPORT_OK) {
    device_fail(dv, device_error_name(r->error), "failure", "preflight %s: %s", c->name,
                r->message);
    return;
  }
  struct judgement j = {.v = V_PASS};
  c->judge(dv, &j);
  for (size_t i = 0; i < j.nevidence; i++)
    device_note(dv, j.evidence[i]);
  cJSON *ev = event_new(run->log, j.v == V_FAIL ? "warn" : "info", EV_CHECK_RESULT, dv->name,
                        "%s: %s %s: %s", dv->name, c->name, verdict_names[j.v], j.why);
  cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(ev, "event"), "outcome",
                          j.v == V_FAIL ? "failure" : "success");
  if (dv->site)
    cJSON_AddStringToObject(event_labels(ev), L_SITE, dv->site);
  cJSON *is = event_issu(ev);
  cJSON_AddNumberToObject(is, F_WAVE, (double)dv->wave);
  cJSON *ck = cJSON_AddObjectToObject(is, F_CHECK);
  cJSON_AddStringToObject(ck, F_CHECK_NAME, c->name);
  cJSON_AddStringToObject(ck, F_RESULT, verdict_names[j.v]);
  if (j.code)
    cJSON_AddStringToObject(ck, F_CHECK_CODE, j.code);
  cJSON_AddStringToObject(ck, F_REASON, j.why);
  cJSON *evd = cJSON_AddArrayToObject(ck, F_CHECK_EVIDENCE);
  for (size_t i = 0; i < j.nevidence; i++)
    cJSON_AddItemToArray(evd, cJSON_CreateString(j.evidence[i]));
  if (rollout_note(run, ev) < 0)
    return;
  if (j.v == V_FAIL && dv->failed_checks++ == 0) {
    char message[DEVICE_MESSAGE_MAX];
    snprintf(message, sizeof message, "preflight %.40s: %s", c->name, j.why);
    device_set_error(dv, j.code, message);
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
      char code[48], msg[DEVICE_MESSAGE_MAX + 64];
      const struct device_live *lv = device_live(dv);
      snprintf(code, sizeof code, "%s", lv->error_code);
      snprintf(msg, sizeof msg, "%s%s", lv->error_message ? lv->error_message : "",
               dv->failed_checks > 1 ? " (and more checks failed: see check-result events)" : "");
      device_fail(dv, code, "failure", "%s", msg);
      return;
    }
    if (!dv->run->o->check_only)
      journal_baseline(dv); /* before anything acts: verify reads it, after a resume too */
    checks_pre_start(dv);   /* then stage, or the end of `issu-fleet check` */
    return;
  }
  const struct check *c = &checks[dv->step];
  char cmd[600];
  const char *at = strstr(c->command, "{package}");
  if (at)
    snprintf(cmd, sizeof cmd, "%.*s%s%s", (int)(at - c->command), c->command,
             dv->run->p->target.package, at + strlen("{package}"));
  else
    snprintf(cmd, sizeof cmd, "%s", c->command);
  if (c->on_backup) {
    dv->re_skipped = false;
    int backup = dv->orig_master >= 0 ? 1 - dv->orig_master : -1;
    if (device_exec_on_re(dv, backup, cmd, check_done))
      return;
    dv->re_skipped = true;
    struct transport_result r = {.error = TRANSPORT_OK};
    check_done(dv, &r);
    return;
  }
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
    device_fail(dv, device_error_name(r->error), "failure", "stage: %s", r->message);
    return;
  }
  struct junos_checksum_xml x;
  junos_xml_checksum((const char *const *)dv->out.lines, dv->out.n, &x);
  enum junos_checksum c = x.result;
  const char *hex = x.hex;
  device_note(dv, device_out_line(dv, x.result == CHECKSUM_FOUND ? "<checksum>" : NULL));
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
  if (!junos_checksum_command(cmd, sizeof cmd, dv->run->p->target.package, false)) {
    device_fail(dv, "stage-failed", "failure", "the package path is too long for a command");
    return;
  }
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
  /* The stage line could not be made durable: nothing unjournaled acts (the copy included). */
  if (dv->run->fatal)
    return;
  const struct policy *p = dv->run->p;
  int rc = transport_upload(dv->t, p->target.source, p->target.package, 0, NULL, uploaded, dv);
  if (rc < 0)
    device_fail(dv, "stage-failed", "failure", "cannot copy %s: %s", p->target.source,
                transport_error_name(rc));
}
