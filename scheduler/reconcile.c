/*
 * The reconcile decision (reconcile.h): the probe's facts are first reduced to one situation
 * (who is master, relative to the original master, and which REs answer on which release); a
 * table then says, per situation, what to do when the ISSU was not sent, was sent, or may have
 * been sent; a few refinements follow that need the policy or the switch. docs/operations.md
 * carries the same table in words.
 */
#include "scheduler/reconcile.h"

#include "common/common.h"

enum situation {
  S_NO_ANSWER,         /* no session, or no RE names itself master */
  S_ON_BACKUP,         /* our session sits on the backup RE */
  S_TWO_MASTERS,       /* both REs say master */
  S_UNTOUCHED,         /* original master, both REs answer on one release, none on the target */
  S_BACKUP_DOWN,       /* original master; the other RE does not answer */
  S_BACKUP_UPGRADED,   /* original master on its release; the other RE answers on the target */
  S_SWITCHED_OLD_DOWN, /* the other RE is master on the target; the old master does not answer */
  S_SWITCHED_OLD_OLD,  /* the other RE is master on the target; the old master on its release */
  S_SWITCHED_BOTH,     /* the other RE is master; both on the target */
  S_BACK_BOTH,         /* the original master is master again; both on the target */
  S_OTHER,             /* anything else: releases that differ otherwise, an unknown master */
  S_COUNT
};

static enum situation classify(const struct reconcile_input *in, const struct reconcile_facts *f)
{
  if (f->on_backup)
    return S_ON_BACKUP;
  if (f->answered && f->two_masters)
    return S_TWO_MASTERS;
  if (!f->answered || f->master < 0 || f->master > 1)
    return S_NO_ANSWER;
  int o = in->orig_master;
  if (o < 0 && in->issu == RC_NOT_SENT)
    o = f->master; /* before the ISSU the master is the original master */
  if (o < 0 || o > 1)
    return S_OTHER;
  int n = 1 - o;
  bool both = f->up[0] && f->up[1] && f->on_target[0] && f->on_target[1];
  if (f->master == o) {
    if (both)
      return S_BACK_BOTH;
    if (!f->up[o] || f->on_target[o])
      return S_OTHER;
    if (!f->up[n])
      return S_BACKUP_DOWN;
    if (f->on_target[n])
      return S_BACKUP_UPGRADED;
    return f->same_release ? S_UNTOUCHED : S_OTHER;
  }
  if (!f->up[n] || !f->on_target[n])
    return S_OTHER;
  if (!f->up[o])
    return S_SWITCHED_OLD_DOWN;
  return f->on_target[o] ? S_SWITCHED_BOTH : S_SWITCHED_OLD_OLD;
}

/* Per situation: the action when the ISSU was not sent, was sent, may have been sent; the phase
 * the facts show; the code of a FAIL or HOLD; what the facts show, in words. */
static const struct row {
  enum reconcile_action not_sent, sent, maybe;
  enum junos_phase phase;
  const char *code;
  const char *why;
} rows[S_COUNT] = {
    [S_NO_ANSWER] = {RA_FAIL, RA_WAIT_ISSU, RA_WAIT_ISSU, PH_COUNT, "state-unknown",
                     "the router does not answer or names no master"},
    [S_ON_BACKUP] = {RA_RECONNECT, RA_RECONNECT, RA_RECONNECT, PH_COUNT, NULL,
                     "the session is on the backup RE"},
    [S_TWO_MASTERS] = {RA_HOLD, RA_HOLD, RA_HOLD, PH_COUNT, "state-unknown",
                       "both REs say they are master: which one would act cannot be known, so "
                       "nothing is sent"},
    [S_UNTOUCHED] = {RA_START_ISSU, RA_WAIT_ISSU, RA_HOLD, PH_COUNT, "issu-unconfirmed",
                     "the original master is master and both REs answer on the release they ran "
                     "before: nothing of an ISSU is visible"},
    [S_BACKUP_DOWN] = {RA_FAIL, RA_WAIT_ISSU, RA_WAIT_ISSU, PH_BACKUP_REBOOT, "re-down",
                       "the backup RE does not answer"},
    [S_BACKUP_UPGRADED] = {RA_FAIL, RA_WAIT_ISSU, RA_WAIT_ISSU, PH_DAEMONS, "version-mismatch",
                           "the backup RE answers on the target while the master runs its old "
                           "release"},
    [S_SWITCHED_OLD_DOWN] = {RA_FAIL, RA_WAIT_OLD_MASTER, RA_WAIT_OLD_MASTER, PH_OLD_MASTER_REBOOT,
                             "state-changed",
                             "the upgraded RE is master on the target; the old master does not "
                             "answer"},
    [S_SWITCHED_OLD_OLD] = {RA_FAIL, RA_WAIT_OLD_MASTER, RA_WAIT_OLD_MASTER, PH_OLD_MASTER_UPGRADE,
                            "state-changed",
                            "the upgraded RE is master on the target; the old master answers on "
                            "its old release"},
    [S_SWITCHED_BOTH] = {RA_FAIL, RA_VERIFY, RA_VERIFY, PH_COUNT, "state-changed",
                         "the upgraded RE is master and both REs answer on the target"},
    [S_BACK_BOTH] = {RA_FAIL, RA_VERIFY, RA_VERIFY, PH_COUNT, "state-changed",
                     "the original master is master and both REs answer on the target"},
    [S_OTHER] = {RA_FAIL, RA_HOLD, RA_HOLD, PH_COUNT, "state-unknown",
                 "the REs' mastership and releases fit no step of an ISSU"},
};

