/*
 * The reconcile step's decision: where one router's ISSU stands and what to do next, as a pure
 * function of (the phase the journal last saw, what one probe of the router showed, the policy,
 * whether the ISSU or the switch may already have gone out). No I/O, no clock: the caller probes
 * and acts (scheduler/device.c, issu.c, post_issu.c); tests/unit/test_reconcile.c checks every
 * row without a router. docs/operations.md documents the table.
 *
 * Every fact is one a real MX prints (issue 13): mastership (`show chassis routing-engine`), each
 * RE's release and whether it answered (`show version invoke-on all-routing-engines`: a missing
 * RE is an <rpc-error> or simply absent), the session's own RE (`{backup}` prompt, or the
 * master-only refusal), and time. Nothing comes from an `ISSU state:` line: no capture shows one.
 */
#ifndef ISSU_RECONCILE_H
#define ISSU_RECONCILE_H

#include "junos/junos.h"

#include <stdbool.h>

/* Whether a command that changes the router went out. A live run knows (SENT or NOT_SENT); a
 * resumed run whose journal shows the phase that sends it, and nothing the router did after,
 * does not (MAYBE_SENT): the crash may have come before or after the command left. */
enum reconcile_sent { RC_NOT_SENT, RC_SENT, RC_MAYBE_SENT };

/* The policy's old-master mode, as reconcile needs it. */
enum reconcile_old_master { RC_OLD_REBOOT, RC_OLD_LEAVE, RC_OLD_SKIP };

struct reconcile_facts {
  bool answered;     /* the probe got answers (false: no session, or the commands failed) */
  bool on_backup;    /* the session is on the backup RE ({backup}, or the master-only refusal) */
  int master;        /* the slot the router names master, -1 if none (or both) */
  bool two_masters;  /* both REs say master: no action can be chosen (held) */
  bool up[2];        /* the RE answered (its release is known) */
  bool on_target[2]; /* its release is the target's (junos/'s release rule) */
  bool same_release; /* both REs answered and run one release (junos/'s rule) */
};

struct reconcile_input {
  enum junos_phase phase;       /* the phase the journal last saw (or the live one) */
  int orig_master;              /* the master before the ISSU, -1 if not known yet */
  enum reconcile_sent issu, sw; /* the ISSU command; the switchback's mastership switch */
  bool console_open;            /* our ISSU console still runs on a session */
  bool console_refused;         /* the console ended with the router's refusal words */
  bool timed_out;               /* the phase's timeout ran out: waiting is over */
  bool settled; /* long enough since the switch may have gone out for it to show (a switch
                 * shows within seconds; RECONCILE_SETTLE_S) */
  enum reconcile_old_master old_master;
  bool switchback; /* policy issu.switchback (only with old_master reboot) */
};

/* Policy seconds after which a mastership switch that went out shows in the router's answers. */
#define RECONCILE_SETTLE_S 60.0

enum reconcile_action {
  RA_START_ISSU,      /* nothing of an ISSU is visible and none was sent: send it */
  RA_WAIT_ISSU,       /* the ISSU runs on the router (backup upgrading or rebooting, ...) */
  RA_WAIT_OLD_MASTER, /* switched over; the old master upgrades or reboots (Junos's `reboot`) */
  RA_SWITCH_BACK,     /* the old master is back as backup on the target: switch once */
  RA_WAIT_SWITCH,     /* a switch went out (or may have): look again, never a second */
  RA_VERIFY,          /* the router is where the policy wants it: verify */
  RA_RECONNECT,       /* the session is on a RE that is not master: a fresh one to the master */
  RA_FAIL,            /* nothing changed on the router and it cannot go on: failure */
  RA_HOLD,            /* the facts cannot tell (or time ran out): outcome unknown, held */
  RA_COUNT
};
const char *reconcile_action_name(enum reconcile_action a);

struct reconcile_decision {
  enum reconcile_action action;
  enum junos_phase phase; /* for the WAITs: the phase the facts show (never earlier than in) */
  const char *code;       /* for FAIL and HOLD: the error code (docs/events.md) */
  const char *why;        /* one sentence: what the facts show, for the event */
};

struct reconcile_decision reconcile_decide(const struct reconcile_input *in,
                                           const struct reconcile_facts *f);

#endif
