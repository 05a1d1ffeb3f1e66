/*
 * junos-sim: the router model. Outputs against the reference samples' structure, the ISSU
 * timeline and the clock, every fault, Junos's refusals, and atomic state under concurrent
 * sessions. (test_sim_lab.c drives the same router through OpenSSH.)
 */
#include "simulator/sim.h"

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PKG "/var/tmp/junos-install-mx-x86-64-23.4R2-S3.7.tgz"

static char lab[256];

/* A two-router lab in a fresh temporary directory; `faults` go to mx-ams-1. */
static const char *make_lab(const char *faults)
{
  snprintf(lab, sizeof lab, "/tmp/issu-sim-test-XXXXXX");
  cr_assert_not_null(mkdtemp(lab));
  char *cmd = xasprintf("%s lab init %s/lab --devices 2 --time-scale 600 --seed 7 %s >/dev/null",
                        JUNOS_SIM_BINARY, lab, faults ? faults : "");
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  free(cmd);
  static char state[512];
  snprintf(state, sizeof state, "%s/lab/routers/mx-ams-1.json", lab);
  return state;
}

static void remove_lab(void)
{
  char *cmd = xasprintf("rm -rf %s", lab);
  cr_expect_eq(system(cmd), 0);
  free(cmd);
}

/* Runs one command in-process; returns the exit status, output in *out (caller frees). */
static int sim(const char *state, const char *command, const char *answer, char **out)
{
  size_t len = 0;
  FILE *o = open_memstream(out, &len);
  char *input = xstrdup(answer ? answer : "\n");
  FILE *in = fmemopen(input, strlen(input), "r");
  int rc = sim_run_command(state, command, in, o);
  fclose(o);
  fclose(in);
  free(input);
  return rc;
}

static void expect_output(const char *state, const char *command, const char *needle)
{
  char *out;
  sim(state, command, NULL, &out);
  cr_expect(strstr(out, needle) != NULL, "'%s' does not print '%s':\n%s", command, needle, out);
  free(out);
}

static void refute_output(const char *state, const char *command, const char *needle)
{
  char *out;
  sim(state, command, NULL, &out);
  cr_expect(strstr(out, needle) == NULL, "'%s' prints '%s':\n%s", command, needle, out);
  free(out);
}

/* Runs a command in a child junos-sim (it may drop its session); returns its wait status. */
static int sim_child(const char *state, const char *command, char **out)
{
  char *cmd = xasprintf("%s device --state %s -c '%s' 2>&1", JUNOS_SIM_BINARY, state, command);
  FILE *p = popen(cmd, "r");
  size_t len = 0, cap = 1 << 16;
  *out = xcalloc(1, cap);
  size_t n;
  while ((n = fread(*out + len, 1, cap - len - 1, p)) > 0)
    len += n;
  int status = pclose(p);
  free(cmd);
  return status;
}

static struct sim_router load(const char *state)
{
  struct sim_router r;
  int fd;
  char err[256];
  cr_assert_eq(sim_open(state, &r, &fd, err, sizeof err), 0, "%s", err);
  sim_settle(&r, sim_now(&r));
  struct sim_router copy = r;
  copy.files = NULL;
  copy.nfiles = 0;
  sim_close(&r, fd);
  return copy;
}

/* ---- versions ---- */

Test(sim, junos_versions_compare_by_release_then_service_release)
{
  cr_expect_lt(sim_version_cmp("21.4R3-S5.4", "23.4R2"), 0);
  cr_expect_lt(sim_version_cmp("21.4R3", "21.4R3-S1.2"), 0);
  cr_expect_lt(sim_version_cmp("10.3R2.11", "10.10R1"), 0);
  cr_expect_eq(sim_version_cmp("23.4R2-S3.7", "23.4R2-S3.7"), 0);
  char v[40];
  cr_assert(sim_package_version("/var/tmp/junos-install-mx-x86-64-23.4R2-S3.7.tgz", v, sizeof v));
  cr_expect_str_eq(v, "23.4R2-S3.7");
  cr_assert(sim_package_version("/var/tmp/jinstall-10.3R2.11-domestic-signed.tgz", v, sizeof v));
  cr_expect_str_eq(v, "10.3R2.11");
  cr_expect_not(sim_package_version("/var/tmp/junos.tgz", v, sizeof v));
}

/* ---- outputs ---- */

Test(sim, show_commands_print_what_junos_prints)
{
  const char *s = make_lab(NULL);
  expect_output(s, "show version", "Junos: 21.4R3-S5.4");
  expect_output(s, "show version invoke-on all-routing-engines",
                "re0:\n--------------------------------------------------------------------------\n"
                "Hostname: mx-ams-1");
  expect_output(s, "show version invoke-on all-routing-engines", "\nre1:\n");
  expect_output(s, "show chassis routing-engine",
                "Routing Engine status:\n  Slot 0:\n"
                "    Current state                  Master");
  expect_output(s, "show chassis routing-engine",
                "  Slot 1:\n    Current state                  Backup");
  expect_output(s, "show chassis routing-engine", "    Uptime                         ");
  expect_output(s, "show system switchover invoke-on other-routing-engine",
                "Kernel database: Ready");
  expect_output(s, "show task replication",
                "        Stateful Replication: Enabled\n        RE mode: Master");
  expect_output(s, "show system storage",
                "Filesystem              Size       Used      Avail  Capacity   Mounted on");
  expect_output(s, "show chassis alarms", "No alarms currently active");
  expect_output(s, "file list /var/tmp/", "junos-install-mx-x86-64-23.4R2-S3.7.tgz");
  expect_output(s, "file checksum md5 " PKG, "MD5 (junos-install-mx-x86-64-23.4R2-S3.7.tgz) = ");
  expect_output(s, "show chassis in-service-upgrade",
                "Item                   Status                  Reason");
  expect_output(s, "request chassis routing-engine master switch check", "Switchover Ready");
  remove_lab();
}

Test(sim, configuration_prints_as_a_tree_or_as_set_lines)
{
  const char *s = make_lab(NULL);
  expect_output(s, "show configuration chassis redundancy", "graceful-switchover;");
  expect_output(s, "show configuration",
                "chassis {\n    redundancy {\n        routing-engine 0 master;");
  expect_output(s, "show configuration | display set", "set routing-options nonstop-routing\n");
  expect_output(s, "show configuration system commit | display set",
                "set system commit synchronize");
  remove_lab();
}

