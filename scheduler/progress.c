/*
 * What a human sees on stderr during a run. On a terminal: a live view at the bottom that
 * redraws in place (a header with the counts, the budget, the wave and the ETA; one line per
 * router in flight with its phase, elapsed time and a bar against its expected duration), with
 * lasting lines (a wave started, a router done or failed, a halt) scrolling above it. Not a
 * terminal: one plain line per phase change and nothing that redraws, for logs and pipes.
 * `--quiet` turns both off; NO_COLOR keeps the live view and drops its colours.
 */
#include "scheduler/sched_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define REDRAW_MS 250

struct progress {
  FILE *out;
  bool live, colour, utf8;
  unsigned drawn; /* lines of the live view on screen */
  uv_timer_t timer;
  bool timer_live;
};

static bool utf8_locale(void)
{
  const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
  for (size_t i = 0; i < ARRAY_LEN(vars); i++) {
    const char *v = getenv(vars[i]);
    if (v && *v)
      return strstr(v, "UTF-8") || strstr(v, "utf8") || strstr(v, "UTF8") || strstr(v, "utf-8");
  }
  return false;
}

static void terminal_size(FILE *out, unsigned *rows, unsigned *cols)
{
  struct winsize ws = {0};
  *rows = 24, *cols = 100;
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
    *rows = ws.ws_row, *cols = ws.ws_col;
}

static const char *sgr(const struct progress *pg, const char *code)
{
  return pg->colour ? code : "";
}

static void erase(struct progress *pg)
{
  if (pg->drawn)
    fprintf(pg->out, "\r\033[%uA\033[J", pg->drawn);
  pg->drawn = 0;
}

/* One line, cut at the terminal's width (counting columns, not bytes, for the bar's glyphs). */
static void put_line(struct progress *pg, unsigned cols, const char *text)
{
  unsigned col = 0;
  bool esc = false;
  for (const char *p = text; *p; p++) {
    if (*p == '\033')
      esc = true;
    if (!esc && ((unsigned char)*p & 0xC0) != 0x80 && ++col >= cols)
      break;
    fputc(*p, pg->out);
    if (esc && *p == 'm')
      esc = false;
  }
  fputs(sgr(pg, "\033[0m"), pg->out);
  fputc('\n', pg->out);
}

static void bar(const struct progress *pg, double fraction, char *buf, size_t len)
{
  enum { WIDTH = 16 };
  unsigned full = (unsigned)(fraction * WIDTH + 0.5);
  size_t at = 0;
  for (unsigned i = 0; i < WIDTH && at + 4 < len; i++) {
    const char *glyph = pg->utf8 ? (i < full ? "\u2588" : "\u2591") : (i < full ? "#" : "-");
    size_t g = strlen(glyph);
    memcpy(buf + at, glyph, g);
    at += g;
  }
  buf[at] = '\0';
}

/* Minutes are enough once it is over an hour: the header has to fit one line. */
static void short_duration(double s, char *buf, size_t len)
{
  uint64_t sec = s > 0 ? (uint64_t)s : 0;
  text_duration(sec >= 3600 ? (sec + 30) / 60 * 60 : sec, buf, len);
}

