/*
 * The report (issu-fleet report) and the live view of `run`. Unit tests rebuild a hand-written
 * journal with known times, so every figure is checked exactly; end-to-end tests run a lab
 * rollout through sshd and junos-sim, report on its journal, render the HTML in headless
 * Chromium and look at the screenshot; and run under a pseudo-terminal (script(1)) to see the
 * live view redraw, and without one to see plain lines.
 */
#include "report/report.h"

/* Both REs' host keys are recorded for the master-only address: after the ISSU it meets RE1. */
#define LAB_KNOWN_HOSTS "--known-hosts both"
#include "lab.h"

#include <sys/stat.h>
#include <unistd.h>

/* ---- a hand-written journal ---- */

struct jbuf {
  char *text;
  size_t len, cap;
};

/* One event at T seconds after 2026-11-24T01:00:00Z, with event.outcome when not NULL;
 * `fields` goes inside the object. */
static void ev_outcome(struct jbuf *b, int t, const char *action, const char *outcome,
                       const char *host, const char *fields)
{
  text_appendf(&b->text, &b->len, &b->cap,
               "{\"@timestamp\":\"2026-11-24T%02d:%02d:%02d.000Z\",\"log.level\":\"info\","
               "\"message\":\"m\",\"event\":{\"action\":\"%s\"%s%s%s}%s%s%s%s%s}\n",
               1 + t / 3600, t / 60 % 60, t % 60, action, outcome ? ",\"outcome\":\"" : "",
               outcome ? outcome : "", outcome ? "\"" : "", host ? ",\"host\":{\"name\":\"" : "",
               host ? host : "", host ? "\"}" : "", fields ? "," : "", fields ? fields : "");
}

static void ev(struct jbuf *b, int t, const char *action, const char *host, const char *fields)
{
  ev_outcome(b, t, action, NULL, host, fields);
}

static void phase(struct jbuf *b, int t, const char *host, const char *p)
{
  char f[200];
  snprintf(f, sizeof f, "\"issu\":{\"phase\":\"%s\"}", p);
  ev(b, t, "phase-changed", host, f);
}

static const char finished_ok[] =
    "\"issu\":{\"result\":"
    "\"done\",\"phase\":\"done\",\"versions_before\":{\"re0\":\"21.4R3\",\"re1\":\"21.4R3\"},"
    "\"versions_after\":{\"re0\":\"23.4R2\",\"re1\":\"23.4R2\"}}";

/* Router a: the canary after an approval wait; b and c in wave 1 after a soak; c fails
 * validation. A garbage line and a cut last line, as a crash leaves them. */