Test(sim, pipes_filter_count_and_abbreviations_work)
{
  const char *s = make_lab(NULL);
  char *out;
  cr_expect_eq(
      sim(s, "show version invoke-on all-routing-engines | match \"re0|re1|Junos:\"", NULL, &out),
      0);
  cr_expect(strstr(out, "re0:\nJunos: 21.4R3-S5.4\nre1:\nJunos: 21.4R3-S5.4\n") != NULL, "%s", out);
  free(out);
  sim(s, "show chassis routing-engine | match current | count", NULL, &out);
  cr_expect(strstr(out, "Count: 2 lines"), "%s", out);
  free(out);
  sim(s, "show version | except \"os (kernel|libs|runtime)\" | no-more", NULL, &out);
  cr_expect(strstr(out, "Kernel") == NULL && strstr(out, "Junos:") != NULL &&
                strstr(out, "JUNOS Openconfig") != NULL,
            "except is a case-insensitive regular expression: %s", out);
  free(out);
  expect_output(s, "sh ver", "Hostname: mx-ams-1");
  expect_output(s, "sho chas routing", "Slot 1:");
  remove_lab();
}

Test(sim, unknown_commands_get_a_syntax_error_and_a_nonzero_status)
{
  const char *s = make_lab(NULL);
  char *out;
  cr_expect_eq(sim(s, "show frobnicator", NULL, &out), 1);
  cr_expect_str_eq(out, "error: syntax error: frobnicator\n");
  free(out);
  cr_expect_eq(sim(s, "show version | grep x", NULL, &out), 1);
  cr_expect(strstr(out, "syntax error: grep"), "%s", out);
  free(out);
  cr_expect_eq(sim(s, "show", NULL, &out), 1, "an ambiguous command");
  free(out);
  remove_lab();
}

/* ---- the clock and the ISSU timeline ---- */

static struct sim_router timeline_router(unsigned options, unsigned faults)
{
  struct sim_router r = {0};
  r.time_scale = 600;
  r.seed = 42;
  r.slow_factor = 1;
  for (int i = 0; i < 2; i++) {
    r.re[i].present = true;
    snprintf(r.re[i].version, sizeof r.re[i].version, "21.4R3-S5.4");
  }
  r.re[0].master = true;
  r.gres = r.nsr = r.commit_sync = true;
  r.faults = faults;
  r.issu.state = ISSU_RUNNING;
  r.issu.started = 1000;
  r.issu.options = options;
  snprintf(r.issu.package, sizeof r.issu.package, PKG);
  snprintf(r.issu.target, sizeof r.issu.target, "23.4R2-S3.7");
  return r;
}

static double step_at(const struct sim_router *r, const char *line)
{
  struct sim_step *steps;
  size_t n = sim_timeline(r, &steps);
  double at = -1;
  for (size_t i = 0; i < n && at < 0; i++)
    if (strcmp(steps[i].line, line) == 0)
      at = steps[i].at;
  free(steps);
  return at;
}

Test(sim, the_issu_follows_the_field_notes_in_order_and_takes_about_40_minutes)
{
  struct sim_router r = timeline_router(OPT_REBOOT, 0);
  static const char *const order[] = {
      "Chassis ISSU Check Done",
      "ISSU: Validating Image",
      "Checking compatibility with configuration",
      "Saving package file in /var/sw/pkg/junos-install-mx-x86-64-23.4R2-S3.7.tgz ...",
      "Saving state for rollback ...",
      "Backup upgrade done",
      "Rebooting Backup RE",
      "Rebooting re1",
      "ISSU: Backup RE Prepare Done",
      "Waiting for Backup RE reboot",
      "GRES operational",
      "Initiating Chassis In-Service-Upgrade",
      "Chassis ISSU Started",
      "ISSU: Preparing Daemons",
      "ISSU: Daemons Ready for ISSU",
      "ISSU: Starting Upgrade for FRUs",
      "ISSU: Preparing for Switchover",
      "ISSU: IDLE"};
  double last = -1;
  for (size_t i = 0; i < ARRAY_LEN(order); i++) {
    double at = step_at(&r, order[i]);
    cr_expect_geq(at, last, "'%s' at %.0f comes before the line before it", order[i], at);
    last = at;
  }
  cr_expect(last > 36 * 60 && last < 48 * 60, "the whole ISSU took %.0f s", last);
}

Test(sim, the_router_reaches_each_state_at_its_simulated_time)
{
  struct sim_router r = timeline_router(OPT_REBOOT, 0);
  double t0 = r.issu.started;
  double installed = step_at(&r, "Backup upgrade done"), down = step_at(&r, "Rebooting re1");
  double gres = step_at(&r, "GRES operational"), idle = step_at(&r, "ISSU: IDLE");
  double prep = step_at(&r, "ISSU: Preparing for Switchover");
  sim_settle(&r, t0 + installed - 1);
  cr_expect_str_eq(r.re[1].pending, "", "not installed a second early");
  sim_settle(&r, t0 + installed);
  cr_expect_str_eq(r.re[1].pending, "23.4R2-S3.7");
  sim_settle(&r, t0 + down + 1);
  cr_expect_not(sim_re_up(&r, 1, t0 + down + 1), "the backup is rebooting");
  sim_settle(&r, t0 + gres);
  cr_expect(sim_re_up(&r, 1, t0 + gres));
  cr_expect_str_eq(r.re[1].version, "23.4R2-S3.7");
  cr_expect(r.re[0].master, "no switchover before its time");
  cr_expect_str_eq(sim_issu_state_name(&r, t0 + prep + 1), "switchover");
  sim_settle(&r, t0 + prep + 3600);
  cr_expect(r.re[1].master && !r.re[0].master, "RE1 is master after the switchover");
  cr_expect_eq(r.issu.state, ISSU_DONE);
  cr_expect_str_eq(r.re[0].version, "23.4R2-S3.7", "with reboot the old master runs the target");
  cr_expect_gt(idle, prep);
}

Test(sim, without_reboot_the_old_master_keeps_the_old_code_until_rebooted)
{
  struct sim_router r = timeline_router(0, 0);
  sim_settle(&r, r.issu.started + 3 * 3600);
  cr_expect_eq(r.issu.state, ISSU_DONE);
  cr_expect(r.re[1].master);
  cr_expect_str_eq(r.re[0].version, "21.4R3-S5.4");
  cr_expect_str_eq(r.re[0].pending, "23.4R2-S3.7", "installed, pending a reboot");
  cr_expect_lt(step_at(&r, "Rebooting re0"), 0);
}

