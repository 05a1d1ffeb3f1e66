/*
 * One self-contained HTML page: no script, no font, no network. The timeline is inline SVG:
 * one row per router grouped by wave, one coloured bar per phase (its duration on hover, as an
 * SVG <title>), soak periods, approval waits, pauses and closed windows shaded across all rows,
 * wave boundaries drawn, failures marked in red, and a wall-clock axis (UTC) above and below.
 * Then the phase statistics, the waves and the failures with the router's own words.
 */
#include "report/report.h"

#include "common/common.h"

#include <math.h>
#include <string.h>
#include <time.h>

enum {
  LABEL_W = 190, /* router names */
  CHART_W = 1040,
  AXIS_H = 24,
  WAVE_H = 20,
};

struct layout {
  const struct report *r;
  double span; /* seconds shown */
  unsigned row_h;
  unsigned height;
};

static void esc(FILE *out, const char *s)
{
  for (; s && *s; s++)
    switch (*s) {
    case '&':
      fputs("&amp;", out);
      break;
    case '<':
      fputs("&lt;", out);
      break;
    case '>':
      fputs("&gt;", out);
      break;
    case '"':
      fputs("&quot;", out);
      break;
    case '\'':
      fputs("&#39;", out);
      break;
    default:
      fputc(*s, out);
    }
}

static double x_of(const struct layout *L, double t)
{
  if (t < 0)
    t = 0;
  return LABEL_W + (L->span > 0 ? t / L->span : 0) * CHART_W;
}

static bool failed(const struct report_router *rt)
{
  return rt->finished && rt->outcome && strcmp(rt->outcome, "success") != 0;
}

/* ---- page ---- */

static const char style[] =
    "body{font:13px/1.4 system-ui,'DejaVu Sans',sans-serif;margin:16px 24px;color:#212121}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}"
    ".summary{margin:0 0 8px}.bad{color:#c62828;font-weight:600}.ok{color:#2e7d32}"
    ".legend span{display:inline-block;margin:0 10px 4px 0;white-space:nowrap}"
    ".legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-2px;"
    "border-radius:2px}"
    "svg text{font-family:system-ui,'DejaVu Sans',sans-serif}"
    "table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid "
    "#e0e0e0}td.n,th.n{text-align:right}pre{background:#fafafa;border-left:3px solid #c62828;"
    "padding:4px 8px;margin:4px 0 12px;white-space:pre-wrap}";

static void legend(FILE *out)
{
  fputs("<div class=\"legend\">", out);
  for (int p = PH_CONNECT; p < PH_DONE; p++)
    fprintf(out, "<span><i style=\"background:%s\"></i>%s</span>",
            report_phase_colour((enum junos_phase)p), junos_phase_name((enum junos_phase)p));
  fputs("<span><i style=\"background:#e3f2fd;border:1px solid #90caf9\"></i>soak</span>"
        "<span><i style=\"background:#fff3c4;border:1px solid #ffd54f\"></i>approval wait</span>"
        "<span><i style=\"background:#eeeeee;border:1px solid #bdbdbd\"></i>paused or outside "
        "the window</span><span><i style=\"background:#fff;border:2px solid #d32f2f\"></i>"
        "failed</span></div>\n",
        out);
}

static void summary(const struct report *r, FILE *out)
{
  struct report_counts c = report_count(r);
  char a[32], b[32], d[32];
  fputs("<h1>issu-fleet rollout ", out);
  esc(out, r->run_id ? r->run_id : "?");
  fputs("</h1>\n<p class=\"summary\">target <b>", out);
  esc(out, r->target_version ? r->target_version : "?");
  fprintf(out,
          "</b> &middot; %zu routers &middot; <span class=\"ok\">%zu done</span> &middot; "
          "%zu skipped &middot; <span class=\"%s\">%zu failed</span> &middot; %zu in flight "
          "&middot; %zu not started<br>%s &ndash; %s UTC (%s%s)",
          r->nrouters, c.done, c.skipped, c.failed ? "bad" : "ok", c.failed, c.in_flight,
          c.not_started, report_clock(r, 0, REPORT_DATE_HM, a, sizeof a),
          report_clock(r, r->tend, REPORT_HM, b, sizeof b), report_duration(r->tend, d, sizeof d),
          r->time_scale > 1 ? ", simulated time" : "");
  size_t held = 0;
  for (size_t i = 0; i < r->nrouters; i++)
    held += r->routers[i].held;
  if (held)
    fprintf(out,
            " &middot; <span class=\"bad\">%zu held (outcome unknown: check each, then "
            "<code>ctl release</code>)</span>",
            held);
  if (r->finished) {
    /* Every journal field is escaped: a doctored journal must not inject into the page. */
    fprintf(out, " &middot; exit %d%s", r->exit_code, r->end_state ? ", " : "");
    esc(out, r->end_state);
  } else
    fputs(" &middot; <span class=\"bad\">no run-finished event yet</span>", out);
  fputs("</p>\n", out);
}

