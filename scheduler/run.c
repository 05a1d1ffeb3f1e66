/*
 * The run: its start and end events, the loop that drives it until nothing is left to do (or
 * says why it cannot go on), signals, the journal writer's failures, closing sessions. The waves
 * are in waves.c, --resume in resume.c, ctl status in status.c.
 */
#include "common/event_schema.h"
#include "scheduler/journal.h"
#include "scheduler/sched_internal.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HANDSHAKES 16
#define DETACH_LIST_MAX 100 /* routers named in run-detached (about 100 bytes each) */

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

/* Nothing unjournaled acts: no command goes to any router from here on (device_exec and the
 * send gate), the loop stops and leaves every router in flight alone, as a detach does. */
static void journal_failed(struct rollout *run)
{
  if (run->fatal)
    return;
  run->fatal = run->halted = true;
  int e = event_log_errno(run->log);
  progress_say(run,
               "cannot write the journal %s: %s; nothing more is sent to any router. The "
               "routers in flight are left as they are: free the disk, then resume the run",
               event_log_path(run->log), e ? strerror(e) : "write failed");
  uv_stop(&run->loop);
}

static int emit(struct rollout *run, cJSON *ev, bool durable)
{
  int rc = !durable            ? event_write_note(run->log, ev)
           : run->group_commit ? event_write_deferred(run->log, ev)
                               : event_write(run->log, ev);
  if (rc == 0)
    return 0;
  journal_failed(run);
  return -1;
}

/* The send gate: a router operation waits until every line written before it asked is durable
 * (and for ever once the journal failed). Lines written after it asked (another router's) do not
 * hold it: under a steady stream of events it would otherwise never go. */
static bool journal_pending(void *data, uint64_t *ticket)
{
  struct rollout *run = data;
  if (run->fatal)
    return true;
  if (*ticket == 0)
    *ticket = event_log_ticket(run->log);
  return !event_log_durable(run->log, *ticket);
}

/* A group commit is back from the threadpool: the operations it made durable go (the others
 * stay held for the next one). Once the run has ended nothing more is sent. */
static void journal_synced(void *data, int rc)
{
  struct rollout *run = data;
  if (run->fatal)
    return;
  if (rc < 0) {
    journal_failed(run);
    return;
  }
  if (!run->driving_over)
    transport_release_held(&run->limiter);
}

/* Group commit: one fsync for every durable line written since the last, then the router
 * operations that waited for it. An fsync per line blocked the loop for most of a 1,000-router
 * run (thousands of fsyncs of a few ms each), and every console line waited behind them; the
 * fsync itself now runs on the threadpool, so the loop reads routers while the disk works. */
static void journal_flush(struct rollout *run)
{
  if (run->fatal || run->driving_over)
    return;
  event_log_sync_async(run->log, &run->loop, journal_synced, run);
}

/* Once per loop turn, before the loop waits for I/O. */
static void on_journal_sync(uv_prepare_t *h)
{
  journal_flush(h->data);
}

int rollout_emit(struct rollout *run, cJSON *ev)
{
  return emit(run, ev, true);
}