static struct jbuf sample_journal(bool finished)
{
  struct jbuf b = {0};
  ev(&b, 0, "run-started", NULL,
     "\"labels\":{\"run_id\":\"r-test\"},\"issu\":{\"command\":\"run\",\"target_version\":"
     "\"23.4R2\",\"time_scale\":1}");
  ev(&b, 0, "plan-computed", NULL,
     "\"issu\":{\"plan\":{\"waves\":[{\"name\":\"canary\",\"hosts\":[\"a\"]},{\"name\":"
     "\"wave-1\",\"hosts\":[\"b\",\"c\"]},{\"name\":\"wave-2\",\"hosts\":[\"d\"]}]}}");
  ev(&b, 0, "gate-waiting", NULL, "\"issu\":{\"wave\":0,\"wave_name\":\"canary\"}");
  ev(&b, 120, "gate-approved", NULL, "\"issu\":{\"wave\":0,\"wave_name\":\"canary\"}");
  ev(&b, 120, "wave-started", NULL, "\"issu\":{\"wave\":0,\"wave_name\":\"canary\",\"routers\":1}");
  ev(&b, 120, "device-started", "a", "\"issu\":{\"wave\":0,\"canary\":true}");
  phase(&b, 120, "a", "connect");
  phase(&b, 130, "a", "preflight");
  phase(&b, 190, "a", "validate");
  phase(&b, 490, "a", "done");
  ev_outcome(&b, 490, "device-finished", "success", "a", finished_ok);
  ev(&b, 490, "wave-finished", NULL, "\"issu\":{\"wave\":0,\"routers\":1,\"failed\":0}");
  ev(&b, 490, "soak-started", NULL, "\"issu\":{\"wave\":0,\"soak_s\":600}");
  ev(&b, 1090, "wave-started", NULL,
     "\"issu\":{\"wave\":1,\"wave_name\":\"wave-1\",\"routers\":2}");
  ev(&b, 1090, "device-started", "b", "\"labels\":{\"site\":\"ams\"},\"issu\":{\"wave\":1}");
  ev(&b, 1090, "device-started", "c", "\"issu\":{\"wave\":1}");
  phase(&b, 1090, "b", "connect");
  phase(&b, 1090, "c", "connect");
  phase(&b, 1100, "b", "preflight");
  phase(&b, 1105, "c", "preflight");
  text_appendf(&b.text, &b.len, &b.cap, "this is not json\n");
  phase(&b, 1160, "b", "validate");
  phase(&b, 1165, "c", "validate");
  phase(&b, 1200, "c", "failed");
  ev_outcome(&b, 1200, "device-finished", "failure", "c",
             "\"error\":{\"code\":\"validation-failed\",\"message\":\"mgd: error: configuration "
             "check-out failed\"},\"issu\":{\"result\":\"failed\",\"phase\":\"validate\","
             "\"device_output\":[\"mgd: error: configuration check-out failed\",\"error: ISSU "
             "Aborted\"]}");
  if (finished) {
    phase(&b, 1500, "b", "done");
    ev_outcome(&b, 1500, "device-finished", "success", "b", finished_ok);
    ev(&b, 1500, "wave-finished", NULL, "\"issu\":{\"wave\":1,\"routers\":2,\"failed\":1}");
    ev(&b, 1500, "run-finished", NULL, "\"issu\":{\"summary\":{\"exit_code\":1}}");
  }
  text_appendf(&b.text, &b.len, &b.cap, "{\"@timestamp\":\"2026-11-24T01:30:00.000Z\",\"log.l");
  return b;
}

static struct report *sample(bool finished)
{
  struct jbuf b = sample_journal(finished);
  struct report *r = report_from_buffer("t.jsonl", b.text, b.len);
  free(b.text);
  return r;
}

/* The text summary (caller frees). */
static char *text_of(const struct report *r)
{
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  report_text(r, f);
  fclose(f);
  return text;
}

static const struct report_router *find(const struct report *r, const char *name)
{
  for (size_t i = 0; i < r->nrouters; i++)
    if (strcmp(r->routers[i].name, name) == 0)
      return &r->routers[i];
  cr_assert_fail("no router %s in the report", name);
  return NULL;
}

static const struct report_phase_stats *stats_of(const struct report *r, enum junos_phase p)
{
  for (size_t i = 0; i < r->nphases; i++)
    if (r->phases[i].phase == p)
      return &r->phases[i];
  return NULL;
}

