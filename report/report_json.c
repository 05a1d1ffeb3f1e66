/*
 * The summary as one JSON document, for dashboards: the same figures as the text, with times
 * as seconds since the run's start plus the start's epoch and ISO time.
 */
#include "report/report.h"

#include "common/common.h"

#include <math.h>
#include <string.h>
#include <time.h>

static void add_str(cJSON *o, const char *key, const char *v)
{
  if (v)
    cJSON_AddStringToObject(o, key, v);
  else
    cJSON_AddNullToObject(o, key);
}

static double ms(double s)
{
  return round(s * 1000) / 1000;
}

static cJSON *versions(const char v[2][48])
{
  cJSON *o = cJSON_CreateObject();
  for (int i = 0; i < 2; i++)
    if (v[i][0])
      cJSON_AddStringToObject(o, i ? "re1" : "re0", v[i]);
  return o;
}

static cJSON *run_object(const struct report *r)
{
  cJSON *o = cJSON_CreateObject();
  add_str(o, "run_id", r->run_id);
  add_str(o, "command", r->command);
  add_str(o, "target_version", r->target_version);
  char iso[32];
  time_t t0 = (time_t)r->t0;
  struct tm tm;
  gmtime_r(&t0, &tm);
  strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON_AddStringToObject(o, "start", iso);
  cJSON_AddNumberToObject(o, "start_epoch", ms(r->t0));
  cJSON_AddNumberToObject(o, "duration_s", ms(r->tend));
  cJSON_AddNumberToObject(o, "time_scale", r->time_scale);
  cJSON_AddNumberToObject(o, "resumes", r->resumes);
  cJSON_AddBoolToObject(o, "finished", r->finished);
  if (r->exit_code >= 0)
    cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
  else
    cJSON_AddNullToObject(o, "exit_code");
  add_str(o, "end_state", r->end_state);
  struct report_counts c = report_count(r);
  cJSON *n = cJSON_AddObjectToObject(o, "routers");
  cJSON_AddNumberToObject(n, "total", (double)r->nrouters);
  cJSON_AddNumberToObject(n, "done", (double)c.done);
  cJSON_AddNumberToObject(n, "skipped", (double)c.skipped);
  cJSON_AddNumberToObject(n, "failed", (double)c.failed);
  cJSON_AddNumberToObject(n, "in_flight", (double)c.in_flight);
  cJSON_AddNumberToObject(n, "not_started", (double)c.not_started);
  return o;
}

static cJSON *router_object(const struct report_router *rt)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", rt->name);
  add_str(o, "site", rt->site);
  cJSON_AddNumberToObject(o, "wave", (double)rt->wave);
  cJSON_AddBoolToObject(o, "canary", rt->canary);
  add_str(o, "result", !rt->started ? "not-started" : !rt->finished ? "in-flight" : rt->result);
  add_str(o, "outcome", rt->outcome);
  add_str(o, "error_code", rt->error_code);
  add_str(o, "error_message", rt->error_message);
  cJSON_AddStringToObject(o, "phase", junos_phase_name(rt->phase));
  cJSON_AddItemToObject(o, "versions_before", versions(rt->before));
  cJSON_AddItemToObject(o, "versions_after", versions(rt->after));
  cJSON_AddNumberToObject(o, "start_s", ms(rt->start));
  cJSON_AddNumberToObject(o, "duration_s", ms(report_router_duration(rt)));
  const struct report_span *slow = report_router_slowest(rt);
  add_str(o, "slowest_phase", slow ? junos_phase_name(slow->phase) : NULL);
  cJSON_AddNumberToObject(o, "reconnects", rt->reconnects);
  cJSON *spans = cJSON_AddArrayToObject(o, "timeline");
  for (size_t i = 0; i < rt->nspans; i++) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "phase", junos_phase_name(rt->spans[i].phase));
    cJSON_AddNumberToObject(s, "start_s", ms(rt->spans[i].start));
    cJSON_AddNumberToObject(s, "duration_s", ms(rt->spans[i].duration));
    if (rt->spans[i].open)
      cJSON_AddBoolToObject(s, "open", true);
    if (rt->spans[i].failed)
      cJSON_AddBoolToObject(s, "failed", true);
    cJSON_AddItemToArray(spans, s);
  }
  cJSON *checks = report_checks_json(&rt->checks);
  if (checks)
    cJSON_AddItemToObject(o, "checks", checks);
  if (rt->noutput) {
    cJSON *out = cJSON_AddArrayToObject(o, "device_output");
    for (size_t i = 0; i < rt->noutput; i++)
      cJSON_AddItemToArray(out, cJSON_CreateString(rt->output[i]));
  }
  return o;
}

