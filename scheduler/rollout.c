/*
 * The fleet: waves (a wave starts when the previous one has ended and its soak has passed) or
 * rolling (after the canary, a sliding window), the limits asked of policies/ against the
 * routers actually in flight, the failure budget (halt: no new starts, in-flight routers
 * finish), and the run's start and end events. Everything happens on one libuv loop.
 */
#include "scheduler/journal.h"
#include "scheduler/sched_internal.h"

#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK_PARALLEL 64
#define MAX_HANDSHAKES 16

double rollout_now(const struct rollout *run)
{
  return event_log_elapsed(run->log);
}

uint64_t rollout_real_ms(const struct rollout *run, double policy_s, uint64_t floor_ms)
{
  double ms = policy_s * 1000.0 / run->scale;
  if (ms < (double)floor_ms)
    ms = (double)floor_ms;
  return ms > 9e15 ? (uint64_t)9e15 : (uint64_t)ms;
}

static int emit(struct rollout *run, cJSON *ev, bool durable)
{
  if ((durable ? event_write(run->log, ev) : event_write_note(run->log, ev)) == 0)
    return 0;
  if (!run->fatal) {
    run->fatal = run->halted = true;
    progress_say(run,
                 "cannot write the journal %s; no router is started from here on "
                 "(routers in flight are finished)",
                 event_log_path(run->log));
  }
  return -1;
}

int rollout_emit(struct rollout *run, cJSON *ev)
{
  return emit(run, ev, true);
}

int rollout_note(struct rollout *run, cJSON *ev)
{
  return emit(run, ev, false);
}

static void halt(struct rollout *run, const char *why)
{
  if (run->halted)
    return;
  run->halted = true;
  cJSON *ev =
      event_new(run->log, "error", "budget-exceeded", NULL,
                "halting: %s; no new router starts, %zu in flight finish", why, run->in_flight);
  cJSON_AddStringToObject(event_issu(ev), "reason", why);
  rollout_emit(run, ev);
  progress_line(run, "HALT: %s", why);
}

static void wave_event(struct rollout *run, size_t w, const char *action)
{
  const struct plan_wave *pw = &run->plan->waves[w];
  bool finished = strcmp(action, "wave-finished") == 0;
  cJSON *ev = event_new(run->log, "info", action, NULL, "wave %zu (%s) %s: %zu routers", w,
                        pw->name, finished ? "finished" : "started", pw->nhosts);
  cJSON *is = event_issu(ev);
  cJSON_AddNumberToObject(is, "wave", (double)w);
  cJSON_AddStringToObject(is, "wave_name", pw->name);
  cJSON_AddNumberToObject(is, "routers", (double)pw->nhosts);
  if (finished)
    cJSON_AddNumberToObject(is, "failed", (double)run->wave_failed[w]);
  rollout_emit(run, ev);
  progress_line(run, "== wave %zu (%s) %s", w, pw->name, finished ? "finished" : "started");
}

static bool try_start(struct rollout *run, struct device *dv)
{
  char why[256];
  if (run_limits_blocked(run->limits, dv->pos, why, sizeof why))
    return false;
  if (!run->wave_started[dv->wave]) {
    run->wave_started[dv->wave] = true;
    wave_event(run, dv->wave, "wave-started");
  }
  run_limits_take(run->limits, dv->pos);
  run->in_flight++;
  if (run->in_flight > run->peak_in_flight)
    run->peak_in_flight = run->in_flight;
  device_start(dv);
  return true;
}

static void soak_done(uv_timer_t *h)
{
  struct rollout *run = h->data;
  run->soaking = false;
  rollout_pump_later(run);
}

/* The wave `w` is over: the budget is judged, then the soak. */
static void wave_over(struct rollout *run, size_t w)
{
  wave_event(run, w, "wave-finished");
  if (run->halted || w + 1 >= run->nwaves || run->p->waves.soak_s == 0)
    return;
  if (run->p->waves.mode == MODE_ROLLING && w > 0)
    return; /* rolling: only the canary is followed by a soak */
  char d[32];
  text_duration(run->p->waves.soak_s, d, sizeof d);
  cJSON *ev = event_new(run->log, "info", "soak-started", NULL, "soak of %s after wave %zu", d, w);
  cJSON_AddNumberToObject(event_issu(ev), "wave", (double)w);
  cJSON_AddNumberToObject(event_issu(ev), "soak_s", (double)run->p->waves.soak_s);
  rollout_emit(run, ev);
  run->soaking = true;
  run->soak_until_s = rollout_now(run) + (double)run->p->waves.soak_s;
  uv_timer_start(&run->soak_timer, soak_done, rollout_real_ms(run, (double)run->p->waves.soak_s, 0),
                 0);
}

