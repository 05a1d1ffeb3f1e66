/*
 * The ISSU console, as a table: which line means which phase, which line means failure. The
 * strings are the VERIFIED ones of reference §1.1 (MX480 capture) and §1.2 (timestamped form),
 * plus the UNVERIFIED tail and abort lines the simulator prints, each marked. A line that matches
 * nothing is part of the install scroll: it is recorded, never a reason to stall.
 */
#include "junos/junos.h"
#include "common/common.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const phase_names[PH_COUNT] = {
    "queued",
    "connect",
    "preflight",
    "stage",
    "validate",
    "backup-upgrade",
    "backup-reboot",
    "daemons",
    "fru-upgrade",
    "switchover",
    "old-master-upgrade",
    "old-master-reboot",
    "switchback",
    "verify",
    "done",
    "skipped",
    "failed",
};

const char *junos_phase_name(enum junos_phase p)
{
  return p < PH_COUNT ? phase_names[p] : "?";
}

bool junos_phase_terminal(enum junos_phase p)
{
  return p == PH_DONE || p == PH_SKIPPED || p == PH_FAILED;
}

enum junos_phase junos_phase_parse(const char *name)
{
  for (int p = 0; name && p < PH_COUNT; p++)
    if (strcmp(phase_names[p], name) == 0)
      return (enum junos_phase)p;
  return PH_COUNT;
}

/* ---- cleaning ---- */

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "Nov 24 01:33:44" at `s` (15 characters), as `set cli timestamp` and the ISSU prefix write. */
static bool is_stamp(const char *s, size_t len)
{
  if (len < 15)
    return false;
  bool month = false;
  for (size_t i = 0; i < ARRAY_LEN(months); i++)
    if (strncmp(s, months[i], 3) == 0)
      month = true;
  static const char shape[] = "Mmm dd hh:mm:ss";
  for (size_t i = 3; month && i < 15; i++) {
    char want = shape[i], c = s[i];
    if (want == ' ' || want == ':') {
      if (c != want && !(i == 4 && c == ' '))
        return false;
    } else if (!isdigit((unsigned char)c) && !(i == 4 && c == ' '))
      return false;
  }
  return month;
}

enum junos_line_kind junos_clean_line(const char *line, size_t len, char *out, size_t outlen)
{
  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' ' ||
                     line[len - 1] == '\t'))
    len--;
  while (len > 0 && (*line == ' ' || *line == '\t')) {
    line++;
    len--;
  }
  /* "[Feb 22 02:37:04]:ISSU: ..." (reference §1.2) */
  if (len > 18 && line[0] == '[' && is_stamp(line + 1, len - 1) && line[16] == ']' &&
      line[17] == ':') {
    line += 18;
    len -= 18;
    while (len > 0 && *line == ' ') {
      line++;
      len--;
    }
  }
  size_t n = len < outlen - 1 ? len : outlen - 1;
  memcpy(out, line, n);
  out[n] = '\0';
  for (size_t i = 0; i < n; i++) /* hostile output: no control characters reach events */
    if ((unsigned char)out[i] < 0x20 && out[i] != '\t')
      out[i] = '?';
  if (n == 0)
    return LINE_NOISE;
  if (out[0] == '{' && out[n - 1] == '}' && strchr(out, ' ') == NULL) /* {master}, {backup} */
    return LINE_NOISE;
  if (n == 15 && is_stamp(out, n)) /* set cli timestamp */
    return LINE_NOISE;
  if (strncmp(out, "Message from syslogd@", 21) == 0)
    return LINE_NOISE;
  return LINE_TEXT;
}

/* ---- the ISSU console table ---- */

enum match { PREFIX, CONTAINS };

struct issu_row {
  enum match how;
  const char *text;
  enum junos_issu_event event;
  enum junos_phase phase;
  const char *error_code;
};

