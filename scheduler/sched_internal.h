/*
 * Private to scheduler/: the run (run.c, waves.c, resume.c, status.c), one router's state
 * machine (device.c and the step files preflight.c, issu.c, post_issu.c), how routers are
 * reached (targets.c).
 */
#ifndef ISSU_SCHED_INTERNAL_H
#define ISSU_SCHED_INTERNAL_H

#include "junos/junos.h"
#include "junos/junos_facts.h"
#include "scheduler/reconcile.h"
#include "scheduler/events.h"
#include "scheduler/scheduler.h"
#include "transport/transport.h"

#include <uv.h>

struct target {
  struct transport_options options;
  char *host, *user, *key_file, *known_hosts, *password_env, *local_command;
  /* Each RE's own address (issu_re0_host/port, issu_re1_host/port), for what only one RE
   * answers (`show system switchover` on the backup); NULL when the inventory gives none. */
  char *re_host[2];
  unsigned re_port[2];
  /* ssh_config (targets.c): the ProxyJump chain, the key and known-hosts lists the options point
   * into, the strings they own, and where each setting came from (enum target_source). */
  struct transport_hop *jump;
  const char **key_files, **known_hosts_files;
  char **owned;
  size_t nowned;
  unsigned char source[TARGET_FIELDS];
  bool use_ssh_config;
  char *ssh_config; /* -F FILE; NULL with use_ssh_config: OpenSSH's own files */
  const char *ask;  /* the name OpenSSH is asked about: ansible_host, else the host's name */
};
const struct target *targets_get(const struct targets *ts, size_t host);

struct device;
struct rollout;
struct junos_alarm_list;

/* What to do with a finished command: the device, the result; the output is in dv->out. */
typedef void (*device_next_fn)(struct device *dv, const struct transport_result *r);
typedef void (*device_then_fn)(struct device *dv);

/* A command's output, cleaned (junos_clean_line), noise dropped, bounded. */
struct cmd_output {
  char **lines;
  size_t n, cap;
  bool cut;    /* more lines than we keep */
  bool backup; /* the session is on the backup RE: a `{backup}` prompt or the master-only
                * refusal (captures show-chassis-hardware-on-backup-re, crtc-accepted) */
};
#define CMD_MAX_LINES 4000
/* A command whose reply was not whole (cmd_output.cut, or transport_result.truncated): the
 * steps see it as a failed command, named "output-cut" (device_error_name). */
#define DEVICE_E_OUTPUT_CUT (-2001)
#define EVIDENCE_LINES 6
#define EVIDENCE_LINE_MAX 299 /* bytes of one evidence line kept */
/* A router's error message at most: a host-key message (address, fingerprints, fix) is ~1.2 KB. */
#define DEVICE_MESSAGE_MAX 2048

struct phase_span {
  double start_s, dur_s;
  bool seen;
};

/* What only a router in flight reads (B8: memory per router of the run): allocated when first
 * used (device_live), freed when the router finishes, after device-finished carried its timeline,
 * releases, error and evidence; a finished router keeps none of it. */
struct device_live {
  struct phase_span timeline[PH_COUNT];
  char before[2][48], after[2][48]; /* each RE's release before and after */
  char probed[2][48];               /* each RE's release as the last probe printed it */
  bool probed_unreachable[2];
  char re_command[160];
  char issu_error[48];
  char issu_failure[400];
  char *evidence[EVIDENCE_LINES]; /* the router's last words, a ring (heap, as long as they are) */
  unsigned nevidence;
  char timeout_why[200]; /* which timeout, how long */
  char error_code[48];
  char *error_message; /* whole (DEVICE_MESSAGE_MAX at most); NULL: none yet */
};

/* The alarms at preflight, what verify compares with: sized to the alarms the router showed
 * (a junos_alarm_list holds room for JUNOS_ALARMS_MAX, ~10 KB, for each router in flight). */
struct device_alarms {
  size_t n;
  bool cut; /* the router showed more than JUNOS_ALARMS_MAX */
  struct junos_alarm a[];
};

