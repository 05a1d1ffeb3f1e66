/*
 * junos: everything issu-fleet knows about what Junos prints and what to type.
 *
 * Command builders (every policy value in them was checked against a strict character set by
 * policies/), tolerant parsers for the outputs of reference §3, and the ISSU console table that
 * classifies each line of `request system software in-service-upgrade` into the phases of
 * DESIGN.md §6. Nothing here does I/O: text in, facts out, so every parser is unit-tested on
 * captured text.
 *
 * The structured (`| display xml`) API is junos_facts.h; the text parsers below that it replaces
 * are marked, and go once the scheduler no longer calls them.
 *
 * Tolerance: lines may carry a `[Mon DD HH:MM:SS]:` prefix, a `set cli timestamp` line may open
 * any output, `{master}` / `{backup}` banners and blank lines appear anywhere, and wording differs
 * across releases. junos_clean_line() strips all of that once; the parsers see plain lines.
 */
#ifndef ISSU_JUNOS_H
#define ISSU_JUNOS_H

#include <stdbool.h>
#include <stddef.h>

/* The phases of one router's upgrade, in order (DESIGN.md §6), then the terminal states. */
enum junos_phase {
  PH_QUEUED,
  PH_CONNECT,
  PH_PREFLIGHT,
  PH_STAGE,
  PH_VALIDATE,
  PH_BACKUP_UPGRADE,
  PH_BACKUP_REBOOT,
  PH_DAEMONS,
  PH_FRU_UPGRADE,
  PH_SWITCHOVER,
  PH_OLD_MASTER_UPGRADE,
  PH_OLD_MASTER_REBOOT,
  PH_SWITCHBACK,
  PH_VERIFY,
  PH_DONE,
  PH_SKIPPED,
  PH_FAILED,
  PH_COUNT
};
const char *junos_phase_name(enum junos_phase p);
bool junos_phase_terminal(enum junos_phase p);
/* The phase named `name` (as junos_phase_name writes it); PH_COUNT if none. */
enum junos_phase junos_phase_parse(const char *name);

/* ---- lines ---- */

enum junos_line_kind {
  LINE_TEXT,  /* an ordinary line (after cleaning) */
  LINE_NOISE, /* blank, a {master}/{backup} banner, a cli timestamp, a syslog banner */
};
/* Copies `line` into `out` without the `[Mon DD HH:MM:SS]:` prefix, a trailing CR and
 * surrounding blanks; says whether what is left carries information. */
enum junos_line_kind junos_clean_line(const char *line, size_t len, char *out, size_t outlen);

/* ---- the ISSU console ---- */

enum junos_issu_event {
  ISSU_LINE_INFO,   /* part of the scroll; no phase change */
  ISSU_LINE_PHASE,  /* the router entered `phase` */
  ISSU_LINE_FAILED, /* the ISSU failed or was refused: the line is the router's words */
  ISSU_LINE_DONE,   /* the ISSU ended (ISSU: IDLE) */
};
struct junos_issu_class {
  enum junos_issu_event event;
  enum junos_phase phase; /* for ISSU_LINE_PHASE */
  const char *error_code; /* for ISSU_LINE_FAILED: "validation-failed", "issu-refused", ... */
};
/* Classifies one cleaned line of the ISSU console. Unknown lines are ISSU_LINE_INFO. */
struct junos_issu_class junos_issu_classify(const char *clean_line);

/* replaced by nothing: no real router prints an "ISSU state:" line (issue 13); remove when the
 * scheduler no longer calls it. */
/* The ISSU state a router reports on `show chassis in-service-upgrade` ("ISSU state: FRU_ISSU").
 * Returns the phase it is in, PH_DONE for IDLE, PH_FAILED for ABORT, PH_COUNT if not found. */
enum junos_phase junos_issu_state(const char *const *lines, size_t n);

/* ---- command builders (policy values were validated by policies/) ---- */

enum junos_old_master { JUNOS_OLD_MASTER_REBOOT, JUNOS_OLD_MASTER_LEAVE, JUNOS_OLD_MASTER_SKIP };
/* replaced by junos_issu_command_for (junos_facts.h): remove when the scheduler no longer calls it
 */
/* `request system software in-service-upgrade PKG [no-old-master-upgrade] [OPTIONS]`; the old
 * master's reboot is ours to do (so we can watch it), never the `reboot` option. */