/* Whether wave `w` may start; announces a gate the first time it holds the run. */
static bool gate_open(struct rollout *run, size_t w)
{
  if (!run->plan->waves[w].approve || run->gate_approved[w])
    return true;
  if (!run->gate_announced[w]) {
    run->gate_announced[w] = true;
    const char *name = run->plan->waves[w].name;
    cJSON *ev = event_new(run->log, "warn", "gate-waiting", NULL,
                          "wave %zu (%s) waits for approval: issu-fleet ctl %s approve", w, name,
                          run->control_path ? run->control_path : "SOCKET");
    cJSON_AddNumberToObject(event_issu(ev), "wave", (double)w);
    cJSON_AddStringToObject(event_issu(ev), "wave_name", name);
    rollout_emit(run, ev);
    progress_say(run, "wave %zu (%s) waits for approval: issu-fleet ctl %s approve", w, name,
                 run->control_path ? run->control_path : "SOCKET");
  }
  return false;
}

static void window_cb(uv_timer_t *h)
{
  rollout_pump_later(h->data);
}

/* Whether routers may start now by the maintenance window. Outside it: says so once, and wakes
 * the run when it opens; with --stop-at-window-end, a window that closes ends the run. */
static bool window_allows(struct rollout *run)
{
  const struct policy *p = run->p;
  if (!p->window.set)
    return true;
  time_t now = (time_t)event_log_wall(run->log);
  if (policy_window_open(p, now)) {
    if (run->window_closed) {
      run->window_closed = false;
      rollout_emit(run, event_new(run->log, "info", "window-opened", NULL,
                                  "the maintenance window is open: routers start again"));
    }
    run->window_seen_open = true;
    return true;
  }
  /* Closed: wake when it opens (re-armed on every look: a wake a moment early finds it still
   * closed and must not be the last). */
  time_t next = policy_window_next_change(p, now);
  if (next != (time_t)-1 && !run->window_stopped)
    uv_timer_start(&run->window_timer, window_cb, rollout_real_ms(run, (double)(next - now) + 2, 0),
                   0);
  if (run->window_closed)
    return false;
  run->window_closed = true;
  char when[64] = "not within 8 days";
  if (next != (time_t)-1) {
    struct tm tm;
    localtime_r(&next, &tm); /* policy_window_open set TZ to the window's zone */
    strftime(when, sizeof when, "%a %Y-%m-%d %H:%M", &tm);
  }
  bool stop = run->o->stop_at_window_end && run->window_seen_open;
  cJSON *ev = event_new(run->log, "warn", "window-closed", NULL,
                        "outside the maintenance window: %s (it opens %s %s)",
                        stop ? "the run ends once the routers in flight finish (exit 4)"
                             : "no router starts until it opens",
                        when, p->window.tz);
  cJSON_AddBoolToObject(event_issu(ev), "stop", stop);
  rollout_emit(run, ev);
  progress_say(run, "outside the maintenance window: %s (it opens %s %s)",
               stop ? "ending once the routers in flight finish; resume the run in the next window"
                    : "no router starts until it opens",
               when, p->window.tz);
  if (stop) {
    run->window_stopped = true;
    uv_timer_stop(&run->window_timer);
  }
  return false;
}

static void pump(struct rollout *run)
{
  if (run->halted || run->draining || run->soaking || run->paused || run->window_stopped)
    return;
  if (!run->o->check_only && !window_allows(run))
    return;
  if (run->o->check_only) {
    for (size_t i = 0; i < run->ndev && run->in_flight < CHECK_PARALLEL; i++)
      if (!run->dev[i].started) {
        run->dev[i].started = true;
        run->in_flight++;
        device_start(&run->dev[i]);
      }
    return;
  }
  /* waves: the current wave only; rolling: the canary alone, then every later router. */
  while (run->wave < run->nwaves) {
    size_t w = run->wave;
    bool rolling_rest = run->p->waves.mode == MODE_ROLLING && w > 0;
    size_t last = rolling_rest ? run->nwaves : w + 1;
    for (size_t i = run->wave_first[w]; i < run->wave_first[last] && !run->halted; i++) {
      if (!gate_open(run, run->dev[i].wave))
        return; /* rolling: routers after a gate wait too */
      if (!run->dev[i].started)
        try_start(run, &run->dev[i]);
    }
    /* Move on once every router of the wave(s) has finished (and the soak has passed). */
    size_t total = run->wave_first[last] - run->wave_first[w], done = 0;
    for (size_t k = w; k < last; k++)
      done += run->wave_done[k];
    if (done < total || run->halted)
      return;
    run->wave = last;
    if (run->soaking)
      return;
  }
}