Test(sim, no_old_master_upgrade_leaves_the_old_master_alone)
{
  struct sim_router r = timeline_router(OPT_NO_OLD_MASTER_UPGRADE | OPT_REBOOT, 0);
  sim_settle(&r, r.issu.started + 3 * 3600);
  cr_expect_str_eq(r.re[0].pending, "");
  cr_expect_str_eq(r.re[0].version, "21.4R3-S5.4");
  cr_expect_lt(step_at(&r, "ISSU: Old Master Upgrade Done"), 0);
}

Test(sim, faults_change_the_timeline)
{
  struct sim_router r = timeline_router(OPT_REBOOT, FAULT_VALIDATION_FAIL);
  cr_expect_geq(step_at(&r, "mgd: error: configuration check-out failed"), 0);
  cr_expect_lt(step_at(&r, "Backup upgrade done"), 0);
  sim_settle(&r, r.issu.started + 3600);
  cr_expect_eq(r.issu.state, ISSU_FAILED);
  cr_expect_str_eq(r.re[0].version, "21.4R3-S5.4");

  r = timeline_router(OPT_REBOOT | OPT_NO_VALIDATE, FAULT_VALIDATION_FAIL);
  cr_expect_lt(step_at(&r, "mgd: error: configuration check-out failed"), 0,
               "no-validate skips the configuration check");

  r = timeline_router(OPT_REBOOT, FAULT_BACKUP_NO_RETURN);
  cr_expect_geq(step_at(&r, "Waiting for Backup RE reboot"), 0);
  cr_expect(isinf(step_at(&r, "GRES operational")));
  sim_settle(&r, r.issu.started + 10 * 3600);
  cr_expect_not(sim_re_up(&r, 1, r.issu.started + 10 * 3600));
  cr_expect_str_eq(sim_issu_state_name(&r, r.issu.started + 10 * 3600), "backup-reboot");

  r = timeline_router(OPT_REBOOT, FAULT_HANG);
  snprintf(r.hang_phase, sizeof r.hang_phase, "fru-upgrade");
  cr_expect_geq(step_at(&r, "ISSU: Starting Upgrade for FRUs"), 0);
  cr_expect(isinf(step_at(&r, "ISSU: Preparing for Switchover")));

  r = timeline_router(OPT_REBOOT, FAULT_SLOW);
  r.slow_factor = 2;
  struct sim_router base = timeline_router(OPT_REBOOT, 0);
  cr_expect_float_eq(step_at(&r, "ISSU: IDLE"), 2 * step_at(&base, "ISSU: IDLE"), 1e-6);

  r = timeline_router(OPT_REBOOT, FAULT_OLD_MASTER_NO_RETURN);
  sim_settle(&r, r.issu.started + 10 * 3600);
  cr_expect_not(sim_re_up(&r, 0, r.issu.started + 10 * 3600), "the old master never returns");

  r = timeline_router(OPT_REBOOT, FAULT_DISK_FULL);
  sim_settle(&r, r.issu.started + 3600);
  cr_expect_eq(r.issu.state, ISSU_FAILED);
  cr_expect(strstr(r.issu.failure, "ISSU Aborted"));
}

Test(sim, jitter_is_per_router_and_reproducible)
{
  struct sim_router a = timeline_router(OPT_REBOOT, 0), b = a;
  b.seed = 43;
  cr_expect_neq(step_at(&a, "ISSU: IDLE"), step_at(&b, "ISSU: IDLE"));
  struct sim_router c = timeline_router(OPT_REBOOT, 0);
  cr_expect_eq(step_at(&a, "ISSU: IDLE"), step_at(&c, "ISSU: IDLE"));
}

/* ---- faults and refusals on a real state file ---- */

Test(sim, configuration_faults_show_and_refuse_the_issu)
{
  const char *s = make_lab(
      "--fault mx-ams-1=gres-off --fault mx-ams-1=nsr-off --fault mx-ams-1=commit-sync-off");
  refute_output(s, "show configuration | display set", "graceful-switchover");
  refute_output(s, "show configuration | display set", "nonstop-routing");
  refute_output(s, "show configuration | display set", "commit synchronize");
  expect_output(s, "show task replication", "Stateful Replication: Disabled");
  char *out;
  cr_expect_eq(sim(s, "request system software in-service-upgrade " PKG, NULL, &out), 1);
  cr_expect(strstr(out, "Graceful Switchover is not enabled"), "%s", out);
  free(out);
  cr_expect_eq(load(s).issu_starts, 0);
  remove_lab();
}

Test(sim, a_backup_not_ready_is_visible_and_blocks_switchover)
{
  const char *s = make_lab("--fault mx-ams-1=backup-not-ready");
  expect_output(s, "show system switchover invoke-on other-routing-engine",
                "Kernel database: Synchronizing");
  expect_output(s, "request chassis routing-engine master switch check",
                "Standby Routing Engine is not ready for graceful switchover.");
  char *out;
  cr_expect_eq(sim(s, "request system software in-service-upgrade " PKG, NULL, &out), 1);
  free(out);
  remove_lab();
}

Test(sim, storage_package_and_version_faults_are_visible)
{
  const char *s = make_lab("--fault mx-ams-1=disk-full --fault mx-ams-1=package-missing --fault "
                           "mx-ams-1=version-mismatch");
  expect_output(s, "show system storage", " 99%  /.mount/var");
  expect_output(s, "show chassis alarms", "1 alarms currently active");
  refute_output(s, "file list /var/tmp/", "junos-install");
  expect_output(s, "file checksum sha-256 " PKG, "No such file or directory");
  expect_output(s,
                "show version invoke-on all-routing-engines | match Junos:", "Junos: 21.4R3-S4.9");
  char *out;
  cr_expect_eq(sim(s, "request system software in-service-upgrade " PKG, NULL, &out), 1);
  cr_expect(strstr(out, "different versions"), "%s", out);
  free(out);
  remove_lab();
}

Test(sim, a_checksum_mismatch_differs_from_the_image_and_fails_validation)
{
  const char *s = make_lab("--fault mx-ams-1=checksum-mismatch");
  char *rollout = xasprintf("%s/lab/rollout.yaml", lab), *text = NULL, err[64];
  size_t len;
  cr_assert_eq(text_read_file(rollout, 1 << 16, &text, &len, err, sizeof err), 0);
  char *sha = strstr(text, "sha256: ") + 8;
  sha[64] = '\0';
  refute_output(s, "file checksum sha-256 " PKG, sha);
  expect_output(s, "request system software validate in-service-upgrade " PKG,
                "package signature verification failed");
  char *good = xasprintf("%s/lab/routers/mx-ams-2.json", lab);
  expect_output(good, "file checksum sha-256 " PKG, sha);
  free(good);
  free(text);
  free(rollout);
  remove_lab();
}

