/*
 * Issue 15's health checks in the rollout: the policy's `checks:` keys, then end to end through
 * junos-sim labs behind real OpenSSH: a healthy lab passes with the built-in suite on, each
 * network fault fails the right router with post-check-failed and its diff, slow convergence
 * passes or fails on checks.converge, a canary's post-check failure halts the run, and a resume
 * after the ISSU went out reuses the pre snapshot. What is asserted is what a user reads: exit
 * codes, the journal, the snapshot files. Durations are the simulator's (time-scaled).
 */
#define LAB_KNOWN_HOSTS "--known-hosts both"
#include "journal_view.h"
#include "lab.h"
#include "background_run.h"
#include "policies/policies.h"
#include "report/report.h"
#include "scheduler/journal.h"

#include <sys/stat.h>

/* ---- the policy keys ---- */

static struct policy *load_policy(const char *checks, struct diag *d)
{
  char *text = xasprintf("target: {version: 23.4R2-S3.7, package: %s}\n%s", PKG, checks);
  struct policy *p = NULL;
  policy_load_buffer("/etc/issu/rollout.yaml", text, strlen(text), &p, d);
  free(text);
  return p;
}

Test(checks_policy, defaults_run_every_built_in_check)
{
  struct diag d = {.max = DIAG_DEFAULT_MAX};
  struct policy *p = load_policy("", &d);
  cr_assert_not_null(p);
  for (int b = 0; b < CHECK_BUILTIN_COUNT; b++) {
    cr_expect_not(p->checks.off[b], "%s on by default", check_builtin_name((enum check_builtin)b));
    cr_expect_null(p->checks.tolerance[b]);
  }
  cr_expect_eq(p->checks.converge_s, 600);
  cr_expect_eq(p->checks.interval_s, 30);
  cr_expect_eq(p->checks.pre_check, PRE_CHECK_FAIL);
  cr_expect_eq(p->checks.channels, 5, "five commands of a snapshot at once by default");
  struct check_suite *s = policy_check_suite(p, false, &d);
  cr_assert_not_null(s);
  cr_expect_gt(check_suite_command_count(s), 0, "the built-in suite runs commands");
  check_suite_free(s);
  policy_free(p);
  diag_free(&d);
}

Test(checks_policy, keys_set_switches_tolerances_files_and_timing)
{
  struct diag d = {.max = DIAG_DEFAULT_MAX};
  struct policy *p = load_policy("checks:\n"
                                 "  builtin: {alarms: off, bgp-prefixes: \"10%\", routes: on}\n"
                                 "  converge: 15m\n"
                                 "  interval: 1m\n"
                                 "  pre_check: warn\n"
                                 "  channels: 1\n",
                                 &d);
  cr_assert_not_null(p, "%s", d.count ? d.lines[0] : "");
  cr_expect_eq(p->checks.channels, 1);
  cr_expect(p->checks.off[CHECK_ALARMS]);
  cr_expect_not(p->checks.off[CHECK_ROUTES]);
  cr_expect_str_eq(p->checks.tolerance[CHECK_BGP_PREFIXES], "10%");
  cr_expect_eq(p->checks.tol_line[CHECK_BGP_PREFIXES], 3, "the line of the tolerance");
  cr_expect_eq(p->checks.converge_s, 900);
  cr_expect_eq(p->checks.interval_s, 60);
  cr_expect_eq(p->checks.pre_check, PRE_CHECK_WARN);
  policy_free(p);

  /* builtin: off leaves no command to run: the checks are off. */
  p = load_policy("checks: {builtin: off}\n", &d);
  cr_assert_not_null(p);
  struct check_suite *s = policy_check_suite(p, false, &d);
  cr_assert_not_null(s);
  cr_expect_eq(check_suite_command_count(s), 0);
  check_suite_free(s);
  policy_free(p);
  diag_free(&d);
}

Test(checks_policy, a_relative_test_file_is_read_from_the_policy_folder)
{
  char folder[] = "/tmp/issu-checks-policyXXXXXX";
  cr_assert_not_null(mkdtemp(folder));
  char *test = xasprintf("%s/bgp.yaml", folder);
  FILE *f = fopen(test, "w");
  cr_assert_not_null(f);
  fputs("tests_include:\n  - check_bgp\n"
        "check_bgp:\n  - command: show bgp summary\n"
        "  - iterate:\n      xpath: //bgp-peer\n      id: peer-address\n"
        "      tests:\n        - no-diff: peer-state\n          err: \"peer {{id_0}} changed\"\n"
        "          info: \"peer state unchanged\"\n",
        f);
  fclose(f);
  char *policy = xasprintf("%s/rollout.yaml", folder);
  f = fopen(policy, "w");
  cr_assert_not_null(f);
  fprintf(f, "target: {version: 23.4R2-S3.7, package: %s}\nchecks: {files: [bgp.yaml]}\n", PKG);
  fclose(f);
  struct diag d = {.max = DIAG_DEFAULT_MAX};
  struct policy *p = NULL;
  cr_assert_eq(policy_load(policy, &p, &d), 0, "%s", d.count ? d.lines[0] : "");
  cr_assert_eq(p->checks.files.count, 1);
  cr_expect_str_eq(p->checks.files.items[0].name, test);
  policy_free(p);
  diag_free(&d);
  sh(NULL, "rm -rf %s", folder);
  free(test);
  free(policy);
}

Test(checks_policy, bad_values_name_file_line_and_col)
{
  static const struct {
    const char *yaml, *want;
  } bad[] = {
      {"checks: {builtin: {bgp-peer: off}}\n", "rollout.yaml:2:20: checks.builtin: unknown "
                                               "built-in check 'bgp-peer' (did you mean "
                                               "'bgp-peers'?)"},
      {"checks: {builtin: {fpc: \"5%\"}}\n", "rollout.yaml:2:25: checks.builtin: fpc: '5%' is not "
                                             "allowed (expected on or off)"},
      {"checks: {pre_check: maybe}\n", "rollout.yaml:2:21: checks.pre_check: 'maybe' is not "
                                       "allowed (expected fail or warn)"},
      {"checks: {converge: 0}\n", "rollout.yaml:2:20: checks.converge: a duration of 0"},
      {"checks: {channels: 0}\n", "rollout.yaml:2:20: checks.channels: '0' is not allowed "
                                  "(expected a whole number from 1 to 9"},
      {"checks: {channels: 10}\n", "rollout.yaml:2:20: checks.channels: '10' is not allowed"},
      {"checks: {channels: [2]}\n", "rollout.yaml:2:20: checks.channels: expected a whole "
                                    "number from 1 to 9 (found a list)"},
      {"checks: {bogus: 1}\n", "rollout.yaml:2:10: unknown key 'bogus' in checks"},
      /* The post-check's wait cannot outlast the router's whole time limit. */
      {"issu: {timeouts: {device: 1h}}\nchecks: {converge: 4h, interval: 5m}\n",
       "rollout.yaml:3:20: checks.converge (4h) is not shorter than issu.timeouts.device (1h)"},
      {"issu: {timeouts: {device: 5m}}\n",
       "rollout.yaml:2:27: checks.converge (10m) is not shorter than issu.timeouts.device (5m)"},
      {"checks: {files: [/nonexistent/tests.yaml]}\n", "/nonexistent/tests.yaml"},
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    struct diag d = {.max = DIAG_DEFAULT_MAX};
    struct policy *p = load_policy(bad[i].yaml, &d);
    cr_expect_null(p, "%s", bad[i].yaml);
    policy_free(p);
    cr_expect(diag_contains(&d, bad[i].want), "%s: got %s", bad[i].yaml,
              d.count ? d.lines[0] : "(nothing)");
    diag_free(&d);
  }
}

