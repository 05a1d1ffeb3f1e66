/*
 * Shared by the tests that talk to a real OpenSSH sshd on 127.0.0.1 (test_transport,
 * test_hostkeys, the bastion tests): start one with the test's own sshd_config lines, know when
 * it is up, signal its sessions, stop it. Include once per test file.
 *
 * A port is never trusted to stay free: sshd is started on a port picked a moment before, and
 * when another program took it meanwhile sshd exits saying so and is started again on another.
 * It is up once it has written its pid file, which sshd does after binding, so a stranger
 * listening on the port is never taken for it and no wall-clock threshold decides anything.
 */
#ifndef ISSU_TEST_SSHD_H
#define ISSU_TEST_SSHD_H

#include "common/common.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct test_sshd {
  int port;  /* where it listens */
  pid_t pid; /* the listener (sshd -D); 0 when stopped */
  char config[700], log[700], pidfile[700];
};

/* A loopback port bound by `*fd` but not listening: connections to it are refused for as long
 * as the test keeps `*fd`, and no other program can take it meanwhile. */
__attribute__((unused)) static int test_sshd_reserved_port(int *fd)
{
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(*fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  cr_assert_eq(bind(*fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
  return ntohs(a.sin_port);
}

__attribute__((unused)) static bool test_sshd_accepts(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

/* The whole of a file ("" when unreadable); the caller frees. */
static char *test_sshd_read(const char *path)
{
  char *buf = NULL, err[128];
  size_t len;
  return text_read_file(path, 1 << 20, &buf, &len, err, sizeof err) == 0 ? buf : xstrdup("");
}

/* Whether the sshd's log holds `needle`. */
__attribute__((unused)) static bool test_sshd_log_has(const struct test_sshd *s, const char *needle)
{
  char *log = test_sshd_read(s->log);
  bool yes = strstr(log, needle) != NULL;
  free(log);
  return yes;
}

/* One try on `port`: true when up, false when the port was taken (sshd said so); any other
 * failure fails the test with sshd's own words. */
static bool test_sshd_try(struct test_sshd *s, int port, const char *lines)
{
  FILE *f = fopen(s->config, "w");
  cr_assert_not_null(f, "%s", s->config);
  /* sshd takes the first value of a keyword: the test's own lines go first. Port and
   * ListenAddress add up rather than override, so only these name them. */
  fprintf(f,
          "%sPort %d\nListenAddress 127.0.0.1\nPidFile %s\nStrictModes no\nUsePAM no\n"
          "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
          "PermitRootLogin prohibit-password\nLogLevel ERROR\n",
          lines ? lines : "", port, s->pidfile);
  fclose(f);
  unlink(s->pidfile);
  mkdir("/run/sshd", 0755); /* its privilege separation directory */
  s->port = port;
  s->pid = fork();
  cr_assert_geq(s->pid, 0);
  if (s->pid == 0) {
    /* The sshd dies with this test process, whatever path the test takes, and holds none of
     * the runner's pipes (a leaked sshd would keep ctest waiting on them). */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout) ||
        !freopen(s->log, "w", stderr))
      _exit(126);
    execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", s->config, (char *)NULL);
    _exit(127);
  }
  /* Waits for the pid file or the exit: the only bound is the test's own timeout. */
  for (;;) {
    if (access(s->pidfile, F_OK) == 0)
      return true;
    if (waitpid(s->pid, NULL, WNOHANG) == s->pid)
      break;
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  s->pid = 0;
  char *why = test_sshd_read(s->log);
  bool in_use = strstr(why, "Address already in use") != NULL;
  cr_assert(in_use, "sshd did not start on port %d: %s", port, why);
  free(why);
  return false;
}

/* Starts sshd with the files `dir`/`name`.conf, .log and .pid and the caller's sshd_config
 * `lines` (HostKey, AuthorizedKeysFile and LogLevel at least, e.g. "AllowTcpForwarding yes\n"
 * too). `port` 0: on a port it picks, another when that one was taken; else on `port` (a
 * switchover puts a second sshd on the first one's port), which must be free. */
__attribute__((unused)) static void test_sshd_start(struct test_sshd *s, const char *dir,
                                                    const char *name, int port, const char *lines)
{
  char base[600]; /* `dir` may live in the same object as `s` */
  snprintf(base, sizeof base, "%s/%s", dir, name);
  memset(s, 0, sizeof *s);
  snprintf(s->config, sizeof s->config, "%s.conf", base);
  snprintf(s->log, sizeof s->log, "%s.log", base);
  snprintf(s->pidfile, sizeof s->pidfile, "%s.pid", base);
  if (port != 0) {
    cr_assert(test_sshd_try(s, port, lines), "port %d, wanted again, was taken meanwhile", port);
    return;
  }
  for (int attempt = 0; attempt < 10; attempt++) {
    int hold;
    int picked = test_sshd_reserved_port(&hold);
    close(hold);
    if (test_sshd_try(s, picked, lines))
      return;
  }
  cr_assert_fail("sshd found no free port in 10 tries");
}

/* Sends `sig` to every process below the sshd (its sessions), not to the listener. All of them
 * are found before any is signalled: a session killed first would orphan its children (a
 * `sleep` reparented to init), which would then outlive the test. */
__attribute__((unused)) static void test_sshd_signal_sessions(const struct test_sshd *s, int sig)
{
  if (s->pid <= 0)
    return;
  DIR *d = opendir("/proc");
  cr_assert_not_null(d);
  struct dirent *e;
  pid_t found[4096];
  size_t nfound = 0;
  while ((e = readdir(d)) != NULL) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0)
      continue;
    pid_t p = pid;
    for (int depth = 0; depth < 6 && p > 1; depth++) {
      char path[64], buf[512];
      snprintf(path, sizeof path, "/proc/%d/stat", (int)p);
      FILE *f = fopen(path, "r");
      if (!f)
        break;
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = '\0';
      char *paren = strrchr(buf, ')');
      int ppid = 0;
      if (!paren || sscanf(paren + 2, "%*c %d", &ppid) != 1)
        break;
      if (ppid == s->pid) {
        if (nfound < sizeof found / sizeof *found)
          found[nfound++] = pid;
        break;
      }
      p = ppid;
    }
  }
  closedir(d);
  for (size_t i = 0; i < nfound; i++)
    kill(found[i], sig);
}

/* Stops the sshd and ends its sessions (a frozen one too); safe to call twice (tests call it,
 * and .fini calls it again so a failed assertion never leaves an sshd behind). */
__attribute__((unused)) static void test_sshd_stop(struct test_sshd *s)
{
  if (s->pid <= 0)
    return;
  test_sshd_signal_sessions(s, SIGCONT);
  test_sshd_signal_sessions(s, SIGKILL);
  kill(s->pid, SIGTERM);
  waitpid(s->pid, NULL, 0);
  s->pid = 0;
}

#endif
