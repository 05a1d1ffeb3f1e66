/*
 * Rebuilding a run from its events. Each action updates the model through one handler of a
 * table; the phases of a router become spans (a span ends where the next one starts, or at
 * device-finished, or at the last event of the file while the router is still in flight). A
 * line that is not a JSON object is named in a warning and skipped: a journal being written, or
 * cut off by kill -9, still gives its report.
 */
#define _DEFAULT_SOURCE /* timegm */
#include "common/event_schema.h"
#include "report/report.h"

#include "common/common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPORT_MAX_BYTES (1024u * 1024u * 1024u)

static const cJSON *get(const cJSON *o, const char *a, const char *b)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
  return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

static const char *str(const cJSON *o, const char *a, const char *b)
{
  const cJSON *x = get(o, a, b);
  return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double num(const cJSON *o, const char *a, const char *b, double dflt)
{
  const cJSON *x = get(o, a, b);
  return cJSON_IsNumber(x) && isfinite(x->valuedouble) ? x->valuedouble : dflt;
}

/* A number that becomes a count or an index: used only when it fits in [lo, hi] (a damaged
 * journal's 1e113 or -7 is the default, never a cast out of range). */
static double num_in(const cJSON *o, const char *a, const char *b, double lo, double hi,
                     double dflt)
{
  double v = num(o, a, b, dflt);
  return v >= lo && v <= hi ? v : dflt;
}

static unsigned count(const cJSON *o, const char *a, const char *b, unsigned dflt)
{
  return (unsigned)num_in(o, a, b, 0, UINT_MAX, dflt);
}

static char *dup_or_null(const char *s)
{
  return s ? xstrdup(s) : NULL;
}

static void set_str(char **field, const char *s)
{
  if (!s)
    return;
  free(*field);
  *field = xstrdup(s);
}

/* "2026-11-24T01:12:03.412Z" -> seconds since the epoch; NAN if it is not that shape. */
static double parse_timestamp(const char *s)
{
  int y, mo, d, h, mi, sec, ms = 0, n = 0;
  if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
    return NAN;
  if (s[n] == '.') {
    int digits = 0;
    for (const char *p = s + n + 1; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
      ms = ms * 10 + (*p - '0');
    for (; digits < 3; digits++)
      ms *= 10;
  }
  struct tm tm = {.tm_year = y - 1900,
                  .tm_mon = mo - 1,
                  .tm_mday = d,
                  .tm_hour = h,
                  .tm_min = mi,
                  .tm_sec = sec};
  return (double)timegm(&tm) + ms / 1000.0;
}

/* A skipped line, named; a file of garbage keeps its first 1000. */
static void warn(struct report *r, size_t line, const char *what)
{
  if (r->nwarnings >= 1000)
    return;
  r->warnings = xrealloc(r->warnings, (r->nwarnings + 1) * sizeof *r->warnings);
  r->warnings[r->nwarnings++] = xasprintf("%s:%zu: %s", r->path, line, what);
}

/* ---- routers, waves, intervals ---- */

struct loader {
  struct report *r;
  struct strmap index;
  double t; /* the current event's time */
};

static struct report_router *router(struct loader *L, const char *name)
{
  size_t i;
  if (strmap_get(&L->index, name, &i))
    return &L->r->routers[i];
  struct report *r = L->r;
  r->routers = xgrow(r->routers, &r->routers_cap, r->nrouters + 1, sizeof *r->routers);
  struct report_router *rt = &r->routers[r->nrouters];
  memset(rt, 0, sizeof *rt);
  rt->name = xstrdup(name);
  rt->wave = -1;
  rt->phase = PH_QUEUED;
  strmap_put(&L->index, rt->name, r->nrouters);
  r->nrouters++;
  return rt;
}

static struct report_wave *wave(struct report *r, const cJSON *ev)
{
  double w = num_in(ev, "issu", "wave", 0, 100000, -1);
  if (w < 0)
    return NULL;
  size_t i = (size_t)w;
  if (i >= r->nwaves) {
    r->waves = xrealloc(r->waves, (i + 1) * sizeof *r->waves);
    memset(r->waves + r->nwaves, 0, (i + 1 - r->nwaves) * sizeof *r->waves);
    r->nwaves = i + 1;
  }
  const char *name = str(ev, "issu", "wave_name");
  if (name && !r->waves[i].name)
    r->waves[i].name = xstrdup(name);
  return &r->waves[i];
}

static void interval_open(struct report_interval **list, size_t *n, double t, const char *label)
{
  if (*n && (*list)[*n - 1].end < 0)
    return; /* already open */
  *list = xrealloc(*list, (*n + 1) * sizeof **list);
  (*list)[*n] = (struct report_interval){t, -1, dup_or_null(label)};
  (*n)++;
}

static void interval_close(struct report_interval *list, size_t n, double t)
{
  if (n && list[n - 1].end < 0)
    list[n - 1].end = t;
}

static void span_close(struct report_router *rt, double t)
{
  if (rt->nspans && rt->spans[rt->nspans - 1].open) {
    struct report_span *s = &rt->spans[rt->nspans - 1];
    s->open = false;
    s->duration = t > s->start ? t - s->start : 0;
  }
}

static void span_open(struct report_router *rt, enum junos_phase p, double t)
{
  span_close(rt, t);
  rt->spans = xgrow(rt->spans, &rt->spans_cap, rt->nspans + 1, sizeof *rt->spans);
  rt->spans[rt->nspans++] = (struct report_span){.phase = p, .start = t, .open = true};
}

static void versions(char out[2][48], const cJSON *v)
{
  const char *re[2] = {str(v, "re0", NULL), str(v, "re1", NULL)};
  for (int i = 0; i < 2; i++)
    if (re[i])
      snprintf(out[i], 48, "%s", re[i]);
}

/* ---- one handler per action ---- */

static void on_run_started(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  struct report *r = L->r;
  if (!r->run_id)
    r->run_id = dup_or_null(str(ev, "labels", "run_id"));
  set_str(&r->command, str(ev, "issu", "command"));
  set_str(&r->target_version, str(ev, "issu", "target_version"));
  r->time_scale = num(ev, "issu", "time_scale", r->time_scale);
  if (cJSON_IsTrue(get(ev, "issu", "resumed")))
    r->resumes++;
  r->finished = false;
}

/* The plan names every router of the run, also those that never start (a halt, a drain). */
static void on_plan_computed(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  const cJSON *w;
  size_t index = 0;
  cJSON_ArrayForEach(w, get(get(ev, "issu", "plan"), "waves", NULL))
  {
    const cJSON *h;
    cJSON_ArrayForEach(h, get(w, "hosts", NULL))
    {
      if (!cJSON_IsString(h))
        continue;
      struct report_router *r = router(L, h->valuestring);
      if (r->wave < 0)
        r->wave = (long)index;
    }
    cJSON *shape = cJSON_CreateObject();
    cJSON *issu = cJSON_AddObjectToObject(shape, "issu");
    cJSON_AddNumberToObject(issu, "wave", (double)index);
    const char *name = str(w, "name", NULL);
    if (name)
      cJSON_AddStringToObject(issu, "wave_name", name);
    struct report_wave *rw = wave(L->r, shape);
    if (rw && !rw->started)
      rw->routers = (unsigned)cJSON_GetArraySize(get(w, "hosts", NULL));
    cJSON_Delete(shape);
    index++;
  }
}

/* The plan as the run journals it (one event per wave, in parts of a bounded size). */
static void on_plan_wave(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  const cJSON *is = get(ev, "issu", NULL);
  double index = num_in(is, "wave", NULL, 0, 999999, -1);
  if (index < 0)
    return;
  const cJSON *h;
  cJSON_ArrayForEach(h, get(is, "hosts", NULL))
  {
    if (!cJSON_IsString(h))
      continue;
    struct report_router *r = router(L, h->valuestring);
    if (r->wave < 0)
      r->wave = (long)index;
  }
  struct report_wave *rw = wave(L->r, ev);
  if (rw && !rw->started)
    rw->routers = count(is, "routers", NULL, rw->routers);
}

static void on_device_started(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  if (!rt)
    return;
  if (!rt->started) {
    rt->started = true;
    rt->start = L->t;
  }
  rt->wave = (long)num_in(ev, "issu", "wave", -1, 1e6, (double)rt->wave);
  rt->canary = rt->canary || cJSON_IsTrue(get(ev, "issu", "canary"));
  set_str(&rt->site, str(ev, "labels", "site"));
  /* a resumed router carries on in the phase the journal left it in */
  enum junos_phase p = junos_phase_parse(str(ev, "issu", "phase"));
  if (cJSON_IsTrue(get(ev, "issu", "resumed")) && p < PH_DONE && p != PH_QUEUED)
    span_open(rt, p, L->t);
}

static void on_phase_changed(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  enum junos_phase p = junos_phase_parse(str(ev, "issu", "phase"));
  if (!rt || p == PH_COUNT)
    return;
  if (!rt->started) { /* a file that begins mid-run (an --events copy of a resumed run) */
    rt->started = true;
    rt->start = L->t;
    rt->wave = (long)num_in(ev, "issu", "wave", -1, 1e6, -1);
  }
  rt->phase = p;
  if (junos_phase_terminal(p) || p == PH_QUEUED)
    span_close(rt, L->t);
  else
    span_open(rt, p, L->t);
  if (p == PH_VALIDATE)
    versions(rt->before, get(ev, "issu", "versions_before"));
}

static void on_device_finished(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  if (!rt)
    return;
  if (!rt->started) {
    rt->started = true;
    rt->start = L->t;
  }
  if (rt->wave < 0)
    rt->wave = (long)num_in(ev, "issu", "wave", -1, 1e6, -1);
  span_close(rt, L->t);
  rt->finished = true;
  rt->end = L->t;
  set_str(&rt->result, str(ev, "issu", "result"));
  set_str(&rt->outcome, str(ev, "event", "outcome"));
  set_str(&rt->error_code, str(ev, "error", "code"));
  set_str(&rt->error_message, str(ev, "error", "message"));
  enum junos_phase p = junos_phase_parse(str(ev, "issu", "phase"));
  if (p != PH_COUNT)
    rt->phase = p;
  versions(rt->before, get(ev, "issu", "versions_before"));
  versions(rt->after, get(ev, "issu", "versions_after"));
  rt->reconnects = count(ev, "issu", "reconnects", rt->reconnects);
  if (rt->result && strcmp(rt->result, "failed") == 0) {
    /* the span that was running when it failed; the failing phase is the one the event names */
    for (size_t i = rt->nspans; i-- > 0;)
      if (rt->spans[i].phase == p || i == rt->nspans - 1) {
        rt->spans[i].failed = true;
        break;
      }
    const cJSON *out = get(ev, "issu", "device_output"), *line;
    cJSON_ArrayForEach(line, out)
    {
      if (!cJSON_IsString(line) || rt->noutput >= 64)
        continue;
      rt->output = xrealloc(rt->output, (rt->noutput + 1) * sizeof *rt->output);
      rt->output[rt->noutput++] = xstrdup(line->valuestring);
    }
  }
}

static void on_device_reconnected(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)L, (void)ev;
  if (rt)
    rt->reconnects++;
}

static void on_wave_started(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  struct report_wave *w = wave(L->r, ev);
  if (!w || w->started)
    return;
  w->started = true;
  w->start = L->t;
  w->routers = count(ev, "issu", "routers", 0);
}

static void on_wave_finished(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  struct report_wave *w = wave(L->r, ev);
  if (!w)
    return;
  w->finished = true;
  w->end = L->t;
  w->routers = count(ev, "issu", "routers", w->routers);
  w->failed = count(ev, "issu", "failed", 0);
}

static void on_soak_started(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  struct report_wave *w = wave(L->r, ev);
  if (!w)
    return;
  w->soaked = true;
  w->soak_start = L->t;
  /* as the resume reader takes it (scheduler/journal.c): a damaged journal's 1e300 s is no
   * soak, and llround() of it in report_duration() is unspecified */
  w->soak_s = num_in(ev, "issu", "soak_s", 0, 1e9, 0);
}

static void on_gate_waiting(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  char label[120];
  const char *name = str(ev, "issu", "wave_name");
  snprintf(label, sizeof label, "approval of %s", name ? name : "the next wave");
  interval_open(&L->r->gates, &L->r->ngates, L->t, label);
}

static void on_gate_approved(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)ev, (void)rt;
  interval_close(L->r->gates, L->r->ngates, L->t);
}