/* ---- the journal: which pre snapshot a resume may reuse ---- */

Test(checks_journal, a_resume_knows_the_pre_snapshot_this_run_journaled_and_only_that_one)
{
  char path[] = "/tmp/issu-checks-journalXXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  static const char lines[] =
      "{\"@timestamp\":\"2026-12-01T10:00:00.000Z\",\"event\":{\"action\":\"run-started\","
      "\"sequence\":1},\"labels\":{\"run_id\":\"t\"},\"issu\":{}}\n"
      /* mx-1: snapshot journaled, then a resume took it over: it keeps it */
      "{\"@timestamp\":\"2026-12-01T10:00:01.000Z\",\"event\":{\"action\":\"device-started\","
      "\"sequence\":2},\"host\":{\"name\":\"mx-1\"},\"issu\":{}}\n"
      "{\"@timestamp\":\"2026-12-01T10:00:02.000Z\",\"event\":{\"action\":\"check-snapshot\","
      "\"sequence\":3},\"host\":{\"name\":\"mx-1\"},\"issu\":{\"checks\":{\"moment\":\"pre\","
      "\"file\":\"/state/checks/t/mx-1.pre.xml\"}}}\n"
      "{\"@timestamp\":\"2026-12-01T10:00:03.000Z\",\"event\":{\"action\":\"device-started\","
      "\"sequence\":4},\"host\":{\"name\":\"mx-1\"},\"issu\":{\"resumed\":true,"
      "\"phase\":\"validate\"}}\n"
      /* mx-2: snapshot journaled, failed, then started afresh (--retry-failed): a new one is owed
       */
      "{\"@timestamp\":\"2026-12-01T10:00:04.000Z\",\"event\":{\"action\":\"device-started\","
      "\"sequence\":5},\"host\":{\"name\":\"mx-2\"},\"issu\":{}}\n"
      "{\"@timestamp\":\"2026-12-01T10:00:05.000Z\",\"event\":{\"action\":\"check-snapshot\","
      "\"sequence\":6},\"host\":{\"name\":\"mx-2\"},\"issu\":{\"checks\":{\"moment\":\"pre\"}}}\n"
      "{\"@timestamp\":\"2026-12-01T10:00:06.000Z\",\"event\":{\"action\":\"device-started\","
      "\"sequence\":7},\"host\":{\"name\":\"mx-2\"},\"issu\":{}}\n"
      /* mx-3: only `issu-fleet check`'s snapshot, which a run never reuses */
      "{\"@timestamp\":\"2026-12-01T10:00:07.000Z\",\"event\":{\"action\":\"device-started\","
      "\"sequence\":8},\"host\":{\"name\":\"mx-3\"},\"issu\":{}}\n"
      "{\"@timestamp\":\"2026-12-01T10:00:08.000Z\",\"event\":{\"action\":\"check-snapshot\","
      "\"sequence\":9},\"host\":{\"name\":\"mx-3\"},\"issu\":{\"checks\":{\"moment\":\"check\"}}}"
      "\n";
  cr_assert_eq(write(fd, lines, strlen(lines)), (ssize_t)strlen(lines));
  close(fd);
  struct journal_state js;
  char err[256];
  cr_assert_eq(journal_load(path, &js, err, sizeof err), 0, "%s", err);
  cr_expect(journal_host(&js, "mx-1")->check_pre);
  cr_expect_str_eq(journal_host(&js, "mx-1")->check_pre_file, "/state/checks/t/mx-1.pre.xml",
                   "the journaled file is the one a resume reads");
  cr_expect_not(journal_host(&js, "mx-2")->check_pre);
  cr_expect_null(journal_host(&js, "mx-2")->check_pre_file);
  cr_expect_not(journal_host(&js, "mx-3")->check_pre);
  journal_state_free(&js);
  unlink(path);
}

/* ---- the report ---- */

Test(checks_report, each_router_shows_its_checks_and_the_html_a_row_per_failed_item)
{
  static const char events[] =
      "{\"@timestamp\":\"2026-12-01T10:00:00.000Z\",\"event\":{\"action\":\"device-started\"},"
      "\"host\":{\"name\":\"mx-1\"},\"issu\":{\"wave\":0}}\n"
      "{\"@timestamp\":\"2026-12-01T10:00:01.000Z\",\"event\":{\"action\":\"check-snapshot\"},"
      "\"host\":{\"name\":\"mx-1\"},\"issu\":{\"checks\":{\"moment\":\"pre\",\"file\":\"x\"}}}\n"
      "{\"@timestamp\":\"2026-12-01T10:30:00.000Z\",\"event\":{\"action\":\"check-attempt\"},"
      "\"host\":{\"name\":\"mx-1\"},\"issu\":{\"checks\":{\"moment\":\"post\",\"attempt\":1}}}\n"
      "{\"@timestamp\":\"2026-12-01T10:31:00.000Z\",\"event\":{\"action\":\"check-attempt\"},"
      "\"host\":{\"name\":\"mx-1\"},\"issu\":{\"checks\":{\"moment\":\"post\",\"attempt\":2}}}\n"
      "{\"@timestamp\":\"2026-12-01T10:31:00.000Z\",\"event\":{\"action\":\"check-failed\"},"
      "\"host\":{\"name\":\"mx-1\"},\"issu\":{\"checks\":{\"moment\":\"post\",\"attempt\":2,"
      "\"converge_s\":60,\"tests\":15,\"passed\":13,\"failed\":2,\"failures\":["
      "{\"test\":\"bgp-state\",\"item\":\"peer-address=10.0.0.2\",\"rule\":\"no-diff peer-state\","
      "\"pre\":\"Established\",\"post\":\"Active\"},"
      "{\"test\":\"fpc\",\"item\":\"slot=1\",\"rule\":\"is-equal state, Online\",\"pre\":\"\","
      "\"post\":\"<Offline>\"}],\"failures_left_off\":3}}}\n"
      "{\"@timestamp\":\"2026-12-01T10:32:00.000Z\",\"event\":{\"action\":\"check-passed\"},"
      "\"host\":{\"name\":\"mx-2\"},\"issu\":{\"checks\":{\"moment\":\"post\",\"attempt\":1,"
      "\"converge_s\":0,\"tests\":15,\"passed\":15,\"failed\":0}}}\n";
  struct report *r = report_from_buffer("t", events, strlen(events));
  cr_assert_eq(r->nrouters, 2);
  const struct report_checks *c = &r->routers[0].checks;
  cr_expect(c->verdict && !c->passed);
  cr_expect_eq(c->attempts, 2);
  cr_expect_eq(c->tests, 15);
  cr_expect_eq(c->tests_failed, 2);
  cr_expect_eq(c->converge_s, 60);
  cr_expect_eq(c->nitems, 2);
  cr_expect_eq(c->items_left, 3);
  cr_expect(r->routers[1].checks.passed);

  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  report_text(r, f);
  fclose(f);
  cr_expect(strstr(text, "FAILED (post)"), "%s", text);
  cr_expect(strstr(text, "bgp-state peer-address=10.0.0.2: Established -> Active (no-diff "
                         "peer-state)"),
            "%s", text);
  free(text);

  f = open_memstream(&text, &len);
  cr_assert_eq(report_html(r, f), 0);
  fclose(f);
  size_t rows = 0;
  for (const char *p = text; (p = strstr(p, "<tr class=\"check-item\">")) != NULL; p++)
    rows++;
  cr_expect_eq(rows, 2, "a row per failed item");
  cr_expect(strstr(text, "&lt;Offline&gt;"), "escaped");
  free(text);

  cJSON *j = report_json(r);
  char *js = cJSON_PrintUnformatted(j);
  cr_expect(strstr(js, "\"checks\":{\"result\":\"failed\",\"moment\":\"post\",\"tests\":15"), "%s",
            js);
  free(js);
  cJSON_Delete(j);
  report_free(r);
}

