/*
 * The hold point, a test facility (sim_hold.h): a file beside the state file names the phase the
 * router's ISSU waits before, until the file is removed.
 */
#include "simulator/sim_hold.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hold_path(const struct sim_router *r, char *buf, size_t len)
{
  snprintf(buf, len, "%s.hold", r->path);
}

int sim_hold_phase(const struct sim_router *r)
{
  char path[600], name[64] = "";
  hold_path(r, path, sizeof path);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return -1;
  if (fgets(name, sizeof name, f) == NULL)
    name[0] = '\0';
  fclose(f);
  name[strcspn(name, " \r\n")] = '\0';
  for (int p = 0; p < PHASE_COUNT; p++)
    if (strcmp(name, sim_phase_names[p]) == 0)
      return p;
  return -1;
}

void sim_hold_apply(const struct sim_router *r, struct sim_step *steps, size_t n)
{
  int held = sim_hold_phase(r);
  if (held < 0)
    return;
  for (size_t i = 0; i < n; i++)
    if ((int)steps[i].phase >= held)
      steps[i].at = SIM_NEVER;
}

bool sim_hold_wait(const struct sim_router *r)
{
  if (sim_hold_phase(r) < 0)
    return false;
  struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};
  while (sim_hold_phase(r) >= 0)
    if (poll(&p, 1, 20) > 0 && (p.revents & (POLLERR | POLLHUP)))
      exit(1);
  return true;
}
