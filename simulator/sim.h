/*
 * junos-sim: a simulated dual-RE Juniper MX that answers the Junos CLI commands issu-fleet uses.
 *
 * A router is one JSON state file. Each invocation of junos-sim runs one command against it,
 * the way sshd's ForceCommand runs one command per SSH exec: it locks the file, brings the
 * router up to the simulated present (reboots that have finished, ISSU steps whose time has
 * come), answers, and saves. Time is simulated: `time_scale` simulated seconds pass per real
 * second, so a 40-minute ISSU takes 4 s at scale 600, and because every state change is
 * computed from recorded start times, a killed process or a dropped session loses nothing.
 *
 * Module layout: sim_state.c (the file, locking, JSON), sim_clock.c (time, the ISSU timeline,
 * settling), sim_show.c (what `show` prints), sim_request.c (commands that change things),
 * sim_cli.c (parsing a command line, pipes, dispatch), sim_xml.c (the `| display xml` envelope,
 * the banner, the alarms), sim_show_chassis.c (chassis, switchover, replication, alarms),
 * sim_scp.c (scp uploads), sim_lab.c (lab init/up/down/status), sim_forward.c (the lab's
 * master-only addresses), junos_sim.c (main).
 */
#ifndef ISSU_SIM_H
#define ISSU_SIM_H

#include "common/common.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define SIM_NEVER INFINITY

/* Faults a router can be given (DESIGN.md §8). */
enum sim_fault {
  FAULT_VALIDATION_FAIL = 1u << 0,
  FAULT_BACKUP_NO_RETURN = 1u << 1,
  FAULT_OLD_MASTER_NO_RETURN = 1u << 2,
  FAULT_GRES_OFF = 1u << 3,
  FAULT_NSR_OFF = 1u << 4,
  FAULT_COMMIT_SYNC_OFF = 1u << 5,
  FAULT_BACKUP_NOT_READY = 1u << 6,
  FAULT_HOLDDOWN = 1u << 7,
  FAULT_DISK_FULL = 1u << 8,
  FAULT_PACKAGE_MISSING = 1u << 9,
  FAULT_CHECKSUM_MISMATCH = 1u << 10,
  FAULT_VERSION_MISMATCH = 1u << 11,
  FAULT_HANG = 1u << 12, /* with hang_phase */
  FAULT_SLOW = 1u << 13, /* with slow_factor */
  FAULT_NO_DROP = 1u << 14,
};

/* ISSU options of `request system software in-service-upgrade`. */
enum sim_issu_option {
  OPT_REBOOT = 1u << 0,
  OPT_NO_OLD_MASTER_UPGRADE = 1u << 1,
  OPT_NO_COPY = 1u << 2,
  OPT_UNLINK = 1u << 3,
  OPT_NO_VALIDATE = 1u << 4,
  OPT_NO_TCP_SYN_CHECK = 1u << 5,
  OPT_ENHANCED_MODE = 1u << 6,
};

enum sim_issu_state { ISSU_IDLE, ISSU_RUNNING, ISSU_DONE, ISSU_FAILED };

/* The phases of the ISSU timeline, in order (names as in DESIGN.md §6). */
enum sim_phase {
  PHASE_VALIDATE,
  PHASE_BACKUP_UPGRADE,
  PHASE_BACKUP_REBOOT,
  PHASE_DAEMONS,
  PHASE_FRU_UPGRADE,
  PHASE_SWITCHOVER,
  PHASE_OLD_MASTER_UPGRADE,
  PHASE_OLD_MASTER_REBOOT,
  PHASE_COUNT
};
extern const char *const sim_phase_names[PHASE_COUNT];

struct sim_re {
  bool present;
  bool master;
  char version[40];
  char pending[40];  /* installed, active after the next reboot ("" = none) */
  double booted;     /* simulated time it last came up */
  double down_until; /* 0: up; later than now: rebooting; SIM_NEVER: never comes back */
  double down_since; /* when its current (or last) reboot began: the loss-of-communication alarm */
  char reboot_reason[80];
  /* A build suffix this RE prints after its release ("-C1.12": one box's REs may print
   * 15.1F5.15-C1.12 and 15.1F5.15 for one release, capture pyez-sw-info-dual). */
  char suffix[24];
};