/* ---- end to end ---- */

static int issu_fleet(char **out, const char *command, const char *extra)
{
  return sh(out,
            "%s %s -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
            "--run-id t %s </dev/null",
            ISSU_BINARY, command, dir, dir, dir, extra ? extra : "");
}

/* Whether `s` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF):
 * an event line must be, whatever the router said. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    size_t k = c < 0x80                 ? 1
               : c >= 0xC2 && c <= 0xDF ? 2
               : c >= 0xE0 && c <= 0xEF ? 3
               : c >= 0xF0 && c <= 0xF4 ? 4
                                        : 0;
    if (k == 0 || i + k > n)
      return false;
    for (size_t m = 1; m < k; m++)
      if ((s[i + m] & 0xC0) != 0x80)
        return false;
    if ((c == 0xE0 && s[i + 1] < 0xA0) || (c == 0xED && s[i + 1] >= 0xA0) ||
        (c == 0xF0 && s[i + 1] < 0x90) || (c == 0xF4 && s[i + 1] >= 0x90))
      return false;
    i += k;
  }
  return true;
}

static struct journal journal_read(void)
{
  char path[400];
  snprintf(path, sizeof path, "%s/state/t.jsonl", dir);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "no journal at %s", path);
  struct journal j = {0};
  size_t cap = 0, lcap = 0;
  char *line = NULL;
  ssize_t len;
  while ((len = getline(&line, &lcap, f)) > 0) {
    cr_expect_lt(len, 16384, "an event line stays under 16 KiB");
    cr_expect(utf8_valid((const unsigned char *)line, (size_t)len), "not UTF-8: %s", line);
    cJSON *e = cJSON_Parse(line);
    cr_assert_not_null(e, "journal line is not JSON: %s", line);
    j.ev = xgrow(j.ev, &cap, j.n + 1, sizeof *j.ev);
    j.ev[j.n++] = e;
  }
  free(line);
  fclose(f);
  return j;
}

static const cJSON *checks_of(const cJSON *e)
{
  return cJSON_GetObjectItem(cJSON_GetObjectItem(e, "issu"), "checks");
}

/* The last event `act` of `router` whose checks moment is `moment` (NULL: any), or NULL. */
static const cJSON *last_of(const struct journal *j, const char *act, const char *router,
                            const char *moment)
{
  const cJSON *found = NULL;
  for (size_t i = 0; i < j->n; i++)
    if (strcmp(action(j->ev[i]), act) == 0 && strcmp(host(j->ev[i]), router) == 0 &&
        (moment == NULL || strcmp(str_at(checks_of(j->ev[i]), "moment", NULL), moment) == 0))
      found = j->ev[i];
  return found;
}

static size_t count_of(const struct journal *j, const char *act, const char *router,
                       const char *moment)
{
  size_t n = 0;
  for (size_t i = 0; i < j->n; i++)
    n += strcmp(action(j->ev[i]), act) == 0 &&
         (router == NULL || strcmp(host(j->ev[i]), router) == 0) &&
         (moment == NULL || strcmp(str_at(checks_of(j->ev[i]), "moment", NULL), moment) == 0);
  return n;
}

static const cJSON *finished_of(const struct journal *j, const char *router)
{
  const cJSON *e = last_of(j, "device-finished", router, NULL);
  cr_assert_not_null(e, "no device-finished event for %s", router);
  return e;
}

/* Whether the failures of a check-failed event name the test `test`. */
static bool failure_names(const cJSON *ev, const char *test)
{
  const cJSON *f;
  cJSON_ArrayForEach(f, cJSON_GetObjectItem(checks_of(ev), "failures"))
  {
    if (strstr(str_at(f, "test", NULL), test))
      return true;
  }
  return false;
}

/* The network faults come from i15-sim's junos-sim: until a build has them, the tests that
 * need them skip, saying so. */
static bool sim_has(const char *fault)
{
  char probe[] = "/tmp/issu-checks-probeXXXXXX";
  if (mkdtemp(probe) == NULL)
    return false;
  int rc = sh(NULL, "%s lab init %s/lab --devices 1 --sites 1 --router mx-ams-1=%s",
              JUNOS_SIM_BINARY, probe, fault);
  sh(NULL, "rm -rf %s", probe);
  return rc == 0;
}

#define NEED_SIM(fault)                                                                            \
  do {                                                                                             \
    if (!sim_has(fault))                                                                           \
      cr_skip_test("junos-sim has no %s fault yet (issue 15's network state, engineer i15-sim)",   \
                   fault);                                                                         \
  } while (0)

static bool file_exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && st.st_size > 0;
}

