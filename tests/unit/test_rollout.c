/*
 * The rollout engine end to end: issu-fleet run and check against junos-sim labs behind real
 * OpenSSH. Every assertion reads what a user can read: the exit code, the journal (events), and
 * the routers themselves (`junos-sim lab status`: versions, mastership, ISSU-start counters).
 * Durations are the simulator's (time-scaled), never wall-clock thresholds.
 */
/* Both REs' host keys are recorded for the master-only address (docs/transport.md): after the
 * ISSU the address meets RE1. The tests of an unknown key after the switchover say otherwise. */
#define LAB_KNOWN_HOSTS "--known-hosts both"
#include "journal_view.h"
#include "lab.h"
#include "background_run.h"
#include "policies/policies.h"
#include "scheduler/journal.h"
#include "scheduler/scheduler.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define TARGET "23.4R2-S3.7"
#define FROM "21.4R3-S5.4"

static const char *const ordered_phases[] = {
    "connect",           "preflight",  "stage",       "validate",   "backup-upgrade",
    "backup-reboot",     "daemons",    "fru-upgrade", "switchover", "old-master-upgrade",
    "old-master-reboot", "switchback", "verify",      "done",
};

/* The phases the ISSU console's lines announce before the router cuts the session. */
static bool in_console_scroll(const char *phase)
{
  static const char *const scroll[] = {"backup-upgrade", "backup-reboot", "daemons", "fru-upgrade",
                                       "switchover"};
  for (size_t i = 0; i < ARRAY_LEN(scroll); i++)
    if (strcmp(phase, scroll[i]) == 0)
      return true;
  return false;
}

/* Runs issu-fleet with the lab's inventory and DIR/test.yaml; returns the exit code. */
static int issu_fleet(char **out, const char *command, const char *extra)
{
  return sh(out,
            "%s %s -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
            "--run-id t %s </dev/null",
            ISSU_BINARY, command, dir, dir, dir, extra ? extra : "");
}

/* The journal of the run, one parsed event per line. */
static struct journal journal_read(void)
{
  char path[400];
  snprintf(path, sizeof path, "%s/state/t.jsonl", dir);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "no journal at %s", path);
  struct journal j = {0};
  size_t cap = 0;
  char *line = NULL;
  size_t lcap = 0;
  double last = 0;
  while (getline(&line, &lcap, f) > 0) {
    cJSON *e = cJSON_Parse(line);
    cr_assert_not_null(e, "journal line is not JSON: %s", line);
    double seq = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "event"), "sequence")->valuedouble;
    cr_assert_gt(seq, last, "event.sequence must strictly increase");
    last = seq;
    j.ev = xgrow(j.ev, &cap, j.n + 1, sizeof *j.ev);
    j.ev[j.n++] = e;
  }
  free(line);
  fclose(f);
  return j;
}

/* Runs issu-fleet, expects exit code `want` (showing its output if not), returns the journal. */
static struct journal run_expect(const char *command, const char *extra, int want)
{
  char *out;
  int rc = issu_fleet(&out, command, extra);
  cr_expect_eq(rc, want, "issu-fleet %s exited %d, expected %d:\n%s", command, rc, want, out);
  free(out);
  return journal_read();
}

/* The device-finished event of `router` (must exist). */
static const cJSON *finished_of(const struct journal *j, const char *router)
{
  for (size_t i = 0; i < j->n; i++)
    if (strcmp(action(j->ev[i]), "device-finished") == 0 && strcmp(host(j->ev[i]), router) == 0)
      return j->ev[i];
  cr_assert_fail("no device-finished event for %s", router);
  return NULL;
}

static size_t count_action(const struct journal *j, const char *act, const char *router)
{
  size_t n = 0;
  for (size_t i = 0; i < j->n; i++)
    n += strcmp(action(j->ev[i]), act) == 0 &&
         (router == NULL || strcmp(host(j->ev[i]), router) == 0);
  return n;
}

static cJSON *lab_status(void)
{
  char *out;
  cr_assert_eq(sh(&out, "%s lab status %s --json", JUNOS_SIM_BINARY, dir), 0, "%s", out);
  cJSON *all = cJSON_Parse(out);
  free(out);
  cr_assert_not_null(all);
  return all;
}

static int starts_of(const cJSON *st)
{
  return cJSON_GetObjectItem(st, "issu_starts")->valueint;
}

/* ---- the whole lab, canary then two waves ---- */

Test(rollout, a_24_router_lab_upgrades_completely_within_its_limits, .timeout = 600,
     .fini = lab_stop)
{
  lab_start(24, 3, NULL);
  write_policy("issu: {old_master: reboot, switchback: true}\n"
               "waves: {canary: 1, serial: [\"50%\"], soak: 5m}\n"
               "limits: {max_parallel: 12, per: {site: \"50%\"}, exclusive: [pair]}\n"
               "failures: {max_failed: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  cr_expect_eq(count_action(&j, "wave-started", NULL), 3, "canary and two waves");
  /* Every router: on the target on both REs, original master back, exactly one ISSU. */
  cJSON *all = lab_status(), *st;
  size_t routers = 0;
  cJSON_ArrayForEach(st, all)
  {
    const char *name = str_at(st, "name", NULL);
    routers++;
    cr_expect_str_eq(str_at(st, "re0_version", NULL), TARGET, "%s re0", name);
    cr_expect_str_eq(str_at(st, "re1_version", NULL), TARGET, "%s re1", name);
    cr_expect_eq(cJSON_GetObjectItem(st, "master")->valueint, 0, "%s switched back", name);
    cr_expect_eq(starts_of(st), 1, "%s: exactly one ISSU", name);
    /* Every phase, in order, once. One exception: the ISSU console's scroll (backup-upgrade to
     * "Preparing for Switchover") ends with the router cutting the session, and a cut session
     * loses what the client had not read yet (a loaded machine, valgrind): those phases may be
     * missing, never out of order; the router is then found further on when asked, and the
     * run goes on from there. */
    size_t k = 0, skipped = 0;
    for (size_t i = 0; i < j.n; i++) {
      if (strcmp(action(j.ev[i]), "phase-changed") != 0 || strcmp(host(j.ev[i]), name) != 0)
        continue;
      const char *ph = str_at(j.ev[i], "issu", "phase");
      while (k + 1 < ARRAY_LEN(ordered_phases) && strcmp(ph, ordered_phases[k]) != 0 &&
             in_console_scroll(ordered_phases[k]))
        k++, skipped++;
      cr_expect(k < ARRAY_LEN(ordered_phases) && strcmp(ph, ordered_phases[k]) == 0,
                "%s: phase %zu is %s, expected %s", name, k, ph,
                k < ARRAY_LEN(ordered_phases) ? ordered_phases[k] : "(none)");
      k++;
    }
    cr_expect_eq(k, ARRAY_LEN(ordered_phases), "%s: %zu phases", name, k);
    /* The session dropped at the switchover (and the switchback) and was re-established: one
     * new session per session the router cut, no more. */
    int cut = cJSON_GetObjectItem(st, "sessions_dropped")->valueint;
    cr_expect_geq(cut, 1, "%s cut a session at the switchover", name);
    cr_expect_eq(count_action(&j, "device-reconnected", name), (size_t)cut,
                 "%s: one reconnect per session the router cut (%d)", name, cut);
    const cJSON *fin = finished_of(&j, name);
    cr_expect_str_eq(str_at(fin, "event", "outcome"), "success");
    cr_expect_str_eq(str_at(cJSON_GetObjectItem(fin, "issu"), "versions_after", "re1"), TARGET);
    cr_expect_eq(
        cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(fin, "issu"), "timeline")),
        (int)(ARRAY_LEN(ordered_phases) - 1 - skipped));
  }
  cr_expect_eq(routers, 24);
  cJSON_Delete(all);

  /* No limit exceeded at any instant: replay starts and ends against the inventory. */
  struct diag d = {0};
  struct inventory *inv = NULL;
  char path[400];
  snprintf(path, sizeof path, "%s/inventory.yaml", dir);
  cr_assert_eq(inventory_load(path, &inv, &d), 0);
  bool *flying = xcalloc(inv->nhosts, sizeof *flying);
  size_t max_seen = 0;
  for (size_t i = 0; i < j.n; i++) {
    bool start = strcmp(action(j.ev[i]), "device-started") == 0;
    bool end = strcmp(action(j.ev[i]), "device-finished") == 0;
    if (!start && !end)
      continue;
    long h = inventory_find_host(inv, host(j.ev[i]));
    cr_assert_geq(h, 0);
    flying[h] = start;
    size_t total = 0;
    for (size_t a = 0; a < inv->nhosts; a++) {
      if (!flying[a])
        continue;
      total++;
      char b1[64], b2[64], b3[64], b4[64];
      size_t same_site = 0, same_pair = 0;
      for (size_t b = 0; b < inv->nhosts; b++) {
        if (!flying[b])
          continue;
        same_site += strcmp(inventory_value_text(inventory_host_var(inv, a, "site"), b1, 64),
                            inventory_value_text(inventory_host_var(inv, b, "site"), b2, 64)) == 0;
        same_pair += strcmp(inventory_value_text(inventory_host_var(inv, a, "pair"), b3, 64),
                            inventory_value_text(inventory_host_var(inv, b, "pair"), b4, 64)) == 0;
      }
      cr_expect_leq(same_site, 4, "per site 50%% of 8 = 4 (event %zu)", i);
      cr_expect_leq(same_pair, 1, "a pair never has both routers in flight (event %zu)", i);
    }
    cr_expect_leq(total, 12, "max_parallel");
    if (total > max_seen)
      max_seen = total;
  }
  cr_expect_geq(max_seen, 8, "the waves really ran in parallel (%zu at most)", max_seen);
  free(flying);
  inventory_free(inv);
  diag_free(&d);
  journal_free(&j);
}

/* Defined with the tests that operate a run, below. */
static bool journal_has(const char *needle);

/* ---- every fault ---- */

/* A timeout after the ISSU went out holds the router: outcome unknown, never failure (B4). */
static const struct {
  const char *router, *fault, *result, *phase, *code, *outcome;
} faults[] = {
    {"mx-ams-2", "validation-fail", "failed", "validate", "validation-failed", NULL},
    {"mx-ams-3", "backup-no-return", "failed", "backup-reboot", "backup-no-return", "unknown"},
    {"mx-ams-4", "old-master-no-return", "failed", "old-master-reboot", "old-master-no-return",
     "unknown"},
    {"mx-ams-5", "gres-off", "failed", "preflight", "gres-off", NULL},
    {"mx-ams-6", "nsr-off", "failed", "preflight", "nsr-off", NULL},
    {"mx-ams-7", "commit-sync-off", "failed", "preflight", "commit-sync-off", NULL},
    {"mx-ams-8", "backup-not-ready", "failed", "preflight", "switchover-not-ready", NULL},
    {"mx-fra-1", "holddown", "done", "done", NULL, NULL},
    {"mx-fra-2", "disk-full", "failed", "preflight", "storage-low", NULL},
    {"mx-fra-3", "package-missing", "done", "done", NULL, NULL},
    {"mx-fra-4", "checksum-mismatch", "failed", "stage", "checksum-mismatch", NULL},
    {"mx-fra-5", "version-mismatch", "failed", "preflight", "version-mismatch", NULL},
    {"mx-fra-6", "hang:fru-upgrade", "failed", "fru-upgrade", "phase-timeout", "unknown"},
    {"mx-fra-7", "slow:2", "done", "done", NULL, NULL},
    {"mx-fra-8", "no-drop", "done", "done", NULL, NULL},
};

Test(rollout, every_simulator_fault_gives_its_outcome_phase_and_code, .timeout = 600,
     .fini = lab_stop)
{
  char extra[2048] = "";
  for (size_t i = 0; i < ARRAY_LEN(faults); i++)
    snprintf(extra + strlen(extra), sizeof extra - strlen(extra), " --fault %s=%s",
             faults[i].router, faults[i].fault);
  lab_start(16, 2, extra);
  write_policy("waves: {canary: [mx-ams-1], serial: [\"100%\"], soak: 0}\n"
               "failures: {max_failed: 100}\n");
  /* 5: the routers whose ISSU was left running (outcome unknown) are held, whatever else
   * happened. */
  struct journal j = run_expect("run", "--yes", 5);
  cJSON *all = lab_status();
  for (size_t i = 0; i < ARRAY_LEN(faults); i++) {
    const cJSON *fin = finished_of(&j, faults[i].router);
    const cJSON *is = cJSON_GetObjectItem(fin, "issu");
    cr_expect_str_eq(str_at(is, "result", NULL), faults[i].result, "%s (%s)", faults[i].router,
                     faults[i].fault);
    cr_expect_str_eq(str_at(is, "phase", NULL), faults[i].phase, "%s (%s)", faults[i].router,
                     faults[i].fault);
    if (faults[i].code) {
      cr_expect_str_eq(str_at(fin, "error", "code"), faults[i].code, "%s (%s): %s",
                       faults[i].router, faults[i].fault, str_at(fin, "error", "message"));
      cr_expect_str_eq(str_at(fin, "event", "outcome"),
                       faults[i].outcome ? faults[i].outcome : "failure", "%s (%s)",
                       faults[i].router, faults[i].fault);
    }
    /* A router that failed before the ISSU was never given one. */
    cJSON *st;
    cJSON_ArrayForEach(st, all) if (strcmp(str_at(st, "name", NULL), faults[i].router) == 0)
    {
      int want = strcmp(faults[i].phase, "preflight") == 0 || strcmp(faults[i].phase, "stage") == 0
                     ? 0
                     : 1;
      cr_expect_eq(starts_of(st), want, "%s: %d ISSU starts", faults[i].router, starts_of(st));
    }
  }
  /* no-drop: the console's session stays open on the old master, now backup; issu-fleet
   * recognises it and goes on through a fresh session to the master. */
  cr_expect_geq(count_action(&j, "device-reconnected", "mx-fra-8"), 1,
                "no-drop: the session left on the backup RE was replaced");
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success");
  cJSON_Delete(all);
  journal_free(&j);
}

/* ---- the failure budget ---- */

Test(rollout, a_failed_canary_halts_the_run_and_nothing_else_starts, .timeout = 300,
     .fini = lab_stop)
{
  lab_start(6, 2, "--fault mx-ams-1=validation-fail");
  write_policy("waves: {canary: [mx-ams-1], serial: [2], soak: 0}\n"
               "failures: {max_failed: 10}\n");
  struct journal j = run_expect("run", "--yes", 3);
  cr_expect_eq(count_action(&j, "budget-exceeded", NULL), 1);
  cr_expect_eq(count_action(&j, "device-started", NULL), 1, "only the canary started");
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all) if (strcmp(str_at(st, "name", NULL), "mx-ams-1") != 0)
      cr_expect_eq(starts_of(st), 0, "%s untouched", str_at(st, "name", NULL));
  cJSON_Delete(all);
  journal_free(&j);
}

Test(rollout, max_failed_halts_after_the_wave_in_flight_finishes, .timeout = 300, .fini = lab_stop)
{
  /* wave-1 is mx-ams-2 and mx-ams-3; mx-ams-3 fails its preflight, mx-ams-2 finishes. */
  lab_start(6, 2, "--fault mx-ams-3=gres-off");
  write_policy("waves: {canary: [mx-ams-1], serial: [2], soak: 0}\n"
               "failures: {max_failed: 0}\n"
               "issu: {timeouts: {backup-upgrade: 20h}}\n"); /* held: 2 min before a timeout */
  /* mx-ams-2 is held in flight until the run has halted: then it finishes. */
  lab_hold("mx-ams-2", "backup-upgrade");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("budget-exceeded"), "mx-ams-3's failure exceeds the budget");
  lab_release("mx-ams-2");
  cr_expect_eq(wait_exit(pid), 3);
  struct journal j = journal_read();
  size_t halted = j.n, finished = 0;
  for (size_t i = 0; i < j.n; i++) {
    if (strcmp(action(j.ev[i]), "budget-exceeded") == 0 && halted == j.n)
      halted = i;
    if (strcmp(action(j.ev[i]), "device-finished") == 0 && strcmp(host(j.ev[i]), "mx-ams-2") == 0)
      finished = i;
  }
  cr_expect_gt(finished, halted, "mx-ams-2 was in flight at the halt and finished after it");
  const cJSON *fin2 = finished_of(&j, "mx-ams-2");
  cr_expect_str_eq(str_at(fin2, "event", "outcome"), "success",
                   "the router in flight finished: %s in %s (%s)", str_at(fin2, "error", "code"),
                   str_at(fin2, "issu", "phase"), str_at(fin2, "error", "message"));
  cr_expect_eq(count_action(&j, "device-started", NULL), 3);
  cr_expect_eq(count_action(&j, "device-started", "mx-fra-1"), 0, "wave-2 never started");
  journal_free(&j);
}