/* A router's three timers, only while it is in flight (456 bytes a router of the run otherwise,
 * B8): closed at detach, the block freed when the last one has closed (libuv closes
 * asynchronously). */
struct device_timers {
  uv_timer_t phase, wait, device;
  unsigned open; /* not yet closed */
};

struct device {
  struct rollout *run;
  size_t pos;  /* position in the run (plan order) */
  size_t host; /* inventory index */
  const char *name;
  char *site; /* the host's `site` variable, for labels; NULL if none */
  size_t wave;
  bool canary;
  bool started, finished;
  enum junos_phase phase;
  enum junos_phase failed_in; /* the phase a failure happened in */
  double started_s, phase_started_s;

  struct transport *t;
  struct transport *t_re; /* a one-command session to one RE's own address (device_exec_on_re) */
  device_next_fn re_next;
  unsigned attempt;    /* connection attempts in a row that failed */
  unsigned reconnects; /* sessions re-established after a loss */
  device_then_fn after_connect;
  device_next_fn next;
  struct cmd_output out;

  struct device_timers *timers; /* from the start until detached; NULL before and after */
  device_then_fn after_wait;
  double phase_deadline_s; /* run clock; extended by announced hold-downs */

  /* facts */
  int orig_master;
  struct device_alarms *baseline; /* the alarms at preflight; NULL: none read */
  bool need_stage, package_verified;
  bool issu_sent, issu_idle, watching_console;
  unsigned failed_checks;
  unsigned step; /* index into the current step table */

  bool resumed; /* continued from a journal: the router is asked before anything is done */
  bool held;    /* outcome unknown: finished, but keeps its limit slots until ctl release */

  /* the reconcile step (probe.c, reconcile.h) */
  bool issu_unconfirmed;           /* resumed in validate: the ISSU may or may not have gone out */
  bool console_refused;            /* the ISSU console ended with the router's refusal words */
  bool console_cut;                /* a console line was cut, or output dropped: not whole */
  bool timed_out;                  /* the phase's timeout ran out: no more waiting */
  const char *timeout_code;        /* its error code (device.c's phase table) */
  enum reconcile_sent switch_sent; /* the switchback's mastership switch */
  double switch_sent_s;            /* run clock: when it went out (or the resume began) */
  unsigned switch_looks;           /* probes since then */
  enum reconcile_action last_action; /* the last decision, to note only changes */
  struct reconcile_facts facts;      /* the last probe */
  int final_master; /* the master verify found (for the alarms expected with RE1 master) */
  bool vmhost_seen; /* the router reports VM-host REs (junos_facts.h) */
  bool re_skipped;  /* preflight: the backup RE has no address of its own to ask */

  /* issue 15's health checks (checks_phase.c) */
  struct checks_state *checks;
  bool checks_pre_journaled; /* resumed: this run's journal holds the pre snapshot */
  char *checks_pre_file;     /* ... in this file, as journaled (NULL: the usual path) */

  /* the end */
  const char *outcome;      /* success, failure, unknown */
  struct device_live *live; /* in flight only: device_live() */
};

struct rollout {
  uv_loop_t loop;
  const struct policy *p;
  const struct inventory *inv;
  const struct plan *plan;
  const struct targets *targets;
  const struct rollout_options *o;
  struct event_log *log;
  struct state_locks *locks;
  struct run_limits *limits;
  struct transport_limiter limiter;
  struct transport_jump_pool *jump_pool; /* bastion sessions shared by routers behind them */
  double scale;