/* No new starts; routers in flight finish; the run then ends with exit 4. */
void rollout_drain(struct rollout *run, const char *by)
{
  if (run->draining || run->detached)
    return;
  run->draining = true;
  cJSON *ev =
      event_new(run->log, "warn", "run-draining", NULL,
                "draining (%s): no new router starts, %zu in flight finish", by, run->in_flight);
  cJSON_AddStringToObject(event_issu(ev), "by", by);
  cJSON_AddNumberToObject(event_issu(ev), "in_flight", (double)run->in_flight);
  rollout_emit(run, ev);
  progress_say(run,
               "draining (%s): no new router starts; %zu in flight finish. Interrupt "
               "again to detach (stop watching, leave the routers alone).",
               by, run->in_flight);
}

/* Stops watching: records which routers were in flight and where, touches none of them. */
static void detach(struct rollout *run, const char *by)
{
  run->detached = true;
  cJSON *ev = event_new(run->log, "warn", "run-detached", NULL,
                        "detached (%s): %zu routers left in flight, untouched; resume the run to "
                        "follow them",
                        by, run->in_flight);
  cJSON *list = cJSON_AddArrayToObject(event_issu(ev), "in_flight");
  for (size_t i = 0; i < run->ndev; i++) {
    struct device *dv = &run->dev[i];
    if (!dv->started || dv->finished)
      continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host", dv->name);
    cJSON_AddStringToObject(o, "phase", junos_phase_name(dv->phase));
    cJSON_AddBoolToObject(o, "issu_sent", dv->issu_sent);
    cJSON_AddItemToArray(list, o);
  }
  rollout_emit(run, ev);
  for (size_t i = 0; i < run->ndev; i++)
    if (run->dev[i].started && !run->dev[i].finished)
      device_detach(&run->dev[i]);
  progress_say(run, "detached (%s); %zu routers were in flight (see the journal %s)", by,
               run->in_flight, event_log_path(run->log));
}

bool rollout_pause(struct rollout *run, bool pause, const char *by)
{
  if (run->paused == pause)
    return false;
  run->paused = pause;
  cJSON *ev = event_new(run->log, "warn", pause ? "run-paused" : "run-resumed", NULL, "%s (%s)",
                        pause ? "paused: no new router starts" : "resumed", by);
  cJSON_AddStringToObject(event_issu(ev), "by", by);
  rollout_emit(run, ev);
  progress_say(run, "%s (%s)", pause ? "paused: no new router starts" : "resumed", by);
  rollout_pump_later(run);
  return true;
}

bool rollout_approve(struct rollout *run, unsigned uid)
{
  size_t w = run->wave;
  if (w >= run->nwaves || !run->gate_announced[w] || run->gate_approved[w])
    return false;
  run->gate_approved[w] = true;
  cJSON *ev = event_new(run->log, "info", "gate-approved", NULL, "wave %zu (%s) approved by uid %u",
                        w, run->plan->waves[w].name, uid);
  cJSON_AddNumberToObject(event_issu(ev), "wave", (double)w);
  cJSON_AddStringToObject(event_issu(ev), "wave_name", run->plan->waves[w].name);
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(ev, "user"), "id", uid);
  rollout_emit(run, ev);
  progress_say(run, "wave %zu (%s) approved by uid %u", w, run->plan->waves[w].name, uid);
  rollout_pump_later(run);
  return true;
}

const char *rollout_state(const struct rollout *run)
{
  return run->detached   ? "detached"
         : run->draining ? "draining"
         : run->halted   ? "halted"
         : run->paused   ? "paused"
         : run->soaking  ? "soaking"
         : run->wave < run->nwaves && run->gate_announced[run->wave] &&
                 !run->gate_approved[run->wave]
             ? "waiting-approval"
             : "running";
}

size_t rollout_queued(const struct rollout *run)
{
  size_t queued = 0;
  for (size_t i = 0; i < run->ndev; i++)
    queued += !run->dev[i].started;
  return queued;
}