/* ---- refusals and skips ---- */

Test(rollout, a_changed_host_key_touches_nothing, .timeout = 300, .fini = lab_stop)
{
  lab_start(2, 1, NULL);
  /* mx-ams-2's known_hosts line now carries another key (the client's own). */
  char *out;
  cr_assert_eq(sh(&out,
                  "port=$(awk '/mx-ams-2/{f=1} f&&/ansible_port/{print $0; exit}' "
                  "%s/inventory.yaml | sed 's/.*ansible_port: \\([0-9]*\\).*/\\1/'); "
                  "key=$(cut -d' ' -f1,2 %s/ssh/id_ed25519.pub); "
                  "grep -v \"\\[127.0.0.1\\]:$port \" %s/known_hosts > %s/kh && "
                  "echo \"[127.0.0.1]:$port $key\" >> %s/kh && mv %s/kh %s/known_hosts",
                  dir, dir, dir, dir, dir, dir, dir),
               0, "%s", out);
  free(out);
  write_policy("waves: {canary: [mx-ams-1], serial: [\"100%\"], soak: 0}\n"
               "failures: {max_failed: 1}\n");
  struct journal j = run_expect("run", "--yes", 1);
  const cJSON *fin = finished_of(&j, "mx-ams-2");
  cr_expect_str_eq(str_at(fin, "error", "code"), "hostkey-changed");
  cr_expect_str_eq(str_at(fin, "issu", "phase"), "connect");
  cr_expect_eq(count_action(&j, "check-result", "mx-ams-2"), 0, "not one command was sent");
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all) if (strcmp(str_at(st, "name", NULL), "mx-ams-2") == 0)
  {
    cr_expect_eq(starts_of(st), 0);
    cr_expect_str_eq(str_at(st, "re0_version", NULL), FROM);
  }
  cJSON_Delete(all);
  journal_free(&j);
}

Test(rollout, a_router_already_on_target_is_skipped_and_a_rerun_changes_nothing, .timeout = 300,
     .fini = lab_stop)
{
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: [mx-ams-1], serial: [\"100%\"], soak: 0}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes --limit mx-ams-1");
  cr_assert_eq(rc, 0, "%s", out);
  free(out);
  /* The same rollout again, on both: mx-ams-1 is skipped, mx-ams-2 upgraded. */
  sh(NULL, "rm -rf %s/state", dir);
  rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "issu", "result"), "skipped");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success");
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-2"), "issu", "result"), "done");
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all)
      cr_expect_eq(starts_of(st), 1, "%s: one ISSU, never two", str_at(st, "name", NULL));
  cJSON_Delete(all);
  journal_free(&j);
}

Test(rollout, check_reports_every_problem_and_changes_nothing, .timeout = 300, .fini = lab_stop)
{
  lab_start(3, 1, "--fault mx-ams-2=gres-off --fault mx-ams-3=package-missing");
  write_policy("waves: {canary: 1, serial: [\"100%\"]}\n");
  char *out;
  int rc = issu_fleet(&out, "check", "--events -");
  cr_expect_eq(rc, 1, "one router is not ready: exit 1, got %d\n%s", rc, out);
  cr_expect(strstr(out, "\"action\":\"check-result\""), "events on stdout");
  free(out);
  struct journal j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "issu", "result"), "ready");
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-2"), "error", "code"), "gres-off");
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-3"), "issu", "result"), "ready",
                   "a missing package with a target.source will be staged");
  cr_expect_eq(count_action(&j, "check-result", "mx-ams-1"), 11, "every check reported");
  cr_expect_eq(count_action(&j, "phase-changed", NULL), 6, "connect and preflight only");
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all) cr_expect_eq(starts_of(st), 0);
  cJSON_Delete(all);
  journal_free(&j);
}

Test(rollout, run_refuses_without_a_terminal_or_yes_and_touches_nothing, .timeout = 120,
     .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1}\n");
  char *out;
  int rc = issu_fleet(&out, "run", NULL);
  cr_expect_eq(rc, 2, "%s", out);
  cr_expect(strstr(out, "--yes"), "%s", out);
  free(out);
  DIR *state = NULL;
  char path[400];
  snprintf(path, sizeof path, "%s/state", dir);
  state = opendir(path);
  cr_expect_null(state, "no journal was even created");
  if (state)
    closedir(state);
  /* A resume that cannot be (here: with --run-id too): refused before anything is touched. */
  rc = issu_fleet(&out, "run", "--yes --resume never-was");
  cr_expect_eq(rc, 2, "%s", out);
  cr_expect(strstr(out, "--resume"), "%s", out);
  free(out);
}

/* The most routers of the run in flight at once, replayed from the journal. */
static size_t peak_in_flight(const struct journal *j)
{
  size_t now = 0, peak = 0;
  for (size_t i = 0; i < j->n; i++) {
    if (strcmp(action(j->ev[i]), "device-started") == 0 && ++now > peak)
      peak = now;
    if (strcmp(action(j->ev[i]), "device-finished") == 0)
      now--;
  }
  return peak;
}

Test(rollout, rolling_mode_is_a_sliding_window_after_the_canary, .timeout = 300, .fini = lab_stop)
{
  /* Waves of one router, but rolling: after the canary, max_parallel routers at once. */
  lab_start(5, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], mode: rolling, soak: 0}\n"
               "limits: {max_parallel: 3}\n");
  struct journal j = run_expect("run", "--yes", 0);
  cr_expect_eq(peak_in_flight(&j), 3, "a sliding window of max_parallel");
  /* The canary ran alone: nothing else started before it finished. */
  size_t canary_end = 0, first_other = 0;
  for (size_t i = 0; i < j.n; i++) {
    if (strcmp(action(j.ev[i]), "device-finished") == 0 && canary_end == 0)
      canary_end = i;
    if (strcmp(action(j.ev[i]), "device-started") == 0 && strcmp(host(j.ev[i]), "mx-ams-1") &&
        first_other == 0)
      first_other = i;
  }
  cr_expect_lt(canary_end, first_other);
  journal_free(&j);
}

Test(rollout, a_wave_over_max_fail_percentage_halts, .timeout = 300, .fini = lab_stop)
{
  /* wave-1 = mx-ams-2, mx-ams-3: one of two fails = 50% > 40%; max_failed alone would go on. */
  /* The canary fails; the budget would allow it (10 failures, 100% of a wave): the canary rule
   * alone halts the run. */
  lab_start(6, 2, "--fault mx-ams-1=nsr-off");
  write_policy("waves: {canary: [mx-ams-1], serial: [2], soak: 0}\n"
               "failures: {max_failed: 10, max_fail_percentage: 100}\n");
  struct journal j = run_expect("run", "--yes", 3);
  cr_expect_eq(count_action(&j, "budget-exceeded", NULL), 1);
  for (size_t i = 0; i < j.n; i++)
    if (strcmp(action(j.ev[i]), "budget-exceeded") == 0) {
      char *text = cJSON_PrintUnformatted(j.ev[i]);
      cr_expect(strstr(text, "canary"), "halted for the canary: %s", text);
      free(text);
    }
  cr_expect_eq(count_action(&j, "device-started", NULL), 1, "the canary only");
  journal_free(&j);
}

Test(rollout, a_router_with_an_issu_already_running_is_never_given_a_second, .timeout = 300,
     .fini = lab_stop)
{
  /* The hand-started ISSU hangs in fru-upgrade, so it is still running however slowly this
   * test gets to it (under valgrind, seconds later): no race with its end. */
  lab_start(1, 1, "--fault mx-ams-1=hang:fru-upgrade");
  write_policy("waves: {canary: 1}\n");
  /* Someone started an ISSU by hand; its session is still watching the console. */
  char *out;
  cr_assert_eq(
      sh(&out,
         "(ssh -F %s/ssh_config mx-ams-1 'request system software in-service-upgrade "
         "/var/tmp/junos-install-mx-x86-64-" TARGET ".tgz' >/dev/null 2>&1 &); "
         "for i in $(seq 300); do %s lab status %s --json | grep -q '\"re1_version\":\"" TARGET
         "\"' && exit 0; sleep 0.1; done; exit 1",
         dir, JUNOS_SIM_BINARY, dir),
      0, "%s", out);
  free(out);
  struct journal j = run_expect("run", "--yes", 3);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  /* No real router prints an ISSU state: the facts show it (re1 already on the target, re0 not),
   * and the check cites them. */
  cr_expect_str_eq(str_at(fin, "error", "code"), "version-mismatch");
  cr_expect(strstr(str_at(fin, "error", "message"), "re1 runs " TARGET), "%s",
            str_at(fin, "error", "message"));
  cr_expect_str_eq(str_at(fin, "issu", "phase"), "preflight");
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all) cr_expect_eq(starts_of(st), 1, "still the one ISSU started by hand");
  cJSON_Delete(all);
  journal_free(&j);
  /* The hand-started session hangs for ever (its ssh and junos-sim): ended here, not left
   * behind (lab_stop ends anything still naming the lab too). */
  char pattern[300];
  snprintf(pattern, sizeof pattern, "%s/ssh_config mx-ams-1", dir);
  cr_expect_eq(end_processes_naming(pattern), 1, "the hand-started ssh was still running");
}

/* ---- operating a run: gates, ctl, signals, locks ---- */

/* Waits (on the journal, not the clock) until `needle` appears in it more than `before` times;
 * false after a long bound. */
static bool journal_more(const char *needle, int before)
{
  for (int i = 0; i < 6000; i++) {
    if (journal_count(needle) > before)
      return true;
    pause_ms(50);
  }
  return false;
}

static bool journal_has(const char *needle)
{
  return journal_more(needle, 0);
}

static int ctl(char **out, const char *command)
{
  return sh(out, "%s ctl %s/state/t.sock %s", ISSU_BINARY, dir, command);
}

Test(rollout, a_gate_waits_for_ctl_approve_and_ctl_steers_the_run, .timeout = 300, .fini = lab_stop)
{
  lab_start(3, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0, approve: [wave-1]}\n"
               "issu: {timeouts: {backup-upgrade: 20h}}\n"); /* held: 2 min before a timeout */
  /* mx-ams-2 (wave-1) is held before its backup upgrade until this test has drained the run
   * and seen it in flight: however slow the machine, it is still flying. */
  lab_hold("mx-ams-2", "backup-upgrade");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("gate-waiting"), "the run waits at the gate");
  char *out;
  cr_expect_eq(ctl(&out, "status --json"), 0, "%s", out);
  cr_expect(strstr(out, "\"state\":\"waiting-approval\""), "%s", out);
  free(out);
  cr_expect_eq(ctl(&out, "pause"), 0, "%s", out);
  free(out);
  cr_expect_eq(ctl(&out, "pause"), 1, "already paused: %s", out);
  free(out);
  cr_expect_eq(ctl(&out, "resume"), 0, "%s", out);
  free(out);
  cr_expect_eq(ctl(&out, "approve"), 0, "%s", out);
  cr_expect(strstr(out, "wave-1"), "%s", out);
  free(out);
  cr_assert(journal_has("\"host\":{\"name\":\"mx-ams-2\"}"), "wave-1 started after approval");
  cr_assert(journal_has("\"phase\":\"validate\""), "mx-ams-2's ISSU began");
  cr_expect_eq(ctl(&out, "drain"), 0, "%s", out);
  free(out);
  /* draining, mx-ams-2 held in flight: the estimate is shown */
  cr_expect_eq(ctl(&out, "status"), 0, "%s", out);
  cr_expect(strstr(out, "to go") && strstr(out, "TO GO"), "status shows the estimate: %s", out);
  cr_expect(strstr(out, "mx-ams-2"), "status shows mx-ams-2 in flight: %s", out);
  free(out);
  lab_release("mx-ams-2");
  cr_expect_eq(wait_exit(pid), 4, "drained: exit 4");
  struct journal j = journal_read();
  cr_expect_eq(count_action(&j, "gate-approved", NULL), 1);
  cr_expect_eq(count_action(&j, "run-paused", NULL), 1);
  cr_expect_eq(count_action(&j, "run-resumed", NULL), 1);
  cr_expect_eq(count_action(&j, "run-draining", NULL), 1);
  cr_expect_eq(count_action(&j, "device-started", "mx-ams-3"), 0, "nothing starts after drain");
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-2"), "event", "outcome"), "success",
                   "the router in flight finished");
  /* gate-approved records who. */
  for (size_t i = 0; i < j.n; i++)
    if (strcmp(action(j.ev[i]), "gate-approved") == 0)
      cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j.ev[i], "user"), "id")->valueint,
                   (int)getuid());
  journal_free(&j);
  cr_expect_neq(ctl(&out, "status"), 0, "the socket is gone with the run");
  free(out);
}

Test(rollout, sigint_drains_a_second_signal_detaches_and_sighup_is_ignored, .timeout = 300,
     .fini = lab_stop)
{
  lab_start(4, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0}\n"
               "issu: {timeouts: {backup-upgrade: 20h}}\n"); /* held: 2 min before a timeout */
  /* The canary is held before its backup upgrade: in flight through every signal below. */
  lab_hold("mx-ams-1", "backup-upgrade");
  pid_t pid = run_in_background(NULL);
  /* validate is journaled before the command leaves; only the router's console proves the ISSU
   * reached it (through the lab's forwarder that takes a moment). */
  cr_assert(journal_has("\"phase\":\"backup-upgrade\""), "the canary's ISSU began");
  kill(pid, SIGHUP);
  kill(pid, SIGINT);
  cr_assert(journal_has("run-draining"));
  /* SIGHUP was ignored: SIGINT was the first signal (a drain), so the run still answers; had
   * SIGHUP counted, SIGINT would have been the second and detached it. */
  char *out;
  cr_expect_eq(ctl(&out, "status"), 0, "the run still answers after SIGHUP and SIGINT: %s", out);
  free(out);
  cr_expect_eq(journal_count("run-detached"), 0, "SIGHUP did not count as a signal");
  kill(pid, SIGTERM);
  cr_expect_eq(wait_exit(pid), 4, "detached: exit 4");
  struct journal j = journal_read();
  cr_expect_eq(count_action(&j, "run-detached", NULL), 1);
  cr_expect_eq(count_action(&j, "device-finished", "mx-ams-1"), 0,
               "the router in flight was left alone, not failed");
  cr_expect_eq(count_action(&j, "run-finished", NULL), 1);
  journal_free(&j);
  /* The router carries on with its own ISSU, started once. */
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all) if (strcmp(str_at(st, "name", NULL), "mx-ams-1") == 0)
      cr_expect_eq(starts_of(st), 1);
  cJSON_Delete(all);
}

Test(rollout, a_second_process_on_the_same_routers_is_refused, .timeout = 300, .fini = lab_stop)
{
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0, approve: [wave-1]}\n");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("gate-waiting"));
  char *out;
  int rc = sh(&out,
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir "
              "%s/state --run-id other --yes </dev/null",
              ISSU_BINARY, dir, dir, dir);
  cr_expect_eq(rc, 2, "%s", out);
  cr_expect(strstr(out, "already being driven by another issu-fleet"), "%s", out);
  free(out);
  cr_expect_eq(ctl(&out, "drain"), 0, "%s", out);
  free(out);
  cr_expect_eq(wait_exit(pid), 4);
}