/* First match wins: failures before phases, so "error: ... Validating" is a failure. */
static const struct issu_row issu_table[] = {
    /* Refusals before anything starts, and failures on the way (UNVERIFIED wording). */
    {CONTAINS, "configuration check-out failed", ISSU_LINE_FAILED, PH_VALIDATE,
     "validation-failed"},
    {CONTAINS, "Validation failed", ISSU_LINE_FAILED, PH_VALIDATE, "validation-failed"},
    {CONTAINS, "signature verification failed", ISSU_LINE_FAILED, PH_VALIDATE, "package-invalid"},
    {CONTAINS, "no space left on device", ISSU_LINE_FAILED, PH_BACKUP_UPGRADE, "storage-full"},
    {CONTAINS, "Aborting ISSU", ISSU_LINE_FAILED, PH_COUNT, "issu-aborted"},
    {CONTAINS, "ISSU Aborted", ISSU_LINE_FAILED, PH_COUNT, "issu-aborted"},
    {CONTAINS, "Upgrade Aborted", ISSU_LINE_FAILED, PH_COUNT, "issu-aborted"},
    {CONTAINS, "is not ready for graceful switchover", ISSU_LINE_FAILED, PH_COUNT,
     "switchover-not-ready"},
    {PREFIX, "error:", ISSU_LINE_FAILED, PH_COUNT, "issu-refused"},
    {PREFIX, "ERROR:", ISSU_LINE_FAILED, PH_COUNT, "issu-refused"},
    {PREFIX, "mgd: error:", ISSU_LINE_FAILED, PH_COUNT, "issu-refused"},
    /* VERIFIED (reference §1.1, §1.2) */
    {PREFIX, "Chassis ISSU Check Done", ISSU_LINE_PHASE, PH_VALIDATE, NULL},
    {PREFIX, "ISSU: Validating Image", ISSU_LINE_PHASE, PH_VALIDATE, NULL},
    {PREFIX, "Checking compatibility with configuration", ISSU_LINE_PHASE, PH_VALIDATE, NULL},
    /* "Using /var/tmp/jinstall-...tgz" opens the long install scroll on the backup RE; the
     * earlier "Using jbase-..." is still the validation (no '/'). */
    {PREFIX, "Using /", ISSU_LINE_PHASE, PH_BACKUP_UPGRADE, NULL},
    {PREFIX, "ISSU: Preparing Backup RE", ISSU_LINE_PHASE, PH_BACKUP_UPGRADE, NULL},
    {PREFIX, "Saving package file in", ISSU_LINE_PHASE, PH_BACKUP_UPGRADE, NULL},
    {PREFIX, "Saving state for rollback", ISSU_LINE_PHASE, PH_BACKUP_UPGRADE, NULL},
    {PREFIX, "Backup upgrade done", ISSU_LINE_PHASE, PH_BACKUP_REBOOT, NULL},
    {PREFIX, "Rebooting Backup RE", ISSU_LINE_PHASE, PH_BACKUP_REBOOT, NULL},
    {PREFIX, "ISSU: Backup RE Prepare Done", ISSU_LINE_PHASE, PH_BACKUP_REBOOT, NULL},
    {PREFIX, "Waiting for Backup RE reboot", ISSU_LINE_PHASE, PH_BACKUP_REBOOT, NULL},
    {PREFIX, "GRES operational", ISSU_LINE_PHASE, PH_DAEMONS, NULL},
    {PREFIX, "Initiating Chassis In-Service-Upgrade", ISSU_LINE_PHASE, PH_DAEMONS, NULL},
    {PREFIX, "Chassis ISSU Started", ISSU_LINE_PHASE, PH_DAEMONS, NULL},
    {PREFIX, "ISSU: Preparing Daemons", ISSU_LINE_PHASE, PH_DAEMONS, NULL},
    {PREFIX, "ISSU: Daemons Ready for ISSU", ISSU_LINE_PHASE, PH_DAEMONS, NULL},
    {PREFIX, "ISSU: Starting Upgrade for FRUs", ISSU_LINE_PHASE, PH_FRU_UPGRADE, NULL},
    {PREFIX, "ISSU: Preparing for Switchover", ISSU_LINE_PHASE, PH_SWITCHOVER, NULL},
    /* UNVERIFIED: only a session that survives the switchover sees these. */
    {PREFIX, "ISSU: Old Master Upgrade Done", ISSU_LINE_PHASE, PH_OLD_MASTER_REBOOT, NULL},
    {PREFIX, "ISSU: IDLE", ISSU_LINE_DONE, PH_COUNT, NULL},
};

struct junos_issu_class junos_issu_classify(const char *line)
{
  struct junos_issu_class c = {ISSU_LINE_INFO, PH_COUNT, NULL};
  for (size_t i = 0; i < ARRAY_LEN(issu_table); i++) {
    const struct issu_row *r = &issu_table[i];
    bool hit = r->how == PREFIX ? strncmp(line, r->text, strlen(r->text)) == 0
                                : strstr(line, r->text) != NULL;
    if (!hit)
      continue;
    c.event = r->event;
    c.phase = r->phase;
    c.error_code = r->error_code;
    return c;
  }
  return c;
}
