/*
 * The reconcile decision table (scheduler/reconcile.h), without a router: each row is a moment
 * a live run, a resume or a timeout can meet, the facts a real MX would show then, and the one
 * action allowed. docs/operations.md documents the same table.
 */
#include "scheduler/reconcile.h"

#include "common/common.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

/* Rows leave `code` out when the action has none. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/* Facts, by shape: M = master slot; each RE: '-' no answer, 'o' old release, 't' target. */
static struct reconcile_facts facts(int master, char re0, char re1)
{
  struct reconcile_facts f = {.answered = master >= 0, .master = master};
  char re[2] = {re0, re1};
  for (int s = 0; s < 2; s++) {
    f.up[s] = re[s] != '-';
    f.on_target[s] = re[s] == 't';
  }
  f.same_release = f.up[0] && f.up[1] && re0 == re1;
  return f;
}

static const struct reconcile_facts no_answer = {.answered = false, .master = -1};
static const struct reconcile_facts on_backup = {.answered = true, .on_backup = true, .master = 0};

struct row {
  const char *name;
  struct reconcile_input in;
  struct reconcile_facts f;
  enum reconcile_action want;
  const char *code; /* for FAIL and HOLD, or NULL */
};

/* orig_master 0 unless a row says otherwise (zero is RE0). */
#define IN(...) ((struct reconcile_input){__VA_ARGS__})

static void check(const struct row *rows, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    struct reconcile_decision d = reconcile_decide(&rows[i].in, &rows[i].f);
    cr_expect_eq(d.action, rows[i].want, "%s: %s, expected %s (%s)", rows[i].name,
                 reconcile_action_name(d.action), reconcile_action_name(rows[i].want), d.why);
    if (rows[i].code)
      cr_expect_str_eq(d.code, rows[i].code, "%s", rows[i].name);
    cr_expect(d.why && *d.why, "%s: the decision says why", rows[i].name);
  }
}

#define CHECK(rows) check(rows, sizeof rows / sizeof rows[0])