Test(rollout, no_router_starts_outside_the_window_and_stop_at_window_end_ends_the_run,
     .timeout = 300, .fini = lab_stop)
{
  lab_start(3, 1, NULL);
  /* The run's clock starts at 00:57 UTC on a fixed day (never the wall clock); the window opens
   * at 01:00 and closes at 01:40, that is while the canary's ~75-minute upgrade is in flight. */
  setenv("ISSU_FLEET_CLOCK_START", "1795395420", 1); /* 2026-11-23T00:57:00Z */
  char body[256];
  snprintf(body, sizeof body,
           "waves: {canary: 1, serial: [1], soak: 0}\n"
           "window: {start: \"01:00\", end: \"01:40\", tz: UTC}\n");
  write_policy(body);
  struct journal j = run_expect("run", "--yes --stop-at-window-end", 4);
  unsetenv("ISSU_FLEET_CLOCK_START");
  /* In order: closed (waiting), opened, the canary starts, closed (stop), the run ends. */
  const char *want[] = {"window-closed", "window-opened", "device-started", "window-closed",
                        "run-finished"};
  size_t k = 0;
  for (size_t i = 0; i < j.n && k < ARRAY_LEN(want); i++)
    if (strcmp(action(j.ev[i]), want[k]) == 0)
      k++;
  cr_expect_eq(k, ARRAY_LEN(want), "the window's events in order (%zu of them)", k);
  cr_expect_eq(count_action(&j, "device-started", NULL), 1, "only the canary started");
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success",
                   "the router in flight when the window closed finished");
  journal_free(&j);
}

/* ---- crashes and --resume ---- */

Test(rollout, kill_9_at_any_moment_then_resume_completes_and_upgrades_nobody_twice, .timeout = 600,
     .fini = lab_stop)
{
  lab_start(4, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 1m}\n");
  /* Killed in preflight, mid-ISSU, in the switchover, in the old master's reboot, between waves;
   * each time resumed. Each marker is waited for on the journal, never on the clock. */
  static const char *const moments[] = {
      "\"phase\":\"preflight\"",
      "\"phase\":\"backup-upgrade\"",
      "device-reconnected",
      "\"phase\":\"old-master-reboot\"",
      "soak-started",
  };
  pid_t pid = run_in_background(NULL);
  for (size_t m = 0; m < ARRAY_LEN(moments); m++) {
    bool seen = journal_more(moments[m], journal_count(moments[m]));
    cr_assert(seen, "the run reached %s", moments[m]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    pid = run_in_background("--resume t");
  }
  expect_exit(pid, 0, "the resumed run completes");
  struct journal j = journal_read(); /* also checks that sequence numbers strictly increase */
  cr_expect_eq(count_action(&j, "run-started", NULL), ARRAY_LEN(moments) + 1);
  cr_expect_eq(count_action(&j, "device-finished", NULL), 4, "each router finished once");
  journal_free(&j);
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all)
  {
    cr_expect_str_eq(str_at(st, "re0_version", NULL), TARGET, "%s", str_at(st, "name", NULL));
    cr_expect_str_eq(str_at(st, "re1_version", NULL), TARGET, "%s", str_at(st, "name", NULL));
    cr_expect_eq(starts_of(st), 1, "%s: exactly one ISSU", str_at(st, "name", NULL));
  }
  cJSON_Delete(all);
}

Test(rollout, resume_refuses_a_changed_policy_and_reads_a_cut_journal, .timeout = 900,
     .fini = lab_stop)
{
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0, approve: [wave-1]}\n"
               "issu: {timeouts: {backup-upgrade: 20h}}\n"); /* held: 2 min before a timeout */
  /* wave-1's router is held before its backup upgrade: the kill below finds wave-1 approved
   * and in flight, whatever the machine's speed. */
  lab_hold("mx-ams-2", "backup-upgrade");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("gate-waiting"));
  char *out;
  cr_expect_eq(ctl(&out, "approve"), 0, "%s", out);
  free(out);
  cr_assert(journal_has("\"host\":{\"name\":\"mx-ams-2\"}"), "wave-1 started after approval");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  /* A crash cut the last line in half. */
  sh(NULL, "printf '{\"@timestamp\":\"2026-11-24T01:0' >> %s/state/t.jsonl", dir);
  sh(NULL, "echo '# edited' >> %s/test.yaml", dir);
  int rc = sh(&out,
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir "
              "%s/state --resume t --yes </dev/null",
              ISSU_BINARY, dir, dir, dir);
  cr_expect_eq(rc, 2, "%s", out);
  cr_expect(strstr(out, "changed since run t started"), "%s", out);
  cr_expect(strstr(out, "ended in the middle of a line"), "%s", out);
  free(out);
  /* Approved gates stay approved: approved, killed, resumed: wave-1 goes on without a new gate
   * and without anyone approving again. */
  pid = run_in_background("--resume t --accept-changed-config");
  cr_assert(journal_has("\"resumed\":true"));
  lab_release("mx-ams-2");
  /* Either the run finishes, or it asks for approval again (the promise broken): whichever
   * comes first, seen on the journal. */
  for (int i = 0;
       i < 6000 && journal_count("run-finished") == 0 && journal_count("gate-waiting") < 2; i++)
    pause_ms(50);
  cr_expect_eq(journal_count("gate-waiting"), 1, "no new gate after the resume");
  if (journal_count("run-finished") == 0)
    kill(pid, SIGKILL);
  cr_expect_eq(wait_exit(pid), 0, "the resumed run completes with no second approval");
  struct journal j = journal_read();
  cr_expect_eq(count_action(&j, "gate-approved", NULL), 1, "approved once, before the kill");
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-2"), "issu", "result"), "done");
  journal_free(&j);
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all)
      cr_expect_eq(starts_of(st), 1, "%s: exactly one ISSU", str_at(st, "name", NULL));
  cJSON_Delete(all);
}

/* ---- the journal before every act ---- */

/* The promise: the line announcing a step that changes the router is durable (fsync'ed) before
 * the step's command leaves. An LD_PRELOAD probe (journal_probe.c) logs, in order, each fsync
 * of the journal with its last line, and each command sent to a router (local transport). */
Test(rollout, every_step_that_acts_is_journaled_durably_before_it_acts, .timeout = 300,
     .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1}\nissu: {old_master: reboot}\n");
  sh(NULL, "sed -i 's/ansible_port:/issu_transport: local, ansible_port:/' %s/inventory.yaml", dir);
  char *out;
  int rc = sh(&out,
              "JOURNAL_PROBE_LOG=%s/probe.log LD_PRELOAD=%s ASAN_OPTIONS=verify_asan_link_order=0 "
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
              "--run-id t --yes </dev/null",
              dir, JOURNAL_PROBE, ISSU_BINARY, dir, dir, dir);
  cr_assert_eq(rc, 0, "%s", out);
  free(out);
  static const struct {
    const char *line, *command;
  } acts[] = {
      {"\"phase\":\"validate\"", "request system software in-service-upgrade"},
      /* The old master's reboot is Junos's own (the ISSU's `reboot` option): issu-fleet sends no
       * reboot of its own to journal. */
      {"\"phase\":\"switchback\"", "request chassis routing-engine master switch"},
  };
  char path[400];
  snprintf(path, sizeof path, "%s/probe.log", dir);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f, "the probe logged nothing (was it loaded?)");
  bool durable[ARRAY_LEN(acts)] = {false}, sent[ARRAY_LEN(acts)] = {false};
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    for (size_t i = 0; i < ARRAY_LEN(acts); i++) {
      if (strncmp(line, "fsync ", 6) == 0 && strstr(line, "\"action\":\"phase-changed\"") &&
          strstr(line, acts[i].line))
        durable[i] = true;
      /* "master switch" but not "master switch check" (a read-only look) */
      if (strncmp(line, "spawn ", 6) == 0 &&
          strncmp(line + 6, acts[i].command, strlen(acts[i].command)) == 0 &&
          strstr(line, " check") == NULL && !sent[i]) {
        sent[i] = true;
        cr_expect(durable[i], "'%s' was sent before the journal's %s line was durable",
                  acts[i].command, acts[i].line);
      }
    }
  }
  free(line);
  fclose(f);
  for (size_t i = 0; i < ARRAY_LEN(acts); i++)
    cr_expect(sent[i], "'%s' was never sent", acts[i].command);
}

/* ---- the reconcile step and the device side of issues 13 and 18 (i13-fleet) ---- */

/* Every router of the lab answers through DIR/wrap.sh STATE (the local transport), a shell
 * script whose `sim` function is junos-sim for that router: a test bends one answer the way a
 * real router (or the review's reproduction) would, everything else is junos-sim's. Every command
 * is logged to DIR/commands.log. */
static void use_wrapper(const char *body)
{
  char path[400];
  snprintf(path, sizeof path, "%s/wrap.sh", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f,
          "#!/bin/sh\n"
          "st=\"$1\"\n"
          "sim() { exec %s device --state \"$st\"; }\n"
          "printf '%%s %%s\\n' \"$(basename \"$st\" .json)\" \"$SSH_ORIGINAL_COMMAND\" >> "
          "%s/commands.log\n"
          "%s\n"
          "sim\n",
          JUNOS_SIM_BINARY, dir, body);
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

/* Lines of DIR/commands.log of `router` that contain `needle`. */
static int commands_sent(const char *router, const char *needle)
{
  char *out;
  sh(&out, "grep -F -- '%s' %s/commands.log | grep -c '^%s '", needle, dir, router);
  int n = atoi(out);
  free(out);
  return n;
}

/* Every router on the target, RE0 master again, exactly one ISSU each. */
static void expect_lab_upgraded(void)
{
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all)
  {
    const char *name = str_at(st, "name", NULL);
    cr_expect_str_eq(str_at(st, "re0_version", NULL), TARGET, "%s re0", name);
    cr_expect_str_eq(str_at(st, "re1_version", NULL), TARGET, "%s re1", name);
    cr_expect_eq(cJSON_GetObjectItem(st, "master")->valueint, 0, "%s: re0 master again", name);
    cr_expect_eq(starts_of(st), 1, "%s: exactly one ISSU", name);
  }
  cJSON_Delete(all);
}

Test(rollout, every_session_stays_open_on_the_backup_at_the_switchover_and_the_rollout_completes,
     .timeout = 600, .fini = lab_stop)
{
  /* A real MX may keep the ISSU's session open on the old master, now backup ({backup}, the
   * master-only refusal): issu-fleet must notice, send nothing more on it, and go on through a
   * fresh session to the master (a new host key there: both are known). */
  lab_start(4, 1, "--switchover stay");
  write_policy("waves: {canary: 1, serial: [\"100%\"], soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  for (size_t i = 0; i < j.n; i++)
    if (strcmp(action(j.ev[i]), "device-finished") == 0)
      cr_expect_str_eq(str_at(j.ev[i], "event", "outcome"), "success", "%s: %s", host(j.ev[i]),
                       str_at(j.ev[i], "error", "message"));
  cr_expect_eq(count_action(&j, "device-finished", NULL), 4);
  journal_free(&j);
  expect_lab_upgraded();
}

Test(rollout, an_error_line_in_the_install_scroll_does_not_fail_a_router_that_switched_over,
     .timeout = 300, .fini = lab_stop)
{
  /* B2 (review repro error_line_in_scroll.sh): one harmless `error:` line after `Using /...`. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  *in-service-upgrade*) " JUNOS_SIM_BINARY " device --state \"$st\" | awk '{print; "
              "fflush()} /^Using \\//{print \"error: could not remove /var/tmp/stale-core.0 "
              "(ignored)\"; fflush()}'; exit ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s",
                   str_at(fin, "error", "message"));
  journal_free(&j);
  expect_lab_upgraded();
  /* old_master: reboot is Junos's own option; issu-fleet never reboots an RE itself (B12). */
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 1);
  cr_expect_eq(commands_sent("mx-ams-1", ".tgz reboot"), 1, "the ISSU carries `reboot`");
  cr_expect_eq(commands_sent("mx-ams-1", "request system reboot"), 0);
}

Test(rollout, an_error_line_then_a_dropped_console_is_no_refusal_while_the_issu_goes_on,
     .timeout = 300, .fini = lab_stop)
{
  /* Review: a harmless `error:` line in the install scroll, then the console's session drops
   * (a network blip) while the backup RE installs: from outside the router still looks
   * untouched. The latched words are no refusal (the router did not end the console), so the
   * router must not be failed (which frees its pair partner) while its ISSU goes on. */
  lab_start(1, 1, NULL);
  use_wrapper(
      "case \"$SSH_ORIGINAL_COMMAND\" in\n"
      "  *in-service-upgrade*)\n"
      "    " JUNOS_SIM_BINARY " device --state \"$st\" > \"$st.console\" 2>&1 </dev/null &\n"
      "    until grep -q '^Using /' \"$st.console\"; do sleep 0.05; done\n"
      "    cat \"$st.console\"; echo 'error: could not remove /var/tmp/stale-core.0 (ignored)'\n"
      "    kill -9 $$ ;;\n"
      "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s",
                   str_at(fin, "error", "message"));
  journal_free(&j);
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 1);
  expect_lab_upgraded();
}

Test(rollout, a_look_whose_two_reads_span_the_switchover_looks_again_before_it_acts, .timeout = 300,
     .fini = lab_stop)
{
  /* The reconcile step reads the master, then both REs' releases: two commands, two moments.
   * Under valgrind or load (with --time-scale, seconds of wall clock are minutes of router time)
   * the ISSU went on between them: re0 master read before the switchover, both REs on the target
   * read after the old master's reboot, with re1 master by then. Taken as one moment that is
   * "switched back already": verify, and verify found re1 master (the dropped-console test's
   * failure under valgrind). Here the first releases read after the console drops waits until
   * the ISSU has ended, so the two reads always span it. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  *in-service-upgrade*)\n"
              "    " JUNOS_SIM_BINARY
              " device --state \"$st\" > \"$st.console\" 2>&1 </dev/null &\n"
              "    until grep -q '^Using /' \"$st.console\"; do sleep 0.05; done\n"
              "    cat \"$st.console\"; touch \"$st.dropped\"\n"
              "    kill -9 $$ ;;\n"
              "  'show version invoke-on all-routing-engines'*)\n"
              "    if [ -f \"$st.dropped\" ]; then\n"
              "      rm -f \"$st.dropped\"\n"
              "      until [ \"$(" JUNOS_SIM_BINARY " device --state \"$st\" </dev/null | grep -c "
              "'<junos-version>" TARGET "</junos-version>')\" = 2 ]; do sleep 0.05; done\n"
              "    fi ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s",
                   str_at(fin, "error", "message"));
  journal_free(&j);
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 1);
  expect_lab_upgraded(); /* re0 master again: the switchback happened */
}

Test(rollout, switchback_sends_one_switch_even_when_the_switch_is_slow_to_show, .timeout = 300,
     .fini = lab_stop)
{
  /* B3 (review repro slow_switch.sh): the first look after the switch still shows the old
   * master. A second switch would be refused in the hold-down and accepted after it. */
  lab_start(1, 1, NULL);
  use_wrapper(
      "stale=\"$st.stale\"\n"
      "case \"$SSH_ORIGINAL_COMMAND\" in\n"
      "  'request chassis routing-engine master switch')\n"
      "    SSH_ORIGINAL_COMMAND='show chassis routing-engine | display xml' " JUNOS_SIM_BINARY
      " device --state \"$st\" > \"$stale\" < /dev/null ;;\n"
      "  'show chassis routing-engine'*)\n"
      "    if [ -f \"$stale\" ]; then cat \"$stale\"; rm -f \"$stale\"; exit 0; fi ;;\n"
      "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success", "%s",
                   str_at(finished_of(&j, "mx-ams-1"), "error", "message"));
  journal_free(&j);
  /* Checks may repeat (the hold-down after the old master's reboot); the switch goes once. */
  char *out;
  sh(&out, "grep -c '^mx-ams-1 request chassis routing-engine master switch$' %s/commands.log",
     dir);
  cr_expect_eq(atoi(out), 1, "exactly one mastership switch, got %s", out);
  free(out);
  expect_lab_upgraded();
}