  struct device *dev;
  size_t ndev;
  size_t *wave_first; /* positions of wave w: [wave_first[w], wave_first[w + 1]) */
  size_t nwaves;
  size_t wave;        /* waves mode: the wave running or next */
  bool *wave_started; /* per wave */
  size_t *wave_done, *wave_failed;
  bool soaking, halted, fatal;
  bool draining, detached; /* the operator: first SIGINT/SIGTERM or ctl drain; second signal */
  bool window_closed, window_seen_open, window_stopped;
  uv_timer_t window_timer;
  struct transport **closing; /* to close on the next turn (rollout_close_later) */
  size_t nclosing, closing_cap;
  uv_timer_t close_timer;
  size_t in_flight, done, skipped, failed, unknown, checked_ok;
  size_t held;  /* routers held (outcome unknown), keeping their limit slots */
  bool blocked; /* nothing could start but behind held routers: the run ended to say so */
  size_t peak_in_flight;
  uv_timer_t pump_timer, soak_timer;
  uv_signal_t sigint, sigterm;
  /* Group commit (run.c): durable lines are fsync'ed once per loop turn (on the threadpool),
   * before any router operation that asked after them starts (limiter.hold holds them until
   * then). driving_over: the run has ended, a late fsync releases nothing. */
  uv_prepare_t journal_sync;
  bool group_commit, driving_over;
  /* control (control.c) */
  uv_pipe_t control;
  struct control_client *clients; /* connected, closed with the run (control.c) */
  char *control_path;
  bool control_live;
  bool paused;
  bool *gate_approved;  /* per wave */
  bool *gate_announced; /* per wave: gate-waiting written */
  /* estimate.c: what each phase took in this run, to learn the ETA from */
  double phase_sum[PH_COUNT];
  unsigned phase_n[PH_COUNT];
  double soak_until_s;       /* run clock: when the running soak ends */
  struct progress *progress; /* progress.c: what stderr shows, or NULL */
  /* checks_phase.c: the policy's health-check suite, built on first use */
  struct check_suite *checks;
  bool checks_failed;
  char checks_error[300];
};

/* ---- locks.c ---- */
struct state_locks;
/* Locks the run and every router of it in STATE_DIR; fails (saying who holds it) when another
 * issu-fleet drives any of them. */
int state_locks_take(const char *state_dir, const char *run_id, const char *const *hosts,
                     size_t nhosts, struct state_locks **out, char *err, size_t errlen);
void state_locks_release(struct state_locks *l);

/* ---- estimate.c: expected durations, learned from this run's routers ---- */
void estimate_learn(struct rollout *run, enum junos_phase phase, double seconds);
double estimate_phase(const struct rollout *run, enum junos_phase p);
/* A router's time to go (NULL: a whole router not started yet). */
double estimate_device_remaining(const struct rollout *run, const struct device *dv, double now);
double estimate_run_remaining(const struct rollout *run, double now);

/* ---- progress.c: the human view on stderr (live on a terminal, plain lines otherwise) ---- */
void progress_open(struct rollout *run);
/* A lasting line (printed above the live view, which is then redrawn). */
void progress_line(struct rollout *run, const char *fmt, ...) ISSU_PRINTF(2, 3);
/* What the operator must see even with --quiet (a gate waits, a drain, the window): through the
 * live view when there is one, else a plain stderr line. */
void progress_say(struct rollout *run, const char *fmt, ...) ISSU_PRINTF(2, 3);
void progress_phase(struct rollout *run, const struct device *dv, enum junos_phase prev,
                    enum junos_phase next, const char *line);
void progress_close(struct rollout *run);

/* ---- waves.c: which routers start, and when ---- */
/* Starts what may start now (the waves, gates, window, soak and budget allow). */
void rollout_pump(struct rollout *run);
void rollout_pump_later(struct rollout *run);
/* Told of every phase change (through progress_phase): a router leaving preflight frees one of
 * the capped start slots. */
void rollout_phase_moved(struct rollout *run, enum junos_phase prev, enum junos_phase next);
/* What the run is doing, as ctl status and the live view say it: detached, draining, halted,
 * paused, soaking, waiting-approval or running. */
const char *rollout_state(const struct rollout *run);
/* Routers not started yet. */
size_t rollout_queued(const struct rollout *run);
void rollout_drain(struct rollout *run, const char *by);
/* Closes a transport on the next turn of the loop (see device_drop_session). */
void rollout_close_later(struct rollout *run, struct transport *t);
/* For the control socket: the run's state as JSON; approve the waiting gate (false: none);
 * pause or resume new starts (false: already so). */
