/*
 * Parsers for the outputs of reference §3. Each reads cleaned lines (junos_clean_line) and looks
 * for the few words that decide; layout (column widths, extra rows, a second "Routing Engine
 * status:" header, re0:/re1: separators) is allowed to vary, as it does across releases.
 */
#include "junos/junos.h"
#include "common/common.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The text after "Key:" or "Key   " on a line that starts with `key` (case-sensitive), or NULL. */
static const char *value_of(const char *line, const char *key)
{
  size_t k = strlen(key);
  if (strncmp(line, key, k) != 0)
    return NULL;
  const char *v = line + k;
  if (*v == ':')
    v++;
  while (*v == ' ' || *v == '\t')
    v++;
  return v;
}

bool junos_parse_routing_engines(const char *const *lines, size_t n, struct junos_re_status *out)
{
  memset(out, 0, sizeof *out);
  out->master = -1;
  int slot = -1;
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    const char *v;
    if ((v = value_of(lines[i], "Slot")) != NULL) {
      slot = (v[0] == '0' || v[0] == '1') ? v[0] - '0' : -1;
      if (slot >= 0) {
        out->re[slot].present = true;
        any = true;
      }
      continue;
    }
    if (slot < 0 || (v = value_of(lines[i], "Current state")) == NULL)
      continue;
    struct junos_re *re = &out->re[slot];
    if (strncasecmp(v, "Master", 6) == 0 || strncasecmp(v, "Primary", 7) == 0) {
      re->up = re->master = true;
      out->master = slot;
    } else if (strncasecmp(v, "Backup", 6) == 0) {
      re->up = re->backup = true;
    } else if (strncasecmp(v, "Empty", 5) == 0)
      re->present = false;
    /* "Present", "Disabled", "Offline": there but not answering */
  }
  return any;
}

bool junos_parse_versions(const char *const *lines, size_t n, struct junos_versions *out)
{
  memset(out, 0, sizeof *out);
  int slot = -1;
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    const char *l = lines[i], *v;
    if ((strcmp(l, "re0:") == 0 || strcmp(l, "re1:") == 0)) {
      slot = l[2] - '0';
      continue;
    }
    const char *cc = strstr(l, "Could not connect to re");
    if (cc != NULL && (cc[23] == '0' || cc[23] == '1')) {
      out->unreachable[cc[23] - '0'] = true;
      continue;
    }
    if (slot < 0)
      continue;
    if ((v = value_of(l, "Junos")) != NULL && out->version[slot][0] == '\0') {
      snprintf(out->version[slot], sizeof out->version[slot], "%.*s", (int)strcspn(v, " "), v);
      any = true;
    } else if ((v = value_of(l, "JUNOS Base OS boot")) != NULL && out->version[slot][0] == '\0' &&
               v[0] == '[') {
      /* Older releases (reference §3.6): "JUNOS Base OS boot [9.0-20071210.0]" */
      snprintf(out->version[slot], sizeof out->version[slot], "%.*s", (int)strcspn(v + 1, "]"),
               v + 1);
      any = true;
    }
  }
  return any;
}

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

void junos_parse_switchover(const char *const *lines, size_t n, struct junos_switchover *out)
{
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < n; i++) {
    const char *v;
    if ((v = value_of(lines[i], "Graceful switchover")) != NULL) {
      out->found = true;
      out->gres_on = strncmp(v, "On", 2) == 0;
    } else if ((v = value_of(lines[i], "Kernel database")) != NULL)
      out->kernel_ready = strncmp(v, "Ready", 5) == 0;
    else if ((v = value_of(lines[i], "Switchover Status")) != NULL)
      out->ready = strncmp(v, "Ready", 5) == 0;
    else if ((v = value_of(lines[i], "Peer state")) != NULL)
      out->ready = strncmp(v, "Steady State", 12) == 0;
  }
}

bool junos_parse_replication(const char *const *lines, size_t n, bool *master_mode)
{
  bool enabled = false;
  *master_mode = false;
  for (size_t i = 0; i < n; i++) {
    const char *v;
    if ((v = value_of(lines[i], "Stateful Replication")) != NULL)
      enabled = strncmp(v, "Enabled", 7) == 0;
    else if ((v = value_of(lines[i], "RE mode")) != NULL)
      *master_mode = strncmp(v, "Master", 6) == 0 || strncmp(v, "Primary", 7) == 0;
  }
  return enabled;
}

enum junos_switch_check junos_parse_switch_check(const char *const *lines, size_t n,
                                                 unsigned *holddown_s)
{
  *holddown_s = 0;
  enum junos_switch_check r = SWITCH_UNKNOWN;
  for (size_t i = 0; i < n; i++) {
    const char *l = lines[i], *t;
    if ((t = strstr(l, "try after ")) != NULL) {
      *holddown_s = (unsigned)strtoul(t + 10, NULL, 10);
      return SWITCH_HOLDDOWN;
    }
    if (strstr(l, "not ready") || strstr(l, "Not ready") || strstr(l, "Not Ready"))
      r = SWITCH_NOT_READY;
    else if (strncmp(l, "Switchover Ready", 16) == 0 && r == SWITCH_UNKNOWN)
      r = SWITCH_READY;
  }
  return r;
}