Test(rollout, a_crash_between_the_journal_and_the_router_holds_the_router_and_sends_no_issu,
     .timeout = 300, .fini = lab_stop)
{
  /* B11: the journal says validate (the ISSU is journaled before it goes out); the process dies
   * before the command reaches the router. On resume the router shows nothing of an ISSU, as it
   * would while still validating one: held, never a (second) ISSU. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  *in-service-upgrade*) kill -9 $PPID; exit 1 ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  char *out;
  issu_fleet(&out, "run", "--yes");
  free(out);
  struct journal j = journal_read();
  cr_expect_eq(count_action(&j, "device-finished", NULL), 0, "the run died mid-router");
  journal_free(&j);
  /* The next attempt goes to the router as it is. */
  cr_assert_eq(
      sh(&out, "sed -i 's#  \\*in-service-upgrade\\*) kill -9 $PPID; exit 1 ;;##' %s/wrap.sh", dir),
      0, "%s", out);
  free(out);
  int rc = sh(&out,
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
              "--resume t --yes </dev/null",
              ISSU_BINARY, dir, dir, dir);
  cr_expect_neq(rc, 0, "a held router is not a success:\n%s", out);
  free(out);
  j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown");
  cr_expect_str_eq(str_at(fin, "error", "code"), "issu-unconfirmed", "%s",
                   str_at(fin, "error", "message"));
  journal_free(&j);
  cJSON *all = lab_status(), *st;
  cJSON_ArrayForEach(st, all) cr_expect_eq(starts_of(st), 0, "no ISSU was ever started");
  cJSON_Delete(all);
}

Test(rollout, a_session_that_keeps_landing_on_the_backup_is_held_at_the_phase_timeout,
     .timeout = 400, .fini = lab_stop)
{
  /* Review: an inventory address that stays with one RE puts every session after the switchover
   * on the backup. Each look reconnected 200 ms later, past the phase timeout, until the device
   * timeout (2 h on a real run); the phase timeout must hold the router instead. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  *in-service-upgrade*) touch \"$st.issu\" ;;\n"
              "  'show chassis routing-engine'*)\n"
              "    if [ -f \"$st.issu\" ]; then echo '{backup}'; fi ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  char *out;
  issu_fleet(&out, "run", "--yes");
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_assert_not_null(fin);
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown");
  cr_expect_str_neq(str_at(fin, "error", "code"), "device-timeout", "%s",
                    str_at(fin, "error", "message"));
  journal_free(&j);
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 1);
}

Test(rollout, a_switch_check_that_never_says_ready_is_held_at_the_switchback_timeout,
     .timeout = 400, .fini = lab_stop)
{
  /* Review: after the switchback's own timeout the check was asked again every 20 s until the
   * device timeout (2 h on a real run). */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'request chassis routing-engine master switch check')\n"
              "    [ -f \"$st.issu\" ] && exit 0 ;;\n"
              "  *in-service-upgrade*) touch \"$st.issu\" ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  char *out;
  issu_fleet(&out, "run", "--yes");
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_assert_not_null(fin);
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown");
  cr_expect_str_eq(str_at(fin, "error", "code"), "phase-timeout", "%s",
                   str_at(fin, "error", "message"));
  journal_free(&j);
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 1);
}

Test(rollout, storage_is_checked_on_both_routing_engines, .timeout = 300, .fini = lab_stop)
{
  /* B14: the backup RE's /var is full; the master's is not. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show system storage invoke-on all-routing-engines | display xml')\n"
              "    " JUNOS_SIM_BINARY " device --state \"$st\" | awk '/<re-name>re1</{r=1} r && "
              "/<used-percent> *45</{sub(/> *45</, \">97<\")} {print}'; exit ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("check", NULL, 1);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "error", "code"), "storage-low");
  cr_expect(strstr(str_at(fin, "error", "message"), "re1 /.mount/var is 97% full"), "%s",
            str_at(fin, "error", "message"));
  journal_free(&j);
}

Test(rollout, an_active_major_alarm_stops_a_router_unless_the_policy_accepts_it, .timeout = 300,
     .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show chassis alarms | display xml')\n"
              "    echo '<rpc-reply><alarm-information><alarm-summary><active-alarm-count>1"
              "</active-alarm-count></alarm-summary><alarm-detail><alarm-time>"
              "2026-11-23 22:14:09 UTC</alarm-time><alarm-class>Major"
              "</alarm-class><alarm-description>Host 0 fan tray failure</alarm-description>"
              "<alarm-short-description>fan fail</alarm-short-description><alarm-type>Chassis"
              "</alarm-type></alarm-detail></alarm-information></rpc-reply>'; exit ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("check", NULL, 1);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "error", "code"), "major-alarm");
  cr_expect(strstr(str_at(fin, "error", "message"), "Host 0 fan tray failure"), "%s",
            str_at(fin, "error", "message"));
  journal_free(&j);
  write_policy("waves: {canary: 1, soak: 0}\npreflight: {accept_alarms: [\"Host 0 fan tray "
               "failure\"]}\n");
  char *out;
  cr_assert_eq(sh(&out, "rm -rf %s/state", dir), 0, "%s", out); /* a new run, same run id */
  free(out);
  j = run_expect("check", NULL, 0);
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "issu", "result"), "ready");
  journal_free(&j);
}

Test(rollout, vm_host_routers_are_upgraded_with_the_vmhost_commands, .timeout = 300,
     .fini = lab_stop)
{
  lab_start(2, 1, "--router mx-ams-1=vmhost --router mx-ams-2=vmhost");
  use_wrapper("");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  journal_free(&j);
  expect_lab_upgraded();
  cr_expect_eq(commands_sent("mx-ams-1", "request vmhost software in-service-upgrade"), 1);
  /* target.vmhost: false overrides what the router reports: Junos refuses the plain command on
   * a VM-host RE, and nothing changed, so the router fails (it is not held). */
  lab_stop();
  lab_start(1, 1, "--router mx-ams-1=vmhost");
  write_policy("waves: {canary: 1, soak: 0}\n");
  char *out;
  cr_assert_eq(sh(&out, "sed -i '/^target:/a\\  vmhost: false' %s/test.yaml", dir), 0, "%s", out);
  free(out);
  j = run_expect("run", "--yes", 3);
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "failure", "%s",
                   str_at(finished_of(&j, "mx-ams-1"), "error", "message"));
  journal_free(&j);
}

Test(rollout, old_master_leave_ends_with_re1_master_on_target_and_reports_the_pending_install,
     .timeout = 300, .fini = lab_stop)
{
  /* `leave`: done when RE1 is master on the target and RE0 answers; `Backup RE Active` is then
   * expected, not a new alarm. */
  lab_start(1, 1, "--switchover stay");
  write_policy("waves: {canary: 1, soak: 0}\nissu: {old_master: leave}\n");
  struct journal j = run_expect("run", "--yes", 0);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s",
                   str_at(fin, "error", "message"));
  const cJSON *pending = NULL;
  for (size_t i = 0; i < j.n; i++)
    if (strcmp(action(j.ev[i]), "old-master-pending") == 0)
      pending = j.ev[i];
  cr_assert_not_null(pending, "the pending install is reported");
  cr_expect(
      cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(pending, "issu"), "pending_install")));
  journal_free(&j);
  cJSON *st = status_of("mx-ams-1");
  cr_expect_eq(cJSON_GetObjectItem(st, "master")->valueint, 1);
  cr_expect_str_eq(str_at(st, "re1_version", NULL), TARGET);
  cr_expect_str_eq(str_at(st, "re0_version", NULL), FROM);
  cr_expect_eq(starts_of(st), 1);
  cJSON_Delete(st);
}

/* Switches the router carried out: lines of commands.log for the switch itself (read here, not
 * by a shell: the tests poll it). */
static int switches_logged(void)
{
  char path[400];
  snprintf(path, sizeof path, "%s/commands.log", dir);
  return lines_in(path, "mx-ams-1 request chassis routing-engine master switch", true);
}

/* The wrapper holds the switch it was sent (use_wrapper's marker). */
static bool switch_held(void)
{
  return lab_file("routers/mx-ams-1.json.held");
}

/* The router carried out one switch and is back on RE0, its ISSU done. */
static bool switched_back(void)
{
  return switches_logged() == 1 &&
         sh(NULL, "%s lab status %s --json | grep -q '\"master\":0,\"issu_state\":\"done\"'",
            JUNOS_SIM_BINARY, dir) == 0;
}

Test(rollout, a_crash_in_the_switchback_sends_no_second_switch_on_resume, .timeout = 900,
     .fini = lab_stop)
{
  /* B3/B12 across a resume. First: the crash comes after the switch was journaled and sent, but
   * before the router carried it out (the wrapper holds it while DIR/hold exists, then drops
   * it): on resume the router still shows RE1 master, and once a switch would have shown, one
   * switch goes out. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'request chassis routing-engine master switch')\n"
              "    if [ -f \"$(dirname \"$st\")/../hold\" ]; then touch \"$st.held\"; while [ -f "
              "\"$(dirname \"$st\")/../hold\" ]; do sleep 0.05; done; exit 1; fi ;;\n"
              "esac");
  char *out;
  cr_assert_eq(sh(&out, "touch %s/hold", dir), 0, "%s", out);
  free(out);
  write_policy("waves: {canary: 1, soak: 0}\n");
  pid_t pid = run_in_background(NULL);
  assert_run_reaches(pid, switch_held, "the switch went out");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  cr_assert_eq(sh(&out, "rm -f %s/hold", dir), 0, "%s", out);
  free(out);
  pid = run_in_background("--resume t");
  expect_exit(pid, 0, "the resumed run completes");
  cr_expect_eq(switches_logged(), 2, "the one held back and the one that switched");
  cr_expect_eq(commands_sent("mx-ams-1", "request system reboot"), 0);
  expect_lab_upgraded();
  lab_stop();

  /* Then: the crash comes after the router switched. The resumed run sees RE0 master on the
   * target and only verifies. */
  lab_start(1, 1, NULL);
  use_wrapper("");
  write_policy("waves: {canary: 1, soak: 0}\n");
  pid = run_in_background(NULL);
  assert_run_reaches(pid, switched_back, "the router switched back");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  pid = run_in_background("--resume t");
  expect_exit(pid, 0, "the resumed run completes");
  cr_expect_eq(switches_logged(), 1, "no second switch");
  expect_lab_upgraded();
}

/* The wrapper moved the mastership back to RE1 during verify, after the switchback (its marker). */
static bool verify_flipped(void)
{
  return lab_file("routers/mx-ams-1.json.flipped");
}

Test(rollout, a_master_moved_during_verify_is_held_not_switched_without_a_journal_line,
     .timeout = 900, .fini = lab_stop)
{
  /* No switch of ours: RE0 became master again by itself (a failover) as the old master came
   * back, so verify began with no switchback phase journaled; then RE1 became master again
   * during verify and the run died. The resumed run took RE1 master for a switchback still to
   * make, and sent the switch with no line announcing it (the phase stays verify): a crash after
   * it would resume the same way and switch again. */
  lab_start(1, 1, NULL);
  use_wrapper("flip() {\n"
              "  until SSH_ORIGINAL_COMMAND='request chassis routing-engine master switch "
              "no-confirm' " JUNOS_SIM_BINARY " device --state \"$st\" </dev/null | grep -q "
              "'^Complete'; do sleep 0.1; done\n"
              "}\n"
              "case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show version invoke-on all-routing-engines'*)\n"
              "    if [ ! -f \"$st.first\" ] && [ \"$(" JUNOS_SIM_BINARY
              " device --state \"$st\" </dev/null | grep -c '<junos-version>" TARGET
              "</junos-version>')\" = 2 ]; then flip; touch \"$st.first\"; fi ;;\n"
              "  'show chassis alarms | display xml')\n"
              "    if [ -f \"$st.first\" ] && [ ! -f \"$st.go\" ]; then\n"
              "      flip; touch \"$st.flipped\"; while [ ! -f \"$st.go\" ]; do sleep 0.05; done; "
              "exit 1\n"
              "    fi ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  pid_t pid = run_in_background(NULL);
  assert_run_reaches(pid, verify_flipped, "verify began, then RE1 master");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  char *out;
  cr_assert_eq(sh(&out, "touch %s/routers/mx-ams-1.json.go", dir), 0, "%s", out);
  free(out);
  cr_assert_eq(switches_logged(), 0, "issu-fleet switched nothing before the crash");
  cr_assert_eq(journal_count("\"phase\":\"switchback\""), 0, "no switchback was journaled");
  pid = run_in_background("--resume t");
  expect_exit(pid, ISSU_EXIT_HELD, "the router is held");
  cr_expect_eq(switches_logged(), 0, "no mastership switch without a journaled switchback");
  struct journal j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "unknown", "%s",
                   str_at(finished_of(&j, "mx-ams-1"), "error", "message"));
  journal_free(&j);
}

/* The wrapper moved the mastership back to RE1 once verify began, after our switchback. */
static bool verify_began_flipped(void)
{
  return lab_file("routers/mx-ams-1.json.flipped");
}

Test(rollout, a_master_moved_during_a_live_verify_is_held_as_a_resume_holds_it, .timeout = 300,
     .fini = lab_stop)
{
  /* The switchback went out and showed, verify began, and RE1 became master again by itself (a
   * failover) before verify read the master. A resumed run holds that router (state-unknown:
   * the mastership moved by itself, docs/operations.md's table, "live or resumed"); the live run
   * failed it as verify-failed, an outcome that frees its slots, so its pair partner could start
   * beside a router whose mastership had just moved on its own. */
  lab_start(1, 1, NULL);
  use_wrapper("flip() {\n"
              "  until SSH_ORIGINAL_COMMAND='request chassis routing-engine master switch "
              "no-confirm' " JUNOS_SIM_BINARY " device --state \"$st\" </dev/null | grep -q "
              "'^Complete'; do sleep 0.1; done\n"
              "}\n"
              "case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show version invoke-on all-routing-engines'*)\n"
              "    if [ ! -f \"$st.flipped\" ] && grep -q '\"phase\":\"verify\"' "
              "\"$(dirname \"$st\")/../state/t.jsonl\"; then flip; touch \"$st.flipped\"; fi ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  pid_t pid = run_in_background(NULL);
  expect_exit(pid, ISSU_EXIT_HELD, "the router is held");
  cr_assert(verify_began_flipped(), "RE1 became master during verify");
  cr_expect_eq(switches_logged(), 1, "the switchback only, never a second switch");
  struct journal j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "unknown", "%s",
                   str_at(finished_of(&j, "mx-ams-1"), "error", "message"));
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "error", "code"), "state-unknown");
  journal_free(&j);
}

/* The wrapper holds verify's alarm look (after the switchback) while DIR/hold exists. */
static bool verify_held(void)
{
  return lab_file("verify.held");
}

/* RE1 master on the simulated router (what `lab status` says). */
static bool re1_master(void)
{
  return sh(NULL, "%s lab status %s --json | grep -q '\"master\":1,'", JUNOS_SIM_BINARY, dir) == 0;
}