cJSON *rollout_status(struct rollout *run);
/* Approves the first gate that waits (rolling mode may announce a later wave's); returns its
 * wave, or -1 when none waits. */
long rollout_approve(struct rollout *run, unsigned uid);
/* Releases a held router (ctl release): its limit slots free, journaled with who. False with
 * `err` when there is no such router or it is not held. */
bool rollout_release(struct rollout *run, const char *router, unsigned uid, char *err,
                     size_t errlen);
/* Halts the run (the failure budget): no new starts, routers in flight finish. */
void rollout_halt(struct rollout *run, const char *why);
/* Soaks `seconds` of the run's clock after wave `w` (a resume passes what is left). */
void rollout_soak(struct rollout *run, size_t w, double seconds, bool resumed);
bool rollout_pause(struct rollout *run, bool pause, const char *by);

/* ---- resume.c ---- */
struct journal_state;
/* A resume continues the same rollout: the same inventory, policy and limit, or the operator
 * says so (--accept-changed-config). */
int rollout_resume_check(const struct rollout_options *o, const struct journal_state *js, char *err,
                         size_t errlen);
/* Refuses a resume whose rollout leaves out a router the journal shows in flight or held. */
int rollout_resume_covers(const struct rollout *run, const struct journal_state *js, char *err,
                          size_t errlen);
/* Rebuilds the run's state from its journal and continues the routers in flight. */
void rollout_resume_devices(struct rollout *run, const struct journal_state *js);

/* ---- control.c ---- */
int control_start(struct rollout *run, const char *path, char *err, size_t errlen);
void control_stop(struct rollout *run);
void rollout_device_finished(struct rollout *run, struct device *dv);
/* Real milliseconds for `policy_s` of policy time, never below `floor_ms`. */
uint64_t rollout_real_ms(const struct rollout *run, double policy_s, uint64_t floor_ms);
double rollout_now(const struct rollout *run);
/* Writes an event; a journal that cannot be written stops the run (nothing unjournaled acts). */
int rollout_emit(struct rollout *run, cJSON *ev);
/* An event that changes no state (event_write_note): not fsync'ed on its own. */
int rollout_note(struct rollout *run, cJSON *ev);

/* ---- device.c: the state machine ---- */
void device_start(struct device *dv);
/* Continues a router the journal shows in flight in `phase` (`switch_seen`: the journal saw it
 * enter switchback): asks it where it stands first. */
void device_resume(struct device *dv, enum junos_phase phase, bool switch_seen);
/* Whether a cleaned output line shows the session is on the backup RE. */
bool device_line_on_backup(const char *clean);
void device_free(struct device *dv);
/* A copy of `l`'s alarms, sized to them. */
struct device_alarms *device_alarms_keep(const struct junos_alarm_list *l);
/* The router's in-flight state (struct device_live), allocated on first use. */
struct device_live *device_live(struct device *dv);
/* Sets the router's error (device-finished's error.code and .message). */
void device_set_error(struct device *dv, const char *code, const char *message);
/* Stops watching the router (its session closed, its timers stopped) without touching it. */
void device_detach(struct device *dv);
/* The one function that changes a router's phase: checks the move, records the timeline,
 * emits phase-changed (journaled before anything acts on it), re-arms the phase timeout.
 * Returns false if the move is not allowed (then nothing changed). */
bool device_set_phase(struct device *dv, enum junos_phase next, const char *line);
void device_fail(struct device *dv, const char *code, const char *outcome, const char *fmt, ...)
    ISSU_PRINTF(4, 5);
void device_succeed(struct device *dv, enum junos_phase terminal);
/* Runs a command; `next` gets the result with the cleaned output in dv->out. */
void device_exec(struct device *dv, const char *command, const char *input, device_next_fn next);
/* Runs one read-only command on a session of its own to routing engine `slot`'s own address
 * (the inventory's issu_reN_host), closed after it; `next` gets the result with the output in
 * dv->out. False (nothing started) when the inventory gives that RE no address. */
