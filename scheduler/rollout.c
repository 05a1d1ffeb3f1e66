/*
 * The fleet: waves (a wave starts when the previous one has ended and its soak has passed) or
 * rolling (after the canary, a sliding window), the limits asked of policies/ against the
 * routers actually in flight, the failure budget (halt: no new starts, in-flight routers
 * finish), and the run's start and end events. Everything happens on one libuv loop.
 */
#include "scheduler/sched_internal.h"

#include <signal.h>
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

int rollout_emit(struct rollout *run, cJSON *ev)
{
  if (event_write(run->log, ev) == 0)
    return 0;
  if (!run->fatal) {
    run->fatal = run->halted = true;
    fprintf(stderr,
            "issu-fleet: cannot write the journal %s; no router is started from here on "
            "(routers in flight are finished)\n",
            event_log_path(run->log));
  }
  return -1;
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
  if (run->o->progress)
    fprintf(run->o->progress, "HALT: %s\n", why);
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
  if (run->o->progress)
    fprintf(run->o->progress, "== wave %zu (%s) %s\n", w, pw->name,
            finished ? "finished" : "started");
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
  uv_timer_start(&run->soak_timer, soak_done, rollout_real_ms(run, (double)run->p->waves.soak_s, 0),
                 0);
}

static void pump(struct rollout *run)
{
  if (run->halted || run->soaking)
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
    for (size_t i = run->wave_first[w]; i < run->wave_first[last] && !run->halted; i++)
      if (!run->dev[i].started)
        try_start(run, &run->dev[i]);
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

static void run_started(struct rollout *run)
{
  const struct rollout_options *o = run->o;
  cJSON *ev = event_new(run->log, "info", "run-started", NULL, "%s %s: %zu routers, target %s",
                        o->check_only ? "check" : "run", event_log_run_id(run->log), run->ndev,
                        run->p->target.version);
  cJSON *is = event_issu(ev);
  cJSON_AddStringToObject(is, "command", o->check_only ? "check" : "run");
  cJSON_AddStringToObject(is, "inventory", o->inventory_path ? o->inventory_path : "");
  cJSON_AddStringToObject(is, "policy", o->policy_path ? o->policy_path : "");
  cJSON_AddStringToObject(is, "target_version", run->p->target.version);
  cJSON_AddNumberToObject(is, "routers", (double)run->ndev);
  cJSON_AddNumberToObject(is, "time_scale", run->scale);
  cJSON_AddStringToObject(is, "version", ISSU_VERSION);
  rollout_emit(run, ev);
  if (o->check_only)
    return;
  ev = event_new(run->log, "info", "plan-computed", NULL, "plan: %zu waves, makespan %llu s",
                 run->plan->nwaves, (unsigned long long)run->plan->makespan_s);
  cJSON_AddItemToObject(event_issu(ev), "plan", plan_to_json(run->plan, run->inv));
  rollout_emit(run, ev);
}

static int run_finished(struct rollout *run)
{
  int code = run->fatal    ? ISSU_EXIT_INTERNAL
             : run->halted ? ISSU_EXIT_HALTED
             : run->failed ? ISSU_EXIT_FAILED
                           : ISSU_EXIT_OK;
  size_t queued = 0;
  for (size_t i = 0; i < run->ndev; i++)
    queued += !run->dev[i].started;
  cJSON *ev = event_new(run->log, code == 0 ? "info" : "error", "run-finished", NULL,
                        "%s %s: %zu done, %zu skipped, %zu failed, %zu not started (exit %d)",
                        run->o->check_only ? "check" : "run", event_log_run_id(run->log), run->done,
                        run->skipped, run->failed, queued, code);
  cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "event");
  cJSON_AddStringToObject(e, "outcome", code == 0 ? "success" : "failure");
  cJSON_AddNumberToObject(e, "duration", rollout_now(run) * 1e9);
  cJSON *s = cJSON_AddObjectToObject(event_issu(ev), "summary");
  cJSON_AddNumberToObject(s, "routers", (double)run->ndev);
  cJSON_AddNumberToObject(s, "done", (double)run->done);
  cJSON_AddNumberToObject(s, "skipped", (double)run->skipped);
  cJSON_AddNumberToObject(s, "failed", (double)run->failed);
  cJSON_AddNumberToObject(s, "unknown", (double)run->unknown);
  cJSON_AddNumberToObject(s, "not_started", (double)queued);
  cJSON_AddBoolToObject(s, "halted", run->halted);
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
  if (event_log_open(&run.log, state_dir, o->run_id ? o->run_id : id, o->events, run.scale, err,
                     sizeof err) < 0) {
    fprintf(stderr, "issu-fleet: %s\n", err);
    code = ISSU_EXIT_USAGE;
    goto out;
  }
  if (uv_loop_init(&run.loop) < 0) {
    fprintf(stderr, "issu-fleet: cannot create the event loop\n");
    goto out;
  }
  /* A reader of --events that goes away must not kill a run in the middle of an ISSU. */
  signal(SIGPIPE, SIG_IGN);
  run.limiter.max_handshakes = MAX_HANDSHAKES;
  uv_timer_init(&run.loop, &run.pump_timer);
  uv_timer_init(&run.loop, &run.soak_timer);
  run.pump_timer.data = run.soak_timer.data = &run;
  if (o->progress)
    fprintf(o->progress, "%s %s: %zu routers; journal %s\n", o->check_only ? "check" : "run",
            event_log_run_id(run.log), run.ndev, event_log_path(run.log));
  run_started(&run);
  pump(&run);
  /* Runs until nothing is in flight and nothing more may start. */
  while (true) {
    int alive = uv_run(&run.loop, UV_RUN_ONCE);
    bool more = false;
    for (size_t i = 0; i < run.ndev && !more; i++)
      more = !run.dev[i].finished && (run.dev[i].started || !run.halted);
    if (!more && run.in_flight == 0)
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
  code = run_finished(&run);
  /* Sessions of finished routers are still saying goodbye: let them, then close what is ours. */
  uv_close((uv_handle_t *)&run.pump_timer, NULL);
  uv_close((uv_handle_t *)&run.soak_timer, NULL);
  uv_run(&run.loop, UV_RUN_DEFAULT);
  uv_walk(&run.loop, close_walk, NULL);
  uv_run(&run.loop, UV_RUN_DEFAULT);
  uv_loop_close(&run.loop);
out:
  for (size_t i = 0; i < run.ndev; i++)
    device_free(&run.dev[i]);
  diag_free(&d);
  event_log_close(run.log);
  run_limits_free(run.limits);
  free(hosts);
  free(run.dev);
  free(run.wave_first);
  free(run.wave_started);
  free(run.wave_done);
  free(run.wave_failed);
  return code;
}