struct sim_file {
  char path[256];
  uint64_t size;
  char md5[33];
  char sha256[65];
};

struct sim_issu {
  enum sim_issu_state state;
  double started; /* simulated time */
  char package[256];
  char target[40];
  unsigned options;
  int old_master; /* the RE that was master when the ISSU started */
  size_t applied; /* timeline steps whose effects are in the state */
  char failure[300];
};

struct sim_router {
  char path[512]; /* the state file */
  char hostname[64];
  char model[16];
  double time_scale;
  uint64_t seed;
  double anchor_real, anchor_sim; /* simulated time = anchor_sim + (real - anchor_real) * scale */
  struct sim_re re[2];
  bool gres, nsr, commit_sync;
  struct sim_file *files;
  size_t nfiles;
  uint64_t var_total_kb, var_used_kb;
  struct sim_issu issu;
  unsigned issu_starts;
  unsigned sessions_dropped; /* sessions this router cut (switchover, mastership switch, reboot) */
  bool steady;               /* no jitter: every phase takes its base duration (benchmarks) */
  double holddown_until;
  unsigned faults;
  char hang_phase[32];
  double slow_factor;
  /* Release-dependent wording, varied across a lab so parsers meet all of it. */
  bool cli_timestamp;      /* a "Nov 24 01:33:44" line before each output (set cli timestamp) */
  bool issu_line_prefix;   /* "[Nov 24 01:37:04]:" before ISSU: lines (newer releases) */
  bool peer_state_wording; /* "Peer state: Steady State" instead of "Switchover Status: Ready" */
  /* Routing engines that run Junos on a VM host (RE-S-X6/X8, RE-S-1600x8): `request vmhost ...`
   * upgrades and reboots them. */
  bool vmhost;
  /* At a switchover (the ISSU's or a manual one) the session on the old master stays open, now
   * on the backup ({backup}); otherwise it is cut. Both are seen on real boxes (MANIFEST.md). */
  bool session_stays;
  double mastership_changed; /* when mastership last moved (0: never): Backup RE Active */
  /* The network (sim_net.h): its faults (enum sim_net_fault), slow-converge's minutes, the
   * seconds a healthy router takes to recover from a switchover, and the size multiplier. */
  unsigned net_faults;
  double net_slow_minutes;
  double net_recovery;
  unsigned net_scale;
};

/* Per-router options a lab gives (--router HOST=OPTION, sim_state.c). */
int sim_option_parse(const char *name, struct sim_router *r, char *err, size_t errlen);

/* ---- sim_state.c ---- */

/* Opens and locks the state file (exclusive, flock), then loads it. */
int sim_open(const char *path, struct sim_router *r, int *lock_fd, char *err, size_t errlen);
/* Loads the state without the lock, for a view that is never saved: the file is replaced by an
 * atomic rename, so it is always whole. A session holding the lock (one waiting for a [yes,no]
 * answer) never blocks the reader. Free with sim_router_free. */
int sim_peek(const char *path, struct sim_router *r, char *err, size_t errlen);
/* Writes the state atomically: a temporary file, fsync, rename, fsync of the directory. */
int sim_save(const struct sim_router *r, char *err, size_t errlen);
void sim_close(struct sim_router *r, int lock_fd);
/* Creates a new state file (for lab init). */
int sim_create(const struct sim_router *r, char *err, size_t errlen);
void sim_router_free(struct sim_router *r);
struct sim_file *sim_find_file(struct sim_router *r, const char *path);
struct sim_file *sim_add_file(struct sim_router *r, const char *path);
void sim_remove_file(struct sim_router *r, const char *path);

/* Fault names, for --fault HOST=NAME and the state file. */
int sim_fault_parse(const char *name, struct sim_router *r, char *err, size_t errlen);
/* Writes the router's faults as a comma-separated list. */
void sim_fault_list(const struct sim_router *r, char *buf, size_t len);

/* ---- sim_clock.c ---- */

/* The simulated present. JUNOS_SIM_REAL_NOW (seconds since the epoch) overrides the real clock,
 * for tests that look at a router at a chosen moment. */