/* ---- the Gantt chart ---- */

static void axis(const struct layout *L, FILE *out, double y, bool top)
{
  static const unsigned steps_min[] = {1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720, 1440};
  double step = steps_min[0] * 60;
  for (size_t i = 0; i < sizeof steps_min / sizeof *steps_min; i++) {
    step = steps_min[i] * 60;
    if (L->span / step <= 14)
      break;
  }
  /* Longer than two weeks (a journal with an edited or corrupt timestamp): whole days, still
   * about 14 ticks, never one a day for centuries (found by fuzz_report). */
  if (L->span / step > 14)
    step = ceil(L->span / 14 / 86400) * 86400;
  /* ticks on round wall-clock minutes */
  double first = ceil(L->r->t0 / step) * step - L->r->t0;
  for (double t = first; t <= L->span + 0.001; t += step) {
    char hm[16];
    double x = x_of(L, t);
    report_clock(L->r, t, REPORT_HM, hm, sizeof hm);
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9e9e9e\"/>", x,
            top ? y + AXIS_H - 6 : y, x, top ? y + AXIS_H : y + 6);
    fprintf(out,
            "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
            "text-anchor=\"middle\" fill=\"#616161\">%s</text>",
            x, top ? y + AXIS_H - 9 : y + 18, hm);
  }
  fprintf(out, "<text x=\"4\" y=\"%.1f\" font-size=\"11\" fill=\"#616161\">UTC</text>\n",
          top ? y + AXIS_H - 9 : y + 18);
}

static void shade(const struct layout *L, FILE *out, const struct report_interval *list, size_t n,
                  const char *cls, const char *fill, const char *what)
{
  for (size_t i = 0; i < n; i++) {
    double end = list[i].end >= 0 ? list[i].end : L->r->tend;
    double x0 = x_of(L, list[i].start), x1 = x_of(L, end);
    char d[32];
    fprintf(out,
            "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%u\" fill=\"%s\">"
            "<title>%s",
            cls, x0, AXIS_H, x1 - x0 > 1 ? x1 - x0 : 1, L->height - 2 * AXIS_H, fill, what);
    if (list[i].label) {
      fputs(": ", out);
      esc(out, list[i].label);
    }
    fprintf(out, ", %s</title></rect>\n", report_duration(end - list[i].start, d, sizeof d));
  }
}

static void soaks(const struct layout *L, FILE *out)
{
  for (size_t i = 0; i < L->r->nwaves; i++) {
    const struct report_wave *w = &L->r->waves[i];
    if (!w->soaked)
      continue;
    double end = w->soak_start + w->soak_s;
    if (i + 1 < L->r->nwaves && L->r->waves[i + 1].started && L->r->waves[i + 1].start < end)
      end = L->r->waves[i + 1].start;
    struct report_interval iv = {w->soak_start, end < L->r->tend ? end : L->r->tend, w->name};
    shade(L, out, &iv, 1, "soak", "#e3f2fd", "soak after");
  }
}

static void router_row(const struct layout *L, FILE *out, const struct report_router *rt, double y)
{
  bool bad = failed(rt);
  fputs("<g class=\"router\" data-router=\"", out);
  esc(out, rt->name);
  fputs("\" data-result=\"", out);
  esc(out, !rt->started    ? "not-started"
           : !rt->finished ? "in-flight"
           : rt->result    ? rt->result
                           : "?");
  fputs("\">", out);
  fprintf(out, "<text x=\"%d\" y=\"%.1f\" font-size=\"%u\" text-anchor=\"end\"%s>", LABEL_W - 6,
          y + L->row_h * 0.78, L->row_h > 12 ? 12 : 9,
          bad ? " fill=\"#c62828\" font-weight=\"bold\"" : "");
  esc(out, rt->name);
  fputs("</text>", out);
  for (size_t i = 0; i < rt->nspans; i++) {
    const struct report_span *s = &rt->spans[i];
    double x0 = x_of(L, s->start), x1 = x_of(L, s->start + s->duration);
    char d[32], a[16], b[16];
    fprintf(out,
            "<rect class=\"span%s\" data-phase=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" "
            "height=\"%u\" fill=\"%s\"%s><title>",
            s->failed ? " failed" : "", junos_phase_name(s->phase), x0, y + 1,
            x1 - x0 > 0.5 ? x1 - x0 : 0.5, L->row_h - 2, report_phase_colour(s->phase),
            s->failed ? " stroke=\"#d32f2f\" stroke-width=\"2\"" : "");
    esc(out, rt->name);
    fprintf(out, ": %s %s (%s-%s)%s%s</title></rect>", junos_phase_name(s->phase),
            report_duration(s->duration, d, sizeof d),
            report_clock(L->r, s->start, REPORT_HMS, a, sizeof a),
            report_clock(L->r, s->start + s->duration, REPORT_HMS, b, sizeof b),
            s->open ? ", still running" : "", s->failed ? ", FAILED" : "");
  }
  if (bad) {
    double x = x_of(L, rt->end);
    fprintf(out,
            "<text class=\"fail-mark\" x=\"%.1f\" y=\"%.1f\" font-size=\"%u\" "
            "fill=\"#d32f2f\" font-weight=\"bold\">&#x2715; ",
            x + 3, y + L->row_h * 0.8, L->row_h > 12 ? 12 : 9);
    esc(out, rt->error_code ? rt->error_code : "failed");
    fputs("<title>", out);
    esc(out, rt->error_message ? rt->error_message : "");
    fputs("</title></text>", out);
  }
  fputs("</g>\n", out);
}