cJSON *rollout_status(struct rollout *run)
{
  cJSON *r = cJSON_CreateObject();
  cJSON_AddBoolToObject(r, "ok", true);
  cJSON_AddStringToObject(r, "run_id", event_log_run_id(run->log));
  cJSON_AddStringToObject(r, "state", rollout_state(run));
  size_t w = run->wave < run->nwaves ? run->wave : run->nwaves - 1;
  cJSON_AddNumberToObject(r, "wave", (double)w);
  cJSON_AddStringToObject(r, "wave_name", run->nwaves ? run->plan->waves[w].name : "");
  size_t queued = rollout_queued(run);
  cJSON *c = cJSON_AddObjectToObject(r, "routers");
  cJSON_AddNumberToObject(c, "total", (double)run->ndev);
  cJSON_AddNumberToObject(c, "done", (double)run->done);
  cJSON_AddNumberToObject(c, "skipped", (double)run->skipped);
  cJSON_AddNumberToObject(c, "failed", (double)run->failed);
  cJSON_AddNumberToObject(c, "in_flight", (double)run->in_flight);
  cJSON_AddNumberToObject(c, "queued", (double)queued);
  long left = (long)run->p->failures.max_failed - (long)run->failed;
  cJSON_AddNumberToObject(r, "budget_left", (double)(left > 0 ? left : 0));
  double now = rollout_now(run);
  cJSON_AddNumberToObject(r, "elapsed_s", now);
  /* the same figures as the live view (estimate.c): learned from this run's routers */
  cJSON_AddNumberToObject(r, "eta_s", estimate_run_remaining(run, now));
  cJSON_AddNumberToObject(r, "router_estimate_s", estimate_device_remaining(run, NULL, now));
  cJSON *list = cJSON_AddArrayToObject(r, "in_flight");
  for (size_t i = 0; i < run->ndev; i++) {
    struct device *dv = &run->dev[i];
    if (!dv->started || dv->finished)
      continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host", dv->name);
    cJSON_AddNumberToObject(o, "wave", (double)dv->wave);
    cJSON_AddStringToObject(o, "phase", junos_phase_name(dv->phase));
    cJSON_AddNumberToObject(o, "elapsed_s", now - dv->started_s);
    cJSON_AddNumberToObject(o, "phase_elapsed_s", now - dv->phase_started_s);
    double to_go = estimate_device_remaining(run, dv, now), elapsed = now - dv->started_s;
    cJSON_AddNumberToObject(o, "remaining_s", to_go);
    cJSON_AddNumberToObject(o, "progress", elapsed + to_go > 0 ? elapsed / (elapsed + to_go) : 0);
    cJSON_AddItemToArray(list, o);
  }
  return r;
}

static void on_signal(uv_signal_t *h, int signum)
{
  struct rollout *run = h->data;
  const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
  if (!run->draining)
    rollout_drain(run, name);
  else if (!run->detached)
    detach(run, name);
}

static void close_cb(uv_timer_t *h)
{
  struct rollout *run = h->data;
  /* transport_close may call back into devices; they find no transport of theirs (dv->t was
   * cleared) and do nothing, so the list cannot grow under us. Copy it anyway. */
  size_t n = run->nclosing;
  struct transport **list = run->closing;
  run->closing = NULL;
  run->nclosing = run->closing_cap = 0;
  for (size_t i = 0; i < n; i++)
    transport_close(list[i], NULL, NULL);
  free(list);
}

void rollout_close_later(struct rollout *run, struct transport *t)
{
  run->closing = xgrow(run->closing, &run->closing_cap, run->nclosing + 1, sizeof *run->closing);
  run->closing[run->nclosing++] = t;
  uv_timer_start(&run->close_timer, close_cb, 0, 0);
}

static void pump_cb(uv_timer_t *h)
{
  pump(h->data);
}

void rollout_pump_later(struct rollout *run)
{
  uv_timer_start(&run->pump_timer, pump_cb, 0, 0);
}