Test(checks_e2e, a_healthy_lab_passes_with_the_built_in_suite_on, .timeout = 300, .fini = lab_stop)
{
  lab_start(3, 1, NULL);
  write_policy("waves: {canary: 1, serial: [\"100%\"], soak: 0}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  struct journal j = journal_read();
  static const char *const routers[] = {"mx-ams-1", "mx-ams-2", "mx-ams-3"};
  for (size_t i = 0; i < ARRAY_LEN(routers); i++) {
    const char *r = routers[i];
    cr_expect_str_eq(str_at(finished_of(&j, r), "event", "outcome"), "success", "%s", r);
    const cJSON *snap = last_of(&j, "check-snapshot", r, "pre");
    cr_assert_not_null(snap, "%s: a pre snapshot was journaled", r);
    char want[400];
    snprintf(want, sizeof want, "%s/state/checks/t/%s.pre.xml", dir, r);
    cr_expect_str_eq(str_at(checks_of(snap), "file", NULL), want);
    cr_expect(file_exists(want), "%s", want);
    snprintf(want, sizeof want, "%s/state/checks/t/%s.post.xml", dir, r);
    cr_expect(file_exists(want), "%s", want);
    const cJSON *passed = last_of(&j, "check-passed", r, "post");
    cr_assert_not_null(passed, "%s: the post-check passed", r);
    cr_expect_gt(cJSON_GetObjectItem(checks_of(passed), "tests")->valuedouble, 0);
    cr_expect_eq(cJSON_GetObjectItem(checks_of(passed), "failed")->valuedouble, 0);
    cr_expect_geq(count_of(&j, "check-attempt", r, "post"), 1);
    if (cJSON_GetObjectItem(checks_of(passed), "attempt")->valuedouble == 1)
      cr_expect_eq(cJSON_GetObjectItem(checks_of(passed), "converge_s")->valuedouble, 0,
                   "%s: converged at the first attempt", r);
    cr_expect_eq(count_of(&j, "check-failed", r, NULL), 0, "%s", r);
  }
  journal_free(&j);
}

Test(checks_e2e, the_checks_can_be_turned_off, .timeout = 300, .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1, soak: 0}\nchecks: {builtin: off}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  struct journal j = journal_read();
  cr_expect_eq(count_of(&j, "check-snapshot", NULL, NULL), 0);
  cr_expect_eq(count_of(&j, "check-attempt", NULL, NULL), 0);
  journal_free(&j);
}

/* The pre snapshot's file is written off the loop (the threadpool): when it cannot be written,
 * the router fails its pre-check with the file's error and nothing is journaled as taken, so
 * no ISSU is announced or sent. The snapshot's temporary name is taken by a folder here. */
Test(checks_e2e, a_pre_snapshot_that_cannot_be_saved_fails_the_router_before_the_issu,
     .timeout = 300, .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1, soak: 0}\n");
  char blocker[600];
  snprintf(blocker, sizeof blocker, "%s/state/checks/t/mx-ams-1.pre.xml.tmp/x", dir);
  cr_assert_eq(sh(NULL, "mkdir -p %s", blocker), 0);
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_neq(rc, 0, "the canary failed\n%s", out);
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_assert_not_null(fin);
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "failure");
  cr_expect_eq(count_of(&j, "check-snapshot", NULL, NULL), 0, "no snapshot journaled as taken");
  cr_expect_eq(journal_count("cannot save the pre snapshot"), 1, "the reason is journaled");
  cr_expect_eq(journal_count("Is a directory"), 1, "with the file's own error");
  cr_expect_eq(journal_count("\"phase\":\"stage\""), 0, "nothing staged");
  cr_expect_eq(journal_count("\"phase\":\"validate\""), 0, "no ISSU was started");
  journal_free(&j);
}

static const struct {
  const char *router, *fault, *test;
} network_faults[] = {
    /* The peer stays in Active (junos-sim): its state and its prefixes break their rules. */
    {"mx-ams-2", "peer-lost", "bgp-state"},
    {"mx-ams-3", "prefixes-low", "bgp-prefixes"},
    {"mx-ams-4", "fpc-offline", "fpc"},
};

Test(checks_e2e, each_network_fault_fails_its_router_with_post_check_failed_and_the_diff,
     .timeout = 300, .fini = lab_stop)
{
  char extra[512] = "";
  for (size_t i = 0; i < ARRAY_LEN(network_faults); i++) {
    NEED_SIM(network_faults[i].fault);
    snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " --router %s=%s",
             network_faults[i].router, network_faults[i].fault);
  }
  lab_start(4, 1, extra);
  write_policy("waves: {canary: [mx-ams-1], serial: [\"100%\"], soak: 0}\n"
               "failures: {max_failed: 10}\n"
               "checks: {converge: 30m, interval: 1m}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 1, "failures within the budget: exit 1\n%s", out);
  free(out);
  struct journal j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success");
  for (size_t i = 0; i < ARRAY_LEN(network_faults); i++) {
    const char *r = network_faults[i].router;
    const cJSON *fin = finished_of(&j, r);
    cr_expect_str_eq(str_at(fin, "error", "code"), "post-check-failed", "%s (%s): %s", r,
                     network_faults[i].fault, str_at(fin, "error", "message"));
    cr_expect_str_eq(str_at(fin, "issu", "phase"), "verify", "%s", r);
    const cJSON *failed = last_of(&j, "check-failed", r, "post");
    cr_assert_not_null(failed, "%s: a check-failed event", r);
    cr_expect(failure_names(failed, network_faults[i].test), "%s (%s): the diff names %s", r,
              network_faults[i].fault, network_faults[i].test);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(checks_of(failed), "failures"), 0);
    cr_expect_not_null(cJSON_GetObjectItem(first, "rule"), "%s: the diff has the rule", r);
    cr_expect_not_null(cJSON_GetObjectItem(first, "pre"), "%s: the diff has the pre value", r);
    cr_expect_not_null(cJSON_GetObjectItem(first, "post"), "%s: the diff has the post value", r);
    /* How many attempts fit depends on how long each one's commands take on this machine (at
     * the lab's time scale, simulated minutes): what is certain is that it gave up only when
     * another attempt would have ended past checks.converge. */
    /* It gave up only when another attempt would have ended past checks.converge. */
    cr_expect_gt(cJSON_GetObjectItem(checks_of(failed), "converge_s")->valuedouble, 29 * 60, "%s",
                 r);
  }
  journal_free(&j);
}

/* The network of mx-ams-1 comes back `minutes` simulated minutes after its switchover: far
 * more than the rest of the ISSU takes to reach verify (about 20 minutes here, more on a loaded
 * machine, where each command costs simulated minutes at the lab's time scale). */