/* Rows in wave order (routers that never started last), each wave under a header row. */
static void gantt(const struct layout *L, FILE *out)
{
  const struct report *r = L->r;
  fprintf(out,
          "<svg id=\"gantt\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
          "viewBox=\"0 0 %d %u\" role=\"img\" aria-label=\"timeline of every router\">\n",
          LABEL_W + CHART_W + 140, L->height, LABEL_W + CHART_W + 140, L->height);
  fprintf(out,
          "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%u\" fill=\"#fcfcfc\" "
          "stroke=\"#e0e0e0\"/>\n",
          LABEL_W, AXIS_H, CHART_W, L->height - 2 * AXIS_H);
  soaks(L, out);
  shade(L, out, r->gates, r->ngates, "gate", "#fff3c4", "waiting for");
  shade(L, out, r->pauses, r->npauses, "pause", "#eeeeee", "paused by");
  shade(L, out, r->closed, r->nclosed, "closed", "#eeeeee", "closed");
  axis(L, out, 0, true);
  double y = AXIS_H;
  for (long w = 0; w <= (long)r->nwaves; w++) {
    bool header = false;
    for (size_t i = 0; i < r->nrouters; i++) {
      const struct report_router *rt = &r->routers[i];
      long rw = rt->wave >= 0 && rt->wave < (long)r->nwaves ? rt->wave : (long)r->nwaves;
      if (rw != w)
        continue;
      if (!header) {
        header = true;
        char label[160], a[16], d[32];
        const struct report_wave *wv = w < (long)r->nwaves ? &r->waves[w] : NULL;
        if (wv && wv->started) {
          double x = x_of(L, wv->start);
          fprintf(out,
                  "<line class=\"wave-start\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                  "y2=\"%u\" stroke=\"#546e7a\" stroke-dasharray=\"4 3\"/>",
                  x, y, x, L->height - AXIS_H);
          snprintf(label, sizeof label, "wave %ld (%s): %u router%s, %s, %s", w,
                   wv->name ? wv->name : "-", wv->routers, wv->routers == 1 ? "" : "s",
                   report_clock(r, wv->start, REPORT_HM, a, sizeof a),
                   wv->finished ? report_duration(wv->end - wv->start, d, sizeof d) : "running");
        } else {
          snprintf(label, sizeof label, "%s", wv ? "not started" : "never started");
        }
        fprintf(out,
                "<text class=\"wave\" x=\"4\" y=\"%.1f\" font-size=\"12\" "
                "font-weight=\"bold\" fill=\"#37474f\">",
                y + WAVE_H - 6);
        esc(out, label);
        fputs("</text>\n", out);
        y += WAVE_H;
      }
      router_row(L, out, rt, y);
      y += L->row_h;
    }
  }
  axis(L, out, L->height - AXIS_H, false);
  fputs("</svg>\n", out);
}

/* ---- tables ---- */

