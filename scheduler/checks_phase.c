/*
 * Issue 15's health checks in a router's run: the pre snapshot after preflight (before stage and
 * validate), journaled with its file before anything else is done to the router; the pre-check
 * (single-snapshot tests on it), which refuses the router or warns as the policy says; and after
 * verify, the post snapshot compared with the pre one, retried every checks.interval until it
 * passes or checks.converge has passed (the run's clock: simulated time under --time-scale, a
 * timer, never a sleep). The checks themselves are checks/'s; this file runs their commands,
 * keeps their snapshots next to the journal and says what happened in events.
 */
#include "checks/checks.h"
#include "common/event_schema.h"
#include "scheduler/sched_internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What checks.h's failures may take of one event line (EVENT_LINE_MAX is 16 KiB): the rest is
 * counted, not listed; each value is cut to FIELD_MAX. */
#define FAILURES_BUDGET 10000
#define FIELD_MAX 300
#define WAIT_FLOOR_MS 20
/* A command's answer is kept whole (the device's own output keeps 4,000 lines, and `show
 * interfaces terse | display xml` of a large MX is longer): up to CHECK_ANSWER_MAX bytes, which
 * the session's transport is asked to deliver (device.c, try_connect). */
#define COMMAND_S 300.0
#define COMMAND_FLOOR_MS 15000

struct checks_state {
  struct check_snapshot *pre, *post, *taking;
  size_t cmd;          /* the next command of the snapshot being taken */
  bool post_phase;     /* taking post snapshots */
  unsigned attempts;   /* post attempts */
  double first_s;      /* run clock: the first post attempt */
  double deadline_s;   /* run clock: when checks.converge runs out */
  double taking_s;     /* run clock: when the snapshot being taken was started (its cost) */
  char put_error[200]; /* the last answer that was not XML */
  char *answer;        /* the command's answer as it comes */
  size_t answer_len, answer_cap;
  bool answer_cut; /* longer than ANSWER_MAX, or a line the transport cut */
  bool on_backup;  /* the session is on the backup RE (device_line_on_backup) */
};

/* ---- the run's suite, built on first use ---- */

static struct check_suite *run_suite(struct rollout *run, char *err, size_t errlen)
{
  if (run->checks == NULL && !run->checks_failed) {
    struct diag d = {.max = DIAG_DEFAULT_MAX};
    /* Without the switchback RE1 may be left master: `Backup RE Active` is then expected. */
    bool allow = !(run->p->issu.switchback && run->p->issu.old_master == OLD_MASTER_REBOOT);
    run->checks = policy_check_suite(run->p, allow, &d);
    run->checks_failed = run->checks == NULL;
    if (run->checks_failed)
      snprintf(run->checks_error, sizeof run->checks_error, "%s",
               d.count ? d.lines[0] : "the checks could not be built");
    diag_free(&d);
  }
  if (run->checks_failed)
    snprintf(err, errlen, "%s", run->checks_error);
  return run->checks;
}

void checks_run_free(struct rollout *run)
{
  check_suite_free(run->checks);
  run->checks = NULL;
}

static struct checks_state *state_of(struct device *dv)
{
  if (dv->checks == NULL)
    dv->checks = xcalloc(1, sizeof *dv->checks);
  return dv->checks;
}

void checks_device_free(struct device *dv)
{
  struct checks_state *st = dv->checks;
  if (st == NULL)
    return;
  check_snapshot_free(st->pre);
  check_snapshot_free(st->post);
  check_snapshot_free(st->taking);
  free(st->answer);
  free(st);
  dv->checks = NULL;
}

