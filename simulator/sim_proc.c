/*
 * Reading /proc/PID/stat: a process's parent and state. Used to find the sshd processes serving
 * a session (to drop it like a switchover) and to tell a running sshd from a zombie.
 */
#include "simulator/sim.h"

#include <string.h>

int sim_proc_stat(pid_t pid, pid_t *ppid, char *state)
{
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  /* The command name is in parentheses and may itself contain spaces or parentheses. */
  char *paren = strrchr(buf, ')');
  char st = '?';
  long parent = 0;
  if (paren == NULL || sscanf(paren + 2, "%c %ld", &st, &parent) != 2)
    return -1;
  if (ppid)
    *ppid = (pid_t)parent;
  if (state)
    *state = st;
  return 0;
}