int rollout_note(struct rollout *run, cJSON *ev)
{
  return emit(run, ev, false);
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
  size_t listed = 0;
  for (size_t i = 0; i < run->ndev; i++) {
    struct device *dv = &run->dev[i];
    /* Bounded (a line stays under EVENT_LINE_MAX): the rest are counted, and a resume asks
     * every router the journal shows in flight anyway. */
    if (!dv->started || dv->finished || listed++ >= DETACH_LIST_MAX)
      continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host", dv->name);
    cJSON_AddStringToObject(o, "phase", junos_phase_name(dv->phase));
    cJSON_AddBoolToObject(o, "issu_sent", dv->issu_sent);
    cJSON_AddItemToArray(list, o);
  }
  cJSON_AddNumberToObject(event_issu(ev), "in_flight_more",
                          (double)(listed > DETACH_LIST_MAX ? listed - DETACH_LIST_MAX : 0));
  rollout_emit(run, ev);
  for (size_t i = 0; i < run->ndev; i++)
    if (run->dev[i].started && !run->dev[i].finished)
      device_detach(&run->dev[i]);
  progress_say(run, "detached (%s); %zu routers were in flight (see the journal %s)", by,
               run->in_flight, event_log_path(run->log));
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

/* ---- the run ---- */

/* Bytes of host names per plan-wave event: with the event's other fields, far under
 * EVENT_LINE_MAX however long the names (inventory names are at most 255 bytes). */
#define PLAN_CHUNK_BYTES 8192
#define PLAN_LIST_MAX 20 /* deferrals and warnings named in plan-computed; the rest counted */

/* Moves at most PLAN_LIST_MAX items of `list` into `to` and counts the rest under `more`. */
static void bounded_list(cJSON *from, const char *name, cJSON *to, const char *more)
{
  cJSON *list = cJSON_DetachItemFromObjectCaseSensitive(from, name);
  int n = cJSON_GetArraySize(list);
  while (cJSON_GetArraySize(list) > PLAN_LIST_MAX)
    cJSON_DeleteItemFromArray(list, PLAN_LIST_MAX);
  cJSON_AddItemToObject(to, name, list ? list : cJSON_CreateArray());
  cJSON_AddNumberToObject(to, more, n > PLAN_LIST_MAX ? n - PLAN_LIST_MAX : 0);
}

/* The plan, journaled in lines a log shipper takes whole: plan-computed with the summary, then
 * one plan-wave event per wave, cut into parts when a wave names too many routers. */
static void plan_events(struct rollout *run)
{
  const struct plan *plan = run->plan;
  cJSON *full = plan_to_json(plan, run->inv);
  cJSON *ev =
      event_new(run->log, "info", EV_PLAN_COMPUTED, NULL, "plan: %zu waves, makespan %llu s",
                plan->nwaves, (unsigned long long)plan->makespan_s);
  cJSON *sum = cJSON_AddObjectToObject(event_issu(ev), "plan");
  cJSON_AddNumberToObject(sum, "waves", (double)plan->nwaves);
  cJSON_AddNumberToObject(sum, "routers", (double)run->ndev);
  static const char *const copied[] = {"makespan_s", "lower_bound_s", "lower_bound_reason"};
  for (size_t i = 0; i < ARRAY_LEN(copied); i++)
    cJSON_AddItemToObject(sum, copied[i],
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(full, copied[i]), 1));
  bounded_list(full, "deferred", sum, "deferred_more");
  bounded_list(full, "warnings", sum, "warnings_more");
  rollout_emit(run, ev);
  for (size_t w = 0; w < plan->nwaves && !run->fatal; w++) {
    const struct plan_wave *pw = &plan->waves[w];
    size_t parts = 0;
    for (size_t i = 0; i < pw->nhosts || (i == 0 && parts == 0);) {
      ev = event_new(run->log, "info", EV_PLAN_WAVE, NULL, "plan: wave %zu (%s), %zu routers", w,
                     pw->name, pw->nhosts);
      cJSON *is = event_issu(ev);
      cJSON_AddNumberToObject(is, F_WAVE, (double)w);
      cJSON_AddStringToObject(is, F_WAVE_NAME, pw->name);
      cJSON_AddNumberToObject(is, "routers", (double)pw->nhosts);
      cJSON_AddNumberToObject(is, "start_s", (double)pw->start_s);
      cJSON_AddNumberToObject(is, "end_s", (double)pw->end_s);
      cJSON_AddBoolToObject(is, "approve", pw->approve);
      cJSON_AddNumberToObject(is, "part", (double)parts++);
      cJSON_AddNumberToObject(is, "first", (double)i);
      cJSON *hosts = cJSON_AddArrayToObject(is, "hosts");
      for (size_t bytes = 0; i < pw->nhosts && bytes < PLAN_CHUNK_BYTES; i++) {
        const char *name = run->inv->hosts[pw->hosts[i]].name;
        bytes += strlen(name) + 3;
        cJSON_AddItemToArray(hosts, cJSON_CreateString(name));
      }
      rollout_emit(run, ev);
      if (pw->nhosts == 0)
        break;
    }
  }
  cJSON_Delete(full);
}

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
  cJSON_AddStringToObject(is, F_INVENTORY_HASH, ih);
  cJSON_AddStringToObject(is, F_POLICY_HASH, ph);
  cJSON_AddStringToObject(is, F_LIMIT, o->limit ? o->limit : "");
  if (event_log_clock_set(run->log)) {
    char when[40];
    event_timestamp(run->log, 0, when, sizeof when);
    cJSON_AddStringToObject(is, F_CLOCK_START, when); /* ISSU_FLEET_CLOCK_START, a rehearsal */
  }
  if (resumed) {
    cJSON_AddBoolToObject(is, F_RESUMED, true);
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
  plan_events(run);
}