Test(reconcile, two_res_that_both_say_master_are_held_never_acted_on)
{
  struct reconcile_facts two = facts(-1, 'o', 'o');
  two.answered = true, two.two_masters = true;
  struct reconcile_facts two_t = facts(-1, 't', 't');
  two_t.answered = true, two_t.two_masters = true;
  const struct row rows[] = {
      {"before the ISSU", IN(.phase = PH_STAGE), two, RA_HOLD, "state-unknown"},
      {"ISSU sent", IN(.phase = PH_BACKUP_UPGRADE, .issu = RC_SENT), two, RA_HOLD, "state-unknown"},
      {"ISSU maybe sent", IN(.phase = PH_VALIDATE, .issu = RC_MAYBE_SENT), two, RA_HOLD,
       "state-unknown"},
      {"switchback due",
       IN(.phase = PH_OLD_MASTER_REBOOT, .issu = RC_SENT, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       two_t, RA_HOLD, "state-unknown"},
  };
  CHECK(rows);
}

Test(reconcile, before_the_issu_only_an_untouched_router_is_started)
{
  const struct row rows[] = {
      {"untouched", IN(.phase = PH_STAGE, .orig_master = -1), facts(0, 'o', 'o'), RA_START_ISSU},
      {"untouched, re1 master", IN(.phase = PH_STAGE, .orig_master = 1), facts(1, 'o', 'o'),
       RA_START_ISSU},
      {"backup silent", IN(.phase = PH_STAGE), facts(0, 'o', '-'), RA_FAIL, "re-down"},
      {"backup on target", IN(.phase = PH_STAGE), facts(0, 'o', 't'), RA_FAIL, "version-mismatch"},
      {"releases differ",
       IN(.phase = PH_STAGE),
       {.answered = true, .master = 0, .up = {1, 1}},
       RA_FAIL,
       "state-unknown"},
      {"mastership moved since preflight", IN(.phase = PH_STAGE), facts(1, 'o', 'o'), RA_FAIL},
      {"no answer", IN(.phase = PH_STAGE), no_answer, RA_FAIL, "state-unknown"},
      {"session on the backup", IN(.phase = PH_STAGE), on_backup, RA_RECONNECT},
  };
  CHECK(rows);
}

Test(reconcile, a_lost_console_waits_while_the_facts_show_the_issu_going_on)
{
  const struct row rows[] = {
      {"validating (nothing visible yet)", IN(.phase = PH_VALIDATE, .issu = RC_SENT),
       facts(0, 'o', 'o'), RA_WAIT_ISSU},
      {"backup rebooting", IN(.phase = PH_BACKUP_UPGRADE, .issu = RC_SENT), facts(0, 'o', '-'),
       RA_WAIT_ISSU},
      {"backup back on target", IN(.phase = PH_BACKUP_REBOOT, .issu = RC_SENT), facts(0, 'o', 't'),
       RA_WAIT_ISSU},
      {"switchover: the address moves", IN(.phase = PH_SWITCHOVER, .issu = RC_SENT), no_answer,
       RA_WAIT_ISSU},
      {"old master rebooting (Junos's reboot)",
       IN(.phase = PH_SWITCHOVER, .issu = RC_SENT, .old_master = RC_OLD_REBOOT), facts(1, '-', 't'),
       RA_WAIT_OLD_MASTER},
      {"old master upgrading (reboot)",
       IN(.phase = PH_OLD_MASTER_UPGRADE, .issu = RC_SENT, .old_master = RC_OLD_REBOOT),
       facts(1, 'o', 't'), RA_WAIT_OLD_MASTER},
      {"no answer after the switchover", IN(.phase = PH_OLD_MASTER_REBOOT, .issu = RC_SENT),
       no_answer, RA_WAIT_OLD_MASTER},
      {"the session stayed on the old master", IN(.phase = PH_SWITCHOVER, .issu = RC_SENT),
       on_backup, RA_RECONNECT},
  };
  CHECK(rows);
}

Test(reconcile, an_error_line_fails_the_router_only_when_nothing_changed)
{
  /* B2: the console's refusal counts only while the facts show an untouched router. */
  const struct row rows[] = {
      {"refused, untouched", IN(.phase = PH_VALIDATE, .issu = RC_SENT, .console_refused = true),
       facts(0, 'o', 'o'), RA_FAIL, "issu-refused"},
      {"error line, but switched over",
       IN(.phase = PH_FRU_UPGRADE, .issu = RC_SENT, .console_refused = true,
          .old_master = RC_OLD_REBOOT),
       facts(1, 'o', 't'), RA_WAIT_OLD_MASTER},
      {"error line, backup on target",
       IN(.phase = PH_BACKUP_REBOOT, .issu = RC_SENT, .console_refused = true), facts(0, 'o', 't'),
       RA_WAIT_ISSU},
      {"error line, leave: done",
       IN(.phase = PH_SWITCHOVER, .issu = RC_SENT, .console_refused = true,
          .old_master = RC_OLD_LEAVE),
       facts(1, 'o', 't'), RA_VERIFY},
  };
  CHECK(rows);
}

Test(reconcile, after_the_switchover_the_policy_decides_how_the_old_master_ends)
{
  const struct row rows[] = {
      {"leave: RE1 master on target, RE0 answers",
       IN(.phase = PH_OLD_MASTER_UPGRADE, .issu = RC_SENT, .old_master = RC_OLD_LEAVE),
       facts(1, 'o', 't'), RA_VERIFY},
      {"leave, console still open",
       IN(.phase = PH_OLD_MASTER_UPGRADE, .issu = RC_SENT, .old_master = RC_OLD_LEAVE,
          .console_open = true),
       facts(1, 'o', 't'), RA_WAIT_ISSU},
      {"skip", IN(.phase = PH_SWITCHOVER, .issu = RC_SENT, .old_master = RC_OLD_SKIP),
       facts(1, 'o', 't'), RA_VERIFY},
      {"reboot: back on target, switchback wanted",
       IN(.phase = PH_OLD_MASTER_REBOOT, .issu = RC_SENT, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       facts(1, 't', 't'), RA_SWITCH_BACK},
      {"reboot: back on target, no switchback",
       IN(.phase = PH_OLD_MASTER_REBOOT, .issu = RC_SENT, .old_master = RC_OLD_REBOOT),
       facts(1, 't', 't'), RA_VERIFY},
      {"re1 original master",
       IN(.phase = PH_OLD_MASTER_REBOOT, .orig_master = 1, .issu = RC_SENT,
          .old_master = RC_OLD_REBOOT, .switchback = true),
       facts(0, 't', 't'), RA_SWITCH_BACK},
      {"switched back",
       IN(.phase = PH_SWITCHBACK, .issu = RC_SENT, .sw = RC_SENT, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       facts(0, 't', 't'), RA_VERIFY},
      {"upgraded RE master on an old release", IN(.phase = PH_SWITCHOVER, .issu = RC_SENT),
       facts(1, 'o', 'o'), RA_HOLD, "state-unknown"},
  };
  CHECK(rows);
}

Test(reconcile, switchback_sends_one_switch_at_most)
{
  /* B3: a switch that went out and does not show yet is waited for, never repeated. */
  const struct row rows[] = {
      {"switch sent, not showing yet",
       IN(.phase = PH_SWITCHBACK, .issu = RC_SENT, .sw = RC_SENT, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       facts(1, 't', 't'), RA_WAIT_SWITCH},
      {"switch sent, settled, still not master",
       IN(.phase = PH_SWITCHBACK, .issu = RC_SENT, .sw = RC_SENT, .settled = true,
          .old_master = RC_OLD_REBOOT, .switchback = true),
       facts(1, 't', 't'), RA_HOLD, "switch-unconfirmed"},
      {"resumed: switch may have gone, not settled",
       IN(.phase = PH_SWITCHBACK, .issu = RC_SENT, .sw = RC_MAYBE_SENT, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       facts(1, 't', 't'), RA_WAIT_SWITCH},
      {"resumed: settled and not switched: it never went",
       IN(.phase = PH_SWITCHBACK, .issu = RC_SENT, .sw = RC_MAYBE_SENT, .settled = true,
          .old_master = RC_OLD_REBOOT, .switchback = true),
       facts(1, 't', 't'), RA_SWITCH_BACK},
      {"resumed: already switched",
       IN(.phase = PH_SWITCHBACK, .issu = RC_SENT, .sw = RC_MAYBE_SENT, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       facts(0, 't', 't'), RA_VERIFY},
      {"no answer after the switch",
       IN(.phase = PH_SWITCHBACK, .issu = RC_SENT, .sw = RC_SENT, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       no_answer, RA_WAIT_SWITCH},
      /* Verify begins with the original master master: RE1 master again after it is held
       * at once, a switch of ours sent or not, and a resume (which knows only the journal's
       * phase) decides the same. */
      {"in verify, no switch of ours, the upgraded RE master again: held, no switch",
       IN(.phase = PH_VERIFY, .issu = RC_SENT, .old_master = RC_OLD_REBOOT, .switchback = true),
       facts(1, 't', 't'), RA_HOLD, "state-unknown"},
      {"in verify after our switch, the upgraded RE master again: held, never repeated",
       IN(.phase = PH_VERIFY, .issu = RC_SENT, .sw = RC_SENT, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       facts(1, 't', 't'), RA_HOLD, "state-unknown"},
      {"in verify, a switch maybe sent and settled, the upgraded RE master: held, no switch",
       IN(.phase = PH_VERIFY, .issu = RC_SENT, .sw = RC_MAYBE_SENT, .settled = true,
          .old_master = RC_OLD_REBOOT, .switchback = true),
       facts(1, 't', 't'), RA_HOLD, "state-unknown"},
  };
  CHECK(rows);
}

Test(reconcile, after_a_crash_a_journaled_issu_is_never_sent_again)
{
  /* B11/B12: "journaled, never sent" and "sent" look alike until the router shows progress. */
  const struct row rows[] = {
      {"journaled, nothing visible", IN(.phase = PH_VALIDATE, .issu = RC_MAYBE_SENT),
       facts(0, 'o', 'o'), RA_HOLD, "issu-unconfirmed"},
      {"journaled, backup rebooting", IN(.phase = PH_VALIDATE, .issu = RC_MAYBE_SENT),
       facts(0, 'o', '-'), RA_WAIT_ISSU},
      {"journaled, backup upgraded", IN(.phase = PH_VALIDATE, .issu = RC_MAYBE_SENT),
       facts(0, 'o', 't'), RA_WAIT_ISSU},
      {"journaled, switched over (reboot)",
       IN(.phase = PH_VALIDATE, .issu = RC_MAYBE_SENT, .old_master = RC_OLD_REBOOT),
       facts(1, '-', 't'), RA_WAIT_OLD_MASTER},
      {"journaled, all done", IN(.phase = PH_VALIDATE, .issu = RC_MAYBE_SENT), facts(1, 't', 't'),
       RA_VERIFY},
      {"journal saw the switchover, master back on old",
       IN(.phase = PH_OLD_MASTER_REBOOT, .issu = RC_SENT), facts(0, 'o', 'o'), RA_HOLD,
       "state-unknown"},
      {"no original master known",
       IN(.phase = PH_BACKUP_UPGRADE, .orig_master = -1, .issu = RC_SENT), facts(0, 'o', 'o'),
       RA_HOLD},
  };
  CHECK(rows);
}

Test(reconcile, a_timeout_after_the_issu_holds_instead_of_waiting)
{
  /* B4: waiting is over; what still cannot be established is held (outcome unknown). */
  const struct row rows[] = {
      {"backup never returns", IN(.phase = PH_BACKUP_REBOOT, .issu = RC_SENT, .timed_out = true),
       facts(0, 'o', '-'), RA_HOLD, "phase-timeout"},
      {"old master never returns",
       IN(.phase = PH_OLD_MASTER_REBOOT, .issu = RC_SENT, .timed_out = true,
          .old_master = RC_OLD_REBOOT),
       facts(1, '-', 't'), RA_HOLD, "phase-timeout"},
      {"nothing answers", IN(.phase = PH_FRU_UPGRADE, .issu = RC_SENT, .timed_out = true),
       no_answer, RA_HOLD, "phase-timeout"},
      /* A session that keeps landing on the backup RE (an inventory address that stays with
       * one RE) must not turn the phase timeout into a reconnect loop until the device timeout. */
      {"timed out, the session on the backup",
       IN(.phase = PH_OLD_MASTER_REBOOT, .issu = RC_SENT, .timed_out = true,
          .old_master = RC_OLD_REBOOT),
       on_backup, RA_HOLD, "phase-timeout"},
      /* The switchback's own timeout (the switch check never says ready): held, not asked
       * again every 20 s until the device timeout. */
      {"switchback out of time",
       IN(.phase = PH_SWITCHBACK, .issu = RC_SENT, .timed_out = true, .old_master = RC_OLD_REBOOT,
          .switchback = true),
       facts(1, 't', 't'), RA_HOLD, "phase-timeout"},
      {"done by the time of the timeout",
       IN(.phase = PH_OLD_MASTER_REBOOT, .issu = RC_SENT, .timed_out = true,
          .old_master = RC_OLD_REBOOT),
       facts(1, 't', 't'), RA_VERIFY},
  };
  CHECK(rows);
}

Test(reconcile, a_wait_names_the_phase_the_facts_show_and_never_an_earlier_one)
{
  struct reconcile_input in = IN(.phase = PH_VALIDATE, .issu = RC_SENT);
  struct reconcile_facts f = facts(0, 'o', '-');
  cr_expect_eq(reconcile_decide(&in, &f).phase, PH_BACKUP_REBOOT);
  in.phase = PH_DAEMONS;
  cr_expect_eq(reconcile_decide(&in, &f).phase, PH_COUNT);
  cr_expect_str_eq(reconcile_action_name(RA_HOLD), "hold");
}

/* docs/operations.md's table is the same table: every code and every action the function can
 * give, over a grid of every phase, what was sent, the policy and each shape of facts, is named
 * in the documented section (a row added here and not there fails). */
Test(reconcile, the_documented_table_names_every_code_and_action_the_function_gives)
{
  char *doc, err[256];
  size_t len;
  cr_assert_eq(
      text_read_file(ISSU_SOURCE_DIR "/docs/operations.md", 1 << 20, &doc, &len, err, sizeof err),
      0, "%s", err);
  char *from = strstr(doc, "## What issu-fleet does in every state");
  cr_assert_not_null(from);
  char *to = strstr(from + 1, "\n## ");
  if (to)
    *to = '\0';
  static const char shapes[] = "-ot";
  static const char *const doc_words[RA_COUNT] = {
      [RA_START_ISSU] = "send the ISSU",  [RA_WAIT_ISSU] = "wait",   [RA_WAIT_OLD_MASTER] = "wait",
      [RA_SWITCH_BACK] = "one switch",    [RA_WAIT_SWITCH] = "wait", [RA_VERIFY] = "verify",
      [RA_RECONNECT] = "a fresh session", [RA_FAIL] = "not started", [RA_HOLD] = "held",
  };
  bool seen[RA_COUNT] = {0};
  for (int ph = PH_PREFLIGHT; ph <= PH_VERIFY; ph++)
    for (int sent = RC_NOT_SENT; sent <= RC_MAYBE_SENT; sent++)
      for (int sw = RC_NOT_SENT; sw <= RC_MAYBE_SENT; sw++)
        for (int bits = 0; bits < 32; bits++)
          for (int master = -1; master <= 1; master++)
            for (int a = 0; a < 3; a++)
              for (int b = 0; b < 3; b++) {
                struct reconcile_input in = {
                    .phase = (enum junos_phase)ph,
                    .orig_master = bits & 1 ? -1 : 0,
                    .issu = (enum reconcile_sent)sent,
                    .sw = (enum reconcile_sent)sw,
                    .console_open = bits & 2,
                    .console_refused = bits & 4,
                    .timed_out = bits & 8,
                    .settled = bits & 16,
                    .old_master = (enum reconcile_old_master)(ph % 3),
                    .switchback = ph % 2,
                };
                struct reconcile_facts f = facts(master, shapes[a], shapes[b]);
                f.two_masters = master < 0 && a == b && a == 1;
                f.answered = f.answered || f.two_masters;
                f.on_backup = master == 1 && a == 0 && b == 0;
                struct reconcile_decision d = reconcile_decide(&in, &f);
                cr_assert_lt(d.action, RA_COUNT);
                seen[d.action] = true;
                if (d.code && (d.action == RA_FAIL || d.action == RA_HOLD)) {
                  char quoted[64];
                  snprintf(quoted, sizeof quoted, "`%s`", d.code);
                  cr_expect(strstr(from, quoted), "%s (%s) is not in docs/operations.md's table",
                            quoted, reconcile_action_name(d.action));
                }
              }
  for (int a = 0; a < RA_COUNT; a++) {
    cr_expect(seen[a], "the grid never gives %s", reconcile_action_name((enum reconcile_action)a));
    cr_expect(strstr(from, doc_words[a]), "%s: '%s' is not in the table",
              reconcile_action_name((enum reconcile_action)a), doc_words[a]);
  }
  free(doc);
}