static cJSON *intervals(const struct report_interval *list, size_t n)
{
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "start_s", ms(list[i].start));
    if (list[i].end >= 0)
      cJSON_AddNumberToObject(o, "end_s", ms(list[i].end));
    else
      cJSON_AddNullToObject(o, "end_s");
    add_str(o, "label", list[i].label);
    cJSON_AddItemToArray(a, o);
  }
  return a;
}

cJSON *report_json(const struct report *r)
{
  cJSON *root = cJSON_CreateObject();
  cJSON_AddItemToObject(root, "run", run_object(r));
  cJSON *routers = cJSON_AddArrayToObject(root, "routers");
  for (size_t i = 0; i < r->nrouters; i++)
    cJSON_AddItemToArray(routers, router_object(&r->routers[i]));
  cJSON *phases = cJSON_AddArrayToObject(root, "phases");
  for (size_t i = 0; i < r->nphases; i++) {
    const struct report_phase_stats *s = &r->phases[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "phase", junos_phase_name(s->phase));
    cJSON_AddNumberToObject(o, "count", (double)s->count);
    cJSON_AddNumberToObject(o, "median_s", ms(s->median));
    cJSON_AddNumberToObject(o, "p90_s", ms(s->p90));
    cJSON_AddNumberToObject(o, "max_s", ms(s->max));
    cJSON_AddStringToObject(o, "max_router", s->max_router);
    cJSON_AddItemToArray(phases, o);
  }
  cJSON *waves = cJSON_AddArrayToObject(root, "waves");
  for (size_t i = 0; i < r->nwaves; i++) {
    const struct report_wave *w = &r->waves[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "wave", (double)i);
    add_str(o, "name", w->name);
    cJSON_AddBoolToObject(o, "started", w->started);
    cJSON_AddBoolToObject(o, "finished", w->finished);
    cJSON_AddNumberToObject(o, "routers", w->routers);
    cJSON_AddNumberToObject(o, "failed", w->failed);
    cJSON_AddNumberToObject(o, "start_s", ms(w->start));
    if (w->finished)
      cJSON_AddNumberToObject(o, "end_s", ms(w->end));
    else
      cJSON_AddNullToObject(o, "end_s");
    cJSON_AddNumberToObject(o, "soak_s", w->soaked ? w->soak_s : 0);
    cJSON_AddItemToArray(waves, o);
  }
  cJSON_AddItemToObject(root, "approval_waits", intervals(r->gates, r->ngates));
  cJSON_AddItemToObject(root, "pauses", intervals(r->pauses, r->npauses));
  cJSON_AddItemToObject(root, "window_closed", intervals(r->closed, r->nclosed));
  cJSON *failures = cJSON_AddArrayToObject(root, "failures");
  for (size_t i = 0; i < r->nrouters; i++) {
    const struct report_router *rt = &r->routers[i];
    if (rt->finished && rt->outcome && strcmp(rt->outcome, "success") != 0)
      cJSON_AddItemToArray(failures, cJSON_CreateString(rt->name));
  }
  cJSON *warnings = cJSON_AddArrayToObject(root, "warnings");
  for (size_t i = 0; i < r->nwarnings; i++)
    cJSON_AddItemToArray(warnings, cJSON_CreateString(r->warnings[i]));
  return root;
}