static void slow_converge(int minutes, const char *converge, bool pass)
{
  char extra[100];
  snprintf(extra, sizeof extra, "--router mx-ams-1=slow-converge:%d", minutes);
  lab_start(1, 1, extra);
  char policy[300];
  snprintf(policy, sizeof policy,
           "waves: {canary: 1, soak: 0}\nissu: {timeouts: {device: 12h}}\n"
           "checks: {converge: %s, interval: 2m}\n",
           converge);
  write_policy(policy);
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, pass ? 0 : 3, "%s", out);
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  if (pass) {
    cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s",
                     str_at(fin, "error", "message"));
    const cJSON *passed = last_of(&j, "check-passed", "mx-ams-1", "post");
    cr_assert_not_null(passed);
    cr_expect_gt(cJSON_GetObjectItem(checks_of(passed), "attempt")->valuedouble, 1,
                 "it took several attempts");
    cr_expect_gt(cJSON_GetObjectItem(checks_of(passed), "converge_s")->valuedouble, 0);
    cr_expect_eq(count_of(&j, "check-attempt", "mx-ams-1", "post"),
                 cJSON_GetObjectItem(checks_of(passed), "attempt")->valuedouble,
                 "every attempt is an event");
  } else {
    cr_expect_str_eq(str_at(fin, "error", "code"), "post-check-failed");
    const cJSON *failed = last_of(&j, "check-failed", "mx-ams-1", "post");
    cr_assert_not_null(failed);
    cr_expect_leq(cJSON_GetObjectItem(checks_of(failed), "converge_s")->valuedouble, 60 * 60,
                  "it gave up at checks.converge");
  }
  journal_free(&j);
}

Test(checks_e2e, slow_convergence_passes_when_converge_is_long_enough, .timeout = 300,
     .fini = lab_stop)
{
  NEED_SIM("slow-converge:180");
  slow_converge(180, "5h", true);
}

Test(checks_e2e, slow_convergence_fails_when_converge_is_too_short, .timeout = 300,
     .fini = lab_stop)
{
  NEED_SIM("slow-converge:240");
  slow_converge(240, "5m", false);
}

/* The wait for the network after verify is not the upgrade's time: a post-check that converges
 * after issu.timeouts.device has run out (counted from the router's start) still gets its
 * verdict, where the router used to be held with device-timeout (outcome unknown). The router's
 * timer has a real-time floor of 5 minutes (DEVICE_FLOOR_MS), so this runs at time scale 20 and
 * takes about 8 minutes: only with ISSU_SLOW_TESTS=1. */
Test(checks_e2e, a_post_check_that_outlasts_the_device_timeout_gets_a_verdict, .timeout = 1200,
     .fini = lab_stop)
{
  NEED_SIM("slow-converge:115");
  if (getenv("ISSU_SLOW_TESTS") == NULL)
    cr_skip_test("takes about 8 minutes at time scale 20: set ISSU_SLOW_TESTS=1");
  lab_start(1, 1, "--router mx-ams-1=slow-converge:115 --time-scale 20");
  write_policy("waves: {canary: 1, soak: 0}\nissu: {timeouts: {device: 2h}}\n"
               "checks: {converge: 1h55m, interval: 5m}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes --time-scale 20");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s",
                   str_at(fin, "error", "message"));
  cr_expect_not_null(last_of(&j, "check-passed", "mx-ams-1", "post"));
  journal_free(&j);
}

Test(checks_e2e, a_canary_post_check_failure_halts_the_run, .timeout = 300, .fini = lab_stop)
{
  NEED_SIM("peer-lost");
  lab_start(3, 1, "--router mx-ams-1=peer-lost");
  write_policy("waves: {canary: [mx-ams-1], serial: [2], soak: 0}\n"
               "failures: {max_failed: 10}\n"
               "checks: {converge: 2m, interval: 1m}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 3, "halted: exit 3\n%s", out);
  free(out);
  struct journal j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "error", "code"), "post-check-failed");
  cr_expect_eq(count_of(&j, "budget-exceeded", NULL, NULL), 1);
  cr_expect_eq(count_of(&j, "device-started", NULL, NULL), 1, "only the canary started");
  journal_free(&j);
}

/* ---- the pre-check ---- */

/* A JSNAPy file whose single-snapshot test fails on every router (no FPC is ever Broken). */
static void write_failing_test_file(void)
{
  char path[400];
  snprintf(path, sizeof path, "%s/broken.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("tests_include: [fpc_broken]\n"
        "fpc_broken:\n"
        "  - command: show chassis fpc pic-status\n"
        "  - iterate:\n"
        "      xpath: //fpc\n"
        "      id: slot\n"
        "      tests:\n"
        "        - is-equal: state, Broken\n"
        "          err: \"FPC {{id_0}} is not broken\"\n",
        f);
  fclose(f);
}

Test(checks_e2e, a_failing_pre_check_refuses_the_router_or_warns_as_the_policy_says, .timeout = 300,
     .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_failing_test_file();
  write_policy("waves: {canary: 1, soak: 0}\n"
               "checks: {files: [broken.yaml], pre_check: fail}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 3, "the canary failed: exit 3\n%s", out);
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "error", "code"), "pre-check-failed", "%s",
                   str_at(fin, "error", "message"));
  cr_expect_str_eq(str_at(fin, "issu", "phase"), "preflight");
  const cJSON *failed = last_of(&j, "check-failed", "mx-ams-1", "pre");
  cr_assert_not_null(failed);
  cr_expect(failure_names(failed, "fpc_broken"));
  cr_expect_str_eq(str_at(failed, "log.level", NULL), "error");
  cJSON *st = status_of("mx-ams-1");
  cr_expect_eq(cJSON_GetObjectItem(st, "issu_starts")->valueint, 0, "nothing was done to it");
  cJSON_Delete(st);
  journal_free(&j);
  lab_stop();

  /* warn: the router goes on (and its post-check, which runs the same test, fails). */
  lab_start(1, 1, NULL);
  write_failing_test_file();
  write_policy("waves: {canary: 1, soak: 0}\nfailures: {max_failed: 1}\n"
               "checks: {files: [broken.yaml], pre_check: warn, converge: 1m}\n");
  rc = issu_fleet(&out, "run", "--yes");
  free(out);
  j = journal_read();
  failed = last_of(&j, "check-failed", "mx-ams-1", "pre");
  cr_assert_not_null(failed);
  cr_expect_str_eq(str_at(failed, "log.level", NULL), "warn");
  cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(checks_of(failed), "refused")));
  st = status_of("mx-ams-1");
  cr_expect_eq(cJSON_GetObjectItem(st, "issu_starts")->valueint, 1, "the ISSU went out");
  cJSON_Delete(st);
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "error", "code"), "post-check-failed");
  journal_free(&j);
}

/* At --net-scale 1000, `show interfaces terse | display xml` is about 10 MiB: more than the
 * transport's default bound (8 MiB), which used to cut it silently into "not well-formed XML".
 * The check's session delivers CHECK_ANSWER_MAX. */