static void on_paused(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  interval_open(&L->r->pauses, &L->r->npauses, L->t, str(ev, "issu", "by"));
}

static void on_resumed(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)ev, (void)rt;
  interval_close(L->r->pauses, L->r->npauses, L->t);
}

static void on_window_closed(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)ev, (void)rt;
  interval_open(&L->r->closed, &L->r->nclosed, L->t, "outside the maintenance window");
}

static void on_window_opened(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)ev, (void)rt;
  interval_close(L->r->closed, L->r->nclosed, L->t);
}

static void on_run_finished(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)rt;
  struct report *r = L->r;
  r->finished = true;
  const cJSON *s = get(ev, "issu", "summary");
  r->exit_code = (int)num_in(s, "exit_code", NULL, 0, 255, -1);
  static const char *const states[] = {"halted", "drained", "detached", "window_stopped"};
  free(r->end_state);
  r->end_state = NULL;
  for (size_t i = 0; i < sizeof states / sizeof *states; i++)
    if (cJSON_IsTrue(get(s, states[i], NULL)) && !r->end_state)
      r->end_state = xstrdup(states[i]);
  /* the run is over: nothing is open any more (a detached router stays unfinished) */
  interval_close(r->gates, r->ngates, L->t);
  interval_close(r->pauses, r->npauses, L->t);
  interval_close(r->closed, r->nclosed, L->t);
}