Test(report, a_journal_becomes_routers_spans_waves_and_intervals)
{
  struct report *r = sample(true);
  cr_assert_eq(r->nrouters, 4, "d is in the plan but never started");
  cr_expect_str_eq(r->run_id, "r-test");
  cr_expect_eq(r->exit_code, 1);
  cr_expect(r->finished);
  const struct report_router *a = find(r, "a"), *c = find(r, "c");
  cr_expect(a->canary);
  cr_expect_eq(a->wave, 0);
  cr_expect_str_eq(a->result, "done");
  cr_expect_str_eq(a->after[0], "23.4R2");
  cr_expect_eq(a->nspans, 3);
  cr_expect_float_eq(a->spans[2].duration, 300, 1e-9, "validate of a: 190 -> 490");
  cr_expect_float_eq(report_router_duration(a), 370, 1e-9);
  cr_expect_str_eq(c->error_code, "validation-failed");
  cr_expect_eq(c->noutput, 2);
  cr_expect(c->spans[c->nspans - 1].failed, "the validate span of c is marked failed");
  cr_expect_eq(c->phase, PH_VALIDATE);
  cr_expect_str_eq(find(r, "b")->site, "ams");
  cr_assert_eq(r->nwaves, 3);
  cr_expect_not(r->waves[2].started);
  cr_expect_str_eq(r->waves[2].name, "wave-2");
  cr_expect_eq(find(r, "d")->wave, 2);
  cr_expect_float_eq(r->waves[0].soak_s, 600, 1e-9);
  cr_expect_eq(r->waves[1].failed, 1);
  cr_assert_eq(r->ngates, 1);
  cr_expect_float_eq(r->gates[0].end - r->gates[0].start, 120, 1e-9, "the approval wait");
  struct report_counts n = report_count(r);
  cr_expect_eq(n.done, 2);
  cr_expect_eq(n.failed, 1);
  cr_expect_eq(n.not_started, 1);
  report_free(r);
}

Test(report, bad_lines_are_named_with_their_line_number_and_skipped)
{
  struct report *r = sample(true);
  cr_assert_eq(r->nwarnings, 2, "the garbage line and the cut last line");
  cr_expect(strstr(r->warnings[0], "t.jsonl:21: not a JSON object"), "%s", r->warnings[0]);
  cr_expect(strstr(r->warnings[1], "incomplete"), "%s", r->warnings[1]);
  cr_expect_eq(r->lines, 30);
  report_free(r);
}

/* Numbers from a journal are read into counters and indices only when they fit: a hand-edited or
 * damaged journal with 1e113 routers in a wave or a negative reconnect count is a figure left at
 * its default, never undefined behaviour (found by fuzz_report). */
Test(report, numbers_out_of_range_are_ignored_not_cast)
{
  struct jbuf b = {0};
  ev(&b, 0, "run-started", NULL, "\"labels\":{\"run_id\":\"r\"},\"issu\":{\"command\":\"run\"}");
  ev(&b, 1, "wave-started", NULL, "\"issu\":{\"wave\":0,\"routers\":1.5e113}");
  ev(&b, 2, "device-started", "a", "\"issu\":{\"wave\":-1e300}");
  ev(&b, 3, "device-finished", "a",
     "\"issu\":{\"result\":\"done\",\"phase\":\"done\",\"reconnects\":-7}");
  ev(&b, 3, "check-failed", "a",
     "\"issu\":{\"checks\":{\"moment\":\"post\",\"tests\":1e113,\"failed\":4294967296,"
     "\"attempt\":1e300,\"failures_left_off\":1e30}}");
  ev(&b, 4, "wave-finished", NULL, "\"issu\":{\"wave\":0,\"routers\":4294967296,\"failed\":-1}");
  ev(&b, 5, "run-finished", NULL, "\"issu\":{\"summary\":{\"exit_code\":1e20}}");
  struct report *r = report_from_buffer("n.jsonl", b.text, b.len);
  free(b.text);
  cr_assert(r);
  cr_assert_eq(r->nwaves, 1);
  cr_expect_eq(r->waves[0].routers, 0, "1.5e113 and 2^32 are no router count");
  cr_expect_eq(r->waves[0].failed, 0);
  cr_assert_eq(r->nrouters, 1);
  cr_expect_eq(r->routers[0].reconnects, 0);
  cr_expect_eq(r->routers[0].wave, -1);
  cr_expect_eq(r->exit_code, -1);
  const struct report_checks *c = &r->routers[0].checks;
  cr_expect(c->verdict && !c->passed);
  cr_expect_eq(c->tests, 0);
  cr_expect_eq(c->tests_failed, 0);
  cr_expect_eq(c->attempts, 0);
  cr_expect_eq(c->items_left, 0);
  report_free(r);
}

