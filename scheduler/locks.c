/*
 * One process per run and per router. The run: a flock'ed RUN_ID.lock in the state directory
 * (holding a note of who). The routers: one file, locks/routers.lock, with one fcntl byte-range
 * lock per router at an offset derived from its name, so a run of 5,000 routers holds two file
 * descriptors, not 5,000 (B8). The kernel releases both kinds when the holder dies (even by
 * kill -9), so a crash never leaves a stale lock, and a second issu-fleet on the same state
 * directory is told who holds what instead of driving a router twice. Every lock file is opened
 * with O_NOFOLLOW: a symbolic link planted in the state directory is refused, never followed.
 *
 * fcntl locks belong to the process and are all dropped when it closes any descriptor of the
 * file: routers.lock is opened once per process and closed only at the end.
 */
#include "scheduler/sched_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Router offsets: 2^40 one-byte ranges (lock ranges may lie past the end of the file, which
 * stays empty). Two names share one with a chance of about n^2 / 2^41: then the second run is
 * refused as if the router were driven, which is the safe side. */
#define RANGE_BITS 40

struct state_locks {
  int run_fd, routers_fd;
};

static off_t router_offset(const char *name)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ULL;
  }
  return (off_t)(h & ((1ULL << RANGE_BITS) - 1));
}

static int open_lock(const char *path, char *err, size_t errlen)
{
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0)
    snprintf(err, errlen, "cannot create the lock %s: %s%s", path, strerror(errno),
             errno == ELOOP ? " (a symbolic link: refused)" : "");
  return fd;
}

/* Takes the run's lock at `path`, writing our pid and run into it; on conflict, says who. */
static int take_run(const char *path, const char *run_id, int *fd_out, char *err, size_t errlen)
{
  int fd = open_lock(path, err, errlen);
  if (fd < 0)
    return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    char holder[128] = "";
    ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\n")] = '\0';
    snprintf(err, errlen,
             "run %s is already being driven by another issu-fleet (%s); two processes never "
             "drive the same run",
             run_id, holder[0] ? holder : "pid unknown");
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

static int take_router(int fd, const char *name, char *err, size_t errlen)
{
  struct flock fl = {
      .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = router_offset(name), .l_len = 1};
  if (fcntl(fd, F_SETLK, &fl) == 0)
    return 0;
  if (errno != EACCES && errno != EAGAIN) {
    snprintf(err, errlen, "cannot lock router %s: %s", name, strerror(errno));
    return -1;
  }
  struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = fl.l_start, .l_len = 1};
  char holder[64] = "pid unknown";
  if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK)
    snprintf(holder, sizeof holder, "pid %ld", (long)who.l_pid);
  snprintf(err, errlen,
           "router %s is already being driven by another issu-fleet (%s); two processes never "
           "drive the same router",
           name, holder);
  return -1;
}

int state_locks_take(const char *state_dir, const char *run_id, const char *const *hosts,
                     size_t nhosts, struct state_locks **out, char *err, size_t errlen)
{
  struct state_locks *l = xcalloc(1, sizeof *l);
  l->run_fd = l->routers_fd = -1;
  char *dir = xasprintf("%s/locks", state_dir);
  int rc = dir_create(dir, 0700);
  if (rc < 0)
    snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
  char *path = xasprintf("%s/%s.lock", state_dir, run_id);
  if (rc == 0)
    rc = take_run(path, run_id, &l->run_fd, err, errlen);
  free(path);
  if (rc == 0 && nhosts > 0) {
    path = xasprintf("%s/routers.lock", dir);
    l->routers_fd = open_lock(path, err, errlen);
    free(path);
    rc = l->routers_fd < 0 ? -1 : 0;
  }
  for (size_t i = 0; i < nhosts && rc == 0; i++)
    rc = take_router(l->routers_fd, hosts[i], err, errlen);
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
  if (l->routers_fd >= 0)
    close(l->routers_fd);
  if (l->run_fd >= 0)
    close(l->run_fd);
  free(l);
}
