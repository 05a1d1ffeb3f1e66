/*
 * One router's state machine: the phase table (which moves are allowed, which timeout applies),
 * the single function that changes a phase, and the plumbing every step shares: running a
 * command, waiting on the run's clock, (re)connecting with bounded backoff, failing with a
 * stable code and the router's own words, finishing with the whole timeline.
 */
#include "common/event_schema.h"
#include "scheduler/sched_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Per phase: the policy timeout that bounds it (TIMEOUT_COUNT: none), the least real time it
 * gets however fast the clock runs (our own SSH work does not get faster with --time-scale, the
 * router's simulated work does), and whether entering it is followed by something issu-fleet
 * does to the router (an upload, the ISSU command, a reboot, a mastership switch) or ends the
 * router: that phase-changed line is fsync'ed before the step acts. The others record what the
 * router was seen doing; they are written at once and made durable by the next fsync (a crash
 * of the process loses nothing; a crash of the machine may lose an observation, and a resume
 * asks the router where it stands anyway). */
static const struct {
  enum policy_timeout timeout;
  uint64_t floor_ms;
  const char *timeout_code; /* the error code when it runs out (docs/events.md) */
  bool acts;
} phase_rules[PH_COUNT] = {
    [PH_QUEUED] = {TIMEOUT_COUNT, 0, "phase-timeout", false},
    [PH_CONNECT] = {TIMEOUT_CONNECT, 30000, "connect-timeout", false},
    [PH_PREFLIGHT] = {TIMEOUT_PREFLIGHT, 60000, "phase-timeout", false},
    [PH_STAGE] = {TIMEOUT_STAGE, 60000, "phase-timeout", true},
    [PH_VALIDATE] = {TIMEOUT_VALIDATE, 30000, "phase-timeout", true},
    [PH_BACKUP_UPGRADE] = {TIMEOUT_BACKUP_UPGRADE, 30000, "phase-timeout", false},
    [PH_BACKUP_REBOOT] = {TIMEOUT_BACKUP_REBOOT, 30000, "backup-no-return", false},
    [PH_DAEMONS] = {TIMEOUT_DAEMONS, 30000, "phase-timeout", false},
    [PH_FRU_UPGRADE] = {TIMEOUT_FRU_UPGRADE, 30000, "phase-timeout", false},
    [PH_SWITCHOVER] = {TIMEOUT_SWITCHOVER, 30000, "phase-timeout", false},
    [PH_OLD_MASTER_UPGRADE] = {TIMEOUT_OLD_MASTER_UPGRADE, 30000, "phase-timeout", false},
    [PH_OLD_MASTER_REBOOT] = {TIMEOUT_OLD_MASTER_REBOOT, 30000, "old-master-no-return", false},
    [PH_SWITCHBACK] = {TIMEOUT_SWITCHBACK, 30000, "phase-timeout", true},
    [PH_VERIFY] = {TIMEOUT_VERIFY, 60000, "phase-timeout", false},
    [PH_DONE] = {TIMEOUT_COUNT, 0, "phase-timeout", true},
    [PH_SKIPPED] = {TIMEOUT_COUNT, 0, "phase-timeout", true},
    [PH_FAILED] = {TIMEOUT_COUNT, 0, "phase-timeout", true},
};

#define DEVICE_FLOOR_MS 300000
#define COMMAND_S 300.0
#define COMMAND_FLOOR_MS 15000
#define RECONNECT_ATTEMPTS 8
#define CONNECT_ATTEMPTS 3

static void phase_timeout_cb(uv_timer_t *h);

static void arm_phase_timer(struct device *dv)
{
  struct rollout *run = dv->run;
  enum policy_timeout t = phase_rules[dv->phase].timeout;
  if (dv->timers == NULL)
    return;
  uv_timer_stop(&dv->timers->phase);
  if (t == TIMEOUT_COUNT)
    return;
  double s = (double)run->p->issu.timeouts_s[t];
  /* The loop's clock is cached; after a slow step (an fsync on a busy disk) it is stale, and a
   * timer armed on it would fire early. */
  uv_update_time(&run->loop);
  dv->phase_deadline_s = rollout_now(run) + s;
  uv_timer_start(&dv->timers->phase, phase_timeout_cb,
                 rollout_real_ms(run, s, phase_rules[dv->phase].floor_ms), 0);
}

void device_extend_deadline(struct device *dv, double seconds)
{
  struct rollout *run = dv->run;
  if (dv->timers == NULL || !uv_is_active((uv_handle_t *)&dv->timers->phase))
    return;
  uint64_t left = uv_timer_get_due_in(&dv->timers->phase);
  dv->phase_deadline_s += seconds;
  uv_timer_start(&dv->timers->phase, phase_timeout_cb, left + rollout_real_ms(run, seconds, 0), 0);
}

static void device_timeout_cb(uv_timer_t *h);

/* Moves a running timer `ms` later (a stopped one stays stopped). */
static void push_timer(uv_timer_t *h, uv_timer_cb cb, uint64_t ms)
{
  if (!uv_is_active((uv_handle_t *)h))
    return;
  uint64_t left = uv_timer_get_due_in(h);
  uv_timer_start(h, cb, left + ms, 0);
}

void device_extend_wait(struct device *dv, double seconds, uint64_t extra_ms)
{
  uint64_t ms = rollout_real_ms(dv->run, seconds, 0) + extra_ms;
  if (dv->timers == NULL)
    return;
  if (uv_is_active((uv_handle_t *)&dv->timers->phase))
    dv->phase_deadline_s += seconds + (double)extra_ms * dv->run->scale / 1000.0;
  push_timer(&dv->timers->phase, phase_timeout_cb, ms);
  push_timer(&dv->timers->device, device_timeout_cb, ms);
}

static void event_common(struct device *dv, cJSON *ev)
{
  if (dv->site)
    cJSON_AddStringToObject(event_labels(ev), L_SITE, dv->site);
  cJSON *is = event_issu(ev);
  cJSON_AddNumberToObject(is, F_WAVE, (double)dv->wave);
}

bool device_set_phase(struct device *dv, enum junos_phase next, const char *line)
{
  enum junos_phase prev = dv->phase;
  if (next == prev || dv->finished)
    return false;
  /* Forward only: a router never goes back to an earlier phase; terminals end everything. */
  if (next < prev && !junos_phase_terminal(next))
    return false;
  if (junos_phase_terminal(prev))
    return false;
  struct rollout *run = dv->run;
  double now = rollout_now(run);
  double in_phase = now - dv->phase_started_s;
  if (prev != PH_QUEUED) {
    device_live(dv)->timeline[prev].dur_s = in_phase;
  }
  device_live(dv)->timeline[next].seen = true;
  device_live(dv)->timeline[next].start_s = now - dv->started_s;
  dv->phase = next;
  dv->phase_started_s = now;
  dv->timed_out = false; /* a new phase has its own time */
  cJSON *ev = event_new(run->log, next == PH_FAILED ? "error" : "info", EV_PHASE_CHANGED, dv->name,
                        "%s: %s -> %s", dv->name, junos_phase_name(prev), junos_phase_name(next));
  event_common(dv, ev);
  cJSON *is = event_issu(ev);
  cJSON_AddStringToObject(is, F_PHASE, junos_phase_name(next));
  cJSON_AddStringToObject(is, F_PREVIOUS_PHASE, junos_phase_name(prev));
  cJSON_AddNumberToObject(is, F_DEVICE_ELAPSED_S, now - dv->started_s);
  cJSON_AddNumberToObject(is, F_PHASE_DURATION_S, prev == PH_QUEUED ? 0 : in_phase);
  if (line && *line)
    cJSON_AddStringToObject(is, F_LINE, line);
  if (next == PH_VALIDATE) {
    /* What a resumed run needs to carry on after a crash, journaled before the ISSU starts. */
    cJSON_AddNumberToObject(is, F_ORIGINAL_MASTER, dv->orig_master);
    cJSON *vb = cJSON_AddObjectToObject(is, F_VERSIONS_BEFORE);
    cJSON_AddStringToObject(vb, F_RE0, device_live(dv)->before[0]);
    cJSON_AddStringToObject(vb, F_RE1, device_live(dv)->before[1]);
  }
  if (phase_rules[next].acts)
    rollout_emit(run, ev);
  else
    rollout_note(run, ev);
  if (prev != PH_QUEUED && next != PH_FAILED && !junos_phase_terminal(prev))
    estimate_learn(run, prev, in_phase);
  progress_phase(run, dv, prev, next, line);
  if (!junos_phase_terminal(next))
    arm_phase_timer(dv);
  return true;
}

struct device_alarms *device_alarms_keep(const struct junos_alarm_list *l)
{
  struct device_alarms *b = xcalloc(1, sizeof *b + l->n * sizeof b->a[0]);
  b->n = l->n;
  b->cut = l->cut;
  memcpy(b->a, l->a, l->n * sizeof b->a[0]);
  return b;
}

struct device_live *device_live(struct device *dv)
{
  if (dv->live == NULL)
    dv->live = xcalloc(1, sizeof *dv->live);
  return dv->live;
}

void device_set_error(struct device *dv, const char *code, const char *message)
{
  struct device_live *tx = device_live(dv);
  snprintf(tx->error_code, sizeof tx->error_code, "%s", code);
  char *m = xstrndup(message, strnlen(message, DEVICE_MESSAGE_MAX - 1)); /* xstrndup copies n */
  free(tx->error_message);
  tx->error_message = m;
}

static void live_free(struct device *dv)
{
  if (dv->live == NULL)
    return;
  for (int i = 0; i < EVIDENCE_LINES; i++)
    free(dv->live->evidence[i]);
  free(dv->live->error_message);
  free(dv->live);
  dv->live = NULL;
}

void device_note(struct device *dv, const char *line)
{
  if (dv->finished)
    return; /* nothing reads a finished router's evidence (device-finished carried it) */
  /* Evidence lines are cut here (transport messages are longer now), at a character's
   * boundary: they reach events (device_output), which must stay UTF-8. */
  struct device_live *tx = device_live(dv);
  char **slot = &tx->evidence[tx->nevidence % EVIDENCE_LINES];
  free(*slot);
  *slot = xstrndup(line, text_utf8_cut(line, EVIDENCE_LINE_MAX));
  tx->nevidence++;
}

static void clear_output(struct cmd_output *o)
{
  for (size_t i = 0; i < o->n; i++)
    free(o->lines[i]);
  o->n = 0;
  o->cut = false;
  o->backup = false;
}

bool device_line_on_backup(const char *clean)
{
  /* The prompt of a session left on the old master (capture crtc-accepted: `{backup}`), and
   * Junos's refusal of a master-only command there (capture
   * show-chassis-hardware-on-backup-re__pyez-connect-not-master). */
  return strncmp(clean, "{backup", 7) == 0 ||
         strstr(clean, "can only be used on the master routing engine") != NULL;
}

static void timer_closed(uv_handle_t *h)
{
  struct device_timers *tm = h->data;
  if (--tm->open == 0)
    free(tm);
}

static void finish(struct device *dv, enum junos_phase terminal)
{
  struct rollout *run = dv->run;
  if (dv->finished)
    return;
  enum junos_phase last = dv->phase;
  if (!run->o->check_only)
    device_set_phase(dv, terminal, NULL);
  else if (last != PH_QUEUED)
    device_live(dv)->timeline[last].dur_s = rollout_now(run) - dv->phase_started_s;
  dv->finished = true;
  double now = rollout_now(run);
  bool ok = dv->outcome == NULL || strcmp(dv->outcome, "success") == 0;
  const struct device_live *tx = device_live(dv); /* freed below: device-finished carries it */
  const char *message = tx->error_message ? tx->error_message : "";
  cJSON *ev = event_new(
      run->log, ok ? "info" : "error", EV_DEVICE_FINISHED, dv->name, "%s: %s%s%s", dv->name,
      run->o->check_only ? (ok ? "ready" : "not ready") : junos_phase_name(terminal),
      ok ? "" : ": ", ok ? "" : message);
  cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "event");
  cJSON_AddStringToObject(e, "outcome", dv->outcome ? dv->outcome : "success");
  cJSON_AddNumberToObject(e, "duration", (now - dv->started_s) * 1e9);
  if (!ok) {
    cJSON *err = cJSON_AddObjectToObject(ev, "error");
    cJSON_AddStringToObject(err, "code", tx->error_code);
    cJSON_AddStringToObject(err, "message", message);
  }
  event_common(dv, ev);
  cJSON *is = event_issu(ev);
  const char *check_result = terminal == PH_SKIPPED ? "on-target" : ok ? "ready" : "not-ready";
  cJSON_AddStringToObject(is, F_RESULT,
                          run->o->check_only ? check_result : junos_phase_name(terminal));
  cJSON_AddStringToObject(is, F_PHASE, junos_phase_name(ok ? terminal : dv->failed_in));
  cJSON *vb = cJSON_AddObjectToObject(is, F_VERSIONS_BEFORE);
  cJSON *va = cJSON_AddObjectToObject(is, F_VERSIONS_AFTER);
  for (int s = 0; s < 2; s++) {
    const char *key = s ? F_RE1 : F_RE0;
    cJSON_AddStringToObject(vb, key, tx->before[s]);
    cJSON_AddStringToObject(va, key, tx->after[s][0] ? tx->after[s] : tx->before[s]);
  }
  if (!ok && tx->nevidence > 0) {
    cJSON *w = cJSON_AddArrayToObject(is, F_DEVICE_OUTPUT);
    unsigned n = tx->nevidence < EVIDENCE_LINES ? tx->nevidence : EVIDENCE_LINES;
    for (unsigned i = tx->nevidence - n; i < tx->nevidence; i++)
      cJSON_AddItemToArray(w, cJSON_CreateString(tx->evidence[i % EVIDENCE_LINES]));
  }
  cJSON *tl = cJSON_AddArrayToObject(is, F_TIMELINE);
  for (int p = PH_CONNECT; p < PH_DONE; p++) {
    if (!tx->timeline[p].seen)
      continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, F_PHASE, junos_phase_name((enum junos_phase)p));
    cJSON_AddNumberToObject(o, F_START_S, tx->timeline[p].start_s);
    cJSON_AddNumberToObject(o, F_DURATION_S, tx->timeline[p].dur_s);
    cJSON_AddItemToArray(tl, o);
  }
  cJSON_AddNumberToObject(is, F_RECONNECTS, dv->reconnects);
  rollout_emit(run, ev);
  if (!ok)
    progress_line(run, "%-16s FAILED in %s: %s: %s", dv->name, junos_phase_name(dv->failed_in),
                  tx->error_code, message);
  else if (run->progress && run->o->progress_live)
    progress_line(run, "%-16s %s", dv->name, dv->phase == PH_SKIPPED ? "skipped" : "done");
  device_detach(dv);
  clear_output(&dv->out);
  free(dv->out.lines); /* nor the array of line pointers, grown to its longest reply */
  dv->out.lines = NULL;
  dv->out.cap = 0;
  free(dv->baseline); /* a finished router keeps no per-router buffers (B8: memory in flight) */
  dv->baseline = NULL;
  live_free(dv);
  checks_device_free(dv); /* its snapshots (parsed XML): hundreds of KB a router, till the end */
  rollout_device_finished(run, dv);
}