double sim_now(const struct sim_router *r);
/* Real seconds until simulated time `t` (0 if past). */
double sim_real_delay(const struct sim_router *r, double t);

/* One step of the ISSU timeline: at `at` (simulated seconds after the start) print `line`
 * (if any) and apply `effect`. */
enum sim_effect {
  EFFECT_NONE,
  EFFECT_BACKUP_INSTALLED,
  EFFECT_BACKUP_DOWN,
  EFFECT_SWITCHOVER,
  EFFECT_OLD_MASTER_INSTALLED,
  EFFECT_OLD_MASTER_DOWN,
  EFFECT_DONE,
  EFFECT_FAIL,
};

struct sim_step {
  double at;
  enum sim_phase phase;
  char line[300];
  enum sim_effect effect;
  double down_for; /* EFFECT_*_DOWN: how long the RE stays down (SIM_NEVER: forever) */
};

/* The router's ISSU timeline for its current ISSU (package, options, faults, jitter). */
size_t sim_timeline(const struct sim_router *r, struct sim_step **steps);
/* Brings the router up to `now`: finished reboots, ISSU steps whose time has come. Returns true
 * when the state changed (and should be saved). */
bool sim_settle(struct sim_router *r, double now);
/* The phase the running ISSU is in at `now` ("idle", "done", "failed" otherwise). */
const char *sim_issu_state_name(const struct sim_router *r, double now);
int sim_master(const struct sim_router *r);
/* Mastership moves to the other RE at `t`: the Backup RE Active alarm and the hold-down start. */
void sim_switch_mastership(struct sim_router *r, double t);
bool sim_re_up(const struct sim_router *r, int slot, double now);
/* The simulated duration of an RE reboot, and the mastership hold-down after one. */
double sim_reboot_seconds(const struct sim_router *r);
double sim_holddown_seconds(const struct sim_router *r);

/* ---- versions ---- */

/* Compares two Junos versions ("21.4R3-S5.4" < "23.4R2"); <0, 0, >0. */
int sim_version_cmp(const char *a, const char *b);
/* The version in a package file name ("junos-install-mx-x86-64-23.4R2-S3.7.tgz" -> 23.4R2-S3.7),
 * or false. */
bool sim_package_version(const char *path, char *out, size_t len);

/* ---- sim_cli.c: output with Junos pipes ---- */

struct sim_out {
  FILE *fp;
  bool xml;             /* | display xml */
  char *match, *except; /* regular expressions, case-insensitive */
  void *match_re, *except_re;
  bool count;
  size_t lines;
  bool display_set;
};

void sim_line(struct sim_out *o, const char *fmt, ...) ISSU_PRINTF(2, 3);
/* Formats simulated time as "Nov 24 01:33:44". */
/* Simulated seconds as a time_t, within years 1970 to 9999 (a hand-edited clock may be anywhere).
 */
time_t sim_clock_secs(double t);
void sim_clock_text(double t, char *buf, size_t len);

/* Runs one command line (with pipes) against the router; returns the exit status. The command
 * reaches the current master (a master-only address, a fresh connection). */
int sim_run_command(const char *state_path, const char *command, FILE *in, FILE *out);
/* The same on a session that is on routing engine `re` (0 or 1; -1: the master, as above): a
 * per-RE address, or an open session that stays on its RE after a switchover. Such a session
 * prints the prompt banner ({master} or {backup}) and is refused master-only commands when its
 * RE is backup. */
int sim_run_command_on(const char *state_path, int re, const char *command, FILE *in, FILE *out);
/* sim_run_command_on's status when the session's RE is rebooting: `junos-sim device` then cuts
 * the session with no exit status, as a connection to a down RE fails. */
#define SIM_UNREACHABLE 255

/* ---- commands (sim_show.c, sim_request.c, sim_scp.c) ---- */

struct sim_ctx {
  struct sim_router *r;
  int lock_fd;
  struct sim_out *out;
  FILE *in;
  double now;
  char **args; /* the words after the command's fixed words */
  size_t nargs;
  int re;        /* the routing engine this session is on */
  bool named_re; /* the session was opened on that RE by name (a per-RE address) */
  bool dirty;    /* save before returning */
  bool released; /* the handler saved and unlocked: the dispatcher must not save its copy */
};