/* A soak's length from a damaged journal is shown only when it is one a policy can give (at
 * most 1e9 s, as the resume reader takes it): 1e300 s is no soak length, and llround() of it
 * is unspecified (glibc printed 2562047788015215h30m08s). */
Test(report, a_soak_length_out_of_range_is_ignored)
{
  struct jbuf b = {0};
  ev(&b, 0, "run-started", NULL, "\"labels\":{\"run_id\":\"r\"},\"issu\":{\"command\":\"run\"}");
  static const char *const soaks[] = {"1e300", "-5", "900"};
  for (int w = 0; w < 3; w++) {
    char f[100];
    snprintf(f, sizeof f, "\"issu\":{\"wave\":%d,\"routers\":0}", w);
    ev(&b, 10 * w, "wave-started", NULL, f);
    snprintf(f, sizeof f, "\"issu\":{\"wave\":%d,\"routers\":0,\"failed\":0}", w);
    ev(&b, 10 * w + 1, "wave-finished", NULL, f);
    snprintf(f, sizeof f, "\"issu\":{\"wave\":%d,\"soak_s\":%s}", w, soaks[w]);
    ev(&b, 10 * w + 1, "soak-started", NULL, f);
  }
  struct report *r = report_from_buffer("s.jsonl", b.text, b.len);
  free(b.text);
  cr_assert(r);
  cr_assert_eq(r->nwaves, 3);
  cr_expect_float_eq(r->waves[0].soak_s, 0, 1e-9, "1e300 s is no soak length");
  cr_expect_float_eq(r->waves[1].soak_s, 0, 1e-9, "nor is -5 s");
  cr_expect_float_eq(r->waves[2].soak_s, 900, 1e-9);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  report_text(r, f);
  fclose(f);
  cr_expect_null(strstr(text, "2562047788015215h"), "%s", text);
  cr_expect_not_null(strstr(text, "15m"), "%s", text);
  free(text);
  report_free(r);
}

Test(report, phase_statistics_are_median_p90_and_max_of_normal_ends)
{
  struct report *r = sample(true);
  const struct report_phase_stats *s = stats_of(r, PH_CONNECT);
  cr_assert_not_null(s);
  cr_expect_eq(s->count, 3);
  cr_expect_float_eq(s->median, 10, 1e-9);
  cr_expect_float_eq(s->p90, 15, 1e-9, "nearest rank of 3 samples: the 3rd");
  cr_expect_str_eq(s->max_router, "c");
  s = stats_of(r, PH_VALIDATE);
  cr_assert_not_null(s);
  cr_expect_eq(s->count, 2, "c's failed validate is not a sample");
  cr_expect_float_eq(s->median, 320, 1e-9);
  cr_expect_float_eq(s->max, 340, 1e-9);
  cr_expect_null(stats_of(r, PH_SWITCHOVER));
  report_free(r);

  /* ten routers, connect 1..10 s: median 5.5, p90 9 (nearest rank), max 10 */
  struct jbuf b = {0};
  for (int i = 1; i <= 10; i++) {
    char name[8];
    snprintf(name, sizeof name, "r%d", i);
    ev(&b, 0, "device-started", name, "\"issu\":{\"wave\":0}");
    phase(&b, 0, name, "connect");
    phase(&b, i, name, "preflight");
  }
  r = report_from_buffer("ten", b.text, b.len);
  free(b.text);
  s = stats_of(r, PH_CONNECT);
  cr_assert_not_null(s);
  cr_expect_float_eq(s->median, 5.5, 1e-9);
  cr_expect_float_eq(s->p90, 9, 1e-9);
  cr_expect_float_eq(s->max, 10, 1e-9);
  cr_expect_null(stats_of(r, PH_PREFLIGHT), "still open: not a sample");
  report_free(r);
}

