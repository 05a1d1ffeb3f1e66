/*
 * The maintenance window: on which days it opens, from when to when, in which time zone (the
 * system tz database, so summer time is the tz database's business, not ours). A window whose end
 * is before its start crosses midnight and belongs to the day it opened on.
 */
#include "policies/policy_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Local time of `t` in the window's zone. TZ is process-wide; issu-fleet's loop is its one
 * thread that reads the time (the threadpool starts local children with an environment copied on
 * the loop, fsyncs, and resolves names: getaddrinfo reads a few variables, never TZ, and glibc
 * replaces TZ's entry in place, never freeing the old string) and writes every event timestamp
 * in UTC (gmtime_r), which TZ does not touch. */
static void local_in(const struct policy *p, time_t t, struct tm *tm)
{
  const char *cur = getenv("TZ");
  if (cur == NULL || strcmp(cur, p->window.tz) != 0) {
    setenv("TZ", p->window.tz, 1);
    tzset();
  }
  localtime_r(&t, tm);
}

static bool day_set(const struct policy *p, int wday) /* tm_wday: 0 = Sunday */
{
  int monday0 = (wday + 6) % 7;
  return (p->window.days >> monday0) & 1u;
}

bool policy_window_open(const struct policy *p, time_t t)
{
  if (!p->window.set)
    return true;
  struct tm tm;
  local_in(p, t, &tm);
  unsigned now = (unsigned)(tm.tm_hour * 60 + tm.tm_min);
  unsigned start = p->window.start_min, end = p->window.end_min;
  if (start < end)
    return day_set(p, tm.tm_wday) && now >= start && now < end;
  /* Crosses midnight: the evening part on a window day, the morning part the day after one. */
  return (day_set(p, tm.tm_wday) && now >= start) ||
         (day_set(p, (tm.tm_wday + 6) % 7) && now < end);
}

time_t policy_window_next_change(const struct policy *p, time_t t)
{
  bool open = policy_window_open(p, t);
  /* Minute by minute (the window is in whole minutes), at most 8 days ahead. */
  time_t m = t - t % 60 + 60;
  for (int i = 0; i < 8 * 24 * 60; i++, m += 60)
    if (policy_window_open(p, m) != open)
      return m;
  return (time_t)-1;
}