Test(rollout, a_resume_in_verify_never_switches_back_a_second_time, .timeout = 300,
     .fini = lab_stop)
{
  /* The switchback went out and showed (the journal saw verify); the run then died, and RE1
   * became master again meanwhile (a failover of RE0): the one switch of the ISSU is spent, so
   * the resumed run holds the router rather than switch it a second time. */
  lab_start(1, 1, NULL);
  use_wrapper(
      "case \"$SSH_ORIGINAL_COMMAND\" in\n"
      "  'show chassis alarms | display xml')\n"
      "    d=\"$(dirname \"$st\")/..\"\n"
      "    if [ -f \"$d/hold\" ] && grep -qx 'mx-ams-1 request chassis routing-engine master "
      "switch' \"$d/commands.log\"; then touch \"$d/verify.held\"; while [ -f \"$d/hold\" ]; "
      "do sleep 0.05; done; exit 1; fi ;;\n"
      "esac");
  char *out;
  cr_assert_eq(sh(&out, "touch %s/hold", dir), 0, "%s", out);
  free(out);
  write_policy("waves: {canary: 1, soak: 0}\n");
  pid_t pid = run_in_background(NULL);
  assert_run_reaches(pid, verify_held, "verify after the switchback");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  cr_assert_eq(switches_logged(), 1);
  /* RE1 takes mastership again (past the hold-down of the switch just made). */
  for (int i = 0; i < 200 && !re1_master(); i++) {
    sh(NULL,
       "echo yes | SSH_ORIGINAL_COMMAND='request chassis routing-engine master switch' %s device "
       "--state %s/routers/mx-ams-1.json",
       JUNOS_SIM_BINARY, dir);
    pause_ms(100);
  }
  cr_assert(re1_master(), "the router did not switch");
  cr_assert_eq(sh(&out, "rm -f %s/hold", dir), 0, "%s", out);
  free(out);
  pid = run_in_background("--resume t");
  expect_exit(pid, 5, "the resumed run holds the router");
  cr_expect_eq(switches_logged(), 1, "no second switchback");
  cJSON *st = status_of("mx-ams-1");
  cr_expect_eq(cJSON_GetObjectItem(st, "master")->valueint, 1, "left as it was found");
  cJSON_Delete(st);
  struct journal j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "unknown");
  journal_free(&j);
}

/* After the switchback, the versions reads from the `first`th to the `last`th answer as a router
 * whose RE1 does not answer (capture show-version-invoke-on-all-routing-engines__pyez-other-re-off:
 * an rpc-error naming the RE, then the other RE's results); the first read after the switch is
 * the reconcile step's, which then sees both REs on the target and chooses verify. */
static void re1_silent_at_verify(int first, int last)
{
  char body[2048];
  snprintf(body, sizeof body,
           "d=\"$(dirname \"$st\")/..\"\n"
           "case \"$SSH_ORIGINAL_COMMAND\" in\n"
           "  'show version invoke-on all-routing-engines | display xml')\n"
           "    if grep -qx 'mx-ams-1 request chassis routing-engine master switch' "
           "\"$d/commands.log\"; then\n"
           "      n=$(( $(cat \"$d/after\" 2>/dev/null || echo 0) + 1 )); echo $n > \"$d/after\"\n"
           "      if [ $n -ge %d ] && [ $n -le %d ]; then\n"
           "        echo '<rpc-reply><rpc-error><error-severity>error</error-severity>"
           "<error-message>Could not connect to re1 : No route to host</error-message></rpc-error>"
           "<multi-routing-engine-results><multi-routing-engine-item><re-name>re0</re-name>"
           "<software-information><host-name>mx-ams-1</host-name><product-model>mx480"
           "</product-model><junos-version>" TARGET "</junos-version></software-information>"
           "</multi-routing-engine-item></multi-routing-engine-results></rpc-reply>'; exit 1\n"
           "      fi\n"
           "    fi ;;\n"
           "esac",
           first, last);
  use_wrapper(body);
}

Test(rollout, an_re_that_does_not_answer_at_verify_is_asked_again_not_failed, .timeout = 300,
     .fini = lab_stop)
{
  /* RE1 does not answer for two reads of verify (it restarts after the switch, say): its
   * release is unknown, which is no verdict on the upgrade. Verify asks again, as it does while
   * replication settles, and the router is done once RE1 answers on the target. */
  lab_start(1, 1, NULL);
  re1_silent_at_verify(2, 3);
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s: %s",
                   str_at(fin, "error", "code"), str_at(fin, "error", "message"));
  journal_free(&j);
  char *out;
  sh(&out, "cat %s/after", dir);
  cr_expect_geq(atoi(out), 4, "verify read the versions again (%s reads)", out);
  free(out);
  expect_lab_upgraded();
}

Test(rollout, an_re_that_never_answers_at_verify_holds_the_router, .timeout = 300, .fini = lab_stop)
{
  /* RE1 stays silent: the router's state cannot be established, so it is held at verify's
   * timeout (outcome unknown, its slots kept), not failed as if verify had found it wrong. */
  lab_start(1, 1, NULL);
  re1_silent_at_verify(2, 1000000);
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 5);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown", "%s: %s",
                   str_at(fin, "error", "code"), str_at(fin, "error", "message"));
  cr_expect_str_eq(str_at(fin, "issu", "phase"), "verify");
  cr_expect_eq(count_action(&j, "device-held", "mx-ams-1"), 1);
  journal_free(&j);
}

Test(rollout, an_empty_mastership_reply_at_verify_is_asked_again_not_failed, .timeout = 300,
     .fini = lab_stop)
{
  /* Verify's own mastership read (the third after the switch: the reconcile step's look and
   * its second read come first) answers nothing twice: no master named is no verdict either. */
  lab_start(1, 1, NULL);
  use_wrapper(
      "d=\"$(dirname \"$st\")/..\"\n"
      "case \"$SSH_ORIGINAL_COMMAND\" in\n"
      "  'show chassis routing-engine | display xml')\n"
      "    if grep -qx 'mx-ams-1 request chassis routing-engine master switch' "
      "\"$d/commands.log\"; then\n"
      "      n=$(( $(cat \"$d/after\" 2>/dev/null || echo 0) + 1 )); echo $n > \"$d/after\"\n"
      "      if [ $n -ge 3 ] && [ $n -le 4 ]; then exit 0; fi\n"
      "    fi ;;\n"
      "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s: %s",
                   str_at(fin, "error", "code"), str_at(fin, "error", "message"));
  journal_free(&j);
  char *out;
  sh(&out, "cat %s/after", dir);
  cr_expect_geq(atoi(out), 5, "verify read the mastership again (%s reads)", out);
  free(out);
  expect_lab_upgraded();
}

Test(rollout, an_empty_alarms_reply_at_verify_is_asked_again_not_failed, .timeout = 300,
     .fini = lab_stop)
{
  /* Verify's alarm read (the first after the switch) answers nothing twice: no alarm
   * information is no verdict on the alarms, as no release is none on the upgrade. */
  lab_start(1, 1, NULL);
  use_wrapper(
      "d=\"$(dirname \"$st\")/..\"\n"
      "case \"$SSH_ORIGINAL_COMMAND\" in\n"
      "  'show chassis alarms | display xml')\n"
      "    if grep -qx 'mx-ams-1 request chassis routing-engine master switch' "
      "\"$d/commands.log\"; then\n"
      "      n=$(( $(cat \"$d/after\" 2>/dev/null || echo 0) + 1 )); echo $n > \"$d/after\"\n"
      "      if [ $n -le 2 ]; then exit 0; fi\n"
      "    fi ;;\n"
      "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s: %s",
                   str_at(fin, "error", "code"), str_at(fin, "error", "message"));
  journal_free(&j);
  char *out;
  sh(&out, "cat %s/after", dir);
  cr_expect_geq(atoi(out), 3, "verify read the alarms again (%s reads)", out);
  free(out);
  expect_lab_upgraded();
}

/* The lab's sshd serve every command through DIR/rewrap.sh (args: --state FILE --re N), a shell
 * script whose body runs before junos-sim; the lab is restarted to read it. */
static void use_sshd_wrapper(const char *body)
{
  char path[400];
  snprintf(path, sizeof path, "%s/rewrap.sh", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "#!/bin/sh\nd=%s\nre=\"$4\"\n%s\nexec %s device \"$@\"\n", dir, body,
          JUNOS_SIM_BINARY);
  fclose(f);
  char *out;
  cr_assert_eq(
      sh(&out,
         "chmod +x %s/rewrap.sh && %s lab down %s && sed -i 's#ForceCommand %s device "
         "#ForceCommand %s/rewrap.sh #' %s/sshd/*.conf && grep -q rewrap %s/sshd/sshd-1.conf "
         "&& %s lab up %s",
         dir, JUNOS_SIM_BINARY, dir, JUNOS_SIM_BINARY, dir, dir, dir, JUNOS_SIM_BINARY, dir),
      0, "%s", out);
  free(out);
}

Test(rollout, a_command_to_an_re_address_left_running_at_verify_timeout_is_abandoned,
     .timeout = 300, .fini = lab_stop)
{
  /* Verify asks the backup RE's own address whether it is ready for a switchover; it says no
   * (replication synchronizing) for 50 s, then its answer hangs past verify's timeout. The
   * timeout abandons what was under way and the reconcile step looks on a fresh session; the
   * hung answer, arriving while that look runs, must act no more (it sent verify's alarm read
   * on the look's session: a reply handed to the wrong step, a command with no step at all). */
  lab_start(1, 1, NULL);
  use_sshd_wrapper(
      "case \"$re:$SSH_ORIGINAL_COMMAND\" in\n"
      "  '1:show system switchover | display xml')\n"
      "    n=$(( $(cat \"$d/asked\" 2>/dev/null || echo 0) + 1 )); echo $n > \"$d/asked\"\n"
      "    if [ $n -eq 2 ]; then date +%s > \"$d/verify.t0\"; fi\n"
      "    if [ $n -ge 2 ]; then\n"
      "      if [ $(( $(date +%s) - $(cat \"$d/verify.t0\") )) -ge 50 ]; then\n"
      "        touch \"$d/re1.blocked\"; i=0\n"
      "        while [ ! -f \"$d/go\" ] && [ $i -lt 280 ]; do sleep 0.05; i=$((i + 1)); done\n"
      "      else\n"
      "        " JUNOS_SIM_BINARY
      " device \"$@\" | sed 's#<output>Ready#<output>Not Ready#'; exit 0\n"
      "      fi\n"
      "    fi ;;\n"
      "  '0:show chassis routing-engine | display xml')\n"
      "    if [ -f \"$d/re1.blocked\" ] && [ ! -f \"$d/go\" ]; then touch \"$d/go\"; sleep 1; fi "
      ";;\n"
      "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 5);
  cr_assert(lab_file("go"), "the reconcile step's look met the hung answer");
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown", "%s: %s",
                   str_at(fin, "error", "code"), str_at(fin, "error", "message"));
  cr_expect_str_eq(str_at(fin, "error", "code"), "phase-timeout", "%s",
                   str_at(fin, "error", "message"));
  journal_free(&j);
}

static bool in_backup_upgrade(void)
{
  return journal_count("\"phase\":\"backup-upgrade\"") > 0;
}

Test(rollout, an_address_that_refuses_connections_mid_issu_is_waited_for_until_the_phase_timeout,
     .timeout = 300, .fini = lab_stop)
{
  /* The router's address refuses connections for 25 s while its ISSU runs (the lab's
   * master-only forwarder stopped; an address on the move at a switchover looks the same): no
   * answer is a wait until the phase's timeout (docs/operations.md's table), not a held router
   * once a few quick reconnects have failed. */
  lab_start(1, 1, NULL);
  lab_hold("mx-ams-1", "backup-upgrade");
  write_policy("waves: {canary: 1, soak: 0}\n"
               "issu: {timeouts: {backup-upgrade: 10h, device: 24h}}\n");
  pid_t pid = run_in_background(NULL);
  assert_run_reaches(pid, in_backup_upgrade, "the ISSU under way");
  char *out;
  cr_assert_eq(sh(&out, "kill $(cat %s/sshd/forward.run)", dir), 0, "%s", out);
  free(out);
  pause_ms(25000);
  cr_assert_eq(sh(&out, "%s lab up %s", JUNOS_SIM_BINARY, dir), 0, "%s", out);
  free(out);
  lab_release("mx-ams-1");
  expect_exit(pid, 0, "the router is upgraded once its address answers again");
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s: %s",
                   str_at(fin, "error", "code"), str_at(fin, "error", "message"));
  journal_free(&j);
  expect_lab_upgraded();
}

Test(rollout, an_address_that_never_answers_again_mid_issu_is_held_at_the_phase_timeout,
     .timeout = 300, .fini = lab_stop)
{
  /* The same, and the address never answers again: the wait ends at the phase's timeout, with
   * the router held (outcome unknown), never failed and never waited on for ever. (1h of policy
   * time is 6 s here: the phase's real-time floor, 30 s, decides; 8 failed connects take ~18 s.) */
  lab_start(1, 1, NULL);
  lab_hold("mx-ams-1", "backup-upgrade");
  write_policy("waves: {canary: 1, soak: 0}\n"
               "issu: {timeouts: {backup-upgrade: 1h, device: 24h}}\n");
  pid_t pid = run_in_background(NULL);
  assert_run_reaches(pid, in_backup_upgrade, "the ISSU under way");
  char *out;
  cr_assert_eq(sh(&out, "kill $(cat %s/sshd/forward.run)", dir), 0, "%s", out);
  free(out);
  expect_exit(pid, 5, "the router is held");
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown");
  cr_expect_str_eq(str_at(fin, "error", "code"), "phase-timeout", "%s",
                   str_at(fin, "error", "message"));
  cr_expect_str_eq(str_at(fin, "issu", "phase"), "backup-upgrade");
  journal_free(&j);
}

/* A shell line that prints an alarm reply of N minor alarms (PEM 0 .. N-1 Absent), then, with
 * MAJOR 1, an active major one. junos/ keeps 32 alarms of a reply and says when it kept fewer. */
#define ALARMS(N, MAJOR)                                                                           \
  "awk 'BEGIN { n = " #N "; m = " #MAJOR "; print \"<rpc-reply><alarm-information><alarm-summary>" \
  "<active-alarm-count>\" n + m \"</active-alarm-count></alarm-summary>\"; for (i = 0; i < n; "    \
  "i++) print \"<alarm-detail><alarm-time>2026-11-23 22:14:09 UTC</alarm-time><alarm-class>Minor"  \
  "</alarm-class><alarm-description>PEM \" i \" Absent</alarm-description></alarm-detail>\"; if "  \
  "(m) print \"<alarm-detail><alarm-time>2026-11-23 22:14:09 UTC</alarm-time><alarm-class>Major"   \
  "</alarm-class><alarm-description>Host 0 fan tray "                                              \
  "failure</alarm-description></alarm-detail>\"; "                                                 \
  "print \"</alarm-information></rpc-reply>\" }'"

Test(rollout, an_alarm_list_longer_than_what_is_kept_is_no_answer_at_preflight, .timeout = 300,
     .fini = lab_stop)
{
  /* The 34th alarm is an active major one: junos/ keeps 32 and says the list is cut. A check
   * that passed on the 32 kept would start an ISSU on a router the policy refuses. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show chassis alarms | display xml') " ALARMS(33, 1) "; exit ;;\n"
                                                                      "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("check", NULL, 1);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "error", "code"), "output-cut", "%s",
                   str_at(fin, "error", "message"));
  journal_free(&j);
}

Test(rollout, an_alarm_list_longer_than_what_is_kept_at_verify_is_no_verdict, .timeout = 300,
     .fini = lab_stop)
{
  /* 32 minor alarms at preflight (all kept: the baseline); after the switchback a 33rd, an
   * active major one, beyond what is kept: verify cannot say none is new, so the router is held
   * at verify's timeout, never done (the health checks, off here, would read the whole list). */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show chassis alarms | display xml')\n"
              "    if grep -qx 'mx-ams-1 request chassis routing-engine master switch' "
              "\"$(dirname \"$st\")/../commands.log\"; then " ALARMS(32, 1) "; else " ALARMS(
                  32, 0) "; fi; exit ;;\n"
                         "esac");
  write_policy("waves: {canary: 1, soak: 0}\nchecks: {builtin: off}\n");
  struct journal j = run_expect("run", "--yes", 5);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown", "%s: %s",
                   str_at(fin, "error", "code"), str_at(fin, "error", "message"));
  cr_expect_str_eq(str_at(fin, "issu", "phase"), "verify");
  journal_free(&j);
}

/* ==== Issue 18, the device side (engineer i18-dev): the alarm baseline across a resume, ... ====
 */

/* A minor alarm the router had before the ISSU and still has after it (the wrapper answers
 * every `show chassis alarms` with it). */