Test(report, a_journal_still_being_written_shows_routers_in_flight)
{
  struct report *r = sample(false);
  cr_expect_not(r->finished);
  const struct report_router *b = find(r, "b");
  cr_expect_not(b->finished);
  cr_assert_gt(b->nspans, 0);
  cr_expect(b->spans[b->nspans - 1].open);
  cr_expect_float_eq(b->spans[b->nspans - 1].duration, r->tend - 1160, 1e-9,
                     "the open span runs to the last event");
  cr_expect_eq(report_count(r).in_flight, 1);
  char *text = text_of(r);
  cr_expect(strstr(text, "no run-finished yet"), "%s", text);
  cr_expect(strstr(text, "in flight"), "%s", text);
  free(text);
  report_free(r);
}

Test(report, text_and_json_carry_the_same_figures)
{
  struct report *r = sample(true);
  char *text = text_of(r);
  cr_expect(strstr(text, "2 done, 0 skipped, 1 failed, 0 in flight, 1 not started"), "%s", text);
  cr_expect(strstr(text, "wave-2             1      -  not started"), "%s", text);
  cr_expect(strstr(text, "c: validation-failed in validate: mgd: error"), "%s", text);
  cr_expect(strstr(text, "| error: ISSU Aborted"), "%s", text);
  cr_expect(strstr(text, "waited 2m for approval of canary"), "%s", text);
  cr_expect(strstr(text, "5m20s     5m40s     5m40s  b"), "validate: median, p90, max: %s", text);
  free(text);
  cJSON *doc = report_json(r);
  cJSON *run = cJSON_GetObjectItem(doc, "run");
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "routers"), "failed")->valueint, 1);
  cr_expect_eq(cJSON_GetObjectItem(run, "exit_code")->valueint, 1);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "phases")), 3);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "warnings")), 2);
  cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "approval_waits"), 0);
  cr_expect_eq(cJSON_GetObjectItem(first, "end_s")->valuedouble, 120);
  cr_expect_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "failures"), 0)->valuestring, "c");
  cJSON_Delete(doc);
  report_free(r);
}

static size_t count(const char *hay, const char *needle)
{
  size_t n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static char *html_of(const struct report *r)
{
  char *html = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&html, &len);
  cr_assert_eq(report_html(r, f), 0);
  fclose(f);
  return html;
}

Test(report, the_html_is_self_contained_and_draws_every_span)
{
  struct report *r = sample(true);
  char *html = html_of(r);
  size_t spans = 0;
  for (size_t i = 0; i < r->nrouters; i++)
    spans += r->routers[i].nspans;
  cr_expect_eq(count(html, "<rect class=\"span"), spans);
  cr_expect_eq(count(html, "class=\"span failed\""), 1);
  cr_expect_eq(count(html, "class=\"fail-mark\""), 1);
  cr_expect_eq(count(html, "<rect class=\"soak\""), 1);
  cr_expect_eq(count(html, "<rect class=\"gate\""), 1);
  cr_expect_eq(count(html, "class=\"wave-start\""), 2);
  cr_expect(strstr(html, "<title>c: validate 35s"), "hover shows phase and duration");
  /* nothing fetched from anywhere: no script, no link, no src, no url() */
  cr_expect_eq(count(html, "<script"), 0);
  cr_expect_eq(count(html, "src="), 0);
  cr_expect_eq(count(html, "href"), 0);
  cr_expect_eq(count(html, "url("), 0);
  cr_expect_eq(count(html, "http"), 1, "only the SVG namespace");
  free(html);
  report_free(r);
}