Test(sim, junos_refuses_a_downgrade_a_missing_package_and_a_single_re)
{
  const char *s = make_lab(NULL);
  expect_output(
      s, "request system software in-service-upgrade /var/tmp/junos-install-mx-x86-64-20.4R3.tgz",
      "No such file or directory");
  struct sim_router r;
  int fd;
  char err[256];
  cr_assert_eq(sim_open(s, &r, &fd, err, sizeof err), 0);
  sim_add_file(&r, "/var/tmp/junos-install-mx-x86-64-20.4R3.tgz");
  sim_save(&r, err, sizeof err);
  sim_close(&r, fd);
  expect_output(
      s, "request system software in-service-upgrade /var/tmp/junos-install-mx-x86-64-20.4R3.tgz",
      "does not support downgrades");
  cr_assert_eq(sim_open(s, &r, &fd, err, sizeof err), 0);
  r.re[1].present = false;
  sim_save(&r, err, sizeof err);
  sim_close(&r, fd);
  expect_output(s, "request system software in-service-upgrade " PKG,
                "requires two routing engines");
  remove_lab();
}

Test(sim, a_rebooted_re_comes_back_on_its_pending_version_after_a_holddown)
{
  const char *s = make_lab("--fault mx-ams-1=holddown");
  char *out;
  cr_expect_eq(sim(s, "request system reboot other-routing-engine", "no\n", &out), 1,
               "no means no");
  free(out);
  cr_expect_eq(sim(s, "request system reboot other-routing-engine", "yes\n", &out), 0, "%s", out);
  cr_expect(strstr(out, "Reboot the system ? [yes,no] (no) yes\nRebooting re1"), "%s", out);
  free(out);
  expect_output(s, "show chassis routing-engine",
                "  Slot 1:\n    Current state                  Present");
  expect_output(s, "show version invoke-on all-routing-engines",
                "Could not connect to re1 : No route to host");
  /* Move the clock: 600 s simulated later the RE is back; the hold-down (1200 s) is not over. */
  struct sim_router r = load(s);
  char now[64];
  snprintf(now, sizeof now, "%.3f",
           r.anchor_real + (sim_now(&r) - r.anchor_sim + 600) / r.time_scale);
  setenv("JUNOS_SIM_REAL_NOW", now, 1);
  expect_output(s, "show chassis routing-engine",
                "  Slot 1:\n    Current state                  Backup");
  expect_output(s, "request chassis routing-engine master switch check",
                "Not ready for mastership switch, try after ");
  unsetenv("JUNOS_SIM_REAL_NOW");
  remove_lab();
}

Test(sim, the_issu_streams_drops_at_switchover_and_the_router_carries_on)
{
  const char *s = make_lab(NULL);
  char *out;
  int status = sim_child(s, "request system software in-service-upgrade " PKG " reboot", &out);
  cr_expect(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 137),
            "the session ends without an exit status");
  cr_expect(strstr(out, "Chassis ISSU Check Done") && strstr(out, "ISSU: Preparing for Switchover"),
            "%s", out);
  cr_expect(strstr(out, "ISSU: IDLE") == NULL, "nothing after the drop");
  free(out);
  struct sim_router r = load(s);
  cr_expect_eq(r.issu_starts, 1);
  cr_expect(r.re[1].master, "RE1 is master after the switchover");
  cr_expect_str_eq(r.re[1].version, "23.4R2-S3.7");
  cr_expect_eq(sim(s, "request system software in-service-upgrade " PKG, NULL, &out), 1);
  cr_expect(strstr(out, "ISSU is already in progress"), "a second ISSU is refused: %s", out);
  free(out);
  remove_lab();
}

Test(sim, with_no_drop_the_session_survives_to_the_end)
{
  const char *s = make_lab("--fault mx-ams-1=no-drop");
  char *out;
  int status = sim_child(s, "request system software in-service-upgrade " PKG, &out);
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
  cr_expect(strstr(out, "ISSU: IDLE"), "%s", out);
  free(out);
  remove_lab();
}

Test(sim, concurrent_sessions_never_corrupt_the_state_or_start_two_issus, .timeout = 60)
{
  const char *s = make_lab("--fault mx-ams-1=no-drop --fault mx-ams-1=slow:20");
  enum { SESSIONS = 12 };
  pid_t pids[SESSIONS];
  for (int i = 0; i < SESSIONS; i++) {
    pids[i] = fork();
    if (pids[i] == 0) {
      char *state = xstrdup(s);
      char *cmd = xstrdup(i % 2 ? "request system software in-service-upgrade " PKG
                                : "show chassis routing-engine");
      char binary[] = JUNOS_SIM_BINARY, device[] = "device", flag[] = "--state", c_flag[] = "-c";
      char *argv[] = {binary, device, flag, state, c_flag, cmd, NULL};
      int null = open("/dev/null", 1);
      dup2(null, 1);
      execv(JUNOS_SIM_BINARY, argv);
      _exit(127);
    }
  }
  /* The ISSU runs slowly (slow:20, about 80 s): every other session ends on its own, refused or
   * answered, while the one accepted ISSU keeps going. Wait (without a clock) for all of them
   * but one; if two ISSUs had started, this would never happen and the test would time out. */
  int exited = 0, refused = 0;
  while (exited < SESSIONS - 1) {
    int st;
    pid_t pid = waitpid(-1, &st, 0);
    cr_assert_gt(pid, 0);
    for (int i = 0; i < SESSIONS; i++)
      if (pids[i] == pid) {
        refused += i % 2 == 1 && WIFEXITED(st) && WEXITSTATUS(st) == 1;
        pids[i] = 0;
      }
    exited++;
  }
  struct sim_router r = load(s);
  cr_expect_eq(r.issu_starts, 1, "exactly one ISSU started");
  cr_expect_eq(refused, SESSIONS / 2 - 1, "every other ISSU request was refused");
  for (int i = 0; i < SESSIONS; i++)
    if (pids[i] > 0) {
      cr_expect_eq(i % 2, 1, "the session still running is the accepted ISSU");
      kill(pids[i], SIGKILL);
      waitpid(pids[i], NULL, 0);
    }
  remove_lab();
}

/* ---- the captures are the oracle (issue 13) ---- */

/* The captures directory: ISSU_CAPTURES, else ../shared/captures beside the source tree. */
static const char *captures_dir(void)
{
  static char path[512];
  const char *env = getenv("ISSU_CAPTURES");
  snprintf(path, sizeof path, "%s", env && *env ? env : ISSU_SOURCE_DIR "/../shared/captures");
  return path;
}