#define OLD_ALARM_WRAPPER                                                                          \
  "case \"$SSH_ORIGINAL_COMMAND\" in\n"                                                            \
  "  'show chassis alarms | display xml')\n"                                                       \
  "    echo '<rpc-reply><alarm-information><alarm-summary><active-alarm-count>1"                   \
  "</active-alarm-count></alarm-summary><alarm-detail><alarm-time>"                                \
  "2026-11-23 22:14:09 UTC</alarm-time><alarm-class>Minor"                                         \
  "</alarm-class><alarm-description>Rescue configuration is not set</alarm-description>"           \
  "<alarm-short-description>no-rescue</alarm-short-description><alarm-type>Configuration"          \
  "</alarm-type></alarm-detail></alarm-information></rpc-reply>'; exit ;;\n"                       \
  "esac"

Test(rollout, a_resume_after_preflight_reads_the_alarm_baseline_from_the_journal, .timeout = 900,
     .fini = lab_stop)
{
  /* The alarms before the ISSU are journaled (alarm-baseline) before anything acts; a run killed
   * mid-ISSU and resumed compares verify's alarms with them, not with nothing (which counted the
   * router's old alarm as new and failed an upgraded router). */
  lab_start(1, 1, NULL);
  use_wrapper(OLD_ALARM_WRAPPER);
  write_policy("waves: {canary: 1, soak: 0}\n"
               "issu: {timeouts: {daemons: 20h}}\n");
  lab_hold("mx-ams-1", "daemons");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("\"phase\":\"backup-upgrade\""), "the ISSU is under way");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  lab_release("mx-ams-1");
  struct journal j = journal_read();
  cr_assert_eq(count_action(&j, "alarm-baseline", "mx-ams-1"), 1);
  for (size_t i = 0; i < j.n; i++) {
    if (strcmp(action(j.ev[i]), "alarm-baseline") != 0)
      continue;
    const cJSON *alarms = cJSON_GetObjectItem(cJSON_GetObjectItem(j.ev[i], "issu"), "alarms");
    cr_assert_eq(cJSON_GetArraySize(alarms), 1);
    cr_expect_str_eq(str_at(cJSON_GetArrayItem(alarms, 0), "description", NULL),
                     "Rescue configuration is not set");
    cr_expect_str_eq(str_at(cJSON_GetArrayItem(alarms, 0), "class", NULL), "Minor");
  }
  journal_free(&j);
  pid = run_in_background("--resume t");
  expect_exit(pid, 0, "the resumed run completes");
  j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "success", "%s: %s",
                   str_at(fin, "error", "code"), str_at(fin, "error", "message"));
  journal_free(&j);
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 1);
}

Test(rollout, the_alarm_baseline_line_stays_under_16_kib_however_long_the_alarms, .timeout = 300,
     .fini = lab_stop)
{
  /* 32 alarms (all a reply keeps) of 250 backslashes each: 16 KiB of JSON once escaped. The
   * line is bounded and says it was cut; the live run still compares with the whole list. */
  lab_start(1, 1, NULL);
  char path[400];
  snprintf(path, sizeof path, "%s/alarms.xml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "<rpc-reply><alarm-information><alarm-summary><active-alarm-count>32"
             "</active-alarm-count></alarm-summary>\n");
  for (int i = 0; i < 32; i++) {
    fprintf(f,
            "<alarm-detail><alarm-time>2026-11-23 22:14:09 UTC</alarm-time><alarm-class>Minor"
            "</alarm-class><alarm-description>%02d",
            i);
    for (int k = 0; k < 248; k++)
      fputc('\\', f);
    fprintf(f, "</alarm-description><alarm-type>Chassis</alarm-type></alarm-detail>\n");
  }
  fprintf(f, "</alarm-information></rpc-reply>\n");
  fclose(f);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show chassis alarms | display xml')\n"
              "    cat \"$(dirname \"$st\")/../alarms.xml\"; exit ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("run", "--yes", 0);
  cr_expect_str_eq(str_at(finished_of(&j, "mx-ams-1"), "event", "outcome"), "success");
  bool found = false;
  for (size_t i = 0; i < j.n; i++) {
    if (strcmp(action(j.ev[i]), "alarm-baseline") != 0)
      continue;
    found = true;
    char *line = cJSON_PrintUnformatted(j.ev[i]);
    cr_expect_lt(strlen(line), 16384, "the line is %zu bytes", strlen(line));
    free(line);
    const cJSON *is = cJSON_GetObjectItem(j.ev[i], "issu");
    cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(is, "alarms_cut")));
    int kept = cJSON_GetArraySize(cJSON_GetObjectItem(is, "alarms"));
    cr_expect(kept > 0 && kept < 32, "%d kept", kept);
  }
  cr_expect(found, "alarm-baseline journaled");
  journal_free(&j);
}

Test(rollout, no_decision_rests_on_a_reply_that_is_not_whole, .timeout = 300, .fini = lab_stop)
{
  /* Review: out.cut and transport_result.truncated were never read. A major alarm after the
   * 4,000 lines kept of a reply was simply not seen, and preflight passed: a reply that is not
   * whole is no reply (output-cut). */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show chassis alarms | display xml')\n"
              "    awk 'BEGIN { print \"<rpc-reply><alarm-information>\"; "
              "for (i = 0; i < 4100; i++) print \"<!-- padding -->\"; "
              "print \"<alarm-summary><active-alarm-count>1</active-alarm-count></alarm-summary>"
              "<alarm-detail><alarm-time>2026-11-23 22:14:09 UTC</alarm-time><alarm-class>Major"
              "</alarm-class><alarm-description>Host 0 fan tray failure</alarm-description>"
              "<alarm-short-description>fan fail</alarm-short-description><alarm-type>Chassis"
              "</alarm-type></alarm-detail></alarm-information></rpc-reply>\" }'; exit ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("check", NULL, 1);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "error", "code"), "output-cut", "%s",
                   str_at(fin, "error", "message"));
  cr_expect(strstr(str_at(fin, "error", "message"), "preflight alarms"), "%s",
            str_at(fin, "error", "message"));
  journal_free(&j);
  /* A line cut at the transport's length limit: the same. */
  char *out;
  cr_assert_eq(sh(&out, "rm -rf %s/state", dir), 0, "%s", out);
  free(out);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show chassis routing-engine | display xml')\n"
              "    " JUNOS_SIM_BINARY " device --state \"$st\" | awk '{print} "
              "NR == 1 { s = \"<!--\"; for (i = 0; i < 5000; i++) s = s \"x\"; print s \"-->\" }'; "
              "exit ;;\n"
              "esac");
  j = run_expect("check", NULL, 1);
  fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "error", "code"), "output-cut", "%s",
                   str_at(fin, "error", "message"));
  journal_free(&j);
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 0);
}

Test(rollout, a_long_line_the_transport_kept_whole_is_a_whole_reply, .timeout = 300,
     .fini = lab_stop)
{
  /* Review: a line of 1,023 characters or more (under the transport's 4,096) filled the
   * device's 1,024-byte cleaning buffer and was taken for a cut line: a whole reply became
   * output-cut and the router failed for nothing. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show chassis routing-engine | display xml')\n"
              "    " JUNOS_SIM_BINARY " device --state \"$st\" | awk '{print} "
              "NR == 1 { s = \"<!--\"; for (i = 0; i < 2000; i++) s = s \"x\"; print s \"-->\" }'; "
              "exit ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  struct journal j = run_expect("check", NULL, 0);
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "issu", "result"), "ready", "%s", str_at(fin, "error", "message"));
  journal_free(&j);
}

Test(rollout, two_res_that_both_say_master_hold_the_router_and_nothing_is_sent, .timeout = 300,
     .fini = lab_stop)
{
  /* Review: both REs claiming master made the probe pick re0, the original master, and the
   * router looked untouched: the ISSU went out. Unknown means held: never an action. Preflight
   * reads the real answer; the look before the ISSU sees both masters. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show chassis routing-engine | display xml')\n"
              "    n=$(cat \"$st.looks\" 2>/dev/null || echo 0); echo $((n + 1)) > \"$st.looks\"\n"
              "    if [ \"$n\" -ge 1 ]; then " JUNOS_SIM_BINARY " device --state \"$st\" | "
              "sed 's#<mastership-state>backup#<mastership-state>master#'; exit; fi ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_neq(rc, 0, "a held router is not a success:\n%s", out);
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown");
  cr_expect_str_eq(str_at(fin, "error", "code"), "state-unknown", "%s",
                   str_at(fin, "error", "message"));
  cr_expect(strstr(str_at(fin, "error", "message"), "both say"), "%s",
            str_at(fin, "error", "message"));
  journal_free(&j);
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 0, "nothing acted");
  /* A new check: preflight meets both masters and says so. */
  cr_assert_eq(sh(&out, "rm -rf %s/state", dir), 0, "%s", out);
  free(out);
  j = run_expect("check", NULL, 1);
  fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "error", "code"), "state-unknown");
  cr_expect(strstr(str_at(fin, "error", "message"), "re0 and re1 both say they are master"), "%s",
            str_at(fin, "error", "message"));
  journal_free(&j);
}

Test(rollout, an_inactive_gres_statement_fails_preflight_naming_it, .timeout = 300,
     .fini = lab_stop)
{
  /* Review: `deactivate chassis redundancy graceful-switchover` (the set line stays, and a
   * deactivate line follows it in `| display set`) passed the GRES check. */
  lab_start(1, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  'show configuration chassis redundancy | display set')\n"
              "    " JUNOS_SIM_BINARY " device --state \"$st\"; "
              "echo 'deactivate chassis redundancy graceful-switchover'; exit ;;\n"
              "esac");
  write_policy("waves: {canary: 1, soak: 0}\n");
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_neq(rc, 0, "%s", out);
  cr_expect(strstr(out, "mx-ams-1") && strstr(out, "preflight") && strstr(out, "inactive"),
            "the operator reads the router, the phase and the statement: %s", out);
  free(out);
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  cr_expect_str_eq(str_at(fin, "error", "code"), "gres-off");
  cr_expect_str_eq(str_at(fin, "issu", "phase"), "preflight");
  cr_expect(strstr(str_at(fin, "error", "message"),
                   "'set chassis redundancy graceful-switchover' is in the configuration but "
                   "inactive ('deactivate chassis redundancy graceful-switchover')"),
            "%s", str_at(fin, "error", "message"));
  journal_free(&j);
  cr_expect_eq(commands_sent("mx-ams-1", "in-service-upgrade"), 0);
}

Test(rollout, a_changed_host_key_on_an_re_address_at_verify_holds_the_router_and_says_why,
     .timeout = 300, .fini = lab_stop)
{
  /* Review: re1's own address (issu_re1_host) presenting another key at verify was asked again
   * every 30 s and ended as a phase-timeout. It is a host-key error: named with the address,
   * the fingerprints and the fix, and the router held (upgraded, not confirmed). */
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1, soak: 0}\n"
               "issu: {timeouts: {daemons: 20h}}\n");
  lab_hold("mx-ams-1", "daemons");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("\"phase\":\"backup-upgrade\""), "the ISSU is under way");
  /* re1's own address now holds re0's key only: re1 presents a key known_hosts does not have. */
  char *out;
  cr_assert_eq(
      sh(&out,
         "cd %s && p0=$(sed -n 's/.*issu_re0_port: \\([0-9]*\\).*/\\1/p' inventory.yaml) && "
         "p1=$(sed -n 's/.*issu_re1_port: \\([0-9]*\\).*/\\1/p' inventory.yaml) && "
         "k0=$(grep \"^\\[127.0.0.1\\]:$p0 \" known_hosts | cut -d' ' -f2-) && "
         "sed -i \"s#^\\[127.0.0.1\\]:$p1 .*#[127.0.0.1]:$p1 $k0#\" known_hosts && "
         "printf '127.0.0.1:%%s ' $p1",
         dir),
      0, "%s", out);
  char addr[64];
  snprintf(addr, sizeof addr, "%s", out); /* "127.0.0.1:PORT " */
  free(out);
  lab_release("mx-ams-1");
  cr_expect_neq(wait_exit(pid), 0, "a held router is not a success");
  struct journal j = journal_read();
  const cJSON *fin = finished_of(&j, "mx-ams-1");
  const char *msg = str_at(fin, "error", "message");
  cr_expect_str_eq(str_at(fin, "event", "outcome"), "unknown");
  cr_expect_str_eq(str_at(fin, "error", "code"), "hostkey-changed", "%s", msg);
  cr_expect_str_eq(str_at(fin, "issu", "phase"), "verify");
  cr_expect(strstr(msg, "re1's own address (issu_re1_host)") && strstr(msg, addr) &&
                strstr(msg, "CHANGED") && strstr(msg, "SHA256:") &&
                strstr(msg, "issu-fleet known-hosts"),
            "the address, the fingerprints and the fix: %s", msg);
  journal_free(&j);
}

/* ==== Issue 18, the run-level promises (engineer i18-run): held routers, the run state across
 * a resume, a stalled run, a full journal, rolling gates, the run id, the event line size. ==== */

/* The @timestamp of an event as seconds since the epoch (journal_parse_timestamp is the run's
 * own reader: the test checks the clock, not the parser). */
static double stamp_of(const cJSON *e)
{
  double t = journal_parse_timestamp(str_at(e, "@timestamp", NULL));
  cr_assert_geq(t, 0, "bad @timestamp %s", str_at(e, "@timestamp", NULL));
  return t;
}

static const cJSON *first_of(const struct journal *j, const char *act, const char *router)
{
  for (size_t i = 0; i < j->n; i++)
    if (strcmp(action(j->ev[i]), act) == 0 &&
        (router == NULL || strcmp(host(j->ev[i]), router) == 0))
      return j->ev[i];
  return NULL;
}

static const cJSON *router_status(const cJSON *all, const char *router)
{
  const cJSON *st;
  cJSON_ArrayForEach(st, all) if (strcmp(str_at(st, "name", NULL), router) == 0) return st;
  cr_assert_fail("%s not in the lab", router);
  return NULL;
}

Test(run_state, rolling_mode_every_gate_can_be_approved, .timeout = 300, .fini = lab_stop)
{
  /* B5: rolling announces wave-2's gate while run->wave is still wave-1. */
  lab_start(3, 1, NULL);
  write_policy(
      "issu: {old_master: reboot, switchback: true}\n"
      "waves: {mode: rolling, canary: 1, serial: [1], soak: 0, approve: [wave-1, wave-2]}\n"
      "failures: {max_failed: 0}\n");
  pid_t pid = run_in_background(NULL);
  char *out;
  for (int gate = 0; gate < 2; gate++) {
    cr_assert(journal_more("gate-waiting", gate), "gate %d is announced", gate + 1);
    cr_expect_eq(ctl(&out, "approve"), 0, "gate %d can be approved: %s", gate + 1, out);
    free(out);
  }
  cr_expect_eq(wait_exit(pid), 0);
  struct journal j = journal_read();
  cr_expect_eq(count_action(&j, "gate-approved", NULL), 2);
  cr_expect_eq(count_action(&j, "device-finished", NULL), 3);
  journal_free(&j);
}

Test(run_state, a_canary_failure_stays_fatal_across_a_resume_unless_retry_failed, .timeout = 600,
     .fini = lab_stop)
{
  /* B6 */
  lab_start(4, 1, "--fault mx-ams-1=validation-fail");
  write_policy("waves: {canary: 1, serial: [1], soak: 0}\nfailures: {max_failed: 0}\n");
  struct journal j = run_expect("run", "--yes", 3);
  journal_free(&j);
  /* The resume is halted again at once: nothing new starts, the same exit code. (No time limit
   * of its own: a hang shows as the test's timeout, and issu-fleet stays traced under valgrind,
   * which does not follow a program through `timeout`.) */
  char *out;
  int rc = sh(&out,
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 "
              "--state-dir %s/state --resume t --yes </dev/null",
              ISSU_BINARY, dir, dir, dir);
  cr_expect_eq(rc, 3, "the resumed run stays halted: %s", out);
  free(out);
  j = journal_read();
  cr_expect_eq(count_action(&j, "device-started", NULL), 1, "only the canary ever started");
  cr_expect_eq(count_action(&j, "budget-exceeded", NULL), 2, "the halt said again on resume");
  journal_free(&j);
  cJSON *all = lab_status();
  cr_expect_eq(starts_of(router_status(all, "mx-ams-2")), 0);
  cJSON_Delete(all);
  /* --retry-failed gives the canary a new chance (its fault repaired): the run goes on. */
  sh(NULL, "sed -i 's/\"validation-fail\"//' %s/routers/mx-ams-1.json", dir);
  rc = sh(&out,
          "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 "
          "--state-dir %s/state --resume t --retry-failed --yes </dev/null",
          ISSU_BINARY, dir, dir, dir);
  cr_expect_eq(rc, 0, "retried and finished: %s", out);
  free(out);
}