static int run_finished(struct rollout *run)
{
  /* The operator's stop wins over a halt: the run ends because someone asked it to. */
  /* Held routers next: whatever else happened, someone must look at them before anything else. */
  int code = run->fatal                                              ? ISSU_EXIT_INTERNAL
             : run->held                                             ? ISSU_EXIT_HELD
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
  cJSON_AddNumberToObject(s, F_HELD, (double)run->held);
  cJSON_AddBoolToObject(s, "blocked", run->blocked);
  cJSON_AddBoolToObject(s, "journal_failed", run->fatal);
  cJSON_AddNumberToObject(s, "not_started", (double)queued);
  cJSON_AddBoolToObject(s, "halted", run->halted);
  cJSON_AddBoolToObject(s, "drained", run->draining);
  cJSON_AddBoolToObject(s, "detached", run->detached);
  cJSON_AddBoolToObject(s, "window_stopped", run->window_stopped);
  cJSON_AddNumberToObject(s, "exit_code", code);
  rollout_emit(run, ev);
  if (run->o->progress)
    fprintf(run->o->progress,
            "%s: %zu done, %zu skipped, %zu failed (%zu held), %zu not started; journal %s (exit "
            "%d)\n",
            run->o->check_only ? "check" : "run", run->done, run->skipped, run->failed, run->held,
            queued, event_log_path(run->log), code);
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

/* Each router in flight holds a few descriptors (its session or its child's pipes, a pidfd);
 * issu-fleet itself a few dozen. */
#define FDS_PER_ROUTER 6
#define FDS_BASE 64

/* Raises the open-file limit to its hard limit (a Debian default of 1,024 cannot run 1,000
 * routers at once) and says so when even that is too low for the plan. */
static void raise_fd_limit(const struct rollout *run)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
      rl.rlim_cur = was;
  }
  size_t parallel = run->p->limits.max_parallel && run->p->limits.max_parallel < run->ndev
                        ? run->p->limits.max_parallel
                        : run->ndev;
  uint64_t need = (uint64_t)parallel * FDS_PER_ROUTER + FDS_BASE;
  if (rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur < need && run->o->progress)
    fprintf(run->o->progress,
            "issu-fleet: the open-file limit is %llu, too low for %zu routers at once (about %llu "
            "needed): raise it (ulimit -Hn, LimitNOFILE=) or set limits.max_parallel; routers "
            "that cannot open a session fail\n",
            (unsigned long long)rl.rlim_cur, parallel, (unsigned long long)need);
}

/* Whether the run is over: nothing in flight and nothing more may start. */
static bool run_over(const struct rollout *run)
{
  if (run->detached || run->fatal)
    return true;
  if (run->in_flight > 0)
    return false;
  bool starts = !(run->halted || run->draining || run->window_stopped);
  for (size_t i = 0; i < run->ndev; i++)
    if (!run->dev[i].finished && (run->dev[i].started || starts))
      return false;
  return true;
}

/* Whether something will wake the run with nothing in flight: a soak, the window, the operator
 * (a pause, a gate), a pending pump. */