Test(checks_e2e, an_answer_over_8_mib_is_read_whole, .timeout = 300, .fini = lab_stop)
{
  lab_start(1, 1, "--net-scale 1000");
  /* A single-snapshot test on the long answer, so `check` reads it. */
  char path[400];
  snprintf(path, sizeof path, "%s/ports.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("ports:\n  - command: show interfaces terse\n  - iterate:\n"
        "      xpath: //physical-interface\n      id: name\n      tests:\n"
        "        - exists: oper-status\n",
        f);
  fclose(f);
  write_policy("waves: {canary: 1}\nchecks: {files: [ports.yaml]}\n");
  /* At --time-scale 1 each command may take its whole 300 s: what is tested is that the long
   * answer arrives whole, not how fast (under valgrind on a loaded machine nine answers of up to
   * 10 MiB outlasted the 15 s floor a command has at --time-scale 600). */
  char *out;
  int rc = sh(&out,
              "%s check -i %s/inventory.yaml -p %s/test.yaml --time-scale 1 --state-dir %s/state "
              "--run-id t </dev/null",
              ISSU_BINARY, dir, dir, dir);
  cr_expect_eq(rc, 0, "ready\n%s", out);
  cr_expect_null(strstr(out, "well-formed"), "%s", out);
  free(out);
  struct journal j = journal_read();
  cr_expect_not_null(last_of(&j, "check-passed", "mx-ams-1", "check"));
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success");
  journal_free(&j);
}

/* Each run keeps its snapshots in its own folder (STATE_DIR/checks/RUN_ID/): a second run in
 * the same state directory never overwrites the pre snapshot of a run that may be resumed. */
Test(checks_e2e, each_run_keeps_its_snapshots_under_its_run_id, .timeout = 300, .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1}\n");
  const char *ids[] = {"first", "second"};
  for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
    char *out;
    int rc = sh(&out,
                "%s check -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir "
                "%s/state --run-id %s </dev/null",
                ISSU_BINARY, dir, dir, dir, ids[i]);
    cr_expect_eq(rc, 0, "%s", out);
    free(out);
  }
  for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
    char want[400], journal[400];
    snprintf(want, sizeof want, "%s/state/checks/%s/mx-ams-1.check.xml", dir, ids[i]);
    cr_expect(file_exists(want), "%s", want);
    snprintf(journal, sizeof journal, "%s/state/%s.jsonl", dir, ids[i]);
    char *out = NULL;
    sh(&out, "grep -c '\"file\":\"%s\"' %s", want, journal);
    cr_expect_eq(atoi(out), 1, "%s journals %s", journal, want);
    free(out);
  }
}

/* Values cut for an event (FIELD_MAX, the router's error message) are cut between characters:
 * a message of "a" and 150 three-byte euro signs is cut at 300 bytes in the middle of one. */
Test(checks_e2e, values_cut_for_events_stay_utf8, .timeout = 300, .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  char euros[600] = "a", path[400];
  for (int i = 0; i < 150; i++)
    strcat(euros, "\xe2\x82\xac");
  snprintf(path, sizeof path, "%s/ports.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f,
          "ports:\n  - command: show interfaces terse\n  - iterate:\n"
          "      xpath: //physical-interface\n      id: name\n      tests:\n"
          "        - is-equal: oper-status, %s\n"
          "          err: \"%s\"\n",
          euros, euros);
  fclose(f);
  write_policy("waves: {canary: 1}\nchecks: {builtin: off, files: [ports.yaml]}\n");
  char *out;
  int rc = issu_fleet(&out, "check", NULL);
  cr_expect_eq(rc, 1, "the pre-check fails: not ready\n%s", out);
  free(out);
  struct journal j = journal_read(); /* asserts every line is UTF-8 */
  const cJSON *failed = last_of(&j, "check-failed", "mx-ams-1", "check");
  cr_assert_not_null(failed);
  const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(checks_of(failed), "failures"), 0);
  cr_assert_not_null(first);
  cr_expect_eq(strlen(str_at(first, "message", NULL)), 298, "cut before the split character");
  journal_free(&j);
}

Test(checks_e2e, a_long_diff_is_cut_so_the_event_line_stays_under_16_kib, .timeout = 300,
     .fini = lab_stop)
{
  /* Every port of a scaled-up router fails, each with a long message. */
  lab_start(1, 1, "--net-scale 20");
  char path[400];
  snprintf(path, sizeof path, "%s/ports.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f,
          "ports:\n  - command: show interfaces terse\n  - iterate:\n"
          "      xpath: //physical-interface\n      id: name\n      tests:\n"
          "        - is-equal: oper-status, sideways\n"
          "          err: \"interface {{id_0}} %s\"\n",
          "is not sideways, which this deliberately impossible rule wants it to be, so that "
          "every interface fails with a message long enough to fill an event line with them "
          "and make the writer cut the list well before it reaches sixteen kibibytes");
  fclose(f);
  write_policy("waves: {canary: 1}\nchecks: {builtin: off, files: [ports.yaml]}\n");
  char *out;
  int rc = issu_fleet(&out, "check", NULL);
  cr_expect_eq(rc, 1, "the pre-check fails: not ready\n%s", out);
  free(out);
  struct journal j = journal_read(); /* asserts every line is under 16 KiB */
  const cJSON *failed = last_of(&j, "check-failed", "mx-ams-1", "check");
  cr_assert_not_null(failed);
  const cJSON *ck = checks_of(failed);
  cr_expect_gt(cJSON_GetArraySize(cJSON_GetObjectItem(ck, "failures")), 5, "some are listed");
  cr_expect_gt(cJSON_GetObjectItem(ck, "failures_left_off")->valuedouble, 0, "the rest counted");
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "error", "code"), "pre-check-failed");
  journal_free(&j);
}

/* ---- resume ---- */

/* The router shows the ISSU under way (its backup RE is being upgraded). */
static bool issu_sent(void)
{
  return journal_count("\"phase\":\"backup-upgrade\"") > 0;
}

/* The wrapper holds the look before the ISSU (its marker). */
static bool look_blocked(void)
{
  return lab_file("blocked");
}

Test(checks_e2e, a_resume_after_the_issu_went_out_reuses_the_pre_snapshot, .timeout = 900,
     .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1, soak: 0}\n");
  /* The router's ISSU waits before its backup RE's reboot: the ISSU went out and the router
   * shows it, the run is killed. */
  lab_hold("mx-ams-1", "backup-reboot");
  pid_t pid = run_in_background(NULL);
  assert_run_reaches(pid, issu_sent, "the ISSU went out");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  cr_expect_eq(journal_count("\"action\":\"check-snapshot\""), 1, "the pre snapshot, journaled");
  char pre[400];
  snprintf(pre, sizeof pre, "%s/state/checks/t/mx-ams-1.pre.xml", dir);
  struct stat before;
  cr_assert_eq(stat(pre, &before), 0, "%s", pre);
  lab_release("mx-ams-1");
  pid = run_in_background("--resume t");
  char *log = NULL;
  int rc = wait_exit(pid);
  sh(&log, "cat %s/run.log", dir);
  cr_expect_eq(rc, 0, "the resumed run completes:\n%s", log);
  free(log);
  struct journal j = journal_read();
  cr_expect_eq(count_of(&j, "check-snapshot", "mx-ams-1", "pre"), 1, "never a second pre snapshot");
  cr_expect_not_null(last_of(&j, "check-passed", "mx-ams-1", "post"),
                     "the post-check compared with the journaled pre snapshot");
  const cJSON *passed = last_of(&j, "check-passed", "mx-ams-1", "post");
  cr_expect_null(cJSON_GetObjectItem(checks_of(passed), "reason"), "the pre snapshot was found");
  struct stat after;
  cr_assert_eq(stat(pre, &after), 0);
  cr_expect_eq(after.st_mtime, before.st_mtime, "the pre snapshot file was not rewritten");
  cr_expect_eq(after.st_ino, before.st_ino, "the pre snapshot file was not rewritten");
  journal_free(&j);
}

