/*
 * The text that stays text: the configuration checks (`| display set`) and the error line of a
 * `request` reply. Every `show` reply is read from `| display xml` (junos_facts.h).
 */
#include "junos/junos.h"
#include "common/common.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void junos_parse_config(const char *const *lines, size_t n, struct junos_config *out)
{
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < n; i++) {
    const char *l = lines[i];
    if (strncmp(l, "set ", 4) != 0)
      continue;
    if (strstr(l, "chassis redundancy graceful-switchover"))
      out->gres = true;
    if (strstr(l, "routing-options nonstop-routing"))
      out->nsr = true;
    if (strstr(l, "system commit synchronize"))
      out->commit_sync = true;
  }
}

const char *junos_first_error(const char *const *lines, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strncasecmp(lines[i], "error:", 6) == 0 || strstr(lines[i], ": error:") != NULL)
      return lines[i];
  return NULL;
}
