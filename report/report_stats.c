/*
 * Figures derived from the rebuilt run: per-phase statistics across routers (count, median,
 * p90, max and who had the max), per-router duration and slowest phase, result counts, and the
 * phase colours every view shares.
 */
#include "report/report.h"

#include "common/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const colours[PH_COUNT] = {
    [PH_QUEUED] = "#bdbdbd",
    [PH_CONNECT] = "#9e9e9e",
    [PH_PREFLIGHT] = "#7986cb",
    [PH_STAGE] = "#4db6ac",
    [PH_VALIDATE] = "#ffb74d",
    [PH_BACKUP_UPGRADE] = "#64b5f6",
    [PH_BACKUP_REBOOT] = "#1565c0",
    [PH_DAEMONS] = "#81c784",
    [PH_FRU_UPGRADE] = "#2e7d32",
    [PH_SWITCHOVER] = "#ab47bc",
    [PH_OLD_MASTER_UPGRADE] = "#4dd0e1",
    [PH_OLD_MASTER_REBOOT] = "#00838f",
    [PH_SWITCHBACK] = "#f06292",
    [PH_VERIFY] = "#c0ca33",
    [PH_DONE] = "#43a047",
    [PH_SKIPPED] = "#90a4ae",
    [PH_FAILED] = "#d32f2f",
};

const char *report_duration(double seconds, char *buf, size_t len)
{
  text_duration(seconds > 0 ? (uint64_t)llround(seconds) : 0, buf, len);
  return buf;
}

const char *report_clock(const struct report *r, double t, enum report_clock f, char *buf,
                         size_t len)
{
  time_t when = (time_t)llround(r->t0 + t);
  struct tm tm;
  gmtime_r(&when, &tm);
  switch (f) { /* literal formats, so the compiler checks them */
  case REPORT_HM:
    strftime(buf, len, "%H:%M", &tm);
    break;
  case REPORT_HMS:
    strftime(buf, len, "%H:%M:%S", &tm);
    break;
  case REPORT_DATE_HM:
    strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
    break;
  }
  return buf;
}

const char *report_phase_colour(enum junos_phase p)
{
  return p < PH_COUNT && colours[p] ? colours[p] : "#bdbdbd";
}

double report_router_duration(const struct report_router *rt)
{
  return rt->started && rt->end > rt->start ? rt->end - rt->start : 0;
}

const struct report_span *report_router_slowest(const struct report_router *rt)
{
  const struct report_span *best = NULL;
  for (size_t i = 0; i < rt->nspans; i++)
    if (!best || rt->spans[i].duration > best->duration)
      best = &rt->spans[i];
  return best;
}

struct report_counts report_count(const struct report *r)
{
  struct report_counts c = {0};
  for (size_t i = 0; i < r->nrouters; i++) {
    const struct report_router *rt = &r->routers[i];
    const char *res = rt->result;
    if (!rt->started)
      c.not_started++;
    else if (!rt->finished)
      c.in_flight++;
    else if (strcmp(res ? res : "", "done") == 0)
      c.done++;
    else if (strcmp(res ? res : "", "skipped") == 0)
      c.skipped++;
    else if (strcmp(res ? res : "", "failed") == 0 || strcmp(res ? res : "", "not-ready") == 0)
      c.failed++;
    else
      c.other++;
  }
  return c;
}

struct sample {
  double value;
  const char *router;
};

static int by_value(const void *a, const void *b)
{
  double x = ((const struct sample *)a)->value, y = ((const struct sample *)b)->value;
  return (x > y) - (x < y);
}

/* Per phase, one sample per router: the time it spent in that phase (summed when a resume split
 * it), counting only phases that ended normally. Open and failed spans would skew it. */
void report_compute(struct report *r)
{
  struct sample *samples = xcalloc(r->nrouters ? r->nrouters : 1, sizeof *samples);
  r->nphases = 0;
  for (int p = PH_CONNECT; p < PH_DONE; p++) {
    size_t n = 0;
    for (size_t i = 0; i < r->nrouters; i++) {
      const struct report_router *rt = &r->routers[i];
      double sum = 0;
      bool seen = false, spoilt = false;
      for (size_t j = 0; j < rt->nspans; j++)
        if (rt->spans[j].phase == (enum junos_phase)p) {
          seen = true;
          spoilt = spoilt || rt->spans[j].open || rt->spans[j].failed;
          sum += rt->spans[j].duration;
        }
      if (seen && !spoilt)
        samples[n++] = (struct sample){sum, rt->name};
    }
    if (n == 0)
      continue;
    qsort(samples, n, sizeof *samples, by_value);
    struct report_phase_stats *s = &r->phases[r->nphases++];
    s->phase = (enum junos_phase)p;
    s->count = n;
    s->median =
        n % 2 ? samples[n / 2].value : (samples[n / 2 - 1].value + samples[n / 2].value) / 2;
    size_t rank = (n * 9 + 9) / 10; /* nearest rank: ceil(0.9 n) */
    s->p90 = samples[rank - 1].value;
    s->max = samples[n - 1].value;
    s->max_router = samples[n - 1].router;
  }
  free(samples);
}