/* "8.8G", "21M", "1.0K", "0B" in kilobytes. Router output is untrusted: a double cast to an
 * integer out of its range is undefined, so a size too large saturates and one that is no size
 * at all (negative, NaN) reads as 0 (found by fuzz_junos; tests/fuzz/corpus/junos/storage-*). */
static unsigned long long size_kb(const char *s)
{
  static const struct {
    char unit;
    double kb;
  } units[] = {{'T', 1024.0 * 1024 * 1024}, {'G', 1024.0 * 1024}, {'M', 1024.0}, {'K', 1.0}};
  char *end;
  double v = strtod(s, &end);
  double per = 1.0 / 1024; /* bytes, or no unit */
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (toupper((unsigned char)*end) == units[i].unit)
      per = units[i].kb;
  double kb = v * per;
  if (!(kb > 0)) /* also NaN */
    return 0;
  if (kb >= 18446744073709551616.0) /* 2^64: ULLONG_MAX itself is not exact as a double */
    return ULLONG_MAX;
  return (unsigned long long)kb;
}

void junos_parse_storage(const char *const *lines, size_t n, struct junos_storage *out)
{
  memset(out, 0, sizeof *out);
  int best = 0; /* 3: /var itself, 2: /.mount/var, 1: /.mount */
  for (size_t i = 0; i < n; i++) {
    char fs[128], size[32], used[32], avail[32], cap[16], mount[64];
    if (sscanf(lines[i], "%127s %31s %31s %31s %15s %63s", fs, size, used, avail, cap, mount) != 6)
      continue;
    if (!isdigit((unsigned char)cap[0]))
      continue;
    int rank = strcmp(mount, "/var") == 0          ? 3
               : strcmp(mount, "/.mount/var") == 0 ? 2
               : strcmp(mount, "/.mount") == 0     ? 1
                                                   : 0;
    if (rank <= best)
      continue;
    best = rank;
    out->found = true;
    snprintf(out->mount, sizeof out->mount, "%s", mount);
    out->capacity_pct = (unsigned)strtoul(cap, NULL, 10);
    out->avail_kb = size_kb(avail);
  }
}

void junos_parse_alarms(const char *const *lines, size_t n, struct junos_alarms *out)
{
  memset(out, 0, sizeof *out);
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    const char *l = lines[i];
    if (strstr(l, "No alarms currently active")) {
      out->found = true;
      continue;
    }
    if (strstr(l, "alarms currently active") || strstr(l, "alarm currently active")) {
      out->found = true;
      out->count = (unsigned)strtoul(l, NULL, 10);
      continue;
    }
    /* "2024-08-21 10:18:30 EDT  Minor  VMHost 1 Boot from alternate disk": the description is
     * what follows the class. */
    const char *cls = strstr(l, "  Minor  ");
    if (cls == NULL)
      cls = strstr(l, "  Major  ");
    if (cls == NULL || !isdigit((unsigned char)l[0]))
      continue;
    const char *d = cls + 9;
    if (used + strlen(d) + 2 < sizeof out->text)
      used += (size_t)snprintf(out->text + used, sizeof out->text - used, "%s\n", d);
  }
}

unsigned junos_alarms_new(const struct junos_alarms *before, const struct junos_alarms *now,
                          char *first, size_t len)
{
  unsigned fresh = 0;
  first[0] = '\0';
  for (const char *p = now->text; *p;) {
    size_t l = strcspn(p, "\n");
    bool known = false;
    for (const char *q = before->text; *q && !known;) {
      size_t m = strcspn(q, "\n");
      known = m == l && strncmp(p, q, l) == 0;
      q += m + (q[m] == '\n');
    }
    if (!known && fresh++ == 0)
      snprintf(first, len, "%.*s", (int)l, p);
    p += l + (p[l] == '\n');
  }
  /* Alarms counted but not listed (another layout): compare counts. */
  if (fresh == 0 && now->count > before->count) {
    fresh = now->count - before->count;
    snprintf(first, len, "%u alarms now, %u before", now->count, before->count);
  }
  return fresh;
}

enum junos_checksum junos_parse_checksum(const char *const *lines, size_t n, char *hex, size_t len)
{
  hex[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const char *l = lines[i];
    if (strstr(l, "No such file or directory") || strstr(l, "Could not resolve file"))
      return CHECKSUM_MISSING;
    /* "SHA256 (path) = hex", "MD5 (path) = hex" (reference §3.9) */
    const char *eq = strstr(l, ") = ");
    if (eq == NULL)
      continue;
    const char *h = eq + 4;
    size_t hl = strspn(h, "0123456789abcdefABCDEF");
    if (hl < 32 || hl >= len)
      continue;
    for (size_t k = 0; k < hl; k++)
      hex[k] = (char)tolower((unsigned char)h[k]);
    hex[hl] = '\0';
    return CHECKSUM_FOUND;
  }
  return CHECKSUM_UNPARSED;
}

const char *junos_first_error(const char *const *lines, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strncasecmp(lines[i], "error:", 6) == 0 || strstr(lines[i], ": error:") != NULL)
      return lines[i];
  return NULL;
}