Test(report, names_are_escaped_in_the_html)
{
  struct jbuf b = {0};
  ev(&b, 0, "device-started", "<b>&\\\"x'", "\"issu\":{\"wave\":0}");
  phase(&b, 0, "<b>&\\\"x'", "connect");
  struct report *r = report_from_buffer("esc", b.text, b.len);
  free(b.text);
  char *html = html_of(r);
  cr_expect_null(strstr(html, "<b>&"));
  cr_expect(strstr(html, "&lt;b&gt;&amp;&quot;x&#39;"));
  free(html);
  report_free(r);
}

/* A journal whose timestamps span millennia (an edited or corrupt line; found by fuzz_report:
 * an 8 KB journal drew an 881 MB timeline, a tick per day): the axis keeps about 14 ticks. */
Test(report, a_timeline_spanning_centuries_keeps_a_readable_axis)
{
  static const char journal[] =
      "{\"@timestamp\":\"2026-11-24T01:00:00.000Z\",\"event\":{\"action\":\"device-started\"},"
      "\"host\":{\"name\":\"a\"},\"issu\":{\"wave\":0}}\n"
      "{\"@timestamp\":\"2026-11-24T01:00:00.000Z\",\"event\":{\"action\":\"phase-changed\"},"
      "\"host\":{\"name\":\"a\"},\"issu\":{\"phase\":\"connect\"}}\n"
      "{\"@timestamp\":\"9026-11-24T01:00:00.000Z\",\"event\":{\"action\":\"phase-changed\"},"
      "\"host\":{\"name\":\"a\"},\"issu\":{\"phase\":\"done\"}}\n";
  struct report *r = report_from_buffer("centuries", journal, sizeof journal - 1);
  char *html = html_of(r);
  size_t ticks = count(html, "class=\"tick\"");
  cr_expect_leq(ticks, 2 * 15, "%zu ticks", ticks);
  cr_expect_lt(strlen(html), 200000, "%zu bytes of HTML", strlen(html));
  free(html);
  report_free(r);
}

Test(report, five_hundred_routers_keep_readable_rows)
{
  struct jbuf b = {0};
  for (int i = 0; i < 500; i++) {
    char name[16], f[64];
    snprintf(name, sizeof name, "mx-%03d", i);
    snprintf(f, sizeof f, "\"issu\":{\"wave\":%d}", i / 50);
    ev(&b, i, "device-started", name, f);
    phase(&b, i, name, "connect");
    phase(&b, i + 600, name, "done");
  }
  struct report *r = report_from_buffer("big", b.text, b.len);
  free(b.text);
  cr_assert_eq(r->nrouters, 500);
  char *html = html_of(r);
  cr_expect_eq(count(html, "<g class=\"router\""), 500);
  unsigned height = 0;
  const char *h = strstr(html, "<svg id=\"gantt\"");
  cr_assert_not_null(h);
  cr_assert_eq(sscanf(strstr(h, "height=\"") + 8, "%u", &height), 1);
  cr_expect_geq(height, 500 * 11, "at least 11 px per router row (%u)", height);
  cr_expect(strstr(html, "font-size=\"9\""), "names stay legible");
  free(html);
  report_free(r);
}