static char *read_capture(const char *name)
{
  char *path = xasprintf("%s/%s", captures_dir(), name), *text = NULL, err[128];
  size_t len;
  int rc = text_read_file(path, 1 << 22, &text, &len, err, sizeof err);
  free(path);
  return rc == 0 ? text : NULL;
}

/* Runs `command` on RE `re` (-1: the master) and returns the output (caller frees). */
static char *run_on(const char *state, int re, const char *command, const char *answer, int *rc)
{
  size_t len = 0;
  char *out = NULL;
  FILE *o = open_memstream(&out, &len);
  char *input = xstrdup(answer ? answer : "\n");
  FILE *in = fmemopen(input, strlen(input), "r");
  int status = sim_run_command_on(state, re, command, in, o);
  if (rc)
    *rc = status;
  fclose(o);
  fclose(in);
  free(input);
  /* Without the `set cli timestamp` line some routers print first ("Dec 01 15:01:45"). */
  if (strlen(out) > 16 && out[3] == ' ' && out[6] == ' ' && out[9] == ':' && out[15] == '\n')
    memmove(out, out + 16, strlen(out + 16) + 1);
  return out;
}

/* Each XML element `tags` names appears in junos-sim's output and in the capture: the output has
 * the capture's shape. Without the captures the test is skipped with the reason. */
struct shape {
  const char *command, *capture;
  const char *tags[12];
};

static const struct shape shapes[] = {
    {"show version invoke-on all-routing-engines | display xml",
     "show-version-invoke-on-all-routing-engines__pyez-sw-info-dual__15.1F5.xml",
     {"<rpc-reply xmlns:junos=", "<multi-routing-engine-results>", "<multi-routing-engine-item>",
      "<re-name>re0</re-name>", "<re-name>re1</re-name>", "<software-information>", "<host-name>",
      "<product-model>", "<junos-version>", "<package-information>", "<name>os-kernel</name>"}},
    {"show chassis routing-engine | display xml",
     "show-chassis-routing-engine__pyez-re-info-dual__15.1F5.xml",
     {"<route-engine-information", "<slot>0</slot>", "<slot>1</slot>",
      "<mastership-state>master</mastership-state>", "<mastership-state>backup</mastership-state>",
      "<mastership-priority>master (default)</mastership-priority>", "<cpu-idle3>",
      "<start-time junos:seconds=", "<up-time junos:seconds=", "<last-reboot-reason>"}},
    {"show chassis alarms | display xml",
     "show-chassis-alarms__jsnapy-no-active-alarms__unknown.xml",
     {"<alarm-information>", "<alarm-summary>", "<no-active-alarms/>"}},
    {"show system storage invoke-on all-routing-engines | display xml",
     "show-system-storage__pyez-multi-re-linux__18.4I0.xml",
     {"<multi-routing-engine-results>", "<re-name>re0</re-name>",
      "<system-storage-information junos:style=\"brief\">", "<filesystem-name>",
      "<total-blocks junos:format=", "<used-blocks junos:format=",
      "<available-blocks junos:format=", "<used-percent>", "<mounted-on>"}},
    {"show system switchover invoke-on other-routing-engine | display xml",
     "show-system-switchover__pyez-request-shell-execute-not-ready__16.1I0.xml",
     {"<switchover-information", "<switchover-state>On</switchover-state>", "<gres-mode/>",
      "<configuration-ready/>", "<gresreadiness-status><switchover-status/>"}},
    {"show task replication | display xml",
     "show-task-replication__junos-upgrader-isis-not-complete__22.4-era.xml",
     {"<task-replication-state>", "<task-gres-state>Enabled</task-gres-state>",
      "<task-re-mode>Master</task-re-mode>", "<task-protocol-replication-name>OSPF",
      "<task-protocol-replication-state>Complete"}},
    {"file checksum md5 " PKG " | display xml",
     "file-checksum-md5__pyez-get-checksum-information__14.1I0.xml",
     {"<checksum-information>", "<file-checksum>", "<computation-method>MD5</computation-method>",
      "<input-file>", "<checksum>", "<cli>", "<banner>"}},
};

Test(sim, xml_forms_have_the_shapes_of_the_captures)
{
  char *probe = read_capture("MANIFEST.md");
  if (probe == NULL)
    cr_skip_test("no captures in %s (set ISSU_CAPTURES)", captures_dir());
  free(probe);
  const char *s = make_lab(NULL);
  for (size_t i = 0; i < ARRAY_LEN(shapes); i++) {
    char *capture = read_capture(shapes[i].capture);
    cr_assert_not_null(capture, "%s is missing", shapes[i].capture);
    char *out = run_on(s, -1, shapes[i].command, NULL, NULL);
    for (size_t k = 0; k < ARRAY_LEN(shapes[i].tags) && shapes[i].tags[k]; k++) {
      cr_expect(strstr(capture, shapes[i].tags[k]) != NULL, "the capture %s lacks %s",
                shapes[i].capture, shapes[i].tags[k]);
      cr_expect(strstr(out, shapes[i].tags[k]) != NULL, "'%s' lacks %s:\n%s", shapes[i].command,
                shapes[i].tags[k], out);
    }
    cr_expect(strstr(out, "</rpc-reply>") != NULL, "%s", out);
    free(out);
    free(capture);
  }
  remove_lab();
}

Test(sim, text_forms_have_the_wording_of_the_captures)
{
  const char *s = make_lab(NULL);
  char *out = run_on(s, -1, "show chassis in-service-upgrade", NULL, NULL);
  cr_expect(strstr(out, "ISSU state") == NULL, "no real MX prints an ISSU state line: %s", out);
  cr_expect(strncmp(out, "Item ", 5) == 0 || strstr(out, "\nItem ") != NULL, "%s", out);
  cr_expect(strstr(out, "FPC 0") && strstr(out, "PIC 0"), "%s", out);
  free(out);
  /* "Routing Engine status:" before each slot (genieparser-dual-re-1800x4). */
  out = run_on(s, -1, "show chassis routing-engine | match \"status|Slot\"", NULL, NULL);
  cr_expect(strstr(out, "Routing Engine status:\n  Slot 0:\nRouting Engine status:\n  Slot 1:\n"),
            "%s", out);
  free(out);
  out = run_on(s, -1, "show system storage", NULL, NULL);
  cr_expect(strstr(out, "/dev/gpt/config") && strstr(out, "/.mount/var"), "%s", out);
  cr_expect(strstr(out, "/dev/md0.uzip") == NULL, "no capture shows it: %s", out);
  free(out);
  remove_lab();
}

