/*
 * An LD_PRELOAD probe for the journal-before-act test (test_rollout.c): logs, in order, every
 * fsync of a journal (*.jsonl) with the journal's last line at that moment, and every command a
 * local-transport router is sent (posix_spawn with SSH_ORIGINAL_COMMAND). The test then checks
 * that the line announcing a step was durable before the step's command left.
 * Log: $JOURNAL_PROBE_LOG, one "fsync LINE" or "spawn COMMAND" per line.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
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
  int rc = real(fd);
  char link[64], path[512];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  struct stat st;
  if (n < 7 || fstat(fd, &st) != 0)
    return rc;
  path[n] = '\0';
  if (strcmp(path + n - 6, ".jsonl") != 0)
    return rc;
  /* The journal is open for appending only: read its end through a descriptor of our own. */
  int in = open(path, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return rc;
  char tail[8192];
  off_t from = st.st_size > (off_t)sizeof tail ? st.st_size - (off_t)sizeof tail : 0;
  ssize_t got = pread(in, tail, sizeof tail, from);
  close(in);
  if (got <= 1)
    return rc;
  size_t end = (size_t)got;
  if (tail[end - 1] == '\n')
    end--;
  size_t start = end;
  while (start > 0 && tail[start - 1] != '\n')
    start--;
  probe_log("fsync", tail + start, end - start);
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
