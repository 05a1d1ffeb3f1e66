/*
 * The waves: a wave starts when the previous one has ended and its soak has passed, or rolling
 * (after the canary, a sliding window); the limits asked of policies/ against the routers
 * actually in flight; approval gates; the maintenance window; the failure budget (halt: no new
 * starts, in-flight routers finish); drain and pause.
 */
#include "common/event_schema.h"
#include "scheduler/sched_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK_PARALLEL 64
/* Routers in connect or preflight at once: a start storm of thousands of sessions must not
 * starve the routers mid-ISSU of the loop (their console lines, their phase timers). */
#define MAX_STARTING 32

void rollout_halt(struct rollout *run, const char *why)
{
  if (run->halted)
    return;
  run->halted = true;
  cJSON *ev =
      event_new(run->log, "error", "budget-exceeded", NULL,
                "halting: %s; no new router starts, %zu in flight finish", why, run->in_flight);
  cJSON_AddStringToObject(event_issu(ev), F_REASON, why);
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

/* Routers being connected to or preflighted now. */
static size_t starting(const struct rollout *run)
{
  size_t n = 0;
  for (size_t i = 0; i < run->ndev; i++)
    n += run->dev[i].started && !run->dev[i].finished && run->dev[i].phase <= PH_PREFLIGHT;
  return n;
}

void rollout_phase_moved(struct rollout *run, enum junos_phase prev, enum junos_phase next)
{
  if (prev <= PH_PREFLIGHT && next > PH_PREFLIGHT)
    rollout_pump_later(run); /* a start slot is free */
}

static bool try_start(struct rollout *run, struct device *dv)
{
  char why[256];
  if (run_limits_blocked(run->limits, dv->pos, why, sizeof why))
    return false;
  if (!run->wave_started[dv->wave]) {
    run->wave_started[dv->wave] = true;
    wave_event(run, dv->wave, EV_WAVE_STARTED);
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
  /* Journaled, so a resume after this point does not soak again. */
  rollout_emit(run, event_new(run->log, "info", EV_SOAK_FINISHED, NULL, "soak finished"));
  rollout_pump_later(run);
}

void rollout_soak(struct rollout *run, size_t w, double seconds, bool resumed)
{
  char d[32];
  text_duration((uint64_t)seconds, d, sizeof d);
  cJSON *ev = resumed ? event_new(run->log, "info", EV_SOAK_RESUMED, NULL,
                                  "the soak after wave %zu goes on: %s left", w, d)
                      : event_new(run->log, "info", EV_SOAK_STARTED, NULL,
                                  "soak of %s after wave %zu", d, w);
  cJSON_AddNumberToObject(event_issu(ev), F_WAVE, (double)w);
  cJSON_AddNumberToObject(event_issu(ev), resumed ? F_SOAK_LEFT_S : F_SOAK_S, seconds);
  rollout_emit(run, ev);
  if (resumed)
    progress_say(run, "the soak after wave %zu goes on: %s left", w, d);
  run->soaking = true;
  run->soak_until_s = rollout_now(run) + seconds;
  /* The loop's cached clock may be stale (a resume reads the journal first): a timer armed on
   * it would end the soak early. One more millisecond for the rounding down. */
  uv_update_time(&run->loop);
  uv_timer_start(&run->soak_timer, soak_done, rollout_real_ms(run, seconds, 0) + 1, 0);
}

/* The wave `w` is over: the budget is judged, then the soak. */
static void wave_over(struct rollout *run, size_t w)
{
  wave_event(run, w, EV_WAVE_FINISHED);
  if (run->halted || w + 1 >= run->nwaves || run->p->waves.soak_s == 0)
    return;
  if (run->p->waves.mode == MODE_ROLLING && w > 0)
    return; /* rolling: only the canary is followed by a soak */
  rollout_soak(run, w, (double)run->p->waves.soak_s, false);
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

void rollout_pump(struct rollout *run)
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
  size_t slots = starting(run);
  slots = slots < MAX_STARTING ? MAX_STARTING - slots : 0;
  while (run->wave < run->nwaves) {
    size_t w = run->wave;
    bool rolling_rest = run->p->waves.mode == MODE_ROLLING && w > 0;
    size_t last = rolling_rest ? run->nwaves : w + 1;
    for (size_t i = run->wave_first[w]; i < run->wave_first[last] && !run->halted; i++) {
      if (!gate_open(run, run->dev[i].wave))
        return; /* rolling: routers after a gate wait too */
      if (!run->dev[i].started && slots > 0 && try_start(run, &run->dev[i]))
        slots--;
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

long rollout_approve(struct rollout *run, unsigned uid)
{
  /* The first gate that waits: in rolling mode the pump may have announced a later wave's gate
   * (routers after a gate wait too) while run->wave still names an earlier one. */
  size_t w = 0;
  while (w < run->nwaves && !(run->gate_announced[w] && !run->gate_approved[w]))
    w++;
  if (w >= run->nwaves)
    return -1;
  run->gate_approved[w] = true;
  cJSON *ev = event_new(run->log, "info", EV_GATE_APPROVED, NULL,
                        "wave %zu (%s) approved by uid %u", w, run->plan->waves[w].name, uid);
  cJSON_AddNumberToObject(event_issu(ev), F_WAVE, (double)w);
  cJSON_AddStringToObject(event_issu(ev), F_WAVE_NAME, run->plan->waves[w].name);
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(ev, "user"), "id", uid);
  rollout_emit(run, ev);
  progress_say(run, "wave %zu (%s) approved by uid %u", w, run->plan->waves[w].name, uid);
  rollout_pump_later(run);
  return (long)w;
}

/* Unknown means held: the router's state could not be established, so it may still be
 * upgrading. It keeps its limit slots (its pair partner, its site's cap, max_parallel) until an
 * operator who has looked at it releases it. */
static void hold(struct rollout *run, struct device *dv)
{
  dv->held = true;
  run->held++;
  const char *sock = run->control_path ? run->control_path : "SOCKET";
  cJSON *ev = event_new(run->log, "error", EV_DEVICE_HELD, dv->name,
                        "%s: held (outcome unknown): it keeps its limit slots until it is checked "
                        "and released with `issu-fleet ctl %s release %s`",
                        dv->name, sock, dv->name);
  cJSON_AddNumberToObject(event_issu(ev), F_WAVE, (double)dv->wave);
  rollout_emit(run, ev);
  progress_say(run, "%s is HELD (outcome unknown); check it, then: issu-fleet ctl %s release %s",
               dv->name, sock, dv->name);
}

bool rollout_release(struct rollout *run, const char *router, unsigned uid, char *err,
                     size_t errlen)
{
  struct device *dv = NULL;
  for (size_t i = 0; i < run->ndev && dv == NULL; i++)
    if (strcmp(run->dev[i].name, router) == 0)
      dv = &run->dev[i];
  if (dv == NULL || !dv->held) {
    snprintf(err, errlen, "%s is %s", dv ? dv->name : "that router",
             dv ? "not held" : "not in this run");
    return false;
  }
  dv->held = false;
  run->held--;
  run_limits_release(run->limits, dv->pos);
  cJSON *ev = event_new(run->log, "warn", EV_DEVICE_RELEASED, dv->name,
                        "%s released by uid %u: its limit slots are free", dv->name, uid);
  cJSON_AddStringToObject(event_issu(ev), F_BY, "ctl");
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(ev, "user"), "id", uid);
  rollout_emit(run, ev);
  progress_say(run, "%s released by uid %u", dv->name, uid);
  rollout_pump_later(run);
  return true;
}

static void pump_cb(uv_timer_t *h)
{
  rollout_pump(h->data);
}

void rollout_pump_later(struct rollout *run)
{
  uv_timer_start(&run->pump_timer, pump_cb, 0, 0);
}

void rollout_device_finished(struct rollout *run, struct device *dv)
{
  run->in_flight--;
  bool ok = dv->outcome && strcmp(dv->outcome, "success") == 0;
  bool unknown = dv->outcome && strcmp(dv->outcome, OUTCOME_UNKNOWN) == 0;
  if (!run->o->check_only && unknown)
    hold(run, dv);
  else if (!run->o->check_only)
    run_limits_release(run->limits, dv->pos);
  if (ok && dv->phase == PH_SKIPPED)
    run->skipped++;
  else if (ok)
    run->done++;
  else {
    run->failed++;
    run->unknown += unknown;
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
      rollout_halt(run, why);
    if (run->wave_done[dv->wave] == pw->nhosts)
      wave_over(run, dv->wave);
  }
  rollout_pump_later(run);
}
