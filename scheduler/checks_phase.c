/*
 * Issue 15's health checks in a router's run: the pre snapshot after preflight (before stage and
 * validate), journaled with its file before anything else is done to the router; the pre-check
 * (single-snapshot tests on it), which refuses the router or warns as the policy says; and after
 * verify, the post snapshot compared with the pre one, retried every checks.interval until it
 * passes or checks.converge has passed (the run's clock: simulated time under --time-scale, a
 * timer, never a sleep). The checks themselves are checks/'s; this file runs their commands,
 * keeps their snapshots next to the journal and says what happened in events.
 *
 * A snapshot's commands run up to checks.channels at once on the router's one session (each on a
 * channel of its own: each costs the router an SSH exec, and one after another they were most of
 * a lab router's wall time, bench/RESULTS.md). Their answers are kept by command index and put
 * into the snapshot in the suite's order, so the snapshot is what one-after-another gave.
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

/* One command's answer as it comes. */
struct answer_slot {
  char *answer;
  size_t answer_len, answer_cap;
  bool answer_cut; /* longer than ANSWER_MAX, or a line the transport cut */
  bool on_backup;  /* the session is on the backup RE (device_line_on_backup) */
  bool done;       /* answered (put into the snapshot once those before it are) */
};

/* What a command's callbacks carry: its router, its index, and the attempt it belongs to (an
 * attempt that ended early leaves commands in flight; their answers are for no one). Freed by
 * the command's done callback, which the transport calls exactly once. */
struct answer_ticket {
  struct device *dv;
  size_t index;
  unsigned attempt;
};