Test(sim, old_releases_print_no_junos_line_and_re_suffixes_differ)
{
  snprintf(lab, sizeof lab, "/tmp/issu-sim-test-XXXXXX");
  cr_assert_not_null(mkdtemp(lab));
  char *cmd = xasprintf("%s lab init %s/lab --devices 2 --seed 7 --from 12.3R12.4 --to 15.1F5.15 "
                        "--router mx-ams-2=re0-suffix:-C1.12 >/dev/null",
                        JUNOS_SIM_BINARY, lab);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  free(cmd);
  char old[512], suffixed[512];
  snprintf(old, sizeof old, "%s/lab/routers/mx-ams-1.json", lab);
  snprintf(suffixed, sizeof suffixed, "%s/lab/routers/mx-ams-2.json", lab);
  char *out = run_on(old, -1, "show version", NULL, NULL);
  cr_expect(strstr(out, "Junos:") == NULL, "12.3 prints no Junos: line (crtc-readme-alecto): %s",
            out);
  cr_expect(strstr(out, "JUNOS Base OS boot [12.3R12.4]"), "%s", out);
  free(out);
  out = run_on(old, -1, "show version | display xml", NULL, NULL);
  cr_expect(strstr(out, "<junos-version>") == NULL, "%s", out);
  cr_expect(strstr(out, "<comment>JUNOS Base OS boot [12.3R12.4]</comment>"), "%s", out);
  free(out);
  /* Set the suffixed router's REs to 15.1F5.15, as in capture pyez-sw-info-dual. */
  struct sim_router r;
  int fd;
  char err[256];
  cr_assert_eq(sim_open(suffixed, &r, &fd, err, sizeof err), 0);
  for (int i = 0; i < 2; i++)
    snprintf(r.re[i].version, sizeof r.re[i].version, "15.1F5.15");
  sim_save(&r, err, sizeof err);
  sim_close(&r, fd);
  out =
      run_on(suffixed, -1, "show version invoke-on all-routing-engines | display xml", NULL, NULL);
  char *re0 = strstr(out, "<junos-version>15.1F5.15-C1.12</junos-version>");
  char *re1 = strstr(out, "<junos-version>15.1F5.15</junos-version>");
  cr_expect(re0 && re1 && re0 < re1, "%s", out);
  free(out);
  out = run_on(suffixed, -1, "show version invoke-on all-routing-engines", NULL, NULL);
  cr_expect(strstr(out, "Junos: 15.1F5.15-C1.12\n") && strstr(out, "Junos: 15.1F5.15\n"), "%s",
            out);
  free(out);
  remove_lab();
}

/* Moves the router's clock by `seconds` of simulated time (JUNOS_SIM_REAL_NOW). */
static void advance(const char *state, double seconds)
{
  struct sim_router r = load(state);
  const char *fake = getenv("JUNOS_SIM_REAL_NOW");
  double real =
      fake ? strtod(fake, NULL) : r.anchor_real + (sim_now(&r) - r.anchor_sim) / r.time_scale;
  char now[64];
  snprintf(now, sizeof now, "%.3f", real + seconds / r.time_scale);
  setenv("JUNOS_SIM_REAL_NOW", now, 1);
}

Test(sim, a_rebooting_backup_is_an_rpc_error_and_a_loss_of_communication_alarm)
{
  const char *s = make_lab(NULL);
  advance(s, 0);
  char *out = run_on(s, -1, "request system reboot other-routing-engine", "yes\n", NULL);
  free(out);
  out = run_on(s, -1, "show version invoke-on all-routing-engines | display xml", NULL, NULL);
  char *err = strstr(out, "<rpc-error>"), *res = strstr(out, "<multi-routing-engine-results>");
  cr_expect(err && res && err < res, "the rpc-error comes before the results: %s", out);
  cr_expect(strstr(out, "Could not connect to re1 : No route to host"), "%s", out);
  cr_expect(strstr(out, "<re-name>re1</re-name>") == NULL, "%s", out);
  free(out);
  out = run_on(s, -1, "show chassis alarms", NULL, NULL);
  cr_expect(strstr(out, "1 alarms currently active\nAlarm time               Class  Description\n"),
            "%s", out);
  cr_expect(strstr(out, "  Minor  Loss of communication with Backup RE\n"), "%s", out);
  free(out);
  out = run_on(s, -1, "show chassis alarms | display xml", NULL, NULL);
  cr_expect(strstr(out, "<active-alarm-count>1</active-alarm-count>") &&
                strstr(out, "<alarm-description>Loss of communication with Backup RE<"),
            "%s", out);
  free(out);
  advance(s, 600);
  out = run_on(s, -1, "show chassis alarms", NULL, NULL);
  cr_expect(strstr(out, "No alarms currently active"), "back: %s", out);
  free(out);
  unsetenv("JUNOS_SIM_REAL_NOW");
  remove_lab();
}

Test(sim, a_switch_raises_backup_re_active_and_a_holddown_refuses_the_next)
{
  const char *s = make_lab("--router mx-ams-1=stay");
  advance(s, 0); /* the clock stands still but where the test moves it */
  int rc;
  char *out = run_on(s, -1, "request chassis routing-engine master switch", "yes\n", &rc);
  cr_expect_eq(rc, 0, "%s", out);
  cr_expect(strstr(out, "Toggle mastership between routing engines ? [yes,no] (no) yes\n\n"
                        "Resolving mastership...\n"
                        "Complete. The other routing engine becomes the master.\n\n{backup}\n"),
            "the session stays, now on the backup (crtc-accepted): %s", out);
  free(out);
  out = run_on(s, -1, "show system alarms", NULL, NULL);
  cr_expect(strstr(out, "  Minor  Backup RE Active\n"), "%s", out);
  free(out);
  out = run_on(s, -1, "show chassis alarms | display xml", NULL, NULL);
  cr_expect(strstr(out, "<alarm-description>Backup RE Active</alarm-description>"), "%s", out);
  free(out);
  advance(s, 30);
  out = run_on(s, -1, "request chassis routing-engine master switch", "yes\n", &rc);
  cr_expect_eq(rc, 1);
  cr_expect(strstr(out, "Command aborted. Not ready for mastership switch, try after 21") &&
                strstr(out, " secs.\n"),
            "%s", out);
  free(out);
  advance(s, 300);
  out = run_on(s, -1, "request chassis routing-engine master switch", "yes\n", &rc);
  cr_expect_eq(rc, 0, "after the hold-down: %s", out);
  free(out);
  out = run_on(s, -1, "show system alarms", NULL, NULL);
  cr_expect(strstr(out, "No alarms currently active"), "RE0 master again: %s", out);
  free(out);
  unsetenv("JUNOS_SIM_REAL_NOW");
  remove_lab();
}