void device_fail(struct device *dv, const char *code, const char *outcome, const char *fmt, ...)
{
  if (dv->finished)
    return;
  dv->failed_in = dv->phase;
  dv->outcome = outcome;
  char message[DEVICE_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  text_utf8_trim(message); /* a message the buffer cut may end in half a character */
  device_set_error(dv, code, message);
  finish(dv, PH_FAILED);
}

void device_succeed(struct device *dv, enum junos_phase terminal)
{
  dv->outcome = "success";
  finish(dv, terminal);
}

/* A phase that outlives its timeout: stop watching, never abort the ISSU (DESIGN.md §6). Before
 * the ISSU went out nothing changed on the router: a failure. After it, the reconcile step looks
 * once more: what the facts show done goes on, anything else is held (outcome unknown, B4). */
static void phase_timeout_cb(uv_timer_t *h)
{
  struct device *dv = h->data;
  char limit[32];
  enum policy_timeout t = phase_rules[dv->phase].timeout;
  text_duration(dv->run->p->issu.timeouts_s[t], limit, sizeof limit);
  if (!dv->issu_sent) {
    device_fail(dv, phase_rules[dv->phase].timeout_code, "failure",
                "%s did not end within issu.timeouts.%s (%s)", junos_phase_name(dv->phase),
                policy_timeout_names[t], limit);
    return;
  }
  dv->timed_out = true;
  dv->timeout_code = phase_rules[dv->phase].timeout_code;
  snprintf(device_live(dv)->timeout_why, sizeof dv->live->timeout_why,
           "%s did not end within issu.timeouts.%s (%s)", junos_phase_name(dv->phase),
           policy_timeout_names[t], limit);
  /* The upgrade was verified; only the network's return is in doubt: that is a verdict. */
  if (checks_post_expire(dv, dv->live->timeout_why))
    return;
  /* Whatever was under way (a console, a command, a wait) is abandoned, not interrupted on the
   * router: a fresh session asks where things stand. */
  if (dv->timers)
    uv_timer_stop(&dv->timers->wait);
  dv->after_wait = NULL;
  dv->watching_console = false;
  /* A command on an RE's own address (verify's switchover readiness) included: its answer,
   * coming while the reconcile step looks, would run its step beside the look's. */
  if (dv->t_re) {
    rollout_close_later(dv->run, dv->t_re);
    dv->t_re = NULL;
    dv->re_next = NULL;
  }
  device_connect(dv, reconcile_step);
}

static void device_timeout_cb(uv_timer_t *h)
{
  struct device *dv = h->data;
  char limit[32];
  text_duration(dv->run->p->issu.timeouts_s[TIMEOUT_DEVICE], limit, sizeof limit);
  char why[120];
  snprintf(why, sizeof why, "the router did not finish within issu.timeouts.device (%s)", limit);
  if (checks_post_expire(dv, why))
    return;
  device_fail(dv, "device-timeout", dv->issu_sent ? "unknown" : "failure",
              "the router did not finish within issu.timeouts.device (%s), in phase %s", limit,
              junos_phase_name(dv->phase));
}

static void device_init(struct device *dv, bool resumed, enum junos_phase phase)
{
  struct rollout *run = dv->run;
  dv->started = true;
  dv->started_s = rollout_now(run);
  dv->phase_started_s = dv->started_s;
  dv->failed_in = PH_QUEUED;
  struct device_timers *tm = dv->timers = xcalloc(1, sizeof *dv->timers);
  uv_timer_init(&run->loop, &tm->phase);
  uv_timer_init(&run->loop, &tm->wait);
  uv_timer_init(&run->loop, &tm->device);
  tm->phase.data = tm->wait.data = tm->device.data = dv;
  tm->open = 3;
  dv->last_action = RA_COUNT;
  cJSON *ev =
      event_new(run->log, "info", EV_DEVICE_STARTED, dv->name, "%s: %s (wave %zu%s)", dv->name,
                resumed ? "resumed" : "started", dv->wave, dv->canary ? ", canary" : "");
  event_common(dv, ev);
  cJSON_AddBoolToObject(event_issu(ev), F_CANARY, dv->canary);
  if (resumed) {
    cJSON_AddBoolToObject(event_issu(ev), F_RESUMED, true);
    cJSON_AddStringToObject(event_issu(ev), F_PHASE, junos_phase_name(phase));
  }
  rollout_emit(run, ev);
  uv_timer_start(
      &dv->timers->device, device_timeout_cb,
      rollout_real_ms(run, (double)run->p->issu.timeouts_s[TIMEOUT_DEVICE], DEVICE_FLOOR_MS), 0);
}

void device_start(struct device *dv)
{
  dv->orig_master = -1;
  device_init(dv, false, PH_QUEUED);
  device_set_phase(dv, PH_CONNECT, NULL);
  device_connect(dv, preflight_start);
}

void device_resume(struct device *dv, enum junos_phase phase, bool switch_seen)
{
  device_init(dv, true, phase);
  if (phase < PH_VALIDATE) {
    /* Nothing was started on the router: preflight again (read-only) and go on. */
    device_set_phase(dv, PH_CONNECT, NULL);
    device_connect(dv, preflight_start);
    return;
  }
  /* The journal saw the ISSU go out (validate is written before the command leaves), so from
   * here on it is never sent again. Only a later phase proves it reached the router; the facts
   * decide the rest (reconcile.h). */
  dv->resumed = true;
  dv->issu_sent = true;
  dv->issu_unconfirmed = phase == PH_VALIDATE;
  /* Past switchback (verify), the switch went out and showed: a master other than the
   * original one now is no switch still to send (never a second one). */
  dv->switch_sent = phase == PH_SWITCHBACK ? RC_MAYBE_SENT : switch_seen ? RC_SENT : RC_NOT_SENT;
  dv->switch_sent_s = rollout_now(dv->run);
  dv->phase = phase;
  device_live(dv)->timeline[phase].seen = true;
  arm_phase_timer(dv);
  device_connect(dv, reconcile_step);
}

/* ---- commands ---- */

const char *device_error_name(int error)
{
  return error == DEVICE_E_OUTPUT_CUT ? "output-cut" : transport_error_name(error);
}

/* One line of a command's output, cleaned, into dv->out. `cut`: the transport cut it (longer
 * than max_line); a line longer than our buffer is cut here: either way the reply is not whole. */
static void keep_line(struct device *dv, const char *line, size_t len, bool cut)
{
  struct cmd_output *o = &dv->out;
  /* Room for any line the transport delivers whole (TRANSPORT_DEFAULT_LINE bytes): a longer one
   * arrives `cut`, so only the transport's flag says a line was cut, never this buffer. */
  char clean[TRANSPORT_DEFAULT_LINE + 2];
  enum junos_line_kind kind = junos_clean_line(line, len, clean, sizeof clean);
  if (cut || strlen(clean) >= sizeof clean - 1)
    o->cut = true;
  if (device_line_on_backup(clean))
    o->backup = true;
  if (kind == LINE_NOISE)
    return;
  if (o->n >= CMD_MAX_LINES) {
    o->cut = true;
    return;
  }
  o->lines = xgrow(o->lines, &o->cap, o->n + 1, sizeof *o->lines);
  o->lines[o->n++] = xstrdup(clean);
}

static void on_line(struct transport *t, enum transport_stream stream, const char *line, size_t len,
                    bool cut, void *data)
{
  (void)stream;
  struct device *dv = data;
  if (dv->t == t)
    keep_line(dv, line, len, cut);
}

/* A reply that is not whole (a line cut, lines beyond CMD_MAX_LINES, output beyond the
 * transport's max_output) is no reply: no decision rests on it (B1's lesson: what is missing may
 * be the line that matters, such as a major alarm after the kept lines). The step sees a failed
 * command (DEVICE_E_OUTPUT_CUT): before the ISSU a failure, after it the facts stay unknown and
 * the router is held when its phase's time runs out. */
static const struct transport_result *
whole_or_cut(struct device *dv, const struct transport_result *r, struct transport_result *cut)
{
  if (r->error != TRANSPORT_OK || (!dv->out.cut && !r->truncated))
    return r;
  *cut = *r;
  cut->error = DEVICE_E_OUTPUT_CUT;
  char why[80];
  if (r->truncated)
    snprintf(why, sizeof why, "output beyond the transport's limit was dropped");
  else if (dv->out.n >= CMD_MAX_LINES)
    snprintf(why, sizeof why, "over %d lines; the rest were dropped", CMD_MAX_LINES);
  else
    snprintf(why, sizeof why, "a line was cut at its length limit");
  snprintf(cut->message, sizeof cut->message,
           "%s: in %s, a reply was not whole (%s): nothing is decided on it", dv->name,
           junos_phase_name(dv->phase), why);
  return cut;
}

static void on_done(struct transport *t, const struct transport_result *r, void *data)
{
  struct device *dv = data;
  if (dv->t != t || dv->finished)
    return;
  device_next_fn next = dv->next;
  dv->next = NULL;
  struct transport_result cut;
  r = whole_or_cut(dv, r, &cut);
  if (r->error != TRANSPORT_OK) {
    /* A session that failed a command is not trusted with the next: the next step opens a new
     * one (device_with_session). The transport's words stay as evidence. */
    device_note(dv, r->message);
    device_drop_session(dv);
  }
  next(dv, r);
}

void device_exec(struct device *dv, const char *command, const char *input, device_next_fn next)
{
  if (dv->run->fatal)
    return; /* the journal cannot be written: nothing unjournaled acts (the run stops) */
  clear_output(&dv->out);
  dv->next = next;
  /* A command that neither answers nor fails (a hung CLI, a session stuck on either side) is
   * given up after COMMAND_S of policy time (at least COMMAND_FLOOR_MS real); the session is then
   * replaced and the step asked again, well inside the phase's own timeout. */
  uint64_t limit = rollout_real_ms(dv->run, COMMAND_S, COMMAND_FLOOR_MS);
  int rc = transport_exec(dv->t, command, input, (unsigned)limit, on_line, on_done, dv);
  if (rc < 0) {
    struct transport_result r = {.error = rc};
    snprintf(r.message, sizeof r.message, "%s: cannot run '%s': %s", dv->name, command,
             transport_error_name(rc));
    dv->next = NULL;
    next(dv, &r);
  }
}

const char *device_out_line(const struct device *dv, const char *needle)
{
  for (size_t i = 0; i < dv->out.n; i++)
    if (needle == NULL || strstr(dv->out.lines[i], needle))
      return dv->out.lines[i];
  return dv->out.n ? dv->out.lines[0] : "";
}

/* ---- one command on one RE's own address ---- */

static void re_session_end(struct device *dv, const struct transport_result *r)
{
  struct transport *t = dv->t_re;
  dv->t_re = NULL;
  if (t)
    rollout_close_later(dv->run, t);
  device_next_fn next = dv->re_next;
  dv->re_next = NULL;
  if (r->error != TRANSPORT_OK)
    device_note(dv, r->message);
  if (next && !dv->finished)
    next(dv, r);
}

static void re_line(struct transport *t, enum transport_stream stream, const char *line, size_t len,
                    bool cut, void *data)
{
  (void)stream;
  struct device *dv = data;
  if (dv->t_re == t)
    keep_line(dv, line, len, cut);
}

static void re_done(struct transport *t, const struct transport_result *r, void *data)
{
  struct device *dv = data;
  if (dv->t_re != t || dv->finished)
    return;
  struct transport_result cut;
  re_session_end(dv, whole_or_cut(dv, r, &cut));
}

static void re_opened(struct transport *t, int error, const char *message, void *data)
{
  struct device *dv = data;
  if (dv->t_re != t || dv->finished)
    return;
  if (error == TRANSPORT_OK) {
    uint64_t limit = rollout_real_ms(dv->run, COMMAND_S, COMMAND_FLOOR_MS);
    error =
        transport_exec(t, device_live(dv)->re_command, NULL, (unsigned)limit, re_line, re_done, dv);
    if (error >= 0)
      return;
    message = transport_error_name(error);
  }
  struct transport_result r = {.error = error};
  snprintf(r.message, sizeof r.message, "%s: the RE's own address: %s", dv->name,
           message ? message : transport_error_name(error));
  re_session_end(dv, &r);
}

bool device_exec_on_re(struct device *dv, int slot, const char *command, device_next_fn next)
{
  struct rollout *run = dv->run;
  const struct target *tg = targets_get(run->targets, dv->host);
  if (slot < 0 || slot > 1 || tg->re_host[slot] == NULL || tg->options.kind != TRANSPORT_SSH)
    return false;
  if (run->fatal)
    return true; /* the journal cannot be written: nothing more goes out (the run stops) */
  struct transport_options o = tg->options;
  o.host = tg->re_host[slot];
  o.port = tg->re_port[slot];
  o.limiter = &run->limiter;
  o.jump_pool = run->jump_pool;
  clear_output(&dv->out);
  snprintf(device_live(dv)->re_command, sizeof dv->live->re_command, "%s", command);
  dv->re_next = next;
  struct transport *t;
  int rc = transport_new(&run->loop, &o, &t);
  if (rc < 0) {
    struct transport_result r = {.error = rc};
    snprintf(r.message, sizeof r.message, "%s: cannot create a session: %s", dv->name,
             transport_error_name(rc));
    re_session_end(dv, &r);
    return true;
  }
  dv->t_re = t;
  rc = transport_open(t, re_opened, dv);
  if (rc < 0 && dv->t_re == t)
    re_opened(t, rc, transport_error_name(rc), dv);
  return true;
}

/* ---- waiting ---- */

static void wait_cb(uv_timer_t *h)
{
  struct device *dv = h->data;
  device_then_fn then = dv->after_wait;
  dv->after_wait = NULL;
  if (!dv->finished && then)
    then(dv);
}

void device_wait(struct device *dv, double policy_s, uint64_t floor_ms, device_then_fn then)
{
  dv->after_wait = then;
  uv_update_time(&dv->run->loop);
  if (dv->timers == NULL)
    return; /* detached: nothing more happens to this router in this run */
  uv_timer_start(&dv->timers->wait, wait_cb, rollout_real_ms(dv->run, policy_s, floor_ms), 0);
}

/* ---- sessions ---- */

void device_drop_session(struct device *dv)
{
  struct transport *t = dv->t;
  if (t == NULL)
    return;
  dv->t = NULL; /* callbacks of the closing session find it is no longer ours */
  /* Closed on the next turn of the loop, never from inside one of its own callbacks: the
   * transport may still be using what a close would free. */
  rollout_close_later(dv->run, t);
}

static void try_connect(struct device *dv);

static bool retryable(int error)
{
  switch (error) {
  case TRANSPORT_E_CONNECT:
  case TRANSPORT_E_TIMEOUT:
  case TRANSPORT_E_PROTOCOL:
  case TRANSPORT_E_DROPPED:
  case TRANSPORT_E_DEAD_PEER:
  case TRANSPORT_E_RESOLVE:
  case TRANSPORT_E_SPAWN:
    return true;
  default:
    return false;
  }
}

static void on_open(struct transport *t, int error, const char *message, void *data)
{
  struct device *dv = data;
  if (dv->t != t || dv->finished)
    return;
  struct rollout *run = dv->run;
  if (error == TRANSPORT_OK) {
    bool again = dv->phase != PH_CONNECT;
    if (again) {
      dv->reconnects++;
      cJSON *ev = event_new(run->log, "info", EV_DEVICE_RECONNECTED, dv->name,
                            "%s: session re-established in %s (attempt %u)", dv->name,
                            junos_phase_name(dv->phase), dv->attempt + 1);
      event_common(dv, ev);
      cJSON_AddStringToObject(event_issu(ev), F_PHASE, junos_phase_name(dv->phase));
      cJSON_AddNumberToObject(event_issu(ev), F_ATTEMPTS, dv->attempt + 1);
      rollout_note(run, ev);
    }
    dv->attempt = 0;
    device_then_fn then = dv->after_connect;
    dv->after_connect = NULL;
    then(dv);
    return;
  }
  device_drop_session(dv);
  unsigned limit = dv->phase == PH_CONNECT ? CONNECT_ATTEMPTS : RECONNECT_ATTEMPTS;
  if (retryable(error) && ++dv->attempt < limit) {
    device_wait(dv, 0, transport_backoff_ms(dv->attempt - 1, 250, 5000, dv->pos + 1), try_connect);
    return;
  }
  /* Once the ISSU is out, a router that does not answer is what the reconcile step waits on
   * (the address moves at the switchover; docs/operations.md's table: wait, held at the phase's
   * timeout), not a hold after a few quick reconnects. */
  if (dv->issu_sent && retryable(error) && reconcile_connecting(dv)) {
    dv->attempt = 0;
    device_note(dv, message ? message : transport_error_name(error));
    reconcile_unanswered(dv);
    return;
  }
  /* Mid-ISSU, a router we cannot reach is a router whose state we do not know. */
  device_fail(dv, transport_error_name(error), dv->issu_sent ? "unknown" : "failure", "%s%s",
              message ? message : transport_error_name(error),
              dv->issu_sent ? "; the router's state could not be established after the session "
                              "was lost"
                            : "");
}

static void try_connect(struct device *dv)
{
  struct rollout *run = dv->run;
  const struct target *tg = targets_get(run->targets, dv->host);
  struct transport_options o = tg->options;
  o.limiter = &run->limiter;
  o.jump_pool = run->jump_pool;
  /* A check's answer may be longer than the transport's default bound (8 MiB): the session
   * delivers what a check reads (the transport has no per-command bound). */
  if (policy_checks_on(run->p) && (o.max_output == 0 || o.max_output < CHECK_ANSWER_MAX))
    o.max_output = CHECK_ANSWER_MAX;
  struct transport *t;
  int rc = transport_new(&run->loop, &o, &t);
  if (rc < 0) {
    device_fail(dv, transport_error_name(rc), "failure", "cannot create a session: %s",
                transport_error_name(rc));
    return;
  }
  dv->t = t;
  rc = transport_open(t, on_open, dv);
  if (rc < 0 && dv->t == t)
    on_open(t, rc, transport_error_name(rc), dv);
}

void device_with_session(struct device *dv, device_then_fn then)
{
  if (dv->t == NULL)
    device_connect(dv, then);
  else
    then(dv);
}

void device_connect(struct device *dv, device_then_fn then)
{
  device_drop_session(dv);
  dv->after_connect = then;
  try_connect(dv);
}

void device_detach(struct device *dv)
{
  device_drop_session(dv);
  if (dv->t_re) {
    rollout_close_later(dv->run, dv->t_re);
    dv->t_re = NULL;
  }
  struct device_timers *tm = dv->timers;
  if (tm) {
    /* Closed timers call nothing: their data is the block, freed by the last close. */
    uv_timer_t *all[] = {&tm->phase, &tm->wait, &tm->device};
    for (size_t i = 0; i < ARRAY_LEN(all); i++) {
      all[i]->data = tm;
      uv_close((uv_handle_t *)all[i], timer_closed);
    }
    dv->timers = NULL;
  }
}

void device_free(struct device *dv)
{
  checks_device_free(dv);
  live_free(dv);
  free(dv->baseline);
  dv->baseline = NULL;
  clear_output(&dv->out);
  free(dv->out.lines);
  free(dv->site);
  free(dv->checks_pre_file);
  /* Still in flight when the loop ended (its handles closed by the run's last walk). */
  free(dv->timers);
  dv->timers = NULL;
}