/* Between the pre-check and the post-check the pre snapshot waits on disk, not parsed in memory
 * (a few hundred KB a router in flight): the post-check reads the journaled file. Shown by taking
 * the file away mid-ISSU: the post-check then says it had no pre snapshot (an in-memory copy
 * would have compared as if nothing happened). */
Test(checks_e2e, the_post_check_reads_the_pre_snapshot_from_its_file, .timeout = 900,
     .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1, soak: 0}\n");
  lab_hold("mx-ams-1", "backup-reboot");
  pid_t pid = run_in_background(NULL);
  assert_run_reaches(pid, issu_sent, "the ISSU went out");
  char pre[400];
  snprintf(pre, sizeof pre, "%s/state/checks/t/mx-ams-1.pre.xml", dir);
  cr_assert_eq(unlink(pre), 0, "%s", pre);
  lab_release("mx-ams-1");
  expect_exit(pid, 0, "the run completes");
  struct journal j = journal_read();
  const cJSON *passed = last_of(&j, "check-passed", "mx-ams-1", "post");
  cr_assert_not_null(passed);
  const char *reason = str_at(checks_of(passed), "reason", NULL);
  cr_expect(reason && strstr(reason, "no pre snapshot"), "reason: %s", reason ? reason : "(none)");
  cr_expect_str_eq(str_at(passed, "log.level", NULL), "warn", "said as a warning");
  journal_free(&j);
}

/* Routes the lab's routers through a wrapper (the local transport) that runs `body` before the
 * simulator; as test_rollout's. */
static void use_wrapper(const char *body)
{
  char path[400];
  snprintf(path, sizeof path, "%s/wrap.sh", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "#!/bin/sh\nst=\"$1\"\n%s\nexec %s device --state \"$st\"\n", body, JUNOS_SIM_BINARY);
  fclose(f);
  char *out;
  cr_assert_eq(sh(&out,
                  "chmod +x %s/wrap.sh && sed -i 's#issu_local_command: \"%s device --state "
                  "#issu_transport: local, issu_local_command: \"%s/wrap.sh #' %s/inventory.yaml "
                  "&& grep -q wrap.sh %s/inventory.yaml",
                  dir, JUNOS_SIM_BINARY, dir, dir, dir),
               0, "%s", out);
  free(out);
}

/* A one-router lab whose run is killed once the pre snapshot is journaled, at the router's next
 * command (the look before the ISSU, held while DIR/hold exists), before validate. */
static void run_killed_at_the_look_before_the_issu(void)
{
  lab_start(1, 1, NULL);
  char body[1600];
  snprintf(body, sizeof body,
           "if [ -f %s/hold ] && grep -q '\"check-snapshot\"' %s/state/t.jsonl 2>/dev/null; then\n"
           "  touch %s/blocked; while [ -f %s/hold ]; do sleep 0.05; done; exit 1\nfi",
           dir, dir, dir, dir);
  use_wrapper(body);
  char *out;
  cr_assert_eq(sh(&out, "touch %s/hold", dir), 0, "%s", out);
  free(out);
  write_policy("waves: {canary: 1, soak: 0}\n");
  pid_t pid = run_in_background(NULL);
  assert_run_reaches(pid, look_blocked, "the run reached the look before the ISSU");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  cr_expect_eq(journal_count("\"phase\":\"validate\""), 0, "killed before validate");
}

Test(checks_e2e, a_resume_before_the_issu_reuses_the_journaled_pre_snapshot, .timeout = 900,
     .fini = lab_stop)
{
  run_killed_at_the_look_before_the_issu();
  char *out;
  char pre[400];
  snprintf(pre, sizeof pre, "%s/state/checks/t/mx-ams-1.pre.xml", dir);
  struct stat before;
  cr_assert_eq(stat(pre, &before), 0, "%s", pre);
  cr_assert_eq(sh(&out, "rm -f %s/hold", dir), 0, "%s", out);
  free(out);
  pid_t pid = run_in_background("--resume t");
  expect_exit(pid, 0, "the resumed run completes");
  struct journal j = journal_read();
  cr_expect_eq(count_of(&j, "check-snapshot", "mx-ams-1", "pre"), 2);
  const cJSON *again = last_of(&j, "check-snapshot", "mx-ams-1", "pre");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(checks_of(again), "reused")),
            "the resumed run reused the journaled pre snapshot");
  cr_expect_not_null(last_of(&j, "check-passed", "mx-ams-1", "post"));
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success");
  struct stat after;
  cr_assert_eq(stat(pre, &after), 0);
  cr_expect_eq(after.st_ino, before.st_ino, "the pre snapshot file was not rewritten");
  cr_expect_eq(after.st_mtime, before.st_mtime, "the pre snapshot file was not rewritten");
  journal_free(&j);
}

/* The file the journal names is gone at a resume before validate (the state directory moved:
 * the journal names it by its old path): preflight takes the pre snapshot again, and the
 * post-check compares with that one, not with the file that is gone (single-snapshot tests only).
 */
Test(checks_e2e, a_pre_snapshot_taken_again_at_a_resume_is_the_one_the_post_check_reads,
     .timeout = 900, .fini = lab_stop)
{
  run_killed_at_the_look_before_the_issu();
  char *out;
  /* Where the journal says the pre snapshot is, nothing is any more. */
  cr_assert_eq(sh(&out,
                  "sed -i 's#%s/state/checks/t/mx-ams-1.pre.xml#%s/moved/mx-ams-1.pre.xml#' "
                  "%s/state/t.jsonl && grep -q '%s/moved/' %s/state/t.jsonl && rm -f %s/hold",
                  dir, dir, dir, dir, dir, dir),
               0, "%s", out);
  free(out);
  pid_t pid = run_in_background("--resume t");
  expect_exit(pid, 0, "the resumed run completes");
  struct journal j = journal_read();
  const cJSON *again = last_of(&j, "check-snapshot", "mx-ams-1", "pre");
  cr_assert_not_null(again);
  cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(checks_of(again), "reused")),
            "the resumed run took the pre snapshot again");
  const cJSON *passed = last_of(&j, "check-passed", "mx-ams-1", "post");
  cr_assert_not_null(passed);
  const char *reason = str_at(checks_of(passed), "reason", NULL);
  cr_expect_str_eq(reason, "", "the post-check compared with the pre snapshot just taken: %s",
                   reason);
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success");
  journal_free(&j);
}