static void on_device_held(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)L;
  (void)ev;
  if (rt)
    rt->held = true;
}

static void on_device_released(struct loader *L, const cJSON *ev, struct report_router *rt)
{
  (void)L;
  (void)ev;
  if (rt)
    rt->held = false;
}

static const struct {
  const char *action;
  void (*apply)(struct loader *, const cJSON *, struct report_router *);
} handlers[] = {
    {EV_DEVICE_HELD, on_device_held},
    {EV_DEVICE_RELEASED, on_device_released},
    {EV_RUN_STARTED, on_run_started},
    {EV_PLAN_COMPUTED, on_plan_computed},
    {EV_PLAN_WAVE, on_plan_wave},
    {EV_DEVICE_STARTED, on_device_started},
    {EV_PHASE_CHANGED, on_phase_changed},
    {EV_DEVICE_FINISHED, on_device_finished},
    {"device-reconnected", on_device_reconnected},
    {EV_WAVE_STARTED, on_wave_started},
    {EV_WAVE_FINISHED, on_wave_finished},
    {EV_SOAK_STARTED, on_soak_started},
    {EV_GATE_WAITING, on_gate_waiting},
    {EV_GATE_APPROVED, on_gate_approved},
    {"run-paused", on_paused},
    {"run-resumed", on_resumed},
    {"window-closed", on_window_closed},
    {"window-opened", on_window_opened},
    {EV_RUN_FINISHED, on_run_finished},
};