void rollout_device_finished(struct rollout *run, struct device *dv)
{
  run->in_flight--;
  if (!run->o->check_only)
    run_limits_release(run->limits, dv->pos);
  bool ok = dv->outcome && strcmp(dv->outcome, "success") == 0;
  if (ok && dv->phase == PH_SKIPPED)
    run->skipped++;
  else if (ok)
    run->done++;
  else {
    run->failed++;
    if (strcmp(dv->outcome, "unknown") == 0)
      run->unknown++;
    run->wave_failed[dv->wave]++;
  }
  run->wave_done[dv->wave]++;
  if (!run->o->check_only) {
    const struct plan_wave *pw = &run->plan->waves[dv->wave];
    struct budget_state b = {
        .failed = run->failed,
        .canary_failed = dv->canary ? run->wave_failed[dv->wave] : 0,
        .wave_failed = run->wave_failed[dv->wave],
        .wave_size = pw->nhosts,
    };
    char why[300];
    if (!ok && policy_budget_exceeded(run->p, &b, why, sizeof why))
      halt(run, why);
    if (run->wave_done[dv->wave] == pw->nhosts)
      wave_over(run, dv->wave);
  }
  rollout_pump_later(run);
}

/* ---- the run ---- */

static void run_started(struct rollout *run, const struct journal_state *resumed)
{
  const struct rollout_options *o = run->o;
  cJSON *ev = event_new(run->log, "info", "run-started", NULL, "%s %s: %zu routers, target %s%s",
                        o->check_only ? "check" : "run", event_log_run_id(run->log), run->ndev,
                        run->p->target.version, resumed ? " (resumed from its journal)" : "");
  cJSON *is = event_issu(ev);
  char ih[32] = "", ph[32] = "";
  if (o->inventory_path)
    journal_file_hash(o->inventory_path, ih, sizeof ih);
  if (o->policy_path)
    journal_file_hash(o->policy_path, ph, sizeof ph);
  /* What --resume checks: the same files, so a resume cannot run a different rollout. */
  cJSON_AddStringToObject(is, "inventory_hash", ih);
  cJSON_AddStringToObject(is, "policy_hash", ph);
  cJSON_AddStringToObject(is, "limit", o->limit ? o->limit : "");
  if (resumed) {
    cJSON_AddBoolToObject(is, "resumed", true);
    cJSON_AddNumberToObject(is, "resumed_after_sequence", (double)resumed->last_sequence);
    cJSON_AddBoolToObject(is, "journal_was_cut", resumed->cut);
  }
  cJSON_AddStringToObject(is, "command", o->check_only ? "check" : "run");
  cJSON_AddStringToObject(is, "inventory", o->inventory_path ? o->inventory_path : "");
  cJSON_AddStringToObject(is, "policy", o->policy_path ? o->policy_path : "");
  cJSON_AddStringToObject(is, "target_version", run->p->target.version);
  cJSON_AddNumberToObject(is, "routers", (double)run->ndev);
  cJSON_AddNumberToObject(is, "time_scale", run->scale);
  cJSON_AddStringToObject(is, "version", ISSU_VERSION);
  rollout_emit(run, ev);
  if (o->check_only || resumed)
    return;
  ev = event_new(run->log, "info", "plan-computed", NULL, "plan: %zu waves, makespan %llu s",
                 run->plan->nwaves, (unsigned long long)run->plan->makespan_s);
  cJSON_AddItemToObject(event_issu(ev), "plan", plan_to_json(run->plan, run->inv));
  rollout_emit(run, ev);
}