Test(run_state, a_resume_honours_a_soak_in_progress_and_continues_the_clock, .timeout = 900,
     .fini = lab_stop)
{
  /* B7 and the clock across a resume. */
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 2h}\n");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("soak-started"));
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  pid = run_in_background("--resume t");
  cr_expect_eq(wait_exit(pid), 0);
  struct journal j = journal_read();
  const cJSON *soak = first_of(&j, "soak-started", NULL),
              *next = first_of(&j, "device-started", "mx-ams-2");
  cr_assert(soak && next);
  cr_expect_eq(count_action(&j, "soak-resumed", NULL), 1);
  cr_expect_geq(stamp_of(next) - stamp_of(soak), 2 * 3600 - 1,
                "wave-1 started %.0f s after the soak began, before its planned end",
                stamp_of(next) - stamp_of(soak));
  /* The resumed run's @timestamp goes on from the journal's, never back. */
  for (size_t i = 1; i < j.n; i++)
    cr_expect_geq(stamp_of(j.ev[i]), stamp_of(j.ev[i - 1]) - 0.001, "line %zu goes back in time",
                  i + 1);
  journal_free(&j);
}

Test(run_state, a_crash_between_a_waves_end_and_its_soak_still_soaks_on_resume, .timeout = 900,
     .fini = lab_stop)
{
  /* The review of the merged change: a crash after the canary's wave-finished line and before
   * its soak-started line left no soak in the journal, and the resume went straight on to the
   * next wave. The journal cut right after wave-finished is exactly what such a crash leaves. */
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 2h}\n");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("soak-started"));
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  cr_assert_eq(sh(NULL, "sed -i '/\"soak-started\"/,$d' %s/state/t.jsonl", dir), 0);
  pid = run_in_background("--resume t");
  cr_expect_eq(wait_exit(pid), 0);
  struct journal j = journal_read();
  const cJSON *soak = first_of(&j, "soak-started", NULL),
              *next = first_of(&j, "device-started", "mx-ams-2");
  cr_assert_not_null(soak, "the resume owes the canary its soak");
  cr_assert_not_null(next);
  cr_expect_geq(stamp_of(next) - stamp_of(soak), 2 * 3600 - 1,
                "wave-1 started %.0f s after the owed soak began", stamp_of(next) - stamp_of(soak));
  journal_free(&j);
}

Test(run_state, resuming_a_finished_run_ends_at_once_with_its_exit_code, .timeout = 300,
     .fini = lab_stop)
{
  /* B9, and B15: a 64-character run id is the same id on resume. */
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0}\n");
  char id[RUN_ID_MAX + 1];
  memset(id, 'a', RUN_ID_MAX);
  id[RUN_ID_MAX] = '\0';
  char *out;
  int rc = sh(&out,
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir "
              "%s/state --run-id %s --yes </dev/null",
              ISSU_BINARY, dir, dir, dir, id);
  cr_assert_eq(rc, 0, "%s", out);
  free(out);
  rc = sh(&out,
          "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 "
          "--state-dir %s/state --resume %s --yes </dev/null",
          ISSU_BINARY, dir, dir, dir, id);
  cr_expect_eq(rc, 0, "ends at once, exit 0 (a hang shows as the test's timeout): %s", out);
  free(out);
  char path[600];
  snprintf(path, sizeof path, "%s/state/%s.lock", dir, id);
  cr_expect_eq(access(path, F_OK), 0, "the resume took the run's own lock");
  snprintf(path, sizeof path, "%s/state/%s.jsonl", dir, id);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    cJSON *e = cJSON_Parse(line);
    cr_expect_str_eq(str_at(e, "labels", "run_id"), id);
    cJSON_Delete(e);
  }
  free(line);
  fclose(f);
}

Test(run_state, a_resume_never_cuts_the_journal_of_a_live_run, .timeout = 900, .fini = lab_stop)
{
  /* B17: the second process is refused by the lock before it touches the journal. */
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0, approve: [wave-1]}\n");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("gate-waiting"));
  char path[400];
  snprintf(path, sizeof path, "%s/state/t.jsonl", dir);
  FILE *f = fopen(path, "a"); /* the live run is in the middle of a line */
  fputs("{\"@timestamp\":\"2026-", f);
  fclose(f);
  struct stat before, after;
  cr_assert_eq(stat(path, &before), 0);
  char *out;
  int rc = sh(&out,
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir "
              "%s/state --resume t --yes </dev/null",
              ISSU_BINARY, dir, dir, dir);
  cr_expect_eq(rc, 2, "%s", out);
  cr_expect(strstr(out, "already being driven"), "%s", out);
  free(out);
  cr_assert_eq(stat(path, &after), 0);
  cr_expect_eq(after.st_size, before.st_size, "the live run's journal was not truncated");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

Test(run_state, a_resume_from_another_directory_is_refused_by_the_live_runs_lock, .timeout = 300,
     .fini = lab_stop)
{
  /* The run's lock is beside its journal: `--resume t.jsonl` typed in the state directory (or
   * --state-dir naming another one) took its lock in a state directory of its own, so a live
   * run's journal was cut and its routers driven by two processes. */
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0, approve: [wave-1]}\n");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("gate-waiting"));
  char path[400];
  snprintf(path, sizeof path, "%s/state/t.jsonl", dir);
  FILE *f = fopen(path, "a"); /* the live run is in the middle of a line */
  fputs("{\"@timestamp\":\"2026-", f);
  fclose(f);
  struct stat before, after;
  cr_assert_eq(stat(path, &before), 0);
  /* In the background: without the lock it would wait at the gate for ever. */
  char *cmd = xasprintf("cd %s/state && exec %s run -i %s/inventory.yaml -p %s/test.yaml "
                        "--time-scale 600 --resume t.jsonl --yes >%s/second.log 2>&1 </dev/null",
                        dir, ISSU_BINARY, dir, dir, dir);
  pid_t second = fork();
  cr_assert_geq(second, 0);
  if (second == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  int status = 0;
  bool ended = false;
  for (int i = 0; i < 1200 && !ended; i++) {
    ended = waitpid(second, &status, WNOHANG) == second;
    if (!ended)
      pause_ms(50);
  }
  if (!ended) {
    kill(second, SIGKILL);
    waitpid(second, &status, 0);
  }
  char *out;
  sh(&out, "cat %s/second.log", dir);
  cr_expect(ended && WIFEXITED(status) && WEXITSTATUS(status) == ISSU_EXIT_USAGE,
            "the second process is refused at once: %s", out);
  cr_expect(strstr(out, "already being driven"), "%s", out);
  free(out);
  cr_assert_eq(stat(path, &after), 0);
  cr_expect_eq(after.st_size, before.st_size, "the live run's journal was not touched");
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

Test(run_state, a_router_of_unknown_state_is_held_and_its_pair_partner_never_starts, .timeout = 300,
     .fini = lab_stop)
{
  /* Unknown means held: mx-ams-1 becomes unreachable mid-ISSU (sshd stopped once the ISSU runs:
   * the reconnect after the switchover fails), so its state is unknown. Its pair partner
   * mx-ams-2 must not start; the run says it is blocked and exits 5. */
  lab_start(2, 1, NULL);
  write_policy("waves: {mode: rolling, canary: 0, soak: 0}\nlimits: {exclusive: [pair]}\n"
               "failures: {max_failed: 1}\n");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("\"phase\":\"backup-upgrade\""));
  sh(NULL, "%s lab down %s", JUNOS_SIM_BINARY, dir);
  cr_expect_eq(wait_exit(pid), ISSU_EXIT_HELD, "held routers: exit 5");
  struct journal j = journal_read();
  const cJSON *held = first_of(&j, "device-held", NULL);
  cr_assert_not_null(held, "a held router is journaled");
  char first[64], partner[64];
  snprintf(first, sizeof first, "%s", host(held));
  snprintf(partner, sizeof partner, "%s", strcmp(first, "mx-ams-1") ? "mx-ams-1" : "mx-ams-2");
  cr_expect_str_eq(str_at(finished_of(&j, first), "event", "outcome"), "unknown");
  cr_expect_eq(count_action(&j, "device-started", partner), 0, "the pair partner never started");
  cr_expect_eq(count_action(&j, "run-blocked", NULL), 1, "the run said why it stopped");
  const cJSON *fin = first_of(&j, "run-finished", NULL);
  cr_expect_eq(
      cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(fin, "issu"), "summary"), "held")
          ->valueint,
      1);
  journal_free(&j);
  /* The report shows it plainly. */
  char *out;
  sh(&out, "%s report %s/state/t.jsonl", ISSU_BINARY, dir);
  cr_expect(strstr(out, "HELD"), "%s", out);
  free(out);
  /* Released with no run live: journaled with who; the resume frees the slots. */
  int rc = sh(&out, "%s ctl %s/state/t.sock release %s", ISSU_BINARY, dir, partner);
  cr_expect_neq(rc, 0, "%s is not held: %s", partner, out);
  free(out);
  rc = sh(&out, "%s ctl %s/state/t.sock release %s", ISSU_BINARY, dir, first);
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  j = journal_read();
  const cJSON *rel = first_of(&j, "device-released", first);
  cr_assert_not_null(rel);
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(rel, "user"), "id")->valueint,
               (int)getuid());
  journal_free(&j);
  rc = sh(&out, "%s lab up %s", JUNOS_SIM_BINARY, dir);
  cr_assert_eq(rc, 0, "%s", out);
  free(out);
  pid = run_in_background("--resume t");
  cr_expect_eq(wait_exit(pid), ISSU_EXIT_FAILED, "one router unknown (failed), the other done");
  j = journal_read();
  cr_expect_str_eq(str_at(finished_of(&j, partner), "event", "outcome"), "success",
                   "the partner went once released");
  cr_expect_eq(count_action(&j, "device-started", first), 1, "a released router is not retried");
  journal_free(&j);
}

Test(run_state, a_resume_that_leaves_out_a_router_in_flight_is_refused_and_its_partner_waits,
     .timeout = 300, .fini = lab_stop)
{
  /* A router in flight when the run died is asked where it stands on resume; one left out of
   * the resumed rollout (a narrower --limit, an edited inventory, --accept-changed-config) was
   * never asked, and its limit slots were free: its pair partner started while its ISSU ran. */
  lab_start(2, 1, NULL);
  write_policy("waves: {mode: rolling, canary: 0, soak: 0}\nlimits: {exclusive: [pair]}\n"
               "issu: {timeouts: {daemons: 20h}}\n");
  lab_hold("mx-ams-1", "daemons");
  lab_hold("mx-ams-2", "daemons");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("\"phase\":\"backup-upgrade\""));
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  struct journal j = journal_read();
  const cJSON *started = first_of(&j, "device-started", NULL);
  cr_assert_not_null(started);
  char first[64], partner[64];
  snprintf(first, sizeof first, "%s", host(started));
  snprintf(partner, sizeof partner, "%s", strcmp(first, "mx-ams-1") ? "mx-ams-1" : "mx-ams-2");
  cr_assert_eq(count_action(&j, "device-started", partner), 0);
  journal_free(&j);
  char *out;
  int rc = sh(&out,
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
              "--resume t --limit %s --accept-changed-config --yes </dev/null",
              ISSU_BINARY, dir, dir, dir, partner);
  cr_expect_eq(rc, ISSU_EXIT_USAGE, "%s", out);
  cr_expect(strstr(out, first), "the router left out is named: %s", out);
  free(out);
  j = journal_read();
  cr_expect_eq(count_action(&j, "device-started", partner), 0, "the pair partner never started");
  journal_free(&j);
  cJSON *all = lab_status();
  cr_expect_eq(starts_of(router_status(all, partner)), 0, "no ISSU on the pair partner");
  cJSON_Delete(all);
  lab_release("mx-ams-1");
  lab_release("mx-ams-2");
}

Test(run_state, a_journal_with_a_line_of_another_run_is_refused_and_a_hold_stays, .timeout = 300,
     .fini = lab_stop)
{
  /* Two journals mixed (a copy appended, --events pointed at another run's journal): a line of
   * another run is no event of this one. Here it is a release of the held router, journaled in
   * run u: read as run t's, it freed the router's slots and its pair partner started. */
  lab_start(2, 1, NULL);
  use_wrapper("case \"$SSH_ORIGINAL_COMMAND\" in\n"
              "  *in-service-upgrade*)\n"
              "    k=\"$(dirname \"$st\")/../killed\"\n"
              "    [ -f \"$k\" ] || { touch \"$k\"; kill -9 $PPID; exit 1; } ;;\n"
              "esac");
  write_policy("waves: {mode: rolling, canary: 0, soak: 0}\nlimits: {exclusive: [pair]}\n"
               "failures: {max_failed: 1}\n");
  char *out;
  issu_fleet(&out, "run", "--yes"); /* dies as the first router's ISSU goes out */
  free(out);
  int rc = sh(&out,
              "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
              "--resume t --yes </dev/null",
              ISSU_BINARY, dir, dir, dir);
  cr_assert_eq(rc, ISSU_EXIT_HELD, "the first router is held (issu-unconfirmed): %s", out);
  free(out);
  struct journal j = journal_read();
  const cJSON *held = first_of(&j, "device-held", NULL);
  cr_assert_not_null(held);
  char first[64], partner[64];
  snprintf(first, sizeof first, "%s", host(held));
  snprintf(partner, sizeof partner, "%s", strcmp(first, "mx-ams-1") ? "mx-ams-1" : "mx-ams-2");
  journal_free(&j);
  /* Run u, a copy of run t, releases the router; its release line lands in t's journal. */
  rc = sh(&out,
          "cd %s/state && sed 's/\"run_id\":\"t\"/\"run_id\":\"u\"/' t.jsonl > u.jsonl && %s ctl "
          "u.sock release %s && tail -n 1 u.jsonl >> t.jsonl",
          dir, ISSU_BINARY, first);
  cr_assert_eq(rc, 0, "%s", out);
  free(out);
  rc = sh(&out,
          "%s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
          "--resume t --yes </dev/null",
          ISSU_BINARY, dir, dir, dir);
  cr_expect_eq(rc, ISSU_EXIT_USAGE, "%s", out);
  cr_expect(strstr(out, "run u"), "the line of run u is named: %s", out);
  free(out);
  j = journal_read();
  cr_expect_eq(count_action(&j, "device-started", partner), 0, "the pair partner never started");
  journal_free(&j);
  cJSON *all = lab_status();
  cr_expect_eq(starts_of(router_status(all, partner)), 0, "no ISSU on the pair partner");
  cJSON_Delete(all);
}

Test(run_state, a_full_journal_disk_stops_every_router_and_exits_70, .timeout = 300,
     .fini = lab_stop)
{
  /* B10: a small tmpfs for the state directory, filled while the canary's ISSU runs. */
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0}\n");
  char *out;
  if (sh(&out, "mkdir -p %s/state && mount -t tmpfs -o size=512k tmpfs %s/state", dir, dir) != 0) {
    char why[300];
    snprintf(why, sizeof why, "%s", out);
    free(out);
    cr_skip_test("cannot mount a tmpfs here (needs root): %s", why);
  }
  free(out);
  pid_t pid = run_in_background(NULL);
  bool seen = journal_has("\"phase\":\"backup-upgrade\"");
  sh(NULL, "dd if=/dev/zero of=%s/state/fill bs=4k 2>/dev/null", dir);
  int rc = wait_exit(pid);
  /* Read what the run said before the disk is freed. */
  cJSON *all = lab_status();
  const cJSON *st = router_status(all, "mx-ams-1");
  const char *issu = str_at(st, "issu_state", NULL);
  bool left_mid_issu = strcmp(issu, "idle") != 0;
  char *log;
  sh(&log, "cat %s/run.log", dir);
  sh(NULL, "umount %s/state", dir);
  cr_assert(seen, "the canary's ISSU began");
  cr_expect_eq(rc, 70, "exit 70: %s", log);
  cr_expect(strstr(log, "cannot write the journal") && strstr(log, "No space left on device"),
            "says why (file, errno): %s", log);
  cr_expect(left_mid_issu, "the run stopped at once, leaving mx-ams-1 mid-ISSU (%s)", issu);
  cr_expect_eq(starts_of(router_status(all, "mx-ams-2")), 0, "nothing else started");
  free(log);
  cJSON_Delete(all);
}

