/*
 * Shared by the end-to-end tests that operate a run from outside (kill it, resume it, wait for a
 * moment of it): `issu-fleet run` in the background on the lab in `dir` (lab.h), its exit, and
 * polling for a moment that never outlives the run. Include after lab.h, once per test file.
 */
#ifndef ISSU_TEST_BACKGROUND_RUN_H
#define ISSU_TEST_BACKGROUND_RUN_H

#include "lab.h"

#include <sys/stat.h>

/* A run that polling found ended: wait_exit gives its status (waitpid cannot give it twice). */
static pid_t reaped_pid = -1;
static int reaped_status;

/* Starts `issu-fleet run` in the background (output in DIR/run.log); returns its pid. */
static pid_t run_in_background(const char *extra)
{
  bool resume = extra && strstr(extra, "--resume");
  char *cmd =
      xasprintf("exec %s run -i %s/inventory.yaml -p %s/test.yaml --time-scale 600 "
                "--state-dir %s/state %s --yes %s >>%s/run.log 2>&1 </dev/null",
                ISSU_BINARY, dir, dir, dir, resume ? "" : "--run-id t", extra ? extra : "", dir);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  return pid;
}

static int wait_exit(pid_t pid)
{
  int status;
  if (pid == reaped_pid) {
    reaped_pid = -1;
    status = reaped_status;
  } else {
    cr_assert_eq(waitpid(pid, &status, 0), pid);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The end of DIR/run.log (at most 6 KB), for a failure message; the caller frees it. */
__attribute__((unused)) static char *run_log_tail(void)
{
  char path[400];
  snprintf(path, sizeof path, "%s/run.log", dir);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return xstrdup("(no run.log)");
  char *buf = xcalloc(1, 6145);
  if (fseek(f, -6144, SEEK_END) != 0)
    rewind(f);
  size_t n = fread(buf, 1, 6144, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

/* Expects the run `pid` to exit with `want`; otherwise says so with the end of its log. */
__attribute__((unused)) static void expect_exit(pid_t pid, int want, const char *what)
{
  int rc = wait_exit(pid);
  if (rc != want) {
    char *tail = run_log_tail();
    cr_expect_eq(rc, want, "%s (exit %d); the end of run.log:\n%s", what, rc, tail);
    free(tail);
  }
}

/* Lines of `path` that contain `needle` (whole: that are `needle` and its newline), read in this
 * process: polling must stay cheap even under valgrind, where every spawned shell costs a second.
 */
static int lines_in(const char *path, const char *needle, bool whole)
{
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  char *line = NULL;
  size_t cap = 0, n = strlen(needle);
  int count = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0)
    count += whole ? (size_t)len == n + 1 && strncmp(line, needle, n) == 0 && line[n] == '\n'
                   : strstr(line, needle) != NULL;
  free(line);
  fclose(f);
  return count;
}

/* Lines of the run's journal (run id t) that contain `needle`. */
static int journal_count(const char *needle)
{
  char path[400];
  snprintf(path, sizeof path, "%s/state/t.jsonl", dir);
  return lines_in(path, needle, false);
}

/* True when DIR/`name` exists (a wrapper's marker), without a shell. */
__attribute__((unused)) static bool lab_file(const char *name)
{
  char path[400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  struct stat st;
  return stat(path, &st) == 0;
}

/* Polls `reached` until it holds (true) or the run `pid` ended first (false, after a last look):
 * a run that failed early is reported at once with its log, not polled for the whole bound
 * (under valgrind on a loaded machine that was 40 minutes). The bound only ends a hang. */
static bool run_reaches(pid_t pid, bool (*reached)(void))
{
  for (int i = 0; i < 12000; i++) {
    if (reached())
      return true;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      reaped_pid = pid;
      reaped_status = status;
      return reached();
    }
    pause_ms(25);
  }
  return false;
}

/* Asserts that the run `pid` reaches `reached`; otherwise fails with `what` and its log. */
#define assert_run_reaches(pid, reached, what)                                                     \
  do {                                                                                             \
    if (!run_reaches((pid), (reached))) {                                                          \
      char *tail_ = run_log_tail();                                                                \
      cr_assert_fail("%s: never came (the run %s); the end of run.log:\n%s", (what),               \
                     reaped_pid == (pid) ? "ended first" : "still runs", tail_);                   \
    }                                                                                              \
  } while (0)

#endif