static void draw(struct rollout *run)
{
  struct progress *pg = run->progress;
  unsigned rows, cols;
  terminal_size(pg->out, &rows, &cols);
  double now = rollout_now(run);
  size_t queued = rollout_queued(run);
  char el[32], eta[32], line[512];
  short_duration(now, el, sizeof el);
  short_duration(estimate_run_remaining(run, now), eta, sizeof eta);
  size_t w = run->wave < run->nwaves ? run->wave : run->nwaves ? run->nwaves - 1 : 0;
  long budget = (long)run->p->failures.max_failed - (long)run->failed;
  /* the same state ctl status gives; the window is said when nothing else holds the run */
  const char *name = rollout_state(run);
  if (strcmp(name, "running") == 0)
    name = run->window_closed ? "window-closed" : "";
  char state[64];
  snprintf(state, sizeof state, "%s%s", *name ? " " : "", name);
  if (run->held) /* held routers need the operator: always in view */
    snprintf(state + strlen(state), sizeof state - strlen(state), " %zu HELD", run->held);
  snprintf(line, sizeof line,
           "%s%s%s wave %zu/%zu %s%s%s%s  %zu done, %s%zu failed%s, %zu skipped, %zu queued  "
           "budget %ld  %s elapsed  ETA %s",
           sgr(pg, "\033[1m"), event_log_run_id(run->log), sgr(pg, "\033[0m"), w,
           run->nwaves ? run->nwaves - 1 : 0, run->nwaves ? run->plan->waves[w].name : "",
           sgr(pg, "\033[33m"), state, sgr(pg, "\033[0m"), run->done,
           sgr(pg, run->failed ? "\033[31m" : ""), run->failed, sgr(pg, "\033[0m"), run->skipped,
           queued, budget > 0 ? budget : 0, el, eta);
  put_line(pg, cols, line);
  unsigned shown = 1, room = rows > 4 ? rows - 2 : 2;
  size_t in_flight = 0;
  for (size_t i = 0; i < run->ndev; i++) {
    struct device *dv = &run->dev[i];
    if (!dv->started || dv->finished)
      continue;
    if (shown >= room) {
      in_flight++;
      continue;
    }
    double elapsed = now - dv->started_s, left = estimate_device_remaining(run, dv, now);
    double fraction = elapsed + left > 0 ? elapsed / (elapsed + left) : 0;
    char e[32], b[128];
    text_duration((uint64_t)elapsed, e, sizeof e);
    bar(pg, fraction, b, sizeof b);
    snprintf(line, sizeof line, "  %-20s w%-3zu %s%-19s%s %9s  %s %3.0f%%", dv->name, dv->wave,
             sgr(pg, "\033[36m"), junos_phase_name(dv->phase), sgr(pg, "\033[0m"), e, b,
             fraction * 100);
    put_line(pg, cols, line);
    shown++;
  }
  if (in_flight) {
    snprintf(line, sizeof line, "  ... and %zu more in flight (issu-fleet ctl SOCKET status)",
             in_flight);
    put_line(pg, cols, line);
    shown++;
  }
  pg->drawn = shown;
  fflush(pg->out);
}

static void tick(uv_timer_t *h)
{
  struct rollout *run = h->data;
  erase(run->progress);
  draw(run);
}

void progress_open(struct rollout *run)
{
  if (!run->o->progress)
    return;
  struct progress *pg = xcalloc(1, sizeof *pg);
  pg->out = run->o->progress;
  pg->live = run->o->progress_live && !run->o->check_only;
  pg->colour = pg->live && run->o->progress_colour;
  pg->utf8 = utf8_locale();
  run->progress = pg;
  if (pg->live) {
    uv_timer_init(&run->loop, &pg->timer);
    pg->timer.data = run;
    uv_timer_start(&pg->timer, tick, REDRAW_MS, REDRAW_MS);
    uv_unref((uv_handle_t *)&pg->timer); /* the view never keeps the run alive */
    pg->timer_live = true;
  }
}

void progress_line(struct rollout *run, const char *fmt, ...)
{
  struct progress *pg = run->progress;
  if (!pg)
    return;
  erase(pg);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(pg->out, fmt, ap);
  va_end(ap);
  fputc('\n', pg->out);
  if (pg->live && pg->timer_live)
    draw(run);
  fflush(pg->out);
}

void progress_say(struct rollout *run, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (run->progress)
    progress_line(run, "issu-fleet: %s", msg);
  else
    fprintf(stderr, "issu-fleet: %s\n", msg);
}

void progress_phase(struct rollout *run, const struct device *dv, enum junos_phase prev,
                    enum junos_phase next, const char *line)
{
  rollout_phase_moved(run, prev, next); /* device_set_phase's one notice of a move */
  struct progress *pg = run->progress;
  if (!pg || pg->live) /* live: the view shows it on its next redraw */
    return;
  progress_line(run, "%-16s wave %-2zu %s -> %s%s%s", dv->name, dv->wave, junos_phase_name(prev),
                junos_phase_name(next), line && *line ? "  | " : "", line && *line ? line : "");
}

static void free_progress(uv_handle_t *h)
{
  free(h->data); /* the timer lives inside it */
}

void progress_close(struct rollout *run)
{
  struct progress *pg = run->progress;
  if (!pg)
    return;
  erase(pg);
  fflush(pg->out);
  if (pg->timer_live) {
    pg->timer_live = false;
    uv_timer_stop(&pg->timer);
    run->progress = NULL;
    pg->timer.data = pg;
    uv_close((uv_handle_t *)&pg->timer, free_progress);
    return;
  }
  run->progress = NULL;
  free(pg);
}