Test(sim, a_switch_drops_the_session_by_default)
{
  const char *s = make_lab(NULL);
  char *out;
  int status = sim_child(s, "request chassis routing-engine master switch no-confirm", &out);
  cr_expect(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 137), "%s", out);
  cr_expect(strstr(out, "Resolving mastership..."), "%s", out);
  free(out);
  struct sim_router r = load(s);
  cr_expect(r.re[1].master);
  cr_expect_eq(r.sessions_dropped, 1);
  remove_lab();
}

Test(sim, a_session_on_the_backup_re_is_refused_master_only_commands)
{
  const char *s = make_lab(NULL);
  int rc;
  char *out = run_on(s, 1, "show chassis routing-engine", NULL, &rc);
  cr_expect_eq(rc, 1);
  cr_expect_str_eq(out, "Aborted! This command can only be used on the master routing engine.\n"
                        "\n{backup}\n");
  free(out);
  /* The XML form of capture show-chassis-hardware-on-backup-re__pyez-connect-not-master. */
  out = run_on(s, 1, "show chassis routing-engine | display xml", NULL, &rc);
  cr_expect(strstr(out, "<output>\n        Aborted! This command can only be used on the master "
                        "routing engine.</output>"),
            "%s", out);
  cr_expect(strstr(out, "<banner>{backup}</banner>"), "%s", out);
  free(out);
  out = run_on(s, 1, "request system software in-service-upgrade " PKG, NULL, &rc);
  cr_expect_eq(rc, 1);
  cr_expect(strstr(out, "Aborted! This command can only be used on the master"), "%s", out);
  free(out);
  /* What the backup answers: its own version, and show system switchover in full. */
  out = run_on(s, 1, "show system switchover", NULL, &rc);
  cr_expect(strstr(out, "Kernel database: Ready") && strstr(out, "{backup}"), "%s", out);
  free(out);
  out = run_on(s, 0, "show version | match Junos:", NULL, &rc);
  cr_expect_str_eq(out, "Junos: 21.4R3-S5.4\n\n{master}\n");
  free(out);
  out = run_on(s, -1, "show version | match Junos:", NULL, &rc);
  cr_expect_str_eq(out, "Junos: 21.4R3-S5.4\n", "a master-only session prints no banner");
  free(out);
  remove_lab();
}

Test(sim, an_old_master_left_without_reboot_holds_a_pending_install, .timeout = 60)
{
  const char *s = make_lab("--router mx-ams-1=stay");
  char *out;
  int status = sim_child(s, "request system software in-service-upgrade " PKG, &out);
  cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the session stays: %s", out);
  cr_expect(strstr(out, "ISSU: Preparing for Switchover"), "%s", out);
  size_t len = strlen(out);
  cr_expect(len > 10 && strcmp(out + len - 10, "\n{backup}\n") == 0,
            "the session ends on the old master, now backup: %s", out);
  free(out);
  advance(s, 0); /* from here the clock stands still */
  struct sim_router r = load(s);
  cr_expect(r.re[1].master);
  cr_expect_str_eq(r.re[0].pending, "23.4R2-S3.7");
  cr_expect_eq(r.sessions_dropped, 0);
  int rc;
  out = run_on(s, 0, "request system software add " PKG, NULL, &rc);
  cr_expect_eq(rc, 1);
  cr_expect(strstr(out, "There is already an install pending.\n"
                        "    Use the 'request system reboot' command to complete the install,\n"),
            "%s", out);
  free(out);
  out = run_on(s, 0, "show chassis alarms", NULL, &rc);
  cr_expect(strstr(out, "Aborted! This command can only be used on the master routing engine."),
            "%s", out);
  free(out);
  char *cmd = xasprintf("JUNOS_SIM_RE=0 %s device --state %s -c 'request system reboot' 2>&1 "
                        "<<< yes",
                        JUNOS_SIM_BINARY, s);
  char *full = xasprintf("bash -c \"%s\" 2>/dev/null", cmd);
  FILE *p = popen(full, "r");
  char buf[4096] = "";
  size_t n = fread(buf, 1, sizeof buf - 1, p);
  buf[n] = '\0';
  pclose(p);
  cr_expect(strstr(buf, "Reboot consistency check bypassed - jinstall 23.4R2-S3.7 will complete "
                        "installation upon reboot"),
            "%s", buf);
  free(cmd);
  free(full);
  r = load(s);
  cr_expect_not(sim_re_up(&r, 0, sim_now(&r)), "the old master reboots");
  cr_expect(r.re[1].master, "and RE1 stays master");
  unsetenv("JUNOS_SIM_REAL_NOW");
  remove_lab();
}

Test(sim, vmhost_routers_upgrade_and_reboot_with_request_vmhost)
{
  const char *s = make_lab("--router mx-ams-1=vmhost");
  advance(s, 0); /* the clock stands still */
  int rc;
  char *out = run_on(s, -1, "request system software in-service-upgrade " PKG, NULL, &rc);
  cr_expect_eq(rc, 1);
  cr_expect(strstr(out, "request vmhost software in-service-upgrade"), "%s", out);
  free(out);
  out = run_on(s, -1, "request system reboot other-routing-engine", "yes\n", &rc);
  cr_expect_eq(rc, 1, "%s", out);
  free(out);
  out = run_on(s, -1, "show chassis routing-engine", NULL, &rc);
  cr_expect(strstr(out, "RE-S-1600x8") && strstr(out, "    15 min CPU utilization:\n") &&
                strstr(out, "0x2000:hypervisor reboot") && strstr(out, "0x4000:VJUNOS reboot"),
            "junos-upgrader-text-dual-vmhost: %s", out);
  cr_expect(strstr(out, "Serial ID") == NULL, "%s", out);
  free(out);
  out = run_on(s, -1, "request vmhost reboot invoke-on other-routing-engine", "yes\n", &rc);
  cr_expect_eq(rc, 0, "%s", out);
  cr_expect(strstr(out, "Initiating vmhost reboot...\n"), "%s", out);
  free(out);
  struct sim_router r = load(s);
  cr_expect_not(sim_re_up(&r, 1, sim_now(&r)));
  /* A plain RE does not know the vmhost commands. */
  char *plain = xasprintf("%s/lab/routers/mx-ams-2.json", lab);
  out = run_on(plain, -1, "request vmhost reboot", "yes\n", &rc);
  cr_expect_eq(rc, 1);
  cr_expect(strstr(out, "syntax error"), "%s", out);
  free(out);
  free(plain);
  unsetenv("JUNOS_SIM_REAL_NOW");
  remove_lab();
}