Test(report, a_file_without_events_is_an_error)
{
  char path[] = "/tmp/issu-report-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, "garbage\n", 8), 8);
  close(fd);
  char err[512];
  struct report *r = NULL;
  cr_expect_eq(report_load(path, &r, err, sizeof err), -1);
  cr_expect(strstr(err, "no issu-fleet event in 1 lines"), "%s", err);
  cr_expect_eq(report_load("/nonexistent/x.jsonl", &r, err, sizeof err), -1);
  cr_expect(strstr(err, "/nonexistent/x.jsonl"), "%s", err);
  unlink(path);
  char *out;
  cr_expect_eq(sh(&out, "%s report /nonexistent.jsonl", ISSU_BINARY), 2, "%s", out);
  free(out);
  /* an HTML file that cannot be written: exit 2, the path named, no half page left behind */
  cr_expect_eq(sh(&out,
                  "%s report %s/tests/fuzz/corpus/report/ends.jsonl --html "
                  "/nonexistent/t.html",
                  ISSU_BINARY, ISSU_SOURCE_DIR),
               2, "%s", out);
  cr_expect(strstr(out, "cannot write /nonexistent/t.html.tmp"), "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "%s report", ISSU_BINARY), 2, "%s", out);
  cr_expect(strstr(out, "missing EVENTS.jsonl"), "%s", out);
  free(out);
}

/* ---- end to end: a lab rollout, its report, and Chromium's view of it ---- */

static int run_lab(char **out, const char *env, const char *extra)
{
  return sh(out,
            "%s %s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
            "--run-id t --yes %s </dev/null",
            env ? env : "", ISSU_BINARY, dir, dir, dir, extra ? extra : "");
}

static const char lab_policy[] = "waves: {canary: 1, serial: [2], soak: 5m}\n"
                                 "failures: {max_failed: 1}\n";

Test(report, a_lab_rollout_reported_and_seen_in_chromium, .timeout = 600, .fini = lab_stop)
{
  lab_start(5, 1, "--fault mx-ams-4=validation-fail");
  write_policy(lab_policy);
  char *out;
  cr_assert_eq(run_lab(&out, NULL, "-q"), 1, "one router fails within the budget: %s", out);
  free(out);
  cr_assert_eq(sh(&out, "%s report %s/state/t.jsonl --html %s/t.html", ISSU_BINARY, dir, dir), 0,
               "%s", out);
  cr_expect(strstr(out, "4 done, 0 skipped, 1 failed"), "%s", out);
  cr_expect(strstr(out, "mx-ams-4: validation-failed in validate"), "%s", out);
  cr_expect(strstr(out, "old-master-reboot"), "%s", out);
  free(out);
  cr_assert_eq(sh(&out, "%s report %s/state/t.jsonl --json", ISSU_BINARY, dir), 0, "%s", out);
  cJSON *doc = cJSON_Parse(out);
  free(out);
  cr_assert_not_null(doc);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "phases")), 13, "all 13 phases");
  cJSON_Delete(doc);

  /* What a user sees: Chromium renders the page; its DOM and its pixels are checked. */
  cr_assert_eq(
      sh(&out,
         "cd %s && HOME=%s timeout 120 chromium --headless --no-sandbox --disable-gpu "
         "--disable-dev-shm-usage --hide-scrollbars --user-data-dir=%s/chrome "
         "--window-size=1400,1000 --screenshot=%s/t.png file://%s/t.html 2>%s/chrome.log && "
         "HOME=%s timeout 120 chromium --headless --no-sandbox --disable-gpu "
         "--disable-dev-shm-usage --user-data-dir=%s/chrome --dump-dom file://%s/t.html "
         "2>>%s/chrome.log "
         ">%s/dom.html",
         dir, dir, dir, dir, dir, dir, dir, dir, dir, dir, dir),
      0, "chromium: %s (see its log in the test directory)", out);
  free(out);
  cr_assert_eq(sh(&out, "cat %s/dom.html", dir), 0);
  cr_expect_eq(count(out, "<g class=\"router\""), 5, "a row per router in the rendered DOM");
  cr_expect_eq(count(out, "class=\"fail-mark\""), 1);
  cr_expect(strstr(out, "<table id=\"phases\""));
  cr_expect(strstr(out, "mgd: error: configuration check-out failed"));
  free(out);
  /* colours: validate bars, the failure's red, the soak's shading */
  cr_assert_eq(sh(&out, "python3 %s/tests/tools/png_colours.py %s/t.png '%s' '%s' %s",
                  ISSU_SOURCE_DIR, dir, report_phase_colour(PH_VALIDATE),
                  report_phase_colour(PH_FAILED), "'#e3f2fd'"),
               0, "%s", out);
  unsigned w = 0, h = 0, validate = 0, red = 0, soak = 0;
  cr_assert_eq(sscanf(out, "%u %u %u %u %u", &w, &h, &validate, &red, &soak), 5, "%s", out);
  free(out);
  cr_expect_eq(w, 1400);
  cr_expect_gt(validate, 4 * 20, "the validate bars are drawn (%u px)", validate);
  cr_expect_gt(red, 20, "the failure is marked in red (%u px)", red);
  cr_expect_gt(soak, 1000, "the soak is shaded (%u px)", soak);
}

