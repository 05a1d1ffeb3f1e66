/*
 * Shared by the end-to-end tests: a junos-sim lab behind real OpenSSH in a temporary directory,
 * a shell runner that captures output, and a lab's status as JSON. Include once per test file.
 */
#ifndef ISSU_TEST_LAB_H
#define ISSU_TEST_LAB_H

#include "common/common.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <string.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PKG "/var/tmp/junos-install-mx-x86-64-23.4R2-S3.7.tgz"

static char dir[256];

#ifndef LAB_KNOWN_HOSTS
#define LAB_KNOWN_HOSTS ""
#endif

/* Runs a shell command; returns its exit code, output (stdout and stderr) in *out. */
static int sh(char **out, const char *fmt, ...) ISSU_PRINTF(2, 3);

static int sh(char **out, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char cmd[2048];
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  char *full = xasprintf("%s 2>&1", cmd);
  FILE *p = popen(full, "r");
  free(full);
  size_t len = 0, cap = 1 << 16;
  char *buf = xcalloc(1, cap);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (cap - len < 4096)
      buf = xrealloc(buf, cap *= 2);
  }
  buf[len] = '\0';
  int status = pclose(p);
  if (out)
    *out = buf;
  else
    free(buf);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

__attribute__((unused)) static void pause_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Makes and starts a lab. lab init picks ports that are free when it runs; another program may
 * take one before lab up binds it: lab up then says so, and the lab is made again on other
 * ports (retry on EADDRINUSE rather than trusting a port to stay free). */
static void lab_start(int devices, int sites, const char *extra)
{
  char *out = NULL;
  for (int attempt = 0; attempt < 5; attempt++) {
    /* The suite's tag in the name lets its last test find a lab's sshd-started processes,
     * which do not inherit the suite's environment (tests/tools/no_process_left.py). */
    const char *tag = getenv("ISSU_TEST_SUITE");
    snprintf(dir, sizeof dir, "/tmp/issu-lab-%.8s%sXXXXXX", tag ? tag : "", tag ? "-" : "");
    cr_assert_not_null(mkdtemp(dir));
    /* LAB_KNOWN_HOSTS: what a test file's labs record by default (e.g. "--known-hosts both"),
     * unless a test names its own. */
    bool keys_given = extra && strstr(extra, "--known-hosts");
    int rc =
        sh(&out, "%s lab init %s --devices %d --sites %d --time-scale 600 %s %s", JUNOS_SIM_BINARY,
           dir, devices, sites, keys_given ? "" : LAB_KNOWN_HOSTS, extra ? extra : "");
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = sh(&out, "%s lab up %s", JUNOS_SIM_BINARY, dir);
    if (rc == 0) {
      free(out);
      return;
    }
    if (strstr(out, "is taken by another program") == NULL)
      break;
    free(out);
    sh(NULL, "%s lab down %s; rm -rf %s", JUNOS_SIM_BINARY, dir, dir);
  }
  cr_assert_fail("lab up failed: %s", out);
}

/* Holds `router`'s ISSU before `phase` until lab_release: junos-sim's hold point, a test facility
 * (simulator/sim_hold.h), so a test that needs a router in flight never races the clock. */
__attribute__((unused)) static void lab_hold(const char *router, const char *phase)
{
  char path[400];
  snprintf(path, sizeof path, "%s/routers/%s.json.hold", dir, router);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fprintf(f, "%s\n", phase);
  fclose(f);
}

__attribute__((unused)) static void lab_release(const char *router)
{
  char path[400];
  snprintf(path, sizeof path, "%s/routers/%s.json.hold", dir, router);
  cr_assert_eq(unlink(path), 0, "%s was not held", router);
}

/* Ends every process whose command line names `path` (the lab's junos-sim sessions, its sshd,
 * an ssh a test left running): nothing a test started outlives it. Returns how many. */
static int end_processes_naming(const char *path)
{
  int ended = 0;
  DIR *d = opendir("/proc");
  if (d == NULL)
    return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    pid_t pid = (pid_t)atol(e->d_name);
    if (pid <= 0 || pid == getpid())
      continue;
    char file[64], cmd[4096];
    snprintf(file, sizeof file, "/proc/%ld/cmdline", (long)pid);
    FILE *f = fopen(file, "r");
    if (f == NULL)
      continue;
    size_t n = fread(cmd, 1, sizeof cmd - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
      if (cmd[i] == '\0')
        cmd[i] = ' ';
    cmd[n] = '\0';
    if (strstr(cmd, path) != NULL && kill(pid, SIGKILL) == 0)
      ended++;
  }
  closedir(d);
  return ended;
}

/* Stops the lab's sshd, ends whatever still runs in it, and removes it; safe twice (.fini calls
 * it after a failed test too). */
static void lab_stop(void)
{
  if (dir[0] == '\0')
    return;
  sh(NULL, "%s lab down %s", JUNOS_SIM_BINARY, dir);
  end_processes_naming(dir);
  sh(NULL, "rm -rf %s", dir);
  dir[0] = '\0';
}

/* Writes DIR/test.yaml: the lab's target section (package, sha256, source), then `body`. */
__attribute__((unused)) static void write_policy(const char *body)
{
  char path[400], line[1024];
  snprintf(path, sizeof path, "%s/rollout.yaml", dir);
  FILE *in = fopen(path, "r");
  cr_assert_not_null(in);
  snprintf(path, sizeof path, "%s/test.yaml", dir);
  FILE *out = fopen(path, "w");
  cr_assert_not_null(out);
  bool in_target = false;
  while (fgets(line, sizeof line, in)) {
    if (line[0] != ' ' && line[0] != '#')
      in_target = strncmp(line, "target:", 7) == 0;
    if (in_target)
      fputs(line, out);
  }
  fputs(body, out);
  fclose(in);
  fclose(out);
}

__attribute__((unused)) static cJSON *status_of(const char *router)
{
  char *out;
  cr_assert_eq(sh(&out, "%s lab status %s --json", JUNOS_SIM_BINARY, dir), 0, "%s", out);
  cJSON *all = cJSON_Parse(out);
  free(out);
  cr_assert_not_null(all);
  cJSON *item, *found = NULL;
  cJSON_ArrayForEach(item, all) if (strcmp(cJSON_GetObjectItem(item, "name")->valuestring,
                                           router) == 0) found = cJSON_Duplicate(item, 1);
  cJSON_Delete(all);
  cr_assert_not_null(found, "%s not in lab status", router);
  return found;
}

#endif