static bool run_waits(const struct rollout *run)
{
  if (run->soaking || run->paused || run->window_closed ||
      uv_is_active((const uv_handle_t *)&run->pump_timer))
    return true;
  for (size_t w = 0; w < run->nwaves; w++)
    if (run->gate_announced[w] && !run->gate_approved[w])
      return true;
  return false;
}

/* Nothing is in flight, nothing waits, yet routers remain: say why and end the run, never wait
 * silently. Behind held routers (their slots block the rest) the operator must act: exit 5.
 * Anything else is a bug: exit 70. */
static void stalled(struct rollout *run)
{
  char names[600] = "";
  size_t len = 0, named = 0;
  for (size_t i = 0; i < run->ndev && run->held; i++)
    if (run->dev[i].held && len + strlen(run->dev[i].name) + 8 < sizeof names && named < 10) {
      len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", named ? ", " : "",
                              run->dev[i].name);
      named++;
    }
  size_t queued = rollout_queued(run);
  cJSON *ev;
  if (run->held) {
    run->blocked = true;
    ev = event_new(run->log, "error", EV_RUN_BLOCKED, NULL,
                   "%zu routers cannot start: %zu held routers (outcome unknown) keep their limit "
                   "slots: %s%s. Check them, release each with `issu-fleet ctl %s release "
                   "ROUTER`, then resume the run",
                   queued, run->held, names, run->held > named ? ", ..." : "",
                   run->control_path ? run->control_path : "SOCKET");
  } else {
    run->fatal = true;
    ev = event_new(run->log, "error", EV_RUN_BLOCKED, NULL,
                   "internal error: %zu routers wait but nothing can start them (state %s, wave "
                   "%zu)",
                   queued, rollout_state(run), run->wave);
  }
  cJSON_AddNumberToObject(event_issu(ev), "queued", (double)queued);
  cJSON_AddNumberToObject(event_issu(ev), F_HELD, (double)run->held);
  cJSON *msg = cJSON_GetObjectItemCaseSensitive(ev, "message");
  progress_say(run, "%s", msg && cJSON_IsString(msg) ? msg->valuestring : "blocked");
  rollout_emit(run, ev);
}

/* Runs the loop until the run is over, checked before every turn (a resumed run that has
 * nothing left ends at once instead of blocking on the control socket and the signals). */
static void drive(struct rollout *run)
{
  rollout_pump(run);
  while (!run_over(run)) {
    if (run->in_flight == 0 && !run_waits(run)) {
      rollout_pump(run);
      if (run->in_flight == 0 && !run_waits(run) && !run_over(run)) {
        stalled(run);
        break;
      }
      continue;
    }
    journal_flush(run); /* what the pump wrote and queued, whatever the loop has to do */
    uv_run(&run->loop, UV_RUN_ONCE);
  }
  if (!run->fatal)
    return;
  /* The journal cannot be written: stop watching every router in flight, touch none. */
  for (size_t i = 0; i < run->ndev; i++)
    if (run->dev[i].started && !run->dev[i].finished)
      device_detach(&run->dev[i]);
}

