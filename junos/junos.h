/*
 * junos: everything issu-fleet knows about what Junos prints and what to type.
 *
 * Line cleaning, the configuration parser (`| display set`), and the ISSU console table that
 * classifies each line of `request system software in-service-upgrade` into the phases of
 * DESIGN.md §6. Nothing here does I/O: text in, facts out, so every parser is unit-tested on
 * captured text.
 *
 * The structured (`| display xml`) API is junos_facts.h; what stays here is text by nature: the
 * ISSU console, configuration checks (`| display set`), and error lines of `request` replies.
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

/* ---- command builders (policy values were validated by policies/) ---- */

/* The old master's choice for junos_issu_command_for (junos_facts.h). */
enum junos_old_master { JUNOS_OLD_MASTER_REBOOT, JUNOS_OLD_MASTER_LEAVE, JUNOS_OLD_MASTER_SKIP };

/* ---- parsers: each takes the cleaned lines of one command's output ---- */

/* `show configuration | display set`: which ISSU prerequisites are configured and active. */
struct junos_config {
  bool gres, nsr, commit_sync;
};
void junos_parse_config(const char *const *lines, size_t n, struct junos_config *out);

/* One configuration statement (its path, words separated by one space, "chassis redundancy
 * graceful-switchover") in `| display set` output. Juniper's `show | display set` page: the set
 * lines come first, then `deactivate P` for every inactive P, and an inactive P switches off all
 * below it; the text form marks one `inactive: WORD`. */
enum junos_config_state {
  JUNOS_CONFIG_ABSENT,   /* no set line for it */
  JUNOS_CONFIG_ACTIVE,   /* set, and nothing above it or itself deactivated */
  JUNOS_CONFIG_INACTIVE, /* set, but deactivated (itself or a level above it) */
};
/* `*line` (may be NULL): the line that decided (the set line, or the deactivate/inactive one). */
enum junos_config_state junos_config_statement(const char *const *lines, size_t n, const char *path,
                                               const char **line);

/* What `file checksum` found (junos_facts.h reads it). */
enum junos_checksum { CHECKSUM_FOUND, CHECKSUM_MISSING, CHECKSUM_UNPARSED };

/* The first line that reads as an error ("error: ...", "ERROR: ..."), or NULL. */
const char *junos_first_error(const char *const *lines, size_t n);

#endif