static void apply_line(struct loader *L, size_t lineno, const char *text, size_t len)
{
  struct report *r = L->r;
  cJSON *ev = cJSON_ParseWithLength(text, len);
  if (!cJSON_IsObject(ev)) {
    warn(r, lineno, "not a JSON object, skipped");
    cJSON_Delete(ev);
    return;
  }
  double t = parse_timestamp(str(ev, "@timestamp", NULL));
  const char *action = str(ev, "event", "action");
  if (isnan(t) || !action) {
    warn(r, lineno, "not an issu-fleet event (no @timestamp or event.action), skipped");
    cJSON_Delete(ev);
    return;
  }
  if (r->events == 0)
    r->t0 = t;
  L->t = t - r->t0;
  if (L->t > r->tend)
    r->tend = L->t;
  r->events++;
  const char *host = str(ev, "host", "name");
  struct report_router *rt = host && *host ? router(L, host) : NULL;
  for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++)
    if (strcmp(handlers[i].action, action) == 0) {
      handlers[i].apply(L, ev, rt);
      break;
    }
  if (strncmp(action, "check-", 6) == 0) /* issue 15's health checks: report_checks.c */
    report_checks_event(rt, action, ev);
  cJSON_Delete(ev);
}

struct report *report_from_buffer(const char *name, const char *buf, size_t len)
{
  struct report *r = xcalloc(1, sizeof *r);
  r->path = xstrdup(name);
  r->exit_code = -1;
  r->time_scale = 1;
  struct loader L = {.r = r};
  strmap_init(&L.index);
  size_t lineno = 0;
  for (size_t at = 0; at < len;) {
    const char *nl = memchr(buf + at, '\n', len - at);
    size_t end = nl ? (size_t)(nl - buf) : len;
    lineno++;
    size_t n = end - at;
    bool blank = true;
    for (size_t i = at; i < end && blank; i++)
      blank = buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r';
    if (!nl && !blank) /* the writer was cut off (kill -9) or is still writing it */
      warn(r, lineno, "the last line is incomplete (cut off, or still being written), skipped");
    else if (!blank)
      apply_line(&L, lineno, buf + at, n);
    at = nl ? end + 1 : len;
  }
  r->lines = lineno;
  /* routers still in flight: their open span runs to the last event */
  for (size_t i = 0; i < r->nrouters; i++) {
    struct report_router *rt = &r->routers[i];
    if (rt->started && !rt->finished) {
      rt->end = r->tend;
      if (rt->nspans && rt->spans[rt->nspans - 1].open)
        rt->spans[rt->nspans - 1].duration = r->tend - rt->spans[rt->nspans - 1].start;
    }
  }
  strmap_free(&L.index);
  report_compute(r);
  return r;
}