void junos_issu_command(char *buf, size_t len, const char *package, const char *const *options,
                        size_t noptions, enum junos_old_master old_master);

/* ---- parsers: each takes the cleaned lines of one command's output ---- */

struct junos_re {
  bool present;
  bool up;     /* answers (not "Present" while rebooting) */
  bool master; /* Current state Master */
  bool backup;
};
struct junos_re_status {
  struct junos_re re[2];
  int master; /* slot, or -1 */
};
/* replaced by junos_xml_routing_engines (junos_facts.h): remove when the scheduler no longer calls
 * it */
/* `show chassis routing-engine`. Returns false when no Slot was found. */
bool junos_parse_routing_engines(const char *const *lines, size_t n, struct junos_re_status *out);

struct junos_versions {
  char version[2][48]; /* "" when the RE did not answer */
  bool unreachable[2]; /* "Could not connect to reN" */
};
/* replaced by junos_xml_versions (junos_facts.h): remove when the scheduler no longer calls it */
/* `show version invoke-on all-routing-engines`: the re0: / re1: sections. A version longer than
 * 47 characters is left out, never cut. */
bool junos_parse_versions(const char *const *lines, size_t n, struct junos_versions *out);

/* `show configuration | display set`: which ISSU prerequisites are configured. */
struct junos_config {
  bool gres, nsr, commit_sync;
};
void junos_parse_config(const char *const *lines, size_t n, struct junos_config *out);

/* replaced by junos_xml_switchover (junos_facts.h): remove when the scheduler no longer calls it */
/* `show system switchover` (on the backup RE). */
struct junos_switchover {
  bool found;
  bool gres_on;      /* Graceful switchover: On */
  bool kernel_ready; /* Kernel database: Ready */
  bool ready;        /* Switchover Status: Ready, or Peer state: Steady State */
};
void junos_parse_switchover(const char *const *lines, size_t n, struct junos_switchover *out);

/* replaced by junos_xml_replication (junos_facts.h): remove when the scheduler no longer calls it
 */
/* `show task replication`: Stateful Replication: Enabled, RE mode: Master. */
bool junos_parse_replication(const char *const *lines, size_t n, bool *master_mode);

/* replaced by junos_parse_switch_reply (junos_facts.h): remove when the scheduler no longer calls
 * it */
/* `request chassis routing-engine master switch check`: ready, or the hold-down left (seconds,
 * from "try after N secs"), or not ready for another reason. */
enum junos_switch_check { SWITCH_READY, SWITCH_HOLDDOWN, SWITCH_NOT_READY, SWITCH_UNKNOWN };
enum junos_switch_check junos_parse_switch_check(const char *const *lines, size_t n,
                                                 unsigned *holddown_s);

/* replaced by junos_xml_storage (junos_facts.h): remove when the scheduler no longer calls it */
/* `show system storage`: the filesystem holding /var (or the largest one under /.mount). */
struct junos_storage {
  bool found;
  char mount[64];
  unsigned capacity_pct;
  unsigned long long avail_kb;
};
void junos_parse_storage(const char *const *lines, size_t n, struct junos_storage *out);

/* replaced by junos_xml_alarms and junos_alarms_fresh (junos_facts.h): remove when the scheduler no
 * longer calls it */
/* `show chassis alarms`: the number of alarms and their descriptions (one per line, '\n'). */
struct junos_alarms {
  bool found;
  unsigned count;
  char text[1024];
};
void junos_parse_alarms(const char *const *lines, size_t n, struct junos_alarms *out);
/* Alarms in `now` that were not in `before` (by description); writes the first into `first`. */
unsigned junos_alarms_new(const struct junos_alarms *before, const struct junos_alarms *now,
                          char *first, size_t len);

/* replaced by junos_xml_checksum (junos_facts.h): remove when the scheduler no longer calls it */
/* `file checksum sha-256 PATH` / `file checksum md5 PATH`: the hex digest, or missing. */
enum junos_checksum { CHECKSUM_FOUND, CHECKSUM_MISSING, CHECKSUM_UNPARSED };
enum junos_checksum junos_parse_checksum(const char *const *lines, size_t n, char *hex, size_t len);

/* The first line that reads as an error ("error: ...", "ERROR: ..."), or NULL. */
const char *junos_first_error(const char *const *lines, size_t n);

#endif