int sim_show_version(struct sim_ctx *c);
int sim_show_chassis_re(struct sim_ctx *c);
int sim_show_switchover(struct sim_ctx *c);
int sim_show_task_replication(struct sim_ctx *c);
int sim_show_configuration(struct sim_ctx *c);
int sim_show_storage(struct sim_ctx *c);
int sim_show_alarms(struct sim_ctx *c);
int sim_show_issu(struct sim_ctx *c);
int sim_show_system_alarms(struct sim_ctx *c);
int sim_request_software_add(struct sim_ctx *c);
int sim_request_vmhost_issu(struct sim_ctx *c);
int sim_request_vmhost_reboot(struct sim_ctx *c);
int sim_file_list(struct sim_ctx *c);
int sim_file_checksum(struct sim_ctx *c);
int sim_request_switch(struct sim_ctx *c);
int sim_request_reboot(struct sim_ctx *c);
int sim_request_validate(struct sim_ctx *c);
int sim_request_issu(struct sim_ctx *c);
int sim_scp_sink(struct sim_ctx *c);

/* ---- sim_xml.c: the `| display xml` form ---- */

/* <rpc-reply xmlns:junos="http://xml.juniper.net/junos/RELEASE/junos">, as the captures open. */
void sim_xml_open(struct sim_ctx *c);
/* <cli><banner>{master}</banner></cli></rpc-reply> (the banner empty on a master-only session). */
void sim_xml_close(struct sim_ctx *c);
/* One element with escaped text at `indent` spaces: <name>text</name>. */
void sim_xml_elem(struct sim_ctx *c, int indent, const char *name, const char *fmt, ...)
    ISSU_PRINTF(4, 5);
/* Text as Junos wraps a text-only reply in XML: <output>...</output>. */
void sim_xml_output(struct sim_ctx *c, int indent, const char *text);
/* An <rpc-error> (severity error) with `message`, as before the multi-RE results. */
void sim_xml_rpc_error(struct sim_ctx *c, int indent, const char *message);
/* The prompt banner of the session's RE: "{master}" or "{backup}". */
const char *sim_banner(const struct sim_ctx *c);
/* The release an RE prints: its version and build suffix. */
void sim_re_release(const struct sim_router *r, int slot, char *buf, size_t len);
/* A master-only command on a backup RE: Junos's refusal (text or XML); returns 1. */
int sim_refuse_on_backup(struct sim_ctx *c);
/* The alarms active now (Backup RE Active, Loss of communication with Backup RE, ...). */
struct sim_alarm {
  double time;
  const char *cls, *description, *short_description;
};
size_t sim_alarms(const struct sim_ctx *c, struct sim_alarm *out, size_t max);

/* `... invoke-on all-routing-engines | other-routing-engine`: *all, or the other slot; -1 if the
 * command names none (it runs on the session's RE). */
int sim_invoke_target(const struct sim_ctx *c, bool *all);
/* Runs `block` (text) or `xml` (at an indent) for each RE the command's invoke-on names, in the
 * multi-RE forms (sim_show.c); returns 1 when an RE did not answer. */
int sim_per_re(struct sim_ctx *c, void (*block)(struct sim_ctx *, int),
               void (*xml)(struct sim_ctx *, int, int));

/* Reads a [yes,no] answer from the session's stdin; EOF or anything else is "no". */
bool sim_confirm(struct sim_ctx *c, const char *question);
/* Ends the SSH session the way a real switchover or reboot does: the connection is cut with no
 * exit status (behind sshd, the session's sshd processes are killed; locally, this process). */
void sim_drop_session(void);

/* ---- sim_proc.c ---- */

#include <sys/types.h>

/* A process's parent and state letter ('Z' for a zombie) from /proc; 0 or -1. */
int sim_proc_stat(pid_t pid, pid_t *ppid, char *state);

/* ---- sim_lab.c, sim_forward.c ---- */

int sim_lab_main(int argc, char **argv, const char *self);
/* `junos-sim forward DIR`: the lab's master-only addresses (started by `lab up`). */
int sim_forward_main(int argc, char **argv);

#endif