int report_load(const char *path, struct report **out, char *err, size_t errlen)
{
  char *buf = NULL;
  size_t len = 0;
  if (strcmp(path, "-") == 0) {
    size_t cap = 0;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
      buf = xgrow(buf, &cap, len + n + 1, 1);
      memcpy(buf + len, chunk, n);
      len += n;
    }
    if (ferror(stdin)) {
      snprintf(err, errlen, "-: cannot read stdin: %s", strerror(errno));
      free(buf);
      return -1;
    }
  } else {
    char why[400];
    if (text_read_file(path, REPORT_MAX_BYTES, &buf, &len, why, sizeof why) != 0) {
      snprintf(err, errlen, "%s: %s", path, why);
      return -1;
    }
  }
  struct report *r = report_from_buffer(path, buf ? buf : "", len);
  free(buf);
  if (r->events == 0) {
    snprintf(err, errlen,
             "%s: no issu-fleet event in %zu lines (is it a journal or an --events file?)", path,
             r->lines);
    for (size_t i = 0; i < r->nwarnings && i < 3; i++)
      fprintf(stderr, "%s\n", r->warnings[i]);
    report_free(r);
    return -1;
  }
  *out = r;
  return 0;
}

static void intervals_free(struct report_interval *list, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(list[i].label);
  free(list);
}

void report_free(struct report *r)
{
  if (!r)
    return;
  for (size_t i = 0; i < r->nrouters; i++) {
    struct report_router *rt = &r->routers[i];
    free(rt->name), free(rt->site), free(rt->result), free(rt->outcome);
    free(rt->error_code), free(rt->error_message), free(rt->spans);
    for (size_t j = 0; j < rt->noutput; j++)
      free(rt->output[j]);
    free(rt->output);
    report_checks_free(&rt->checks);
  }
  free(r->routers);
  for (size_t i = 0; i < r->nwaves; i++)
    free(r->waves[i].name);
  free(r->waves);
  intervals_free(r->gates, r->ngates);
  intervals_free(r->pauses, r->npauses);
  intervals_free(r->closed, r->nclosed);
  for (size_t i = 0; i < r->nwarnings; i++)
    free(r->warnings[i]);
  free(r->warnings);
  free(r->path), free(r->run_id), free(r->command), free(r->target_version), free(r->end_state);
  free(r);
}
