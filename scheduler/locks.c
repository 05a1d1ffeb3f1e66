/*
 * One process per run and per router: flock'ed files in the state directory, RUN_ID.lock for the
 * run and locks/NAME.lock for each router. The kernel releases them when the holder dies (even
 * by kill -9), so a crash never leaves a stale lock, and a second issu-fleet on the same state
 * directory is told who holds what instead of driving a router twice.
 */
#include "scheduler/sched_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct state_locks {
  int *fds;
  size_t n;
};

/* Takes the lock at `path`, writing our pid and run into it; on conflict, says who holds it. */
static int take(const char *path, const char *run_id, int *fd_out, char *err, size_t errlen,
                const char *what)
{
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(err, errlen, "cannot create the lock %s: %s", path, strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    char holder[128] = "";
    ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\n")] = '\0';
    snprintf(err, errlen,
             "%s is already being driven by another issu-fleet (%s); two processes never drive "
             "the same %s",
             what, holder[0] ? holder : "pid unknown",
             strncmp(what, "run", 3) == 0 ? "run" : "router");
    close(fd);
    return -1;
  }
  char mine[128];
  int len = snprintf(mine, sizeof mine, "pid %ld, run %s\n", (long)getpid(), run_id);
  if (ftruncate(fd, 0) == 0 && pwrite(fd, mine, (size_t)len, 0) < 0) {
    /* the lock holds even if the note cannot be written */
  }
  *fd_out = fd;
  return 0;
}

int state_locks_take(const char *state_dir, const char *run_id, const char *const *hosts,
                     size_t nhosts, struct state_locks **out, char *err, size_t errlen)
{
  struct state_locks *l = xcalloc(1, sizeof *l);
  l->fds = xcalloc(nhosts + 1, sizeof *l->fds);
  char *dir = xasprintf("%s/locks", state_dir);
  int made = dir_create(dir, 0700);
  if (made < 0) {
    snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-made));
    free(dir);
    free(l->fds);
    free(l);
    return -1;
  }
  char *path = xasprintf("%s/%s.lock", state_dir, run_id);
  char *what = xasprintf("run %s", run_id);
  int rc = take(path, run_id, &l->fds[l->n], err, errlen, what);
  free(path);
  free(what);
  if (rc == 0)
    l->n++;
  for (size_t i = 0; i < nhosts && rc == 0; i++) {
    path = xasprintf("%s/%s.lock", dir, hosts[i]);
    what = xasprintf("router %s", hosts[i]);
    rc = take(path, run_id, &l->fds[l->n], err, errlen, what);
    free(path);
    free(what);
    if (rc == 0)
      l->n++;
  }
  free(dir);
  if (rc < 0) {
    state_locks_release(l);
    return -1;
  }
  *out = l;
  return 0;
}

void state_locks_release(struct state_locks *l)
{
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->n; i++)
    close(l->fds[i]);
  free(l->fds);
  free(l);
}