bool device_exec_on_re(struct device *dv, int slot, const char *command, device_next_fn next);
/* Runs `then` after `policy_s` of policy time (at least `floor_ms` real). */
void device_wait(struct device *dv, double policy_s, uint64_t floor_ms, device_then_fn then);
/* Opens a session (a new one if the last was lost), with bounded backoff, then `then`. */
void device_connect(struct device *dv, device_then_fn then);
void device_drop_session(struct device *dv);
/* `then` now if the session is up, else after opening a new one. */
void device_with_session(struct device *dv, device_then_fn then);
void device_note(struct device *dv, const char *line);
/* Extends the current phase's deadline (an announced hold-down is not a hang). */
void device_extend_deadline(struct device *dv, double seconds);
/* The phase's timer and the router's own (issu.timeouts.device) both moved `seconds` of policy
 * time plus `extra_ms` real: a wait for the network after the upgrade ended (the post-check) is
 * not the upgrade's time. */
void device_extend_wait(struct device *dv, double seconds, uint64_t extra_ms);
/* A command's error code as events name it: transport_error_name's, or "output-cut". */
const char *device_error_name(int error);
/* A line of the output that contains `needle`, or the first line, or "". */
const char *device_out_line(const struct device *dv, const char *needle);

/* ---- probe.c: the reconcile step ---- */
/* Probes the router once (mastership, each RE's release and whether it answers), decides with
 * reconcile_decide() and acts. Runs after a lost or ended ISSU console, on --resume, after a
 * phase timeout once the ISSU was sent, and before every ISSU and mastership switch. */
void reconcile_step(struct device *dv);
/* The reconcile step's decision when no session to the router could be opened (its facts: no
 * answer): a wait, or held once the phase's time has run out. */
void reconcile_unanswered(struct device *dv);
/* Whether the session being opened is the reconcile step's (its look follows). */
bool reconcile_connecting(const struct device *dv);
struct junos_reply;
/* Whether a reply shows our session on the backup RE ({backup} banner or prompt, or the
 * master-only refusal). */
bool device_reply_on_backup(const struct device *dv, const struct junos_reply *reply);
/* Whether the router's REs run on a VM host: target.vmhost, else what the router reported. */
bool device_vmhost(const struct device *dv);
/* Whether a printed release is the policy's target (Juniper's release format, junos/). */
bool device_on_target(const struct device *dv, const char *printed);
/* The facts of the last probe, in words, for events and messages. */
void device_facts_text(const struct device *dv, char *buf, size_t len);

/* ---- preflight.c ---- */
void preflight_start(struct device *dv);
void stage_start(struct device *dv);

/* ---- issu.c ---- */
/* Before the ISSU: the reconcile step decides (RA_START_ISSU sends it, once). */
void issu_start(struct device *dv);
/* Journals validate, then sends the one ISSU command and watches its console. */
void issu_send(struct device *dv);

/* ---- checks_phase.c: issue 15's health checks ---- */
/* After preflight: the pre snapshot (reused on a resume that journaled one), the pre-check, then
 * stage (or, for `issu-fleet check`, the router's end). */
void checks_pre_start(struct device *dv);
/* After verify: the post-checks until they pass or checks.converge runs out; ends the router. */
void checks_post_start(struct device *dv);
/* A timeout (`why`) during the post-check: the verdict now, from the last whole attempt, rather
 * than a held router. False when no post-check is under way. */
bool checks_post_expire(struct device *dv, const char *why);
void checks_device_free(struct device *dv);
void checks_run_free(struct rollout *run);

/* ---- post_issu.c ---- */
/* Moves the phase forward to `p` through the switchover (the facts show it happened). */
void post_issu_reach(struct device *dv, enum junos_phase p, const char *line);
/* The switchback: check the hold-down, then one mastership switch; the reconcile step looks
 * again before every switch and after it. */
void switchback_go(struct device *dv);
void verify_start(struct device *dv);

#endif