/* ---- the live view of run ---- */

/* Runs the lab's rollout (run id ID) in a pseudo-terminal made by script(1), with ENV and the
 * shell commands PRE before it; returns what the terminal received (caller frees). */
static char *under_terminal(const char *env, const char *pre, const char *id)
{
  char *out;
  cr_assert_eq(sh(&out,
                  "%s script -qec \"%s%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale "
                  "600 --state-dir %s/state --run-id %s --yes\" %s/%s.log >/dev/null",
                  env, pre, ISSU_BINARY, dir, dir, dir, id, dir, id),
               0, "%s", out);
  free(out);
  cr_assert_eq(sh(&out, "cat %s/%s.log", dir, id), 0);
  return out;
}

Test(progress, a_terminal_gets_a_live_view_and_a_pipe_gets_plain_lines, .timeout = 600,
     .fini = lab_stop)
{
  lab_start(3, 1, NULL);
  write_policy("waves: {canary: 1, serial: [2], soak: 0}\n");
  /* under a pseudo-terminal (script(1)), 100 columns */
  char *out = under_terminal("TERM=xterm LANG=C.UTF-8", "stty cols 100 rows 20; ", "tty");
  cr_expect_gt(count(out, "\033[J"), 3, "the view redraws in place");
  cr_expect(strstr(out, "ETA "), "the header has an ETA");
  cr_expect(strstr(out, "budget "), "and the budget");
  cr_expect(strstr(out, "\033[1m"), "colours on a terminal");
  cr_expect(strstr(out, "\u2588"), "a progress bar");
  cr_expect(strstr(out, "%"), "a percentage");
  cr_expect_null(strstr(out, " -> "), "no per-transition lines on a terminal");
  cr_expect(strstr(out, "run: 3 done"), "the summary stays");
  free(out);

  /* NO_COLOR: the same view without colours */
  out = under_terminal("NO_COLOR=1 TERM=xterm", "", "nc");
  cr_expect_gt(count(out, "\033[J"), 0, "still live");
  cr_expect_null(strstr(out, "\033[1m"), "no colour with NO_COLOR");
  cr_expect_null(strstr(out, "\033[33m"), "no colour with NO_COLOR");
  cr_expect_null(strstr(out, "\033[36m"), "no colour with NO_COLOR");
  free(out);

  /* not a terminal: one plain line per phase change, nothing that redraws */
  cr_assert_eq(sh(&out,
                  "{ %s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir "
                  "%s/state --run-id plain --yes 2>%s/plain.log </dev/null; }",
                  ISSU_BINARY, dir, dir, dir, dir),
               0, "%s", out);
  free(out);
  cr_assert_eq(sh(&out, "cat %s/plain.log", dir), 0);
  cr_expect_null(strstr(out, "\033"), "no escape sequence in a log");
  size_t lines = count(out, " -> ");
  free(out);
  cr_assert_eq(sh(&out, "cat %s/state/plain.jsonl", dir), 0);
  cr_expect_eq(lines, count(out, "\"action\":\"phase-changed\""), "one line per phase transition");
  free(out);

  /* --quiet: nothing but what the operator must see */
  cr_assert_eq(sh(&out,
                  "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir "
                  "%s/state --run-id q --yes -q 2>&1 </dev/null",
                  ISSU_BINARY, dir, dir, dir),
               0, "%s", out);
  cr_expect_eq(strlen(out), 0, "quiet: %s", out);
  free(out);
}
