/*
 * The text summary: the run in one paragraph, then routers, phases, waves and failures as
 * aligned tables an engineer can paste into the change ticket.
 */
#include "report/report.h"

#include "common/common.h"

#include <math.h>
#include <string.h>
#include <time.h>

static const char *versions(const char v[2][48], char *buf, size_t len)
{
  if (!v[0][0] && !v[1][0])
    snprintf(buf, len, "-");
  else if (strcmp(v[0], v[1]) == 0)
    snprintf(buf, len, "%s", v[0]);
  else
    snprintf(buf, len, "re0 %s, re1 %s", v[0][0] ? v[0] : "?", v[1][0] ? v[1] : "?");
  return buf;
}

static const char *result_of(const struct report_router *rt)
{
  return !rt->started    ? "not started"
         : !rt->finished ? "in flight"
         : rt->held      ? "HELD"
         : rt->result    ? rt->result
                         : "?";
}

static void header(const struct report *r, FILE *out)
{
  char a[16], b[16], d[32], date[32];
  time_t start = (time_t)r->t0;
  struct tm tm;
  gmtime_r(&start, &tm);
  strftime(date, sizeof date, "%Y-%m-%d", &tm);
  struct report_counts c = report_count(r);
  fprintf(out, "run %s (%s), target %s: %zu routers, %s %s-%s UTC (%s)%s\n",
          r->run_id ? r->run_id : "?", r->command ? r->command : "run",
          r->target_version ? r->target_version : "?", r->nrouters, date,
          report_clock(r, 0, REPORT_HMS, a, sizeof a),
          report_clock(r, r->tend, REPORT_HMS, b, sizeof b), report_duration(r->tend, d, sizeof d),
          r->time_scale > 1 ? " simulated time" : "");
  fprintf(out, "  %zu done, %zu skipped, %zu failed, %zu in flight, %zu not started", c.done,
          c.skipped, c.failed, c.in_flight, c.not_started);
  if (c.other)
    fprintf(out, ", %zu other", c.other);
  size_t held = 0;
  for (size_t i = 0; i < r->nrouters; i++)
    held += r->routers[i].held;
  if (held)
    fprintf(out, "; %zu HELD (outcome unknown: check each, then ctl release)", held);
  if (r->finished)
    fprintf(out, "; finished, exit %d%s%s\n", r->exit_code, r->end_state ? ", " : "",
            r->end_state ? r->end_state : "");
  else
    fprintf(out, "; no run-finished yet (still running, or stopped without one)\n");
  if (r->resumes)
    fprintf(out, "  resumed %u time%s\n", r->resumes, r->resumes == 1 ? "" : "s");
}

static void routers(const struct report *r, FILE *out)
{
  fprintf(out, "\nrouters\n  %-20s %4s  %-11s %-18s %-18s %9s  %s\n", "ROUTER", "WAVE", "RESULT",
          "BEFORE", "AFTER", "DURATION", "SLOWEST PHASE");
  for (size_t i = 0; i < r->nrouters; i++) {
    const struct report_router *rt = &r->routers[i];
    char before[100], after[100], d[32], sd[32], wave[16];
    const struct report_span *slow = report_router_slowest(rt);
    snprintf(wave, sizeof wave, rt->wave >= 0 ? "%ld" : "-", rt->wave);
    fprintf(out, "  %-20s %4s  %-11s %-18s %-18s %9s  %s %s\n", rt->name, wave, result_of(rt),
            versions(rt->before, before, sizeof before), versions(rt->after, after, sizeof after),
            report_duration(report_router_duration(rt), d, sizeof d),
            slow ? junos_phase_name(slow->phase) : "-",
            slow ? report_duration(slow->duration, sd, sizeof sd) : "");
  }
}

static void phases(const struct report *r, FILE *out)
{
  if (!r->nphases)
    return;
  fprintf(out,
          "\nphases (across routers; phases that ended normally)\n  %-20s %6s %9s %9s %9s  %s\n",
          "PHASE", "COUNT", "MEDIAN", "P90", "MAX", "SLOWEST ROUTER");
  for (size_t i = 0; i < r->nphases; i++) {
    const struct report_phase_stats *s = &r->phases[i];
    char m[32], p[32], x[32];
    fprintf(out, "  %-20s %6zu %9s %9s %9s  %s\n", junos_phase_name(s->phase), s->count,
            report_duration(s->median, m, sizeof m), report_duration(s->p90, p, sizeof p),
            report_duration(s->max, x, sizeof x), s->max_router);
  }
}

static void waves(const struct report *r, FILE *out)
{
  if (!r->nwaves)
    return;
  fprintf(out, "\nwaves\n  %4s %-12s %7s %6s  %-8s %-8s %9s  %s\n", "WAVE", "NAME", "ROUTERS",
          "FAILED", "START", "END", "DURATION", "SOAK");
  for (size_t i = 0; i < r->nwaves; i++) {
    const struct report_wave *w = &r->waves[i];
    char a[16], b[16], d[32], s[32];
    if (!w->started) {
      fprintf(out, "  %4zu %-12s %7u %6s  not started\n", i, w->name ? w->name : "-", w->routers,
              "-");
      continue;
    }
    fprintf(out, "  %4zu %-12s %7u %6u  %-8s %-8s %9s  %s\n", i, w->name ? w->name : "-",
            w->routers, w->failed, report_clock(r, w->start, REPORT_HMS, a, sizeof a),
            w->finished ? report_clock(r, w->end, REPORT_HMS, b, sizeof b) : "running",
            report_duration((w->finished ? w->end : r->tend) - w->start, d, sizeof d),
            w->soaked ? report_duration(w->soak_s, s, sizeof s) : "-");
  }
  for (size_t i = 0; i < r->ngates; i++) {
    char a[16], d[32];
    const struct report_interval *g = &r->gates[i];
    fprintf(out, "  waited %s for %s at %s\n",
            g->end >= 0 ? report_duration(g->end - g->start, d, sizeof d) : "(still waiting)",
            g->label, report_clock(r, g->start, REPORT_HMS, a, sizeof a));
  }
}

static void failures(const struct report *r, FILE *out)
{
  bool any = false;
  for (size_t i = 0; i < r->nrouters; i++) {
    const struct report_router *rt = &r->routers[i];
    if (!rt->finished || !rt->outcome || strcmp(rt->outcome, "success") == 0)
      continue;
    if (!any)
      fprintf(out, "\nfailures\n");
    any = true;
    fprintf(out, "  %s: %s in %s: %s (outcome %s)\n", rt->name,
            rt->error_code ? rt->error_code : "?", junos_phase_name(rt->phase),
            rt->error_message ? rt->error_message : "", rt->outcome);
    for (size_t j = 0; j < rt->noutput; j++)
      fprintf(out, "    | %s\n", rt->output[j]);
  }
}

void report_text(const struct report *r, FILE *out)
{
  header(r, out);
  routers(r, out);
  phases(r, out);
  waves(r, out);
  failures(r, out);
  report_checks_text(r, out);
}