int rollout_run(const struct policy *p, struct inventory *inv, const struct plan *plan,
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
  char err[512], id[RUN_ID_MAX + 1];
  if (o->run_id == NULL)
    default_run_id(id, sizeof id, o->check_only ? "c" : "r");
  const char *state_dir = o->state_dir ? o->state_dir : ".issu-fleet";
  /* A resumed run's lock (and socket) are beside its journal, where the process that writes it
   * holds them, whatever --state-dir or the working directory says: locks elsewhere let a second
   * process cut and append to a live run's journal. */
  char *journal_dir = NULL;
  if (o->resume) {
    const char *slash = strrchr(o->resume, '/');
    journal_dir = slash == NULL        ? xstrdup(".")
                  : slash == o->resume ? xstrdup("/")
                                       : xstrndup(o->resume, (size_t)(slash - o->resume));
    state_dir = journal_dir;
  }
  raise_fd_limit(&run);
  if (run_limits_new(p, inv, hosts, run.ndev, &run.limits, &d) < 0) {
    diag_print(&d, stderr);
    code = ISSU_EXIT_USAGE;
    goto out;
  }
  /* Targets, sites and limits are copied: the document and its variables would stay for hours. */
  inventory_forget_values(inv);
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
              "up to its last whole line (line %zu) and the cut line is dropped\n",
              o->resume, js.lines);
    if (rollout_resume_check(o, &js, err, sizeof err) < 0) {
      fprintf(stderr, "issu-fleet: %s\n", err);
      code = ISSU_EXIT_USAGE;
      goto out;
    }
    snprintf(id, sizeof id, "%s", js.run_id);
    run.scale = js.time_scale; /* the same, or none was given */
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
  /* Only now, with the run's lock held, may a cut last line be dropped: before, another
   * process could still be appending to the journal. Read it again: it may have grown. */
  if (resuming) {
    journal_state_free(&js);
    if (journal_load(o->resume, &js, err, sizeof err) < 0 ||
        rollout_resume_covers(&run, &js, err, sizeof err) < 0 ||
        journal_drop_cut(o->resume, &js, err, sizeof err) < 0) {
      fprintf(stderr, "issu-fleet: %s\n", err);
      code = ISSU_EXIT_USAGE;
      goto out;
    }
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
                                  run.scale, js.first_wall, js.last_wall, err, sizeof err)
               : event_log_open(&run.log, state_dir, run_id, o->events, run.scale, err, sizeof err);
  if (lrc < 0) {
    fprintf(stderr, "issu-fleet: %s\n", err);
    code = ISSU_EXIT_USAGE;
    goto out;
  }
  /* A reader of --events that goes away must not kill a run in the middle of an ISSU. */
  signal(SIGPIPE, SIG_IGN);
  run.limiter.max_handshakes = MAX_HANDSHAKES;
  /* Routers behind the same jump hosts share their sessions to them (limits.jump_channels
   * routers per session), so 200 routers behind one bastion open 20 sessions, not 200. */
  run.jump_pool = transport_jump_pool_new(&run.loop, p->limits.jump_channels);
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
  run.limiter.hold = journal_pending;
  run.limiter.hold_data = &run;
  uv_prepare_init(&run.loop, &run.journal_sync);
  run.journal_sync.data = &run;
  uv_prepare_start(&run.journal_sync, on_journal_sync);
  uv_unref((uv_handle_t *)&run.journal_sync); /* never keeps the loop alive by itself */
  run.group_commit = true;
  handles_live = true;
  if (o->progress)
    fprintf(o->progress, "%s %s: %zu routers; journal %s\n", o->check_only ? "check" : "run",
            event_log_run_id(run.log), run.ndev, event_log_path(run.log));
  progress_open(&run);
  run_started(&run, resuming ? &js : NULL);
  if (resuming)
    rollout_resume_devices(&run, &js);
  drive(&run);
  /* From here every durable line is fsync'ed as it is written, run-finished first; a group
   * commit still on the threadpool releases nothing. */
  run.group_commit = false;
  run.driving_over = true;
  if (!run.fatal && event_log_sync(run.log) < 0)
    journal_failed(&run);
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
      uv_close((uv_handle_t *)&run.journal_sync, NULL);
    }
    /* The bastion sessions go as soon as no router uses them: an idle one would otherwise
     * linger (for routers that come back) and keep the run from ending for seconds. */
    if (run.jump_pool)
      transport_jump_pool_free(run.jump_pool);
    run.jump_pool = NULL;
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
  checks_run_free(&run);
  free(hosts);
  free(run.dev);
  free(run.wave_first);
  free(run.wave_started);
  free(run.wave_done);
  free(run.wave_failed);
  free(run.gate_approved);
  free(run.gate_announced);
  free(run.control_path);
  free(journal_dir);
  return code;
}