Test(sim, a_vmhost_issu_runs_with_the_reboot_option_to_the_end, .timeout = 60)
{
  const char *s = make_lab("--router mx-ams-1=vmhost");
  char *out;
  int status = sim_child(s, "request vmhost software in-service-upgrade " PKG " reboot", &out);
  cr_expect(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 137), "%s", out);
  cr_expect(strstr(out, "ISSU: Preparing for Switchover"), "%s", out);
  free(out);
  advance(s, 3600);
  struct sim_router r = load(s);
  cr_expect_eq(r.issu.state, ISSU_DONE);
  cr_expect(r.re[1].master && sim_re_up(&r, 0, sim_now(&r)), "RE0 is back as backup");
  cr_expect_str_eq(r.re[0].version, "23.4R2-S3.7", "the old master upgraded itself");
  unsetenv("JUNOS_SIM_REAL_NOW");
  remove_lab();
}

/* Every `| display xml` answer is well-formed XML (checked by xmllint, when it is installed). */
Test(sim, every_xml_answer_is_well_formed)
{
  if (system("command -v xmllint >/dev/null 2>&1") != 0)
    cr_skip_test("xmllint is not installed (Debian libxml2-utils)");
  static const char *const commands[] = {
      "show version | display xml",
      "show version invoke-on all-routing-engines | display xml",
      "show version invoke-on other-routing-engine | display xml",
      "show chassis routing-engine | display xml",
      "show chassis alarms | display xml",
      "show system alarms | display xml",
      "show system storage | display xml",
      "show system storage invoke-on all-routing-engines | display xml",
      "show system switchover | display xml",
      "show system switchover invoke-on other-routing-engine | display xml",
      "show task replication | display xml",
      "file checksum md5 " PKG " | display xml",
      "file checksum sha-256 " PKG " | display xml",
      "file checksum md5 /var/tmp/none.tgz | display xml",
      "show configuration | display xml",
      "show chassis in-service-upgrade | display xml",
  };
  const char *s = make_lab("--router mx-ams-1=vmhost");
  advance(s, 0);
  for (int phase = 0; phase < 2; phase++) {
    for (int re = -1; re < (phase ? 1 : 2); re++) /* a rebooting re1 answers nothing */
      for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
        char *out = run_on(s, re, commands[i], NULL, NULL);
        char path[512];
        snprintf(path, sizeof path, "%s/out.xml", lab);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(out, f);
        fclose(f);
        char *cmd = xasprintf("xmllint --noout %s 2>&1", path);
        cr_expect_eq(system(cmd), 0, "'%s' on re%d (phase %d) is not well-formed:\n%s", commands[i],
                     re, phase, out);
        free(cmd);
        free(out);
      }
    /* Then again while RE1 reboots: rpc-errors and a present-only RE. */
    free(run_on(s, -1, "request vmhost reboot invoke-on other-routing-engine", "yes\n", NULL));
  }
  unsetenv("JUNOS_SIM_REAL_NOW");
  remove_lab();
}

/* A state file is the simulator's own, but a lab is edited by hand (faults, a clock): a number
 * out of its range is refused with its name, never cast (undefined behaviour) or used as an
 * index (`old_master` picks one of the two REs). */
static void set_number(const char *state, const char *object, const char *key, double value)
{
  char *text = NULL, err[128];
  size_t len;
  cr_assert_eq(text_read_file(state, 1 << 20, &text, &len, err, sizeof err), 0, "%s", err);
  cJSON *j = cJSON_Parse(text);
  free(text);
  cr_assert_not_null(j);
  cJSON *o = object ? cJSON_GetObjectItemCaseSensitive(j, object) : j;
  cr_assert_not_null(o, "%s", object);
  cJSON_DeleteItemFromObjectCaseSensitive(o, key);
  cJSON_AddNumberToObject(o, key, value);
  char *out = cJSON_Print(j);
  FILE *f = fopen(state, "w");
  cr_assert_not_null(f);
  fputs(out, f);
  fclose(f);
  free(out);
  cJSON_Delete(j);
}

Test(sim, a_state_file_number_out_of_range_is_refused_by_name)
{
  const struct {
    const char *object, *key, *named;
    double value;
  } bad[] = {
      {"issu", "old_master", "issu.old_master", 5},
      {"issu", "old_master", "issu.old_master", -1},
      {"issu", "applied", "issu.applied", -3},
      {"issu", "options", "issu.options", 1e300},
      {NULL, "issu_starts", "issu_starts", 1.5e113},
      {NULL, "sessions_dropped", "sessions_dropped", -1},
      {NULL, "seed", "seed", -7},
      {"storage", "var_used_kb", "storage.var_used_kb", 1e30},
      {"network", "scale", "network.scale", 0.5},
      {NULL, "time_scale", "time_scale", 0},
      {NULL, "time_scale", "time_scale", 1e300},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *s = make_lab(NULL);
    set_number(s, bad[i].object, bad[i].key, bad[i].value);
    char *out;
    cr_expect_neq(sim(s, "show version", NULL, &out), 0, "%s %g accepted", bad[i].named,
                  bad[i].value);
    cr_expect(strstr(out, bad[i].named) != NULL, "%s %g: %s", bad[i].named, bad[i].value, out);
    free(out);
    remove_lab();
  }
  /* a clock far in the future is shown, not cast out of time_t's range */
  const char *s = make_lab(NULL);
  set_number(s, NULL, "anchor_sim", 1e300);
  char *out;
  cr_expect_eq(sim(s, "show chassis routing-engine", NULL, &out), 0, "%s", out);
  cr_expect(strstr(out, "Uptime") != NULL, "%s", out);
  free(out);
  remove_lab();
}

/* The network's figures (peer up-times, hold timers) come from the clock too: a hand-edited clock
 * far off (either way) is shown within years 1970 to 9999 there as well, never cast out of an
 * integer's range (undefined behaviour, UBSan in the sanitized build). */
Test(sim, a_clock_far_off_is_clamped_in_the_networks_figures_too)
{
  const double clocks[] = {1e300, -1e300};
  const char *commands[] = {"show bgp summary", "show ospf neighbor", "show isis adjacency",
                            "show ldp session"};
  for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
    const char *s = make_lab(NULL);
    set_number(s, NULL, "anchor_sim", clocks[i]);
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
      char *out;
      cr_expect_eq(sim(s, commands[k], NULL, &out), 0, "%s at %g: %s", commands[k], clocks[i], out);
      free(out);
    }
    remove_lab();
  }
}