/* fsyncs a directory, so an entry made in it (a folder, a renamed file) survives a power loss. */
static void sync_folder(const char *path)
{
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

/* STATE_DIR/checks/RUN_ID/ROUTER.MOMENT.xml, STATE_DIR being the journal's folder: each run its
 * own folder, so another run sharing the state directory never overwrites the pre snapshot a
 * crashed run will compare with after its ISSU. `create`: the folders are made, and each one
 * made is fsync'ed into its parent before the snapshot's line is journaled (the file itself is
 * fsync'ed and renamed by check_snapshot_save, which fsyncs the folder it is in). */
static char *snapshot_path(const struct device *dv, const char *moment, bool create)
{
  const char *journal = event_log_path(dv->run->log);
  const char *slash = strrchr(journal, '/');
  char *state = slash ? xasprintf("%.*s", slash == journal ? 1 : (int)(slash - journal), journal)
                      : xstrdup(".");
  char *checks = xasprintf("%s/checks", state);
  char *folder = xasprintf("%s/%s", checks, event_log_run_id(dv->run->log));
  struct stat sb;
  if (create && stat(folder, &sb) != 0) {
    bool had_checks = stat(checks, &sb) == 0;
    dir_create(folder, 0700);
    sync_folder(checks); /* holds the new RUN_ID folder */
    if (!had_checks)
      sync_folder(state); /* holds the new checks folder */
  }
  char *path = xasprintf("%s/%s.%s.xml", folder, dv->name, moment);
  free(folder);
  free(checks);
  free(state);
  return path;
}

/* The pre snapshot the journal names (its line is the authority on resume), else where this
 * run keeps it. */
static char *journaled_pre(const struct device *dv)
{
  return dv->checks_pre_file ? xstrdup(dv->checks_pre_file) : snapshot_path(dv, "pre", false);
}

/* ---- events ---- */

/* An event of the checks: its message is "ROUTER: what". */
static cJSON *check_event(struct device *dv, const char *level, const char *action,
                          const char *moment, cJSON **ck, const char *what)
{
  cJSON *ev = event_new(dv->run->log, level, action, dv->name, "%s: %s", dv->name, what);
  if (dv->site)
    cJSON_AddStringToObject(event_labels(ev), "site", dv->site);
  cJSON *is = event_issu(ev);
  cJSON_AddNumberToObject(is, F_WAVE, (double)dv->wave);
  *ck = cJSON_AddObjectToObject(is, F_CHECKS);
  cJSON_AddStringToObject(*ck, F_CHECK_MOMENT, moment);
  return ev;
}

static void add_cut(cJSON *o, const char *key, const char *value)
{
  char buf[FIELD_MAX + 1];
  text_utf8_copy(buf, sizeof buf, value ? value : ""); /* never half a character */
  cJSON_AddStringToObject(o, key, buf);
}

/* The outcome's counts and its failed items, as many as fit the line (the rest counted). */
static void add_outcome(cJSON *ck, const struct check_outcome *out)
{
  cJSON_AddNumberToObject(ck, F_CHECK_TESTS, out->tests_run);
  cJSON_AddNumberToObject(ck, F_CHECK_PASSED, out->tests_passed);
  cJSON_AddNumberToObject(ck, F_CHECK_FAILED, out->tests_failed);
  if (out->failure_count == 0)
    return;
  cJSON *list = cJSON_AddArrayToObject(ck, F_CHECK_FAILURES);
  size_t used = 0, i;
  for (i = 0; i < out->failure_count; i++) {
    const struct check_failure *f = &out->failures[i];
    const char *v[] = {f->test, f->command, f->item, f->rule, f->pre, f->post, f->message};
    size_t len = 100; /* keys and quotes */
    for (size_t k = 0; k < ARRAY_LEN(v); k++)
      len += v[k] ? (strlen(v[k]) < FIELD_MAX ? strlen(v[k]) : FIELD_MAX) * 2 : 0;
    if (used + len > FAILURES_BUDGET)
      break;
    used += len;
    cJSON *o = cJSON_CreateObject();
    add_cut(o, "test", f->test);
    add_cut(o, "command", f->command);
    add_cut(o, "item", f->item);
    add_cut(o, "rule", f->rule);
    add_cut(o, "pre", f->pre);
    add_cut(o, "post", f->post);
    if (f->message && *f->message)
      add_cut(o, "message", f->message);
    cJSON_AddItemToArray(list, o);
  }
  if (i < out->failure_count)
    cJSON_AddNumberToObject(ck, F_CHECK_FAILURES_LEFT, (double)(out->failure_count - i));
}

/* "bgp-peers: peer-address=10.0.0.2 Established -> Active (no-diff peer-state)", for the
 * router's error message. */
static void first_failure(const struct check_outcome *out, char *buf, size_t len)
{
  if (out->failure_count == 0) {
    snprintf(buf, len, "%u of %u tests failed", out->tests_failed, out->tests_run);
    return;
  }
  const struct check_failure *f = &out->failures[0];
  const char *pre = f->pre && *f->pre ? f->pre : "(none)";
  const char *post = f->post && *f->post ? f->post : "(none)";
  /* Each value cut at a character's boundary: the message goes into events (UTF-8). */
#define CUT(s, n) (int)text_utf8_cut(s, n), (s) ? (s) : ""
  snprintf(buf, len, "%.*s: %.*s%s%.*s -> %.*s (%.*s)%s", CUT(f->test, 60), CUT(f->item, 100),
           f->item && *f->item ? " " : "", CUT(pre, 60), CUT(post, 60), CUT(f->rule, 80),
           out->failure_count > 1 ? "; more in the check-failed event" : "");
#undef CUT
}

/* ---- taking a snapshot: each command of the suite, one after the other ---- */

static void snapshot_next(struct device *dv);
static void pre_taken(struct device *dv);
static void post_taken(struct device *dv);

/* The XML document of a command's answer: from its first '<' to its last '>' (a prompt may
 * follow it). */
static void put_answer(struct device *dv, struct checks_state *st)
{
  const char *buf = st->answer ? st->answer : "";
  const char *start = strchr(buf, '<');
  const char *end = strrchr(buf, '>');
  size_t len = start && end && end >= start ? (size_t)(end - start) + 1 : 0;
  if (st->answer_cut) {
    snprintf(st->put_error, sizeof st->put_error,
             "the answer to `%s` was cut: answer longer than %u MiB (a line too long or more "
             "than the session delivers)",
             check_suite_command(dv->run->checks, st->cmd), CHECK_ANSWER_MAX >> 20);
    device_note(dv, st->put_error);
    len = 0; /* the test that needs it fails, saying the answer is unusable */
  }
  if (check_snapshot_put(st->taking, st->cmd, start && len ? start : "", len, st->put_error,
                         sizeof st->put_error) < 0)
    device_note(dv, st->put_error);
}

static void answer_append(struct checks_state *st, const char *s, size_t n)
{
  if (st->answer_len + n + 2 > CHECK_ANSWER_MAX) {
    st->answer_cut = true;
    return;
  }
  st->answer = xgrow(st->answer, &st->answer_cap, st->answer_len + n + 2, 1);
  memcpy(st->answer + st->answer_len, s, n);
  st->answer_len += n;
  st->answer[st->answer_len++] = '\n';
  st->answer[st->answer_len] = '\0';
}

static void answer_line(struct transport *t, enum transport_stream stream, const char *line,
                        size_t len, bool cut, void *data)
{
  struct device *dv = data;
  struct checks_state *st = dv->checks;
  if (dv->t != t || st == NULL)
    return;
  char clean[1024];
  enum junos_line_kind kind = junos_clean_line(line, len, clean, sizeof clean);
  if (device_line_on_backup(clean))
    st->on_backup = true;
  if (stream == TRANSPORT_STDERR) {
    if (kind != LINE_NOISE)
      device_note(dv, clean);
    return;
  }
  st->answer_cut |= cut;
  /* Cleaned as every other answer is (timestamps, banners, CRs); a line longer than the clean
   * buffer is kept as it came rather than cut. */
  if (len < sizeof clean) {
    if (kind != LINE_NOISE)
      answer_append(st, clean, strlen(clean));
    return;
  }
  answer_append(st, line, line[len - 1] == '\r' ? len - 1 : len);
}

static void command_done(struct device *dv, const struct transport_result *r);

static void answer_done(struct transport *t, const struct transport_result *r, void *data)
{
  struct device *dv = data;
  if (dv->t != t || dv->finished)
    return;
  if (r->truncated && dv->checks)
    dv->checks->answer_cut = true; /* the transport dropped the rest: never read in part */
  if (r->error != TRANSPORT_OK) {
    /* As device_exec's: a session that failed a command is not trusted with the next. */
    device_note(dv, r->message);
    device_drop_session(dv);
  }
  command_done(dv, r);
}

/* Runs one command of the suite with its answer kept whole in st->answer. */
static void answer_exec(struct device *dv, const char *command)
{
  struct checks_state *st = dv->checks;
  if (dv->run->fatal)
    return; /* the journal cannot be written: nothing more is sent (the run stops) */
  st->answer_len = 0;
  if (st->answer)
    st->answer[0] = '\0';
  st->answer_cut = st->on_backup = false;
  uint64_t limit = rollout_real_ms(dv->run, COMMAND_S, COMMAND_FLOOR_MS);
  int rc = transport_exec(dv->t, command, NULL, (unsigned)limit, answer_line, answer_done, dv);
  if (rc < 0) {
    struct transport_result r = {.error = rc};
    snprintf(r.message, sizeof r.message, "%s: cannot run '%s': %s", dv->name, command,
             transport_error_name(rc));
    command_done(dv, &r);
  }
}

static void command_done(struct device *dv, const struct transport_result *r)
{
  struct checks_state *st = dv->checks;
  if (r->error != TRANSPORT_OK || st->on_backup) {
    if (!st->post_phase) {
      device_fail(dv,
                  r->error != TRANSPORT_OK ? transport_error_name(r->error) : "pre-check-failed",
                  "failure", "pre snapshot: %s: %s", check_suite_command(dv->run->checks, st->cmd),
                  r->error != TRANSPORT_OK ? r->message : "the session is on the backup RE");
      return;
    }
    /* After the ISSU a session may drop or land on the backup: this attempt fails, the next
     * one asks again on a fresh session to the master. */
    device_note(dv, r->error != TRANSPORT_OK ? r->message : "session on the backup RE");
    device_drop_session(dv);
    check_snapshot_free(st->taking);
    st->taking = NULL;
    post_taken(dv);
    return;
  }
  put_answer(dv, st);
  st->cmd++;
  snapshot_next(dv);
}

static void snapshot_next(struct device *dv)
{
  struct checks_state *st = dv->checks;
  const struct check_suite *s = dv->run->checks;
  if (st->cmd == check_suite_command_count(s)) {
    free(st->answer); /* grown to the longest answer: not kept between snapshots */
    st->answer = NULL;
    st->answer_len = st->answer_cap = 0;
    if (st->post_phase)
      post_taken(dv);
    else
      pre_taken(dv);
    return;
  }
  char cmd[400];
  snprintf(cmd, sizeof cmd, "%s | display xml", check_suite_command(s, st->cmd));
  answer_exec(dv, cmd);
}

static void snapshot_start(struct device *dv)
{
  struct checks_state *st = dv->checks;
  check_snapshot_free(st->taking);
  st->taking = check_snapshot_new(dv->run->checks);
  st->cmd = 0;
  st->taking_s = rollout_now(dv->run);
  if (st->post_phase && st->attempts == 0)
    st->first_s = st->taking_s; /* the first attempt starts the time to converge */
  snapshot_next(dv);
}

/* ---- pre ---- */

static void pre_continue(struct device *dv)
{
  if (dv->run->o->check_only)
    device_succeed(dv, PH_DONE);
  else
    stage_start(dv);
}

/* The single-snapshot tests on the pre snapshot: refuse or warn. */
static void pre_check(struct device *dv, const char *moment)
{
  struct rollout *run = dv->run;
  struct checks_state *st = dv->checks;
  struct check_outcome out = {0};
  if (check_evaluate(run->checks, st->pre, NULL, &out) < 0) {
    device_fail(dv, "pre-check-failed", "failure", "pre-check: the checks could not be evaluated");
    return;
  }
  bool failed = out.tests_failed > 0;
  bool refuse = failed && run->p->checks.pre_check == PRE_CHECK_FAIL;
  char first[512];
  first_failure(&out, first, sizeof first);
  cJSON *ck;
  char what[600];
  snprintf(what, sizeof what, "pre-check %s", failed ? first : "passed");
  cJSON *ev = check_event(dv,
                          refuse   ? "error"
                          : failed ? "warn"
                                   : "info",
                          failed ? EV_CHECK_FAILED : EV_CHECK_PASSED, moment, &ck, what);
  add_outcome(ck, &out);
  cJSON_AddBoolToObject(ck, "refused", refuse);
  check_outcome_free(&out);
  if (rollout_emit(run, ev) < 0)
    return;
  if (refuse) {
    device_fail(dv, "pre-check-failed", "failure", "pre-check: %s", first);
    return;
  }
  if (!run->o->check_only) {
    /* The pre snapshot waits for the post-check on disk, not parsed in memory (a few hundred KB
     * a router for the whole ISSU, B8's memory in flight): the post phase reads the journaled
     * file, as a resumed run does. */
    check_snapshot_free(st->pre);
    st->pre = NULL;
    dv->checks_pre_journaled = true;
  }
  pre_continue(dv);
}

static void pre_journal(struct device *dv, const char *moment, const char *path, bool reused)
{
  cJSON *ck;
  cJSON *ev = check_event(dv, "info", EV_CHECK_SNAPSHOT, moment, &ck,
                          reused ? "pre snapshot reused" : "snapshot taken");
  cJSON_AddStringToObject(ck, F_CHECK_FILE, path);
  cJSON_AddBoolToObject(ck, F_CHECK_REUSED, reused);
  if (!reused)
    cJSON_AddNumberToObject(ck, F_CHECK_TOOK_S, rollout_now(dv->run) - dv->checks->taking_s);
  cJSON_AddNumberToObject(ck, F_CHECK_TESTS, (double)check_suite_test_count(dv->run->checks));
  /* Journaled (fsync'ed) before the next step acts: a resume finds it and reuses the file. */
  if (rollout_emit(dv->run, ev) < 0 || dv->run->fatal)
    return;
  pre_check(dv, moment);
}

static void pre_taken(struct device *dv)
{
  struct checks_state *st = dv->checks;
  const char *moment = dv->run->o->check_only ? "check" : "pre";
  st->pre = st->taking;
  st->taking = NULL;
  char *path = snapshot_path(dv, moment, true);
  char err[300];
  if (check_snapshot_save(st->pre, path, true, err, sizeof err) < 0) {
    device_fail(dv, "pre-check-failed", "failure", "cannot save the pre snapshot: %s", err);
    free(path);
    return;
  }
  pre_journal(dv, moment, path, false);
  free(path);
}

void checks_pre_start(struct device *dv)
{
  struct rollout *run = dv->run;
  char err[600];
  const struct check_suite *s = run_suite(run, err, sizeof err);
  if (s == NULL) {
    device_fail(dv, "pre-check-failed", "failure", "checks: %s", err);
    return;
  }
  if (check_suite_command_count(s) == 0) {
    pre_continue(dv);
    return;
  }
  struct checks_state *st = state_of(dv);
  st->post_phase = false;
  if (dv->checks_pre_journaled && !run->o->check_only) {
    /* A resume before the ISSU went out: the pre snapshot this run journaled is the one. */
    char *path = journaled_pre(dv);
    st->pre = check_snapshot_load(s, path, err, sizeof err);
    if (st->pre) {
      pre_journal(dv, "pre", path, true);
      free(path);
      return;
    }
    device_note(dv, err);
    free(path);
  }
  device_with_session(dv, snapshot_start);
}

/* ---- post ---- */

static void post_attempt(struct device *dv)
{
  device_with_session(dv, snapshot_start);
}

/* The last word: the post snapshot kept next to the pre one, and the verdict journaled.
 * `expired` (or NULL) says the time ran out before an attempt could end it. */
static void post_verdict(struct device *dv, const struct check_outcome *out, bool passed,
                         const char *first, const char *expired)
{
  struct rollout *run = dv->run;
  struct checks_state *st = dv->checks;
  double now = rollout_now(run);
  char *path = snapshot_path(dv, "post", true);
  char err[300];
  if (st->post && check_snapshot_save(st->post, path, false, err, sizeof err) < 0)
    device_note(dv, err);
  char what[700];
  if (expired)
    snprintf(what, sizeof what, "post-check %s; %s", first, expired);
  else
    snprintf(what, sizeof what, "post-check %s", passed ? "passed" : first);
  cJSON *ck;
  cJSON *ev = check_event(dv, passed ? "info" : "error", passed ? EV_CHECK_PASSED : EV_CHECK_FAILED,
                          "post", &ck, what);
  cJSON_AddStringToObject(ck, F_CHECK_FILE, path);
  cJSON_AddNumberToObject(ck, F_CHECK_ATTEMPT, st->attempts);
  /* The time to converge: from the first attempt to the start of the one that passed (0 when
   * the first passed); on a failure, how long it kept trying. */
  cJSON_AddNumberToObject(ck, F_CHECK_CONVERGE_S, (passed ? st->taking_s : now) - st->first_s);
  if (!st->pre)
    cJSON_AddStringToObject(ck, F_REASON, "no pre snapshot: the single-snapshot tests only");
  else if (expired)
    cJSON_AddStringToObject(ck, F_REASON, expired);
  add_outcome(ck, out);
  free(path);
  if (rollout_emit(run, ev) < 0)
    return;
  if (passed)
    device_succeed(dv, PH_DONE);
  else
    device_fail(dv, "post-check-failed", "failure",
                "post-check after %u attempt%s over %.0fs: %s%s%s", st->attempts,
                st->attempts == 1 ? "" : "s", now - st->first_s, first, expired ? "; " : "",
                expired ? expired : "");
}

/* Evaluates the last post snapshot taken (NULL: none could be): `first` says what failed. */
static bool post_evaluate(struct device *dv, struct check_outcome *out, char *first, size_t len)
{
  struct rollout *run = dv->run;
  struct checks_state *st = dv->checks;
  bool evaluated =
      st->post != NULL && (st->pre ? check_evaluate(run->checks, st->pre, st->post, out)
                                   : check_evaluate(run->checks, st->post, NULL, out)) == 0;
  if (evaluated)
    first_failure(out, first, len);
  else {
    const struct device_live *lv = device_live(dv);
    const char *last = lv->nevidence ? lv->evidence[(lv->nevidence - 1) % EVIDENCE_LINES] : NULL;
    snprintf(first, len, "the post snapshot could not be taken: %s", last ? last : "");
  }
  return evaluated && out->tests_failed == 0;
}

static void post_taken(struct device *dv)
{
  struct rollout *run = dv->run;
  struct checks_state *st = dv->checks;
  st->attempts++;
  check_snapshot_free(st->post);
  st->post = st->taking;
  st->taking = NULL;
  struct check_outcome out = {0};
  char first[512];
  bool passed = post_evaluate(dv, &out, first, sizeof first);
  double now = rollout_now(run);
  cJSON *ck;
  char what[600];
  snprintf(what, sizeof what, "post-check attempt %u %s", st->attempts, passed ? "passed" : first);
  cJSON *ev = check_event(dv, "info", EV_CHECK_ATTEMPT, "post", &ck, what);
  /* The live view: each attempt, so a router waiting for its network is seen waiting. */
  progress_line(run, "%-16s checks attempt %u: %u of %u tests %s", dv->name, st->attempts,
                passed ? out.tests_passed : out.tests_failed, out.tests_run,
                passed ? "passed" : "failed");
  cJSON_AddNumberToObject(ck, F_CHECK_ATTEMPT, st->attempts);
  cJSON_AddNumberToObject(ck, F_CHECK_TOOK_S, now - st->taking_s);
  cJSON_AddNumberToObject(ck, F_CHECK_TESTS, out.tests_run);
  cJSON_AddNumberToObject(ck, F_CHECK_PASSED, out.tests_passed);
  cJSON_AddNumberToObject(ck, F_CHECK_FAILED, out.tests_failed);
  rollout_note(run, ev);
  double interval = (double)run->p->checks.interval_s;
  if (!passed && now + interval <= st->deadline_s) {
    check_outcome_free(&out);
    device_wait(dv, interval, WAIT_FLOOR_MS, post_attempt);
    return;
  }
  post_verdict(dv, &out, passed, first, NULL);
  check_outcome_free(&out);
}

bool checks_post_expire(struct device *dv, const char *why)
{
  struct checks_state *st = dv->checks;
  if (st == NULL || !st->post_phase || dv->finished)
    return false;
  /* The attempt under way (a command, or the wait before the next) is abandoned; the verdict
   * is the last whole attempt's, which failed (a passing one would have ended the router). */
  device_drop_session(dv);
  check_snapshot_free(st->taking);
  st->taking = NULL;
  struct check_outcome out = {0};
  char first[512];
  post_evaluate(dv, &out, first, sizeof first);
  if (st->post == NULL && st->attempts == 0)
    snprintf(first, sizeof first, "no post snapshot was taken");
  post_verdict(dv, &out, false, first, why);
  check_outcome_free(&out);
  return true;
}

void checks_post_start(struct device *dv)
{
  struct rollout *run = dv->run;
  char err[600];
  const struct check_suite *s = run_suite(run, err, sizeof err);
  if (s == NULL) {
    device_fail(dv, "post-check-failed", "failure", "checks: %s", err);
    return;
  }
  if (check_suite_command_count(s) == 0) {
    device_succeed(dv, PH_DONE);
    return;
  }
  struct checks_state *st = state_of(dv);
  if (st->pre == NULL && dv->checks_pre_journaled) {
    /* Resumed after the ISSU went out: the journaled pre snapshot, never a second one. */
    char *path = journaled_pre(dv);
    st->pre = check_snapshot_load(s, path, err, sizeof err);
    if (st->pre == NULL)
      device_note(dv, err);
    free(path);
  }
  st->post_phase = true;
  st->attempts = 0;
  st->first_s = rollout_now(run);
  st->deadline_s = st->first_s + (double)run->p->checks.converge_s;
  /* Waiting for the network is not a hung verify, nor part of the upgrade: the phase's timeout
   * and the router's (issu.timeouts.device) move by the convergence and the last attempt's
   * snapshot (each command bounded by its own limit). */
  uint64_t snapshot_ms =
      (uint64_t)check_suite_command_count(s) * rollout_real_ms(run, COMMAND_S, COMMAND_FLOOR_MS);
  device_extend_wait(dv, (double)run->p->checks.converge_s, snapshot_ms);
  post_attempt(dv);
}
