/*
 * The report of a run, rebuilt from its events (a journal or an --events copy): who did what
 * when, per-phase statistics, and the three ways to show it (text, JSON, self-contained HTML
 * with an SVG Gantt chart). A journal may still be written to, or cut off by a crash: whatever
 * can be read is shown, and every line that could not be read is named.
 */
#ifndef ISSU_REPORT_H
#define ISSU_REPORT_H

#include "junos/junos.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

/* All times are seconds since the first event of the file (the run's clock, scaled time for a
 * lab run); `report.t0` anchors them to the epoch. */
struct report_span {
  enum junos_phase phase;
  double start, duration;
  bool open;   /* still running at the last event of the file */
  bool failed; /* the router failed in this span */
};

/* One item that broke a rule (check-failed's failures): docs/checks.md. */
struct report_check_item {
  char *test, *item, *rule, *pre, *post;
};

/* A router's health checks (issue 15), from its check-* events: the last verdict wins. */
struct report_checks {
  bool seen;      /* some check event */
  bool verdict;   /* a check-passed or check-failed */
  bool passed;    /* that verdict */
  char moment[8]; /* its moment: pre, post, check */
  unsigned tests, tests_failed, attempts;
  double converge_s; /* post: first attempt to the verdict; -1 unknown */
  struct report_check_item *items;
  size_t nitems, items_left; /* listed, and left off the event to keep its line short */
};

struct report_router {
  char *name, *site;
  long wave; /* -1: never started */
  bool canary, started, finished;
  double start, end; /* end: device-finished, or the last event seen while in flight */
  char *result;      /* done, skipped, failed, ready, not-ready; NULL while in flight */
  char *outcome;     /* success, failure, unknown */
  char *error_code, *error_message;
  enum junos_phase phase; /* the last phase seen (the failing one for a failure) */
  char before[2][48], after[2][48];
  struct report_span *spans;
  size_t nspans, spans_cap;
  char **output; /* the router's last lines, on failure */
  size_t noutput;
  unsigned reconnects;
  bool held; /* outcome unknown, not released (device-held, device-released) */
  struct report_checks checks;
};

struct report_interval {
  double start, end;
  char *label;
};

struct report_wave {
  char *name;
  bool started, finished;
  double start, end;
  unsigned routers, failed;
  bool soaked;
  double soak_start, soak_s;
};

struct report_phase_stats {
  enum junos_phase phase;
  size_t count;
  double median, p90, max;
  const char *max_router; /* borrowed from the report */
};

struct report {
  char *path;
  char *run_id, *command, *target_version;
  double t0;   /* epoch seconds of the first event */
  double tend; /* the last event, relative to t0 */
  double time_scale;
  unsigned resumes;
  bool finished;   /* run-finished was seen */
  int exit_code;   /* from run-finished, -1 without one */
  char *end_state; /* halted / drained / detached / window-stopped, or NULL */

  struct report_router *routers;
  size_t nrouters, routers_cap;
  struct report_wave *waves;
  size_t nwaves;
  /* shaded periods: approval waits, pauses, closed windows */
  struct report_interval *gates, *pauses, *closed;
  size_t ngates, npauses, nclosed;

  struct report_phase_stats phases[PH_COUNT];
  size_t nphases;

  char **warnings; /* "FILE:LINE: what" for every line that was skipped */
  size_t nwarnings;
  size_t lines, events;
};

/* Reads the events of `path` ("-": stdin). Returns 0, or -1 with `err` when the file cannot be
 * read or holds no event at all; a bad line is a warning, never an error. */
int report_load(const char *path, struct report **out, char *err, size_t errlen);
/* The same from memory (tests, fuzzing); `name` is used in warnings. */
struct report *report_from_buffer(const char *name, const char *buf, size_t len);
void report_free(struct report *r);

/* The router's duration (start to end) and its longest span (NULL when it has none). */
double report_router_duration(const struct report_router *rt);
const struct report_span *report_router_slowest(const struct report_router *rt);
/* Counts of results: done, skipped, failed, in flight (started, not finished), not started. */
struct report_counts {
  size_t done, skipped, failed, in_flight, not_started, other;
};
struct report_counts report_count(const struct report *r);

void report_text(const struct report *r, FILE *out);
cJSON *report_json(const struct report *r);
/* Writes the HTML page; returns 0 or -1 (errno set by stdio). */
int report_html(const struct report *r, FILE *out);

/* Shared by the views: a duration as text ("1h02m05s"), and a point of the run (seconds since
 * its start) as UTC clock text. */
enum report_clock { REPORT_HM, REPORT_HMS, REPORT_DATE_HM };
const char *report_duration(double seconds, char *buf, size_t len);
const char *report_clock(const struct report *r, double t, enum report_clock f, char *buf,
                         size_t len);

/* ---- report_checks.c: the health checks of each router ---- */
/* Applies one check-* event (action EV_CHECK_*) to its router. */
void report_checks_event(struct report_router *rt, const char *action, const cJSON *ev);
void report_checks_free(struct report_checks *c);
/* The "checks" section of the text report (nothing when no router ran checks). */
void report_checks_text(const struct report *r, FILE *out);
/* A router's checks as JSON; NULL when it ran none. */
cJSON *report_checks_json(const struct report_checks *c);
/* The HTML table: a row per failed item. `esc` writes text HTML-escaped. */
void report_checks_html(const struct report *r, FILE *out, void (*esc)(FILE *, const char *));

/* The statistics of a loaded report (report_load calls it). */
void report_compute(struct report *r);

/* Phase colours, shared by the HTML and its legend: "#rrggbb". */
const char *report_phase_colour(enum junos_phase p);

#endif
