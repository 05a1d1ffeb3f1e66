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

/* Whether `prefix` is `path` or a level above it (whole words). */
static bool covers(const char *prefix, size_t len, const char *path)
{
  while (len > 0 && prefix[len - 1] == ' ')
    len--;
  return len > 0 && strncmp(prefix, path, len) == 0 && (path[len] == '\0' || path[len] == ' ');
}

/* Whether a text-form line `inactive: WORD ...` names one of `path`'s words: the text form's
 * hierarchy is not followed, so any of them counts (an unknown is never taken as active). */
static bool names_a_word(const char *l, const char *path)
{
  size_t wl = strcspn(l, " {;");
  for (const char *w = path; *w;) {
    size_t pl = strcspn(w, " ");
    if (pl == wl && strncmp(w, l, wl) == 0)
      return true;
    w += pl;
    w += *w == ' ';
  }
  return false;
}

enum junos_config_state junos_config_statement(const char *const *lines, size_t n, const char *path,
                                               const char **line)
{
  const char *set = NULL, *off = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *l = lines[i];
    if (strncmp(l, "set ", 4) == 0 && strstr(l + 4, path) && set == NULL)
      set = l;
    else if (strncmp(l, "deactivate ", 11) == 0 && covers(l + 11, strlen(l + 11), path) &&
             off == NULL)
      off = l;
    else if (strncmp(l, "inactive: ", 10) == 0 && names_a_word(l + 10, path) && off == NULL)
      off = l;
  }
  if (line)
    *line = off && set ? off : set;
  return set == NULL ? JUNOS_CONFIG_ABSENT : off ? JUNOS_CONFIG_INACTIVE : JUNOS_CONFIG_ACTIVE;
}

void junos_parse_config(const char *const *lines, size_t n, struct junos_config *out)
{
  memset(out, 0, sizeof *out);
  out->gres = junos_config_statement(lines, n, "chassis redundancy graceful-switchover", NULL) ==
              JUNOS_CONFIG_ACTIVE;
  out->nsr = junos_config_statement(lines, n, "routing-options nonstop-routing", NULL) ==
             JUNOS_CONFIG_ACTIVE;
  out->commit_sync =
      junos_config_statement(lines, n, "system commit synchronize", NULL) == JUNOS_CONFIG_ACTIVE;
}

const char *junos_first_error(const char *const *lines, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strncasecmp(lines[i], "error:", 6) == 0 || strstr(lines[i], ": error:") != NULL)
      return lines[i];
  return NULL;
}
