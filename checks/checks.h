/*
 * checks: did the network come back? Pre/post health checks over `| display xml` snapshots.
 *
 * A suite is a list of tests in JSNAPy's test-file format (a supported subset, read as it is,
 * so teams keep the files they already have) plus issu-fleet's built-in ISSU suite. Each test
 * names one Junos `show` command; a snapshot holds that command's XML answer per command, taken
 * once before a router's ISSU (after preflight, before validate) and again after verify. The
 * evaluator compares them (pre/post operators) or looks at one snapshot (single-snapshot
 * operators) and lists every item that broke a rule, with its pre and post values, so an
 * engineer sees "BGP peer 10.0.0.2: Established -> Active (no-diff peer-state)".
 *
 * This module knows nothing of routers, transports or the journal: the scheduler runs the
 * commands and hands the XML in; snapshots are saved and loaded as files by path.
 */
#ifndef ISSU_CHECKS_H
#define ISSU_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* The longest answer of one command a check reads (`show interfaces terse | display xml` of a
 * large MX is tens of MiB): the scheduler asks its transport for this much, and a longer answer
 * is cut, never read in part. */
#define CHECK_ANSWER_MAX (32u * 1024 * 1024)

/* The built-in ISSU suite: each check can be turned off, and the ones with a tolerance take
 * JSNAPy's delta forms ("5%", "+-5%", "10", "+-10"). Names are stable (policy keys, events). */
enum check_builtin {
  CHECK_BGP_PEERS,    /* no BGP peer lost */
  CHECK_BGP_STATE,    /* each peer's state unchanged */
  CHECK_BGP_PREFIXES, /* received prefixes per peer within tolerance */
  CHECK_OSPF,         /* OSPF adjacencies not fewer */
  CHECK_ISIS,         /* IS-IS adjacencies not fewer */
  CHECK_LDP,          /* LDP sessions not fewer */
  CHECK_INTERFACES,   /* oper-status unchanged */
  CHECK_ROUTES,       /* active routes per table within tolerance */
  CHECK_FPC,          /* FPCs and PICs all online */
  CHECK_ALARMS,       /* no new alarms (Backup RE Active allowed when RE1 is left master) */
  CHECK_NSR,          /* NSR replication complete */
  CHECK_BUILTIN_COUNT
};
const char *check_builtin_name(enum check_builtin c); /* "bgp-peers", ... */

struct check_builtin_options {
  bool enabled[CHECK_BUILTIN_COUNT];          /* default: all true */
  const char *tolerance[CHECK_BUILTIN_COUNT]; /* NULL: the default ("5%" prefixes, "5%" routes) */
  bool allow_backup_re_active;                /* the policy leaves RE1 master after the ISSU */
};
void check_builtin_options_default(struct check_builtin_options *o);

struct check_suite;

/* A suite with the built-in checks chosen by `o` (o NULL: none). Errors (a bad tolerance) go to
 * `d` naming `origin` (the policy file) and `line`/`col` of the key when known. NULL on error. */
struct check_suite *check_suite_new(const struct check_builtin_options *o, const char *origin,
                                    unsigned line, unsigned col, struct diag *d);
/* Adds the tests of one JSNAPy test file (and its tests_include). An unsupported key or operator
 * is an error naming file:line:col, never a silent pass. 0, or -1 with `d` filled. */
int check_suite_add_file(struct check_suite *s, const char *path, struct diag *d);
/* The same from memory, errors naming `name` (tests and the fuzz harness). A file with any error
 * adds nothing. */
int check_suite_add_buffer(struct check_suite *s, const char *name, const char *buf, size_t len,
                           struct diag *d);
void check_suite_free(struct check_suite *s);

/* The distinct commands the suite runs, in order, without "| display xml" (e.g.
 * "show bgp summary"). Each is validated at load: printable, no `|`, `;` or newline. */
size_t check_suite_command_count(const struct check_suite *s);
const char *check_suite_command(const struct check_suite *s, size_t i);
size_t check_suite_test_count(const struct check_suite *s);

/* One moment's answers: the XML text of each command of its suite. */
struct check_snapshot;
struct check_snapshot *check_snapshot_new(const struct check_suite *s);
/* Stores command i's answer (copied). 0, or -1 with `err` set when it is not well-formed XML
 * (the test that needs it then fails, naming the command; other tests still run). */
int check_snapshot_put(struct check_snapshot *snap, size_t i, const char *xml, size_t len,
                       char *err, size_t errlen);
/* Snapshots as files (written to path.tmp, renamed), so a resume reuses the pre snapshot and
 * never takes a second one mid-ISSU. `durable`: fsynced with its folder before it returns (the
 * pre snapshot, which a resume relies on); the post snapshot is only read by people and reports,
 * and a resume takes it again, so it spares the run's loop two fsyncs a router. 0, or -1 with
 * `err` set. */
int check_snapshot_save(const struct check_snapshot *snap, const char *path, bool durable,
                        char *err, size_t errlen);
/* check_snapshot_save in two halves, so the file can be written off the loop: the file's bytes
 * (to free), and writing them as check_snapshot_save does (touches no snapshot: any thread). */
char *check_snapshot_image(const struct check_snapshot *snap, size_t *len);
int check_snapshot_write(const char *path, const char *image, size_t len, bool durable, char *err,
                         size_t errlen);
struct check_snapshot *check_snapshot_load(const struct check_suite *s, const char *path, char *err,
                                           size_t errlen);
void check_snapshot_free(struct check_snapshot *snap);

/* One item that broke one rule. */
struct check_failure {
  char *test;    /* the test's name (JSNAPy test name, or the built-in check's name) */
  char *command; /* its command */
  char *item;    /* the item's id ("peer-address=10.0.0.2"), "" for a whole-command test */
  char *rule;    /* the operator and its arguments: "no-diff peer-state", "delta 5%" */
  char *pre;     /* the pre value ("" when absent or single-snapshot) */
  char *post;    /* the post value ("" when absent) */
  char *message; /* the test's err message with {{pre[...]}}, {{post[...]}}, {{id_0}} filled */
};

struct check_outcome {
  unsigned tests_run, tests_passed, tests_failed;
  struct check_failure *failures; /* every failed item, in test order */
  size_t failure_count;
};

/* Evaluates every test: with `pre` and `post` both set, all operators; with `post` NULL, only the
 * single-snapshot tests on `pre` (what `issu-fleet check` and the pre-check refusal run).
 * Fills `out` (free with check_outcome_free). 0, or -1 on an internal error. */
int check_evaluate(const struct check_suite *s, const struct check_snapshot *pre,
                   const struct check_snapshot *post, struct check_outcome *out);
void check_outcome_free(struct check_outcome *out);

#endif
