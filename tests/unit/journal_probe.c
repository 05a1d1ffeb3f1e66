/*
 * An LD_PRELOAD probe for the journal-before-act test (test_rollout.c): logs, in order, every
 * fsync of a journal (*.jsonl) with each line it made durable, and every command a
 * local-transport router is sent (posix_spawn with SSH_ORIGINAL_COMMAND). The test then checks
 * that the line announcing a step was durable before the step's command left.
 * Log: $JOURNAL_PROBE_LOG, one "fsync LINE" or "spawn COMMAND" per line.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fsync(int fd);
int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);

static void probe_log(const char *kind, const char *text, size_t len)
{
  const char *path = getenv("JOURNAL_PROBE_LOG");
  if (path == NULL)
    return;
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return;
  dprintf(fd, "%s %.*s\n", kind, (int)len, text);
  close(fd);
}

int fsync(int fd)
{
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  /* The size before the call: what this fsync surely covers (the run fsyncs on a worker thread
   * while the loop goes on writing; a line written during the call is not counted as durable). */
  struct stat st;
  int stat_rc = fstat(fd, &st);
  int rc = real(fd);
  char link[64], path[512];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 7 || stat_rc != 0 || rc != 0)
    return rc;
  path[n] = '\0';
  if (strcmp(path + n - 6, ".jsonl") != 0)
    return rc;
  /* Every line this fsync made durable: those written since the last one (the run fsyncs once
   * per loop turn for all the lines the turn wrote). The journal is open for appending only: read
   * them through a descriptor of our own. One journal per run: one offset. Only whole lines
   * count: the size seen before the call may end inside a line the loop was writing (a file
   * grows page by page), whose end this fsync may not cover; it is logged with a later one.
   * The run's final fsync (on the loop) may meet a worker's: one at a time through the lock. */
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  static off_t synced;
  pthread_mutex_lock(&lock);
  if (st.st_size < synced)
    synced = 0;
  size_t want = st.st_size > synced ? (size_t)(st.st_size - synced) : 0;
  int in = open(path, O_RDONLY | O_CLOEXEC);
  char *text = want ? malloc(want) : NULL;
  ssize_t got = in >= 0 && text ? pread(in, text, want, synced) : -1;
  if (in >= 0)
    close(in);
  if (got > 0) {
    const char *last = memrchr(text, '\n', (size_t)got);
    size_t end = last ? (size_t)(last - text) + 1 : 0;
    for (size_t at = 0; at < end;) {
      const char *nl = memchr(text + at, '\n', end - at);
      size_t len = (size_t)(nl - (text + at));
      if (len > 0)
        probe_log("fsync", text + at, len);
      at += len + 1;
    }
    synced += (off_t)end;
  }
  pthread_mutex_unlock(&lock);
  free(text);
  return rc;
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
  static const char key[] = "SSH_ORIGINAL_COMMAND=";
  for (size_t i = 0; envp && envp[i]; i++)
    if (strncmp(envp[i], key, sizeof key - 1) == 0)
      probe_log("spawn", envp[i] + sizeof key - 1, strlen(envp[i] + sizeof key - 1));
  int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
              char *const[], char *const[]) =
      (int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
               char *const[], char *const[]))dlsym(RTLD_NEXT, "posix_spawn");
  return real(pid, path, fa, attr, argv, envp);
}