/* ---- a snapshot's commands at once (checks.channels) ---- */

/* The built-in suite (the commands of a snapshot); the caller frees it. */
static struct check_suite *builtin_suite(void)
{
  struct diag d = {.max = DIAG_DEFAULT_MAX};
  struct policy *p = load_policy("", &d);
  cr_assert_not_null(p);
  struct check_suite *s = policy_check_suite(p, false, &d);
  cr_assert_not_null(s);
  policy_free(p);
  diag_free(&d);
  return s;
}

/* A wrapper that logs the start and end of every `... | display xml` command in DIR/cmds.log;
 * with `barrier`, the snapshot's first command (`first`), the first time, waits (at most ~8 s,
 * under the commands' 15 s limit) until another command has started, and logs whether one did:
 * deterministic proof of overlap, no clock deciding. */
static void log_check_commands(bool barrier, const char *first)
{
  char body[4096];
  snprintf(
      body, sizeof body,
      "case \"$SSH_ORIGINAL_COMMAND\" in *'display xml')\n"
      "  echo \"start $SSH_ORIGINAL_COMMAND\" >> %s/cmds.log\n"
      "  if [ %d = 1 ] && [ \"$SSH_ORIGINAL_COMMAND\" = '%s | display xml' ] && "
      "[ ! -f %s/first ]; then\n"
      "    touch %s/first; n=0\n"
      "    while [ $(grep -c '^start' %s/cmds.log) -lt 2 ] || "
      "[ \"$(tail -n 1 %s/cmds.log)\" = \"start $SSH_ORIGINAL_COMMAND\" ]; do\n"
      "      [ $n -ge 800 ] && break; sleep 0.01; n=$((n+1)); done\n"
      "    if [ $n -lt 800 ]; then echo met >> %s/cmds.log; else echo alone >> %s/cmds.log; fi\n"
      "  fi\n"
      "  %s device --state \"$st\"; rc=$?\n"
      "  echo \"end $SSH_ORIGINAL_COMMAND\" >> %s/cmds.log; exit $rc;;\n"
      "esac",
      dir, barrier ? 1 : 0, first, dir, dir, dir, dir, dir, dir, JUNOS_SIM_BINARY, dir);
  use_wrapper(body);
}

/* Whether a log line names one of the suite's commands. */
static bool is_check(const struct check_suite *s, const char *cmd, size_t len)
{
  for (size_t i = 0; i < check_suite_command_count(s); i++) {
    char want[400];
    snprintf(want, sizeof want, "%s | display xml", check_suite_command(s, i));
    if (strlen(want) == len && strncmp(cmd, want, len) == 0)
      return true;
  }
  return false;
}

/* How many of the suite's commands ran at most at once, and how many were started. */
static unsigned most_at_once(const struct check_suite *s, const char *log, unsigned *starts)
{
  unsigned running = 0, most = 0;
  *starts = 0;
  for (const char *p = log; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (len > 6 && strncmp(p, "start ", 6) == 0 && is_check(s, p + 6, len - 6)) {
      (*starts)++;
      if (++running > most)
        most = running;
    } else if (len > 4 && strncmp(p, "end ", 4) == 0 && is_check(s, p + 4, len - 4) && running > 0)
      running--;
    if (nl == NULL)
      break;
    p = nl + 1;
  }
  return most;
}

static char *cmds_log(void)
{
  char *out;
  cr_assert_eq(sh(&out, "cat %s/cmds.log", dir), 0, "%s", out);
  return out;
}

Test(checks_e2e, a_snapshots_commands_run_at_once_and_the_snapshots_are_whole, .timeout = 300,
     .fini = lab_stop)
{
  struct check_suite *s = builtin_suite();
  lab_start(1, 1, NULL);
  log_check_commands(true, check_suite_command(s, 0));
  write_policy("waves: {canary: 1, soak: 0}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  char *log = cmds_log();
  cr_expect(strstr(log, "\nmet\n") != NULL,
            "another command started while the snapshot's first waited: %s", log);
  unsigned starts;
  unsigned most = most_at_once(s, log, &starts);
  cr_expect_gt(most, 1, "a snapshot's commands overlapped: %s", log);
  cr_expect_leq(most, 5, "never more than checks.channels (5): %s", log);
  size_t n = check_suite_command_count(s);
  /* Pre and post (verify runs some of the same commands on its own, one at a time). */
  cr_expect_geq(starts, 2 * n, "each command of each snapshot (%u): %s", starts, log);
  free(log);
  struct journal j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success");
  const cJSON *passed = last_of(&j, "check-passed", "mx-ams-1", "post");
  cr_assert_not_null(passed);
  cr_expect_eq(cJSON_GetObjectItem(checks_of(passed), "failed")->valuedouble, 0);
  cr_expect_eq(cJSON_GetObjectItem(checks_of(passed), "tests")->valuedouble,
               (double)check_suite_test_count(s), "every test ran on whole snapshots");
  journal_free(&j);
  check_suite_free(s);
}

Test(checks_e2e, with_one_channel_a_snapshots_commands_run_one_after_another, .timeout = 300,
     .fini = lab_stop)
{
  struct check_suite *s = builtin_suite();
  lab_start(1, 1, NULL);
  log_check_commands(false, check_suite_command(s, 0));
  write_policy("waves: {canary: 1, soak: 0}\nchecks: {channels: 1}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  char *log = cmds_log();
  unsigned starts;
  cr_expect_eq(most_at_once(s, log, &starts), 1, "one at a time: %s", log);
  cr_expect_geq(starts, 2 * check_suite_command_count(s));
  free(log);
  struct journal j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success");
  cr_expect_not_null(last_of(&j, "check-passed", "mx-ams-1", "post"));
  journal_free(&j);
  check_suite_free(s);
}

/* ---- issu-fleet check ---- */

Test(checks_e2e, check_takes_the_pre_snapshot_and_evaluates_the_single_snapshot_tests,
     .timeout = 300, .fini = lab_stop)
{
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [\"100%\"]}\n");
  char *out;
  int rc = issu_fleet(&out, "check", NULL);
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  struct journal j = journal_read();
  static const char *const routers[] = {"mx-ams-1", "mx-ams-2"};
  for (size_t i = 0; i < ARRAY_LEN(routers); i++) {
    const cJSON *snap = last_of(&j, "check-snapshot", routers[i], "check");
    cr_assert_not_null(snap, "%s", routers[i]);
    cr_expect(file_exists(str_at(checks_of(snap), "file", NULL)));
    cr_expect_not_null(last_of(&j, "check-passed", routers[i], "check"), "%s", routers[i]);
    cr_expect_str_eq(str_at(finished_of(&j, routers[i]), "issu", "result"), "ready");
  }
  /* Nothing else was done: no pre snapshot a later run could take for its own. */
  cr_expect_eq(count_of(&j, "check-snapshot", NULL, "pre"), 0);
  journal_free(&j);
}
