/*
 * junos-sim's hold point, a test facility (simulator/sim_hold.h): a router held before a phase
 * stays in flight however long the test takes, and goes on when released. The end-to-end tests
 * that need a router in flight (tests/unit/test_rollout.c) rely on it instead of the clock.
 */
#include "simulator/sim.h"
#include "simulator/sim_hold.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PKG "/var/tmp/junos-install-mx-x86-64-23.4R2-S3.7.tgz"

static char lab[256], state[512], hold[600];

static void make_lab(void)
{
  snprintf(lab, sizeof lab, "/tmp/issu-sim-hold-test-XXXXXX");
  cr_assert_not_null(mkdtemp(lab));
  char *cmd = xasprintf("%s lab init %s/lab --devices 1 --time-scale 600 >/dev/null",
                        JUNOS_SIM_BINARY, lab);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  free(cmd);
  snprintf(state, sizeof state, "%s/lab/routers/mx-ams-1.json", lab);
  snprintf(hold, sizeof hold, "%s.hold", state);
}

static void remove_lab(void)
{
  char *cmd = xasprintf("rm -rf %s", lab);
  cr_expect_eq(system(cmd), 0);
  free(cmd);
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

/* The router as it stands `ahead` real seconds from now (JUNOS_SIM_REAL_NOW). */
static struct sim_router look(double ahead)
{
  char now[64];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(now, sizeof now, "%.3f", (double)ts.tv_sec + ts.tv_nsec / 1e9 + ahead);
  setenv("JUNOS_SIM_REAL_NOW", now, 1);
  struct sim_router r;
  int fd;
  char err[256];
  cr_assert_eq(sim_open(state, &r, &fd, err, sizeof err), 0, "%s", err);
  sim_settle(&r, sim_now(&r));
  unsetenv("JUNOS_SIM_REAL_NOW");
  struct sim_router copy = r;
  copy.files = NULL;
  copy.nfiles = 0;
  sim_close(&r, fd);
  return copy;
}

static bool file_has(const char *path, const char *needle)
{
  char *cmd = xasprintf("grep -q '%s' %s", needle, path);
  bool yes = system(cmd) == 0;
  free(cmd);
  return yes;
}

/* Waits (on the output, not the clock) until `path` holds `needle`; false after a long bound. */
static bool wait_for(const char *path, const char *needle)
{
  for (int i = 0; i < 3000; i++) {
    if (file_has(path, needle))
      return true;
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  return false;
}

Test(sim_hold, a_held_router_stays_in_flight_until_released_then_goes_on, .timeout = 120)
{
  make_lab();
  write_file(hold, "backup-upgrade\n");
  char out[600];
  snprintf(out, sizeof out, "%s/session.txt", lab);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execl(JUNOS_SIM_BINARY, "junos-sim", "device", "--state", state, "-c",
          "request system software in-service-upgrade " PKG " reboot", (char *)NULL);
    _exit(127);
  }
  cr_assert(wait_for(out, "Using /var/tmp/junos-install"), "the ISSU began");
  /* A day later, still before backup-upgrade: the hold, not the clock, decides. */
  struct sim_router r = look(86400);
  cr_expect_eq(r.issu.state, ISSU_RUNNING);
  cr_expect_str_eq(sim_issu_state_name(&r, sim_now(&r) + 86400 * 600.0), "backup-upgrade");
  cr_expect_str_eq(r.re[1].version, "21.4R3-S5.4", "the backup RE was not upgraded");
  cr_expect(!file_has(out, "Saving package file"), "nothing of backup-upgrade was narrated");
  cr_expect_eq(waitpid(pid, NULL, WNOHANG), 0, "the session is still narrating");
  /* Released: the ISSU goes on to the switchover, where the session drops as always. */
  cr_assert_eq(unlink(hold), 0);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_expect(file_has(out, "ISSU: Preparing for Switchover"), "the ISSU went on after release");
  r = look(86400);
  cr_expect_eq(r.issu.state, ISSU_DONE);
  cr_expect_eq(r.issu_starts, 1);
  remove_lab();
}

Test(sim_hold, a_hold_file_without_a_phase_name_holds_nothing)
{
  make_lab();
  write_file(hold, "not-a-phase\n");
  struct sim_router r = {0};
  snprintf(r.path, sizeof r.path, "%s", state);
  cr_expect_eq(sim_hold_phase(&r), -1);
  write_file(hold, "old-master-reboot\n");
  cr_expect_eq(sim_hold_phase(&r), PHASE_OLD_MASTER_REBOOT);
  unlink(hold);
  cr_expect_eq(sim_hold_phase(&r), -1);
  remove_lab();
}

/* Released before the session reaches the held step (its timeline was computed under the hold):
 * the session still goes on, it does not wait for ever. */
Test(sim_hold, a_hold_released_before_it_is_reached_holds_nothing, .timeout = 120)
{
  make_lab();
  write_file(hold, "fru-upgrade\n");
  char out[600];
  snprintf(out, sizeof out, "%s/session.txt", lab);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execl(JUNOS_SIM_BINARY, "junos-sim", "device", "--state", state, "-c",
          "request system software in-service-upgrade " PKG " reboot", (char *)NULL);
    _exit(127);
  }
  cr_assert(wait_for(out, "ISSU: Validating Image"), "the ISSU began");
  cr_assert_eq(unlink(hold), 0);
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_expect(file_has(out, "ISSU: Preparing for Switchover"), "the ISSU went on");
  remove_lab();
}
