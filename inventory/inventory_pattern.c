/*
 * --limit: Ansible host patterns over the loaded inventory.
 *
 * As Ansible orders them: the plain terms are unioned first, then each '&' term intersects, then
 * each '!' term excludes, whatever their order on the command line. A term names hosts or groups
 * (a group stands for every host in it or in its child groups), with fnmatch globs. A term that
 * matches nothing is refused: a typo in --limit must not quietly select nobody, or everybody.
 */
#include "inventory/inventory.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static void add_group_hosts(const struct inventory *inv, size_t group, bool *hit,
                            unsigned char *seen)
{
  if (seen[group])
    return;
  seen[group] = 1;
  const struct inv_group *g = &inv->groups[group];
  for (size_t i = 0; i < g->nhosts; i++)
    hit[g->hosts[i]] = true;
  for (size_t i = 0; i < g->nchildren; i++)
    add_group_hosts(inv, g->children[i], hit, seen);
}

/* Marks the hosts one term matches; returns how many names (hosts or groups) it matched. */
static size_t match_term(const struct inventory *inv, const char *term, bool *hit)
{
  size_t matched = 0;
  if (strcmp(term, "all") == 0 || strcmp(term, "*") == 0) {
    for (size_t h = 0; h < inv->nhosts; h++)
      hit[h] = true;
    return inv->nhosts ? 1 : 0;
  }
  unsigned char *seen = xcalloc(inv->ngroups, 1);
  for (size_t g = 0; g < inv->ngroups; g++)
    if (fnmatch(term, inv->groups[g].name, 0) == 0) {
      add_group_hosts(inv, g, hit, seen);
      matched++;
    }
  free(seen);
  for (size_t h = 0; h < inv->nhosts; h++)
    if (fnmatch(term, inv->hosts[h].name, 0) == 0) {
      hit[h] = true;
      matched++;
    }
  return matched;
}

int inventory_select(const struct inventory *inv, const char *pattern, bool *selected,
                     struct diag *d)
{
  /* Commas separate terms; without a comma, colons do (Ansible's split_host_pattern). */
  const char *sep = strchr(pattern, ',') ? "," : ":";
  char *copy = xstrdup(pattern);
  bool *hit = xcalloc(inv->nhosts ? inv->nhosts : 1, sizeof *hit);
  bool any_plain = false;
  int rc = 0;
  memset(selected, 0, inv->nhosts * sizeof *selected);
  for (int pass = 0; pass < 3 && rc == 0; pass++) {
    char *work = xstrdup(copy);
    for (char *t = work, *end; t != NULL; t = end) {
      end = strchr(t, *sep);
      if (end != NULL)
        *end++ = '\0';
      while (*t == ' ')
        t++;
      size_t tl = strlen(t);
      while (tl > 0 && t[tl - 1] == ' ')
        t[--tl] = '\0';
      if (*t == '\0')
        continue;
      int kind = *t == '&' ? 1 : *t == '!' ? 2 : 0;
      if (kind != pass)
        continue;
      const char *name = kind ? t + 1 : t;
      if (*name == '~' || strchr(name, '[') != NULL) {
        diag_add(d, NULL, 0, 0,
                 "--limit '%s': regular expressions and subscripts are not supported (use names, "
                 "groups and * globs)",
                 t);
        rc = -1;
        break;
      }
      memset(hit, 0, inv->nhosts * sizeof *hit);
      if (match_term(inv, name, hit) == 0) {
        diag_add(d, NULL, 0, 0, "--limit '%s': no host or group in %s matches '%s'", pattern,
                 inv->file, name);
        rc = -1;
        break;
      }
      for (size_t h = 0; h < inv->nhosts; h++) {
        if (kind == 0)
          selected[h] = selected[h] || hit[h];
        else if (kind == 1)
          selected[h] = selected[h] && hit[h];
        else
          selected[h] = selected[h] && !hit[h];
      }
      if (kind == 0)
        any_plain = true;
    }
    free(work);
    /* "&g" or "!g" alone works on everything, as "all:&g" would. */
    if (pass == 0 && !any_plain)
      for (size_t h = 0; h < inv->nhosts; h++)
        selected[h] = true;
  }
  free(hit);
  free(copy);
  if (rc == 0) {
    size_t n = 0;
    for (size_t h = 0; h < inv->nhosts; h++)
      n += selected[h];
    if (n == 0) {
      diag_add(d, NULL, 0, 0, "--limit '%s' leaves no host to work on", pattern);
      rc = -1;
    }
  }
  return rc;
}