Test(run_state, every_event_line_of_a_5000_router_plan_stays_under_16_kib, .timeout = 300)
{
  /* Plan-only: 5,000 routers on the local transport, the run stopped at the canary's gate (a
   * full run of 5,000 is bench/scale's job). */
  snprintf(dir, sizeof dir, "/tmp/issu-plan-test-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  char path[400];
  snprintf(path, sizeof path, "%s/inventory.yaml", dir);
  FILE *f = fopen(path, "w");
  fprintf(f, "all:\n  vars: {issu_transport: local, issu_local_command: /bin/false}\n"
             "  hosts:\n    mx-long-router-name-of-a-large-fleet-[0001:5000]: {}\n");
  fclose(f);
  snprintf(path, sizeof path, "%s/test.yaml", dir);
  f = fopen(path, "w");
  fprintf(f,
          "target: {version: 23.4R2-S3.7, package: %s}\n"
          "waves: {canary: 1, serial: [\"20%%\"], approve: [canary]}\n",
          PKG);
  fclose(f);
  /* B8 too: 1,024 descriptors at most (Debian's default), far fewer than 5,000 routers: the
   * router locks must not take one each, and the run says the limit is too low for the plan. */
  /* Valgrind refuses to change its own hard limit: there, only the line sizes are checked. */
  bool limited = getenv("ISSU_TEST_UNDER_VALGRIND") == NULL;
  struct rlimit rl = {1024, 1024};
  if (limited)
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("gate-waiting"));
  char *out;
  cr_expect_eq(ctl(&out, "drain"), 0, "%s", out);
  free(out);
  cr_expect_eq(wait_exit(pid), 4);
  sh(&out, "cat %s/run.log", dir);
  if (limited)
    cr_expect(strstr(out, "open-file limit is 1024, too low for 5000 routers"), "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/state/t.jsonl", dir);
  f = fopen(path, "r");
  cr_assert_not_null(f);
  char *line = NULL;
  size_t cap = 0, longest = 0, named = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    longest = (size_t)n > longest ? (size_t)n : longest;
    cJSON *e = cJSON_Parse(line);
    if (strcmp(action(e), "plan-wave") == 0)
      named +=
          (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "issu"), "hosts"));
    cJSON_Delete(e);
  }
  free(line);
  fclose(f);
  cr_expect_lt(longest, 16384, "the longest line is %zu bytes", longest);
  cr_expect_eq(named, 5000, "the plan names every router once");
  sh(NULL, "rm -rf %s", dir);
  dir[0] = '\0';
}

/* A run's durations (timeouts, soaks, its clock) run at its --time-scale: a resume continues at
 * the journal's speed when none is given, and refuses another one (a real run resumed with a
 * lab's 600 would time out its routers 600 times too soon). */
Test(run_state, a_resume_keeps_the_runs_time_scale_and_refuses_another, .timeout = 120)
{
  snprintf(dir, sizeof dir, "/tmp/issu-scale-test-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  char path[400];
  snprintf(path, sizeof path, "%s/inventory.yaml", dir);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "all:\n  vars: {issu_transport: local, issu_local_command: /bin/false}\n"
             "  hosts:\n    mx-[1:2]: {}\n");
  fclose(f);
  snprintf(path, sizeof path, "%s/test.yaml", dir);
  f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "target: {version: 23.4R2-S3.7, package: %s}\nwaves: {canary: 1, approve: [canary]}\n",
          PKG);
  fclose(f);
  pid_t pid = run_in_background(NULL); /* --time-scale 600 */
  cr_assert(journal_has("gate-waiting"));
  char *out;
  cr_expect_eq(ctl(&out, "drain"), 0, "%s", out);
  free(out);
  cr_assert_eq(wait_exit(pid), 4);
  char resume[420];
  snprintf(resume, sizeof resume, "--resume %s/state/t.jsonl", dir);
  int lines = journal_count("\"@timestamp\"");
  char extra[500];
  snprintf(extra, sizeof extra, "%s --time-scale 1", resume);
  pid = run_in_background(extra);
  expect_exit(pid, 2, "another time scale is refused");
  sh(&out, "cat %s/run.log", dir);
  cr_expect(strstr(out, "--time-scale 600"), "names the run's own: %s", out);
  free(out);
  cr_expect_eq(journal_count("\"@timestamp\""), lines, "the journal is not touched");
  /* None given: the run's own. */
  char *cmd = xasprintf("exec %s run -i %s/inventory.yaml -p %s/test.yaml %s --yes >>%s/run.log "
                        "2>&1 </dev/null",
                        ISSU_BINARY, dir, dir, resume, dir);
  pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  cr_assert(journal_more("gate-waiting", 1), "the resumed run waits at the gate again");
  cr_expect_eq(ctl(&out, "drain"), 0, "%s", out);
  free(out);
  expect_exit(pid, 4, "drained again");
  struct journal j = journal_read();
  const cJSON *last = NULL;
  for (size_t i = 0; i < j.n; i++)
    if (strcmp(action(j.ev[i]), "run-started") == 0)
      last = j.ev[i];
  cr_assert_not_null(last);
  const cJSON *scale = cJSON_GetObjectItem(cJSON_GetObjectItem(last, "issu"), "time_scale");
  cr_expect(cJSON_IsNumber(scale) && scale->valuedouble == 600, "the resumed run's time scale");
  journal_free(&j);
  sh(NULL, "rm -rf %s", dir);
  dir[0] = '\0';
}

Test(run_state, a_lock_file_that_is_a_symbolic_link_is_refused, .timeout = 120, .fini = lab_stop)
{
  /* B13: O_NOFOLLOW; a link planted in the state directory is never followed (or truncated). */
  lab_start(2, 1, NULL);
  write_policy("waves: {canary: 1, serial: [1], soak: 0}\n");
  sh(NULL, "mkdir -p %s/state && echo keep > %s/victim && ln -s %s/victim %s/state/t.lock", dir,
     dir, dir, dir);
  char *out;
  int rc = issu_fleet(&out, "run", "--yes");
  cr_expect_eq(rc, 2, "%s", out);
  cr_expect(strstr(out, "symbolic link"), "%s", out);
  free(out);
  sh(&out, "cat %s/victim", dir);
  cr_expect_str_eq(out, "keep\n", "the link's target is untouched");
  free(out);
  cJSON *all = lab_status();
  cr_expect_eq(starts_of(router_status(all, "mx-ams-1")), 0);
  cJSON_Delete(all);
}

Test(run_state, the_journal_reader_refuses_bad_numbers_without_undefined_behaviour)
{
  /* B16, the review's journal_ub.jsonl: a negative and a huge sequence number, an
   * original_master far out of range (once used as an array index). UBSan aborts on the old
   * reader's casts. */
  char path[] = "/tmp/issu-journal-ub-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  static const char text[] =
      "{\"event\":{\"action\":\"run-started\",\"sequence\":-5},\"labels\":{\"run_id\":\"x\"}}\n"
      "{\"event\":{\"action\":\"phase-changed\",\"sequence\":1e300},\"host\":{\"name\":\"r1\"},"
      "\"issu\":{\"phase\":\"validate\",\"original_master\":7e12}}\n"
      "{\"event\":{\"action\":\"phase-changed\",\"sequence\":3},\"host\":{\"name\":\"r2\"},"
      "\"issu\":{\"phase\":\"validate\",\"original_master\":0.5}}\n"
      "{\"event\":{\"action\":\"gate-approved\",\"sequence\":4},\"issu\":{\"wave\":-1e300}}\n"
      "{\"event\":{\"action\":\"soak-started\",\"sequence\":5},\"@timestamp\":\"junk\","
      "\"issu\":{\"wave\":1e20,\"soak_s\":-3}}\n";
  cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  struct journal_state s;
  char err[256];
  cr_assert_eq(journal_load(path, &s, err, sizeof err), 0, "%s", err);
  cr_expect_eq(s.last_sequence, 5, "only the sequence numbers in range count");
  cr_expect_eq(journal_host(&s, "r1")->orig_master, -1, "out of range: not recorded");
  cr_expect_eq(journal_host(&s, "r2")->orig_master, -1, "not an RE number: not recorded");
  cr_expect_eq(s.napproved, 0);
  cr_expect(!s.soaking);
  journal_state_free(&s);
  unlink(path);
}

/* ---- Issue 18, the review's security notes ---- */

Test(run_state, the_events_copy_is_created_0600_and_the_clock_override_needs_a_time_scale,
     .timeout = 120, .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1, soak: 0}\n");
  mode_t old = umask(022);
  char *out, extra[600];
  snprintf(extra, sizeof extra, "--events %s/copy.jsonl --time-scale 1", dir);
  setenv("ISSU_FLEET_CLOCK_START", "1795395420", 1); /* 2026-11-23T00:57:00Z */
  int rc = issu_fleet(&out, "check", extra);
  umask(old);
  cr_expect_eq(rc, 0, "%s", out);
  cr_expect(strstr(out, "ISSU_FLEET_CLOCK_START ignored"), "%s", out);
  free(out);
  char path[400];
  snprintf(path, sizeof path, "%s/copy.jsonl", dir);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0600, "the copy is 0%o", st.st_mode & 0777);
  struct journal j = journal_read();
  const cJSON *started = first_of(&j, "run-started", NULL);
  cr_expect(strncmp(str_at(started, "@timestamp", NULL), "2026-11-23T00:57", 16) != 0,
            "a real run's clock is the real one");
  cr_expect_null(cJSON_GetObjectItem(cJSON_GetObjectItem(started, "issu"), "clock_start"));
  journal_free(&j);
  /* A rehearsal (time-scaled) honours it, and says so in run-started. */
  sh(NULL, "rm -rf %s/state", dir);
  rc = issu_fleet(&out, "check", NULL);
  unsetenv("ISSU_FLEET_CLOCK_START");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  j = journal_read();
  started = first_of(&j, "run-started", NULL);
  cr_expect_str_eq(str_at(started, "issu", "clock_start"), "2026-11-23T00:57:00.000Z");
  journal_free(&j);
}

Test(run_state, the_password_variable_never_reaches_a_local_transport_child, .timeout = 120,
     .fini = lab_stop)
{
  lab_start(1, 1, NULL);
  write_policy("waves: {canary: 1, soak: 0}\n");
  /* The router answers through the local transport, its command first recording its
   * environment. */
  sh(NULL, "printf '#!/bin/sh\\nenv >>%s/child.env\\nexec %s device --state \"$1\"\\n' >%s/wrap.sh",
     dir, JUNOS_SIM_BINARY, dir);
  sh(NULL, "chmod +x %s/wrap.sh", dir);
  sh(NULL,
     "sed -i 's|issu_local_command: \"[^\"]* --state |issu_transport: local, issu_password_env: "
     "ISSU_T_SECRET, issu_local_command: \"%s/wrap.sh |' %s/inventory.yaml",
     dir, dir);
  setenv("ISSU_T_SECRET", "hunter2", 1);
  char *out;
  int rc = issu_fleet(&out, "check", NULL);
  unsetenv("ISSU_T_SECRET");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  sh(&out, "cat %s/child.env", dir);
  cr_expect(strstr(out, "SSH_ORIGINAL_COMMAND="), "the child ran: %s", out);
  cr_expect_null(strstr(out, "hunter2"), "the password reached a child");
  free(out);
}

Test(run_state, every_journal_field_in_the_html_report_is_escaped, .timeout = 60)
{
  char path[] = "/tmp/issu-doctored-XXXXXX";
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  static const char text[] =
      "{\"@timestamp\":\"2026-11-24T01:00:00.000Z\",\"event\":{\"action\":\"run-started\","
      "\"sequence\":1},\"labels\":{\"run_id\":\"t\"},\"issu\":{\"command\":\"run\"}}\n"
      "{\"@timestamp\":\"2026-11-24T01:00:01.000Z\",\"event\":{\"action\":\"device-started\","
      "\"sequence\":2},\"host\":{\"name\":\"mx1\"},\"issu\":{\"wave\":0}}\n"
      "{\"@timestamp\":\"2026-11-24T01:10:00.000Z\",\"event\":{\"action\":\"device-finished\","
      "\"sequence\":3,\"outcome\":\"<img src=x onerror=alert(1)>\"},\"host\":{\"name\":\"mx1\"},"
      "\"issu\":{\"wave\":0,\"result\":\"\\\"><script>alert(2)</script>\",\"phase\":\"verify\"},"
      "\"error\":{\"code\":\"x\",\"message\":\"y\"}}\n"
      "{\"@timestamp\":\"2026-11-24T01:10:01.000Z\",\"event\":{\"action\":\"run-finished\","
      "\"sequence\":4},\"issu\":{\"summary\":{\"exit_code\":1,\"halted\":true}}}\n";
  cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
  close(fd);
  char *out;
  sh(&out, "%s report %s --html %s.html >/dev/null; cat %s.html", ISSU_BINARY, path, path, path);
  cr_expect_null(strstr(out, "<script>alert"), "unescaped result");
  cr_expect_null(strstr(out, "<img src=x"), "unescaped outcome");
  cr_expect(strstr(out, "&lt;img src=x"), "the outcome is shown, escaped");
  free(out);
  sh(NULL, "rm -f %s %s.html", path, path);
}

Test(run_state, a_held_router_released_through_the_live_socket_frees_its_pair_partner,
     .timeout = 300, .fini = lab_stop)
{
  /* As above, but the run is paused (so it waits for the operator instead of ending) and the
   * release goes through the running run's control socket. */
  lab_start(2, 1, NULL);
  write_policy("waves: {mode: rolling, canary: 0, soak: 0}\nlimits: {exclusive: [pair]}\n"
               "failures: {max_failed: 1}\n");
  pid_t pid = run_in_background(NULL);
  cr_assert(journal_has("\"phase\":\"backup-upgrade\""));
  char *out;
  cr_expect_eq(ctl(&out, "pause"), 0, "%s", out);
  free(out);
  sh(NULL, "%s lab down %s", JUNOS_SIM_BINARY, dir);
  cr_assert(journal_has("device-held"));
  struct journal j = journal_read();
  char first[64], partner[64];
  snprintf(first, sizeof first, "%s", host(first_of(&j, "device-held", NULL)));
  snprintf(partner, sizeof partner, "%s", strcmp(first, "mx-ams-1") ? "mx-ams-1" : "mx-ams-2");
  journal_free(&j);
  cr_expect_eq(ctl(&out, "status"), 0, "%s", out);
  cr_expect(strstr(out, "(1 held)"), "ctl status shows it: %s", out);
  free(out);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "release %s", first);
  cr_expect_eq(ctl(&out, cmd), 0, "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "%s lab up %s", JUNOS_SIM_BINARY, dir), 0, "%s", out);
  free(out);
  cr_expect_eq(ctl(&out, "resume"), 0, "%s", out);
  free(out);
  cr_expect_eq(wait_exit(pid), ISSU_EXIT_FAILED, "one router unknown, released; the other done");
  j = journal_read();
  const cJSON *rel = first_of(&j, "device-released", first);
  cr_assert_not_null(rel);
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(rel, "user"), "id")->valueint,
               (int)getuid());
  cr_expect_str_eq(str_at(finished_of(&j, partner), "event", "outcome"), "success");
  journal_free(&j);
}