static int run_finished(struct rollout *run)
{
  /* The operator's stop wins over a halt: the run ends because someone asked it to. */
  int code = run->fatal                                              ? ISSU_EXIT_INTERNAL
             : run->draining || run->detached || run->window_stopped ? ISSU_EXIT_STOPPED
             : run->halted                                           ? ISSU_EXIT_HALTED
             : run->failed                                           ? ISSU_EXIT_FAILED
                                                                     : ISSU_EXIT_OK;
  size_t queued = rollout_queued(run);
  cJSON *ev = event_new(run->log, code == 0 ? "info" : "error", "run-finished", NULL,
                        "%s %s: %zu done, %zu skipped, %zu failed, %zu not started (exit %d)",
                        run->o->check_only ? "check" : "run", event_log_run_id(run->log), run->done,
                        run->skipped, run->failed, queued, code);
  cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "event");
  cJSON_AddStringToObject(e, "outcome", code == 0 ? "success" : "failure");
  cJSON_AddNumberToObject(e, "duration", rollout_now(run) * 1e9);
  cJSON *s = cJSON_AddObjectToObject(event_issu(ev), "summary");
  cJSON_AddNumberToObject(s, "routers", (double)run->ndev);
  /* What the run cost issu-fleet itself (its children, local routers, are not counted). */
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    cJSON *res = cJSON_AddObjectToObject(event_issu(ev), "resources");
    cJSON_AddNumberToObject(res, "cpu_user_s",
                            (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6);
    cJSON_AddNumberToObject(res, "cpu_system_s",
                            (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    cJSON_AddNumberToObject(res, "max_rss_kib", (double)ru.ru_maxrss);
    cJSON_AddNumberToObject(res, "peak_in_flight", (double)run->peak_in_flight);
  }
  cJSON_AddNumberToObject(s, "done", (double)run->done);
  cJSON_AddNumberToObject(s, "skipped", (double)run->skipped);
  cJSON_AddNumberToObject(s, "failed", (double)run->failed);
  cJSON_AddNumberToObject(s, "unknown", (double)run->unknown);
  cJSON_AddNumberToObject(s, "not_started", (double)queued);
  cJSON_AddBoolToObject(s, "halted", run->halted);
  cJSON_AddBoolToObject(s, "drained", run->draining);
  cJSON_AddBoolToObject(s, "detached", run->detached);
  cJSON_AddBoolToObject(s, "window_stopped", run->window_stopped);
  cJSON_AddNumberToObject(s, "exit_code", code);
  rollout_emit(run, ev);
  if (run->o->progress)
    fprintf(run->o->progress,
            "%s: %zu done, %zu skipped, %zu failed, %zu not started; journal %s (exit %d)\n",
            run->o->check_only ? "check" : "run", run->done, run->skipped, run->failed, queued,
            event_log_path(run->log), code);
  return code;
}

static void default_run_id(char *buf, size_t len, const char *prefix)
{
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  snprintf(buf, len, "%s-%s", prefix, stamp);
}

static void close_walk(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* A resume continues the same rollout: the same inventory and policy, or the operator says so. */
static int resume_check(const struct rollout_options *o, const struct journal_state *js, char *err,
                        size_t errlen)
{
  char ih[32] = "", ph[32] = "";
  journal_file_hash(o->inventory_path, ih, sizeof ih);
  journal_file_hash(o->policy_path, ph, sizeof ph);
  const char *changed = strcmp(ih, js->inventory_hash ? js->inventory_hash : "") != 0
                            ? o->inventory_path
                        : strcmp(ph, js->policy_hash ? js->policy_hash : "") != 0 ? o->policy_path
                                                                                  : NULL;
  if (changed && !o->accept_changed_config) {
    snprintf(err, errlen,
             "%s changed since run %s started; resuming would run a different rollout. Restore "
             "it, or add --accept-changed-config if the change is meant",
             changed, js->run_id);
    return -1;
  }
  if (strcmp(o->limit ? o->limit : "", js->limit ? js->limit : "") != 0 &&
      !o->accept_changed_config) {
    snprintf(err, errlen, "run %s was started with --limit '%s'; resume it with the same limit",
             js->run_id, js->limit ? js->limit : "");
    return -1;
  }
  return 0;
}

/* Rebuilds the run from its journal: finished routers stay finished (failed ones count against
 * the budget unless --retry-failed), routers in flight are asked where they stand and continued,
 * approved gates stay approved. */
static void resume_devices(struct rollout *run, const struct journal_state *js)
{
  for (size_t w = 0; w < run->nwaves && w < js->napproved; w++)
    if (js->approved[w])
      run->gate_approved[w] = run->gate_announced[w] = true;
  for (size_t i = 0; i < run->ndev; i++) {
    struct device *dv = &run->dev[i];
    const struct journal_host *h = journal_host(js, dv->name);
    if (h == NULL || !h->started)
      continue;
    bool failed = h->finished && strcmp(h->result, "failed") == 0;
    if (h->finished && !(failed && run->o->retry_failed)) {
      dv->started = dv->finished = true;
      run->wave_started[dv->wave] = true;
      run->wave_done[dv->wave]++;
      if (failed) {
        dv->outcome = "failure";
        run->failed++;
        run->wave_failed[dv->wave]++;
      } else if (strcmp(h->result, "skipped") == 0)
        run->skipped++;
      else
        run->done++;
      continue;
    }
    if (h->finished)
      continue; /* failed, and --retry-failed: queued again */
    /* In flight when the last run ended. */
    dv->orig_master = h->orig_master;
    memcpy(dv->before, h->before, sizeof dv->before);
    run->wave_started[dv->wave] = true;
    run_limits_take(run->limits, dv->pos);
    run->in_flight++;
    device_resume(dv, h->phase);
  }
  /* The wave to go on with: the first one not finished. */
  while (run->wave < run->nwaves) {
    size_t w = run->wave;
    if (run->wave_done[w] < run->plan->waves[w].nhosts)
      break;
    run->wave++;
  }
}

int rollout_run(const struct policy *p, const struct inventory *inv, const struct plan *plan,
                const struct targets *targets, const struct rollout_options *o)
{
  struct rollout run = {.p = p, .inv = inv, .plan = plan, .targets = targets, .o = o};
  run.scale = o->time_scale > 0 ? o->time_scale : 1;
  run.nwaves = plan->nwaves;
  for (size_t w = 0; w < plan->nwaves; w++)
    run.ndev += plan->waves[w].nhosts;
  run.dev = xcalloc(run.ndev + 1, sizeof *run.dev);
  run.wave_first = xcalloc(plan->nwaves + 2, sizeof *run.wave_first);
  run.wave_started = xcalloc(plan->nwaves + 1, sizeof *run.wave_started);
  run.wave_done = xcalloc(plan->nwaves + 1, sizeof *run.wave_done);
  run.wave_failed = xcalloc(plan->nwaves + 1, sizeof *run.wave_failed);
  run.gate_approved = xcalloc(plan->nwaves + 1, sizeof *run.gate_approved);
  run.gate_announced = xcalloc(plan->nwaves + 1, sizeof *run.gate_announced);
  size_t *hosts = xcalloc(run.ndev + 1, sizeof *hosts);
  size_t pos = 0;
  for (size_t w = 0; w < plan->nwaves; w++) {
    run.wave_first[w] = pos;
    for (size_t i = 0; i < plan->waves[w].nhosts; i++, pos++) {
      struct device *dv = &run.dev[pos];
      dv->run = &run;
      dv->pos = pos;
      dv->host = hosts[pos] = plan->waves[w].hosts[i];
      dv->name = inv->hosts[dv->host].name;
      dv->wave = w;
      dv->canary = strcmp(plan->waves[w].name, "canary") == 0;
      char buf[128];
      const char *site =
          inventory_value_text(inventory_host_var(inv, dv->host, "site"), buf, sizeof buf);
      dv->site = site ? xstrdup(site) : NULL;
    }
  }
  run.wave_first[plan->nwaves] = pos;
  int code = ISSU_EXIT_INTERNAL;
  bool loop_live = false, handles_live = false;
  struct journal_state js = {0};
  struct diag d = {0};
  char err[512], id[64];
  if (o->run_id == NULL)
    default_run_id(id, sizeof id, o->check_only ? "c" : "r");
  const char *state_dir = o->state_dir ? o->state_dir : ".issu-fleet";
  if (run_limits_new(p, inv, hosts, run.ndev, &run.limits, &d) < 0) {
    diag_print(&d, stderr);
    code = ISSU_EXIT_USAGE;
    goto out;
  }
  if (uv_loop_init(&run.loop) < 0) {
    fprintf(stderr, "issu-fleet: cannot create the event loop\n");
    goto out;
  }
  loop_live = true;
  bool resuming = o->resume != NULL;
  if (resuming) {
    if (journal_load(o->resume, &js, err, sizeof err) < 0) {
      fprintf(stderr, "issu-fleet: %s\n", err);
      code = ISSU_EXIT_USAGE;
      goto out;
    }
    if (js.cut)
      fprintf(stderr,
              "issu-fleet: %s ended in the middle of a line (a crash or a full disk); it was read "
              "up to its last whole line (line %zu) and the cut line dropped\n",
              o->resume, js.lines);
    if (resume_check(o, &js, err, sizeof err) < 0) {
      fprintf(stderr, "issu-fleet: %s\n", err);
      code = ISSU_EXIT_USAGE;
      goto out;
    }
    snprintf(id, sizeof id, "%s", js.run_id);
  }
  const char *run_id = resuming ? id : o->run_id ? o->run_id : id;
  const char **names = xcalloc(run.ndev + 1, sizeof *names);
  for (size_t i = 0; i < run.ndev; i++)
    names[i] = run.dev[i].name;
  int locked = state_locks_take(state_dir, run_id, names, run.ndev, &run.locks, err, sizeof err);
  free(names);
  if (locked < 0) {
    fprintf(stderr, "issu-fleet: %s\n", err);
    code = ISSU_EXIT_USAGE;
    goto out;
  }
  if (!o->check_only) {
    char *path = o->control ? xstrdup(o->control) : xasprintf("%s/%s.sock", state_dir, run_id);
    int crc = control_start(&run, path, err, sizeof err);
    free(path);
    if (crc < 0) {
      fprintf(stderr, "issu-fleet: %s\n", err);
      code = ISSU_EXIT_USAGE;
      goto out;
    }
  }
  int lrc =
      resuming ? event_log_reopen(&run.log, o->resume, run_id, js.last_sequence, o->events,
                                  run.scale, err, sizeof err)
               : event_log_open(&run.log, state_dir, run_id, o->events, run.scale, err, sizeof err);
  if (lrc < 0) {
    fprintf(stderr, "issu-fleet: %s\n", err);
    code = ISSU_EXIT_USAGE;
    goto out;
  }
  /* A reader of --events that goes away must not kill a run in the middle of an ISSU. */
  signal(SIGPIPE, SIG_IGN);
  run.limiter.max_handshakes = MAX_HANDSHAKES;
  uv_timer_init(&run.loop, &run.pump_timer);
  uv_timer_init(&run.loop, &run.soak_timer);
  uv_timer_init(&run.loop, &run.window_timer);
  uv_timer_init(&run.loop, &run.close_timer);
  run.close_timer.data = &run;
  run.pump_timer.data = run.soak_timer.data = run.window_timer.data = &run;
  /* SIGINT/SIGTERM: drain, then detach. SIGHUP: ignored, so a closed terminal (a dropped VPN,
   * a laptop lid) never kills a rollout. */
  signal(SIGHUP, SIG_IGN);
  uv_signal_init(&run.loop, &run.sigint);
  uv_signal_init(&run.loop, &run.sigterm);
  run.sigint.data = run.sigterm.data = &run;
  uv_signal_start(&run.sigint, on_signal, SIGINT);
  uv_signal_start(&run.sigterm, on_signal, SIGTERM);
  handles_live = true;
  if (o->progress)
    fprintf(o->progress, "%s %s: %zu routers; journal %s\n", o->check_only ? "check" : "run",
            event_log_run_id(run.log), run.ndev, event_log_path(run.log));
  progress_open(&run);
  run_started(&run, resuming ? &js : NULL);
  if (resuming)
    resume_devices(&run, &js);
  pump(&run);
  /* Runs until nothing is in flight and nothing more may start. */
  while (true) {
    int alive = uv_run(&run.loop, UV_RUN_ONCE);
    bool more = false;
    for (size_t i = 0; i < run.ndev && !more; i++)
      more = !run.dev[i].finished &&
             (run.dev[i].started || !(run.halted || run.draining || run.window_stopped));
    if ((!more && run.in_flight == 0) || run.detached)
      break;
    if (!alive && run.in_flight == 0) {
      pump(&run);
      if (run.in_flight == 0 && !run.soaking) {
        fprintf(stderr, "issu-fleet: internal error: routers wait but nothing can start them\n");
        run.fatal = true;
        break;
      }
    }
  }
  progress_close(&run);
  code = run_finished(&run);
out:
  if (loop_live) {
    progress_close(&run);
    control_stop(&run);
    if (handles_live) {
      close_cb(&run.close_timer); /* sessions still waiting to be closed */
      uv_close((uv_handle_t *)&run.close_timer, NULL);
      uv_close((uv_handle_t *)&run.pump_timer, NULL);
      uv_close((uv_handle_t *)&run.soak_timer, NULL);
      uv_close((uv_handle_t *)&run.window_timer, NULL);
      uv_close((uv_handle_t *)&run.sigint, NULL);
      uv_close((uv_handle_t *)&run.sigterm, NULL);
    }
    /* Sessions of finished routers are still saying goodbye: let them, then close the rest. */
    uv_run(&run.loop, UV_RUN_DEFAULT);
    uv_walk(&run.loop, close_walk, NULL);
    uv_run(&run.loop, UV_RUN_DEFAULT);
    uv_loop_close(&run.loop);
  }
  for (size_t i = 0; i < run.ndev; i++)
    device_free(&run.dev[i]);
  diag_free(&d);
  journal_state_free(&js);
  event_log_close(run.log);
  state_locks_release(run.locks);
  run_limits_free(run.limits);
  free(hosts);
  free(run.dev);
  free(run.wave_first);
  free(run.wave_started);
  free(run.wave_done);
  free(run.wave_failed);
  free(run.gate_approved);
  free(run.gate_announced);
  free(run.control_path);
  return code;
}