struct checks_state {
  struct check_snapshot *pre, *post, *taking;
  struct answer_slot *slots; /* one per command of the suite, for the snapshot being taken */
  size_t nslots;
  size_t next_send;    /* the next command to send */
  size_t next_put;     /* the next answer to put into the snapshot (suite order) */
  unsigned in_flight;  /* commands sent and not answered */
  unsigned attempt;    /* bumped when a snapshot starts or ends early: older answers are stale */
  bool post_phase;     /* taking post snapshots */
  unsigned attempts;   /* post attempts */
  double first_s;      /* run clock: the first post attempt */
  double deadline_s;   /* run clock: when checks.converge runs out */
  double taking_s;     /* run clock: when the snapshot being taken was started (its cost) */
  char put_error[200]; /* the last answer that was not XML */
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
  for (size_t i = 0; i < st->nslots; i++)
    free(st->slots[i].answer);
  free(st->slots);
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

/* ---- taking a snapshot: the suite's commands, up to checks.channels at once ---- */

static void snapshot_fill(struct device *dv);
static void pre_taken(struct device *dv);
static void post_taken(struct device *dv);

/* The XML document of a command's answer: from its first '<' to its last '>' (a prompt may
 * follow it). */
static void put_answer(struct device *dv, struct checks_state *st, size_t i)
{
  struct answer_slot *a = &st->slots[i];
  const char *buf = a->answer ? a->answer : "";
  const char *start = strchr(buf, '<');
  const char *end = strrchr(buf, '>');
  size_t len = start && end && end >= start ? (size_t)(end - start) + 1 : 0;
  if (a->answer_cut) {
    snprintf(st->put_error, sizeof st->put_error,
             "the answer to `%s` was cut: answer longer than %u MiB (a line too long or more "
             "than the session delivers)",
             check_suite_command(dv->run->checks, i), CHECK_ANSWER_MAX >> 20);
    device_note(dv, st->put_error);
    len = 0; /* the test that needs it fails, saying the answer is unusable */
  }
  if (check_snapshot_put(st->taking, i, start && len ? start : "", len, st->put_error,
                         sizeof st->put_error) < 0)
    device_note(dv, st->put_error);
}

static void answer_append(struct answer_slot *a, const char *s, size_t n)
{
  if (a->answer_len + n + 2 > CHECK_ANSWER_MAX) {
    a->answer_cut = true;
    return;
  }
  a->answer = xgrow(a->answer, &a->answer_cap, a->answer_len + n + 2, 1);
  memcpy(a->answer + a->answer_len, s, n);
  a->answer_len += n;
  a->answer[a->answer_len++] = '\n';
  a->answer[a->answer_len] = '\0';
}

/* The slot a callback of ticket `tk` on transport `t` writes to; NULL when its attempt is over
 * (the session was dropped, the router finished, a newer snapshot started). */
static struct answer_slot *slot_of(struct transport *t, const struct answer_ticket *tk)
{
  struct device *dv = tk->dv;
  struct checks_state *st = dv->checks;
  if (dv->t != t || dv->finished || st == NULL || st->attempt != tk->attempt ||
      tk->index >= st->nslots)
    return NULL;
  return &st->slots[tk->index];
}

static void answer_line(struct transport *t, enum transport_stream stream, const char *line,
                        size_t len, bool cut, void *data)
{
  struct answer_ticket *tk = data;
  struct answer_slot *a = slot_of(t, tk);
  if (a == NULL)
    return;
  struct device *dv = tk->dv;
  char clean[1024];
  enum junos_line_kind kind = junos_clean_line(line, len, clean, sizeof clean);
  if (device_line_on_backup(clean))
    a->on_backup = true;
  if (stream == TRANSPORT_STDERR) {
    if (kind != LINE_NOISE)
      device_note(dv, clean);
    return;
  }
  a->answer_cut |= cut;
  /* Cleaned as every other answer is (timestamps, banners, CRs); a line longer than the clean
   * buffer is kept as it came rather than cut. */
  if (len < sizeof clean) {
    if (kind != LINE_NOISE)
      answer_append(a, clean, strlen(clean));
    return;
  }
  answer_append(a, line, line[len - 1] == '\r' ? len - 1 : len);
}

static void command_done(struct device *dv, size_t i, const struct transport_result *r);

static void answer_done(struct transport *t, const struct transport_result *r, void *data)
{
  struct answer_ticket *tk = data;
  struct device *dv = tk->dv;
  size_t i = tk->index;
  struct answer_slot *a = slot_of(t, tk);
  free(tk);
  if (a == NULL)
    return;
  dv->checks->in_flight--;
  if (r->truncated)
    a->answer_cut = true; /* the transport dropped the rest: never read in part */
  if (r->error != TRANSPORT_OK) {
    /* As device_exec's: a session that failed a command is not trusted with the next. */
    device_note(dv, r->message);
    device_drop_session(dv);
  }
  command_done(dv, i, r);
}

/* Sends command `i` of the suite; its answer is kept whole in its slot. */
static void answer_exec(struct device *dv, size_t i)
{
  struct checks_state *st = dv->checks;
  struct answer_slot *a = &st->slots[i];
  a->answer_len = 0;
  if (a->answer)
    a->answer[0] = '\0';
  a->answer_cut = a->on_backup = a->done = false;
  char command[400];
  snprintf(command, sizeof command, "%s | display xml", check_suite_command(dv->run->checks, i));
  uint64_t limit = rollout_real_ms(dv->run, COMMAND_S, COMMAND_FLOOR_MS);
  struct answer_ticket *tk = xcalloc(1, sizeof *tk);
  *tk = (struct answer_ticket){dv, i, st->attempt};
  st->in_flight++;
  int rc = transport_exec(dv->t, command, NULL, (unsigned)limit, answer_line, answer_done, tk);
  if (rc < 0) {
    free(tk); /* refused at once: no callback will come */
    st->in_flight--;
    struct transport_result r = {.error = rc};
    snprintf(r.message, sizeof r.message, "%s: cannot run '%s': %s", dv->name, command,
             transport_error_name(rc));
    command_done(dv, i, &r);
  }
}

static void command_done(struct device *dv, size_t i, const struct transport_result *r)
{
  struct checks_state *st = dv->checks;
  struct answer_slot *a = &st->slots[i];
  if (r->error != TRANSPORT_OK || a->on_backup) {
    st->attempt++; /* the commands still in flight answer no one */
    st->in_flight = 0;
    /* Nor are the answers that came kept until the next attempt (up to CHECK_ANSWER_MAX each
     * while the network converges: B8's memory in flight). */
    for (size_t k = 0; k < st->nslots; k++) {
      free(st->slots[k].answer);
      st->slots[k].answer = NULL;
      st->slots[k].answer_len = st->slots[k].answer_cap = 0;
    }
    if (!st->post_phase) {
      device_fail(dv,
                  r->error != TRANSPORT_OK ? transport_error_name(r->error) : "pre-check-failed",
                  "failure", "pre snapshot: %s: %s", check_suite_command(dv->run->checks, i),
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
  a->done = true;
  /* Into the snapshot in the suite's order (its notes too), each answer's memory freed as it
   * goes: a router in flight keeps only the answers that came early. */
  while (st->next_put < st->nslots && st->slots[st->next_put].done) {
    struct answer_slot *p = &st->slots[st->next_put];
    put_answer(dv, st, st->next_put);
    free(p->answer);
    p->answer = NULL;
    p->answer_len = p->answer_cap = 0;
    st->next_put++;
  }
  if (st->next_put == st->nslots) {
    /* The session's other users (device.c) run one command at a time, as they always did: a
     * timeout there still ends the session. */
    if (dv->t)
      transport_set_channels(dv->t, 1);
    if (st->post_phase)
      post_taken(dv);
    else
      pre_taken(dv);
    return;
  }
  snapshot_fill(dv);
}

/* Sends commands while channels are free. A command may end at once (a failed session), and
 * with it the attempt: the loop stops when the attempt is no longer this one. */
static void snapshot_fill(struct device *dv)
{
  struct checks_state *st = dv->checks;
  unsigned channels = dv->run->p->checks.channels ? dv->run->p->checks.channels : 1;
  unsigned attempt = st->attempt;
  while (st->next_send < st->nslots && st->in_flight < channels) {
    if (dv->run->fatal || dv->t == NULL || dv->finished)
      return; /* the journal cannot be written: nothing more is sent (the run stops) */
    answer_exec(dv, st->next_send++);
    if (dv->checks != st || st->attempt != attempt)
      return;
  }
}

static void snapshot_start(struct device *dv)
{
  struct checks_state *st = dv->checks;
  const struct check_suite *s = dv->run->checks;
  check_snapshot_free(st->taking);
  st->taking = check_snapshot_new(s);
  size_t n = check_suite_command_count(s);
  if (st->nslots != n) {
    for (size_t i = 0; i < st->nslots; i++)
      free(st->slots[i].answer);
    free(st->slots);
    st->slots = xcalloc(n, sizeof *st->slots);
    st->nslots = n;
  }
  for (size_t i = 0; i < n; i++)
    st->slots[i].done = false;
  st->attempt++;
  st->next_send = st->next_put = 0;
  st->in_flight = 0;
  st->taking_s = rollout_now(dv->run);
  if (st->post_phase && st->attempts == 0)
    st->first_s = st->taking_s; /* the first attempt starts the time to converge */
  /* One channel per command on the one session, up to checks.channels (the transport waits for
   * a free one when the router refuses more). */
  transport_set_channels(dv->t, dv->run->p->checks.channels);
  snapshot_fill(dv);
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

/* The pre snapshot's file being written on the threadpool: its fsyncs (the file and its folder)
 * held the loop for milliseconds a router, and every console line with it. */
struct pre_write {
  uv_work_t req;
  struct device *dv;
  unsigned attempt; /* the router's snapshot attempt: a router ended meanwhile is left alone */
  char *path, *image;
  size_t len;
  int rc;
  char err[300];
};

static void pre_write_work(uv_work_t *req)
{
  struct pre_write *w = req->data;
  w->rc = check_snapshot_write(w->path, w->image, w->len, true, w->err, sizeof w->err);
}

static void pre_written(uv_work_t *req, int status)
{
  struct pre_write *w = req->data;
  struct device *dv = w->dv;
  struct rollout *run = dv->run;
  /* Ended meanwhile (failed, held, detached), or the run is over: the file stays unjournaled,
   * as after a crash before its line, and nothing more is done to the router. */
  bool current = !dv->finished && dv->timers != NULL && dv->checks != NULL &&
                 dv->checks->attempt == w->attempt && !run->fatal && !run->driving_over;
  if (current && (status != 0 || w->rc < 0))
    device_fail(dv, "pre-check-failed", "failure", "cannot save the pre snapshot: %s",
                status != 0 ? "cancelled" : w->err);
  else if (current) {
    /* The file the post-check reads is this one from now on (a resume may have named another,
     * since gone: this run took the snapshot again). */
    free(dv->checks_pre_file);
    dv->checks_pre_file = xstrdup(w->path);
    pre_journal(dv, run->o->check_only ? "check" : "pre", w->path, false);
  }
  free(w->path);
  free(w->image);
  free(w);
}

static void pre_taken(struct device *dv)
{
  struct checks_state *st = dv->checks;
  const char *moment = dv->run->o->check_only ? "check" : "pre";
  st->pre = st->taking;
  st->taking = NULL;
  struct pre_write *w = xcalloc(1, sizeof *w);
  w->dv = dv;
  w->attempt = st->attempt;
  w->path = snapshot_path(dv, moment, true);
  w->image = check_snapshot_image(st->pre, &w->len);
  w->req.data = w;
  if (uv_queue_work(&dv->run->loop, &w->req, pre_write_work, pre_written) != 0) {
    pre_write_work(&w->req); /* no threadpool: on the loop */
    pre_written(&w->req, 0);
  }
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
  /* Passed without its pre snapshot (the file gone: only the single-snapshot tests ran) is said
   * as a warning: the comparison the engineer counts on did not happen. */
  const char *level = !passed ? "error" : st->pre ? "info" : "warn";
  cJSON *ev = check_event(dv, level, passed ? EV_CHECK_PASSED : EV_CHECK_FAILED, "post", &ck, what);
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
  /* The attempt under way (its commands, or the wait before the next) is abandoned; the verdict
   * is the last whole attempt's, which failed (a passing one would have ended the router). */
  st->attempt++;
  st->in_flight = 0;
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