static const char *const action_names[RA_COUNT] = {
    [RA_START_ISSU] = "start-issu",
    [RA_WAIT_ISSU] = "wait-issu",
    [RA_WAIT_OLD_MASTER] = "wait-old-master",
    [RA_SWITCH_BACK] = "switch-back",
    [RA_WAIT_SWITCH] = "wait-switch",
    [RA_VERIFY] = "verify",
    [RA_RECONNECT] = "reconnect",
    [RA_FAIL] = "fail",
    [RA_HOLD] = "hold",
};

const char *reconcile_action_name(enum reconcile_action a)
{
  return a < RA_COUNT ? action_names[a] : "?";
}

static bool is_wait(enum reconcile_action a)
{
  return a == RA_WAIT_ISSU || a == RA_WAIT_OLD_MASTER || a == RA_WAIT_SWITCH;
}

struct reconcile_decision reconcile_decide(const struct reconcile_input *in,
                                           const struct reconcile_facts *f)
{
  enum situation s = classify(in, f);
  const struct row *r = &rows[s];
  struct reconcile_decision d = {
      .action = in->issu == RC_NOT_SENT ? r->not_sent
                : in->issu == RC_SENT   ? r->sent
                                        : r->maybe,
      .phase = r->phase,
      .code = r->code,
      .why = r->why,
  };
  bool switched_seen = in->phase > PH_SWITCHOVER; /* the journal saw the switchover happen */
  bool wants_back = in->switchback && in->old_master == RC_OLD_REBOOT;

  switch (s) {
  case S_NO_ANSWER:
    /* Where the ISSU went, the address follows: wait by the phase the journal saw last. */
    if (in->issu != RC_NOT_SENT && in->phase >= PH_SWITCHBACK)
      d.action = RA_WAIT_SWITCH;
    else if (in->issu != RC_NOT_SENT && in->phase >= PH_OLD_MASTER_UPGRADE)
      d.action = RA_WAIT_OLD_MASTER;
    break;
  case S_UNTOUCHED:
  case S_BACKUP_DOWN:
  case S_BACKUP_UPGRADED:
    if (in->issu != RC_NOT_SENT && switched_seen) {
      /* The journal saw the switchover; the original master is master again, yet not both on
       * the target: no step of an ISSU looks like that. */
      d.action = RA_HOLD, d.code = "state-unknown";
      d.why = "the journal saw the switchover, yet the original master is master without both "
              "REs on the target";
    } else if (s == S_UNTOUCHED && in->issu == RC_SENT && !in->console_open &&
               in->console_refused) {
      /* The console ended with the router's refusal and nothing changed (B2: the refusal words
       * count only when the facts agree). */
      d.action = RA_FAIL, d.code = "issu-refused";
      d.why = "the router refused the ISSU and nothing changed on it";
    } else if (s == S_UNTOUCHED && in->issu == RC_MAYBE_SENT) {
      d.why = "the ISSU was journaled before a crash, and the router shows nothing of it: an "
              "ISSU still validating looks the same, so it is never sent a second time";
    }
    break;
  case S_SWITCHED_OLD_OLD:
    /* Without `reboot` the old master's upgrade ends in a pending install: it keeps its old
     * release until a reboot, and that is where `leave` and `skip` stop. */
    if (in->old_master != RC_OLD_REBOOT && in->issu != RC_NOT_SENT)
      d.action = in->console_open ? RA_WAIT_ISSU : RA_VERIFY;
    break;
  case S_SWITCHED_BOTH:
    if (in->issu == RC_NOT_SENT || !wants_back)
      break;
    if (in->phase > PH_SWITCHBACK) {
      /* Verify begins only once the original master is master (after our one switch, or with
       * none when a failover gave mastership back by itself): the upgraded RE master again is
       * no step of an ISSU. Whether a switch of ours went out or not, a switch now could be
       * announced by no line (the phase never goes back to switchback), and a resume knows no
       * more than the journal's phase: held, never switched again. */
      d.action = RA_HOLD, d.code = "state-unknown";
      d.why = "verify began with the original master master, and the upgraded RE is master "
              "again: the mastership is never switched a second time";
    } else if (in->sw == RC_NOT_SENT || (in->sw == RC_MAYBE_SENT && in->settled)) {
      /* A switch that went out before a crash would show by now: none did. */
      d.action = RA_SWITCH_BACK;
      d.why = "the old master is back as backup on the target";
    } else if (in->settled) {
      d.action = RA_HOLD, d.code = "switch-unconfirmed";
      d.why = "the mastership switch went out, and the original master is still not master: it "
              "is never sent a second time";
    } else {
      d.action = RA_WAIT_SWITCH;
      d.why = "the mastership switch went out and does not show yet";
    }
    break;
  case S_ON_BACKUP:
  case S_TWO_MASTERS:
  case S_SWITCHED_OLD_DOWN:
  case S_BACK_BOTH:
  case S_OTHER:
  case S_COUNT:
    break;
  }
  /* A reconnect is a wait too: a session that keeps landing on the backup RE (an address that
   * stays with one RE) would otherwise reconnect every 200 ms until the device timeout. */
  /* The switchback's own phase out of time (a switch check that never says ready): asking again
   * every poll until the device timeout is no switchback, it is a wait. */
  bool switchback_again = d.action == RA_SWITCH_BACK && in->phase == PH_SWITCHBACK;
  if (in->timed_out && (is_wait(d.action) || d.action == RA_RECONNECT || switchback_again)) {
    d.action = RA_HOLD;
    d.code = "phase-timeout";
  }
  if (d.phase != PH_COUNT && d.phase < in->phase)
    d.phase = PH_COUNT; /* never back to an earlier phase */
  return d;
}