static void phase_table(const struct report *r, FILE *out)
{
  fputs("<h2>Phases</h2>\n<table id=\"phases\"><tr><th>phase</th><th class=\"n\">routers</th>"
        "<th class=\"n\">median</th><th class=\"n\">p90</th><th class=\"n\">max</th>"
        "<th>slowest router</th></tr>\n",
        out);
  for (size_t i = 0; i < r->nphases; i++) {
    const struct report_phase_stats *s = &r->phases[i];
    char m[32], p[32], x[32];
    fprintf(out,
            "<tr><td><i style=\"display:inline-block;width:10px;height:10px;background:%s;"
            "margin-right:6px\"></i>%s</td><td class=\"n\">%zu</td><td class=\"n\">%s</td>"
            "<td class=\"n\">%s</td><td class=\"n\">%s</td><td>",
            report_phase_colour(s->phase), junos_phase_name(s->phase), s->count,
            report_duration(s->median, m, sizeof m), report_duration(s->p90, p, sizeof p),
            report_duration(s->max, x, sizeof x));
    esc(out, s->max_router);
    fputs("</td></tr>\n", out);
  }
  fputs("</table>\n", out);
}

static void wave_table(const struct report *r, FILE *out)
{
  if (!r->nwaves)
    return;
  fputs("<h2>Waves</h2>\n<table id=\"waves\"><tr><th>wave</th><th>name</th><th class=\"n\">"
        "routers</th><th class=\"n\">failed</th><th>start</th><th>end</th><th class=\"n\">"
        "duration</th><th class=\"n\">soak</th></tr>\n",
        out);
  for (size_t i = 0; i < r->nwaves; i++) {
    const struct report_wave *w = &r->waves[i];
    char a[16], b[16], d[32], s[32];
    fprintf(out, "<tr><td>%zu</td><td>", i);
    esc(out, w->name ? w->name : "-");
    if (!w->started) {
      fputs("</td><td colspan=\"6\">not started</td></tr>\n", out);
      continue;
    }
    fprintf(out,
            "</td><td class=\"n\">%u</td><td class=\"n\">%u</td><td>%s</td><td>%s</td>"
            "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr>\n",
            w->routers, w->failed, report_clock(r, w->start, REPORT_HMS, a, sizeof a),
            w->finished ? report_clock(r, w->end, REPORT_HMS, b, sizeof b) : "running",
            report_duration((w->finished ? w->end : r->tend) - w->start, d, sizeof d),
            w->soaked ? report_duration(w->soak_s, s, sizeof s) : "-");
  }
  fputs("</table>\n", out);
}

static void failure_list(const struct report *r, FILE *out)
{
  bool any = false;
  for (size_t i = 0; i < r->nrouters; i++) {
    const struct report_router *rt = &r->routers[i];
    if (!failed(rt))
      continue;
    if (!any)
      fputs("<h2>Failures</h2>\n<div id=\"failures\">\n", out);
    any = true;
    fputs("<p class=\"failure\"><b class=\"bad\">", out);
    esc(out, rt->name);
    fputs("</b>: <code>", out);
    esc(out, rt->error_code ? rt->error_code : "?");
    fprintf(out, "</code> in %s (outcome ", junos_phase_name(rt->phase));
    esc(out, rt->outcome);
    fputs(rt->held ? ", <b>HELD</b>: it keeps its limit slots until <code>ctl release</code>): "
                   : "): ",
          out);
    esc(out, rt->error_message ? rt->error_message : "");
    fputs("</p>\n", out);
    if (rt->noutput) {
      fputs("<pre>", out);
      for (size_t j = 0; j < rt->noutput; j++) {
        esc(out, rt->output[j]);
        fputc('\n', out);
      }
      fputs("</pre>\n", out);
    }
  }
  if (any)
    fputs("</div>\n", out);
}

int report_html(const struct report *r, FILE *out)
{
  struct layout L = {.r = r, .span = r->tend > 60 ? r->tend : 60};
  L.row_h = r->nrouters > 150 ? 11 : 16;
  size_t groups = r->nwaves + 1;
  L.height = 2 * AXIS_H + (unsigned)(r->nrouters * L.row_h + groups * WAVE_H) + 8;
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>issu-fleet "
        "report: ",
        out);
  esc(out, r->run_id ? r->run_id : "?");
  fprintf(out, "</title>\n<style>%s</style></head>\n<body>\n", style);
  summary(r, out);
  legend(out);
  gantt(&L, out);
  phase_table(r, out);
  wave_table(r, out);
  failure_list(r, out);
  report_checks_html(r, out, esc);
  if (r->nwarnings) {
    fprintf(out, "<h2>Skipped lines</h2>\n<ul id=\"warnings\">\n");
    for (size_t i = 0; i < r->nwarnings; i++) {
      fputs("<li>", out);
      esc(out, r->warnings[i]);
      fputs("</li>\n", out);
    }
    fputs("</ul>\n", out);
  }
  fputs("<p style=\"color:#757575;margin-top:24px\">Written by issu-fleet " ISSU_VERSION " from ",
        out);
  esc(out, r->path);
  fputs(". Hover a bar for its phase and duration.</p>\n</body></html>\n", out);
  return ferror(out) ? -1 : 0;
}
