/*
 * scheduler: the rollout executor. One libuv loop drives every router of the plan through the
 * ISSU procedure of DESIGN.md §6, in parallel within the policy's limits (asked of policies/),
 * talking to routers only through transport/ and reading them only through junos/, and narrates
 * every step as events (events.h).
 */
#ifndef ISSU_SCHEDULER_H
#define ISSU_SCHEDULER_H

#include "policies/policies.h"

#include <stdio.h>

/* The longest --run-id (it names files in the state directory). */
#define RUN_ID_MAX 64

struct rollout_options {
  const char *inventory_path, *policy_path;
  const char *state_dir;      /* journal directory; default ./.issu-fleet */
  const char *events;         /* NULL, "-" (stdout) or a file: a copy of the stream */
  const char *run_id;         /* NULL: r-YYYYMMDDTHHMMSSZ */
  const char *control;        /* the control socket; NULL: STATE_DIR/RUN_ID.sock */
  double time_scale;          /* durations / this (labs); 0: unset (1, or a resumed run's) */
  bool check_only;            /* connect and preflight only; change nothing */
  const char *resume;         /* a journal to continue (--resume), or NULL */
  bool retry_failed;          /* --resume: routers that failed start again */
  bool accept_changed_config; /* --resume: even if the inventory or policy changed */
  const char *limit;          /* --limit, recorded in the journal */
  bool stop_at_window_end;    /* end the run (exit 4) when the window closes, not wait */
  bool accept_new_host_keys;
  FILE *progress;       /* human lines (stderr), or NULL (--quiet) */
  bool progress_live;   /* a terminal: the live view that redraws in place */
  bool progress_colour; /* colours in the live view (not with NO_COLOR) */
};

/* Transport settings of every selected host, from the inventory; reports bad ones (naming the
 * host and the variable) into `d`. Nothing is contacted. */
struct targets;
struct transport_options;
int targets_build(const struct inventory *inv, const size_t *hosts, size_t n,
                  const struct rollout_options *o, struct targets **out, struct diag *d);
void targets_free(struct targets *t);
/* How issu-fleet reaches one router (the host index of the inventory): for `known-hosts`. */
const struct transport_options *targets_options(const struct targets *ts, size_t host);
/* Where each connection setting of a router came from (plan shows it): the inventory wins over
 * ssh_config (`ssh -G`), which wins over issu-fleet's defaults. */
enum target_field {
  TARGET_HOST,
  TARGET_PORT,
  TARGET_USER,
  TARGET_KEY,
  TARGET_KNOWN_HOSTS,
  TARGET_JUMP,
  TARGET_OTHER, /* HostKeyAlias, StrictHostKeyChecking, ConnectTimeout, ServerAlive* */
  TARGET_FIELDS
};
enum target_source { TARGET_FROM_DEFAULT, TARGET_FROM_INVENTORY, TARGET_FROM_SSH_CONFIG };
enum target_source targets_source(const struct targets *ts, size_t host, enum target_field f);
/* The ssh_config file OpenSSH read for the router: FILE of issu_ssh_config, "~/.ssh/config" for
 * OpenSSH's own; NULL when ssh_config was not read (off, no ssh, or issu_transport local). */
const char *targets_ssh_config(const struct targets *ts, size_t host);

/* Runs the plan (or the check) to its end; returns the exit code of DESIGN.md §3. Once it has
 * copied what it reads, it frees the inventory's values (inventory_forget_values). */
int rollout_run(const struct policy *p, struct inventory *inv, const struct plan *plan,
                const struct targets *targets, const struct rollout_options *o);

/* Releases a held router in the journal of a run that is not running (under its lock):
 * `ctl release` when the socket does not answer. */
int rollout_release_offline(const char *journal, const char *router, unsigned uid, char *err,
                            size_t errlen);

#endif
