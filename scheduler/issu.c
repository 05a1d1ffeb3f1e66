/*
 * The ISSU itself: one `request system software in-service-upgrade` whose console lines move the
 * router through the phases (junos/'s table decides what each line means). When the console
 * ends or its session drops (as it may at the switchover), the reconcile step (probe.c) asks
 * the router where it stands: the console's last words never decide alone (B2). Never a second
 * ISSU, never an abort.
 */
#include "scheduler/sched_internal.h"

#include "junos/junos_facts.h"

#include <string.h>

static void on_issu_line(struct device *dv, const char *line)
{
  device_note(dv, line);
  struct junos_issu_class c = junos_issu_classify(line);
  switch (c.event) {
  case ISSU_LINE_INFO:
    break;
  case ISSU_LINE_PHASE:
    if (c.phase == PH_OLD_MASTER_REBOOT && dv->run->p->issu.old_master != OLD_MASTER_REBOOT) {
      /* "Old Master Upgrade Done" without our reboot to follow: the ISSU's work is over. */
      break;
    }
    if (c.phase > dv->phase)
      device_set_phase(dv, c.phase, line);
    break;
  case ISSU_LINE_FAILED:
    /* Latched as the router's words, judged only when the console ends, against the facts. */
    if (device_live(dv)->issu_error[0] == '\0') {
      struct device_live *tx = dv->live;
      snprintf(tx->issu_error, sizeof tx->issu_error, "%s", c.error_code);
      text_utf8_copy(tx->issu_failure, sizeof tx->issu_failure, line);
    }
    break;
  case ISSU_LINE_DONE:
    dv->issu_idle = true;
    break;
  }
}

/* The ISSU's console: lines are handled as they come, not when the command ends. */
static void console_line(struct transport *t, enum transport_stream stream, const char *line,
                         size_t len, bool cut, void *data)
{
  (void)stream;
  struct device *dv = data;
  if (dv->t != t || dv->finished)
    return;
  char clean[1024];
  enum junos_line_kind kind = junos_clean_line(line, len, clean, sizeof clean);
  if (cut || strlen(clean) >= sizeof clean - 1)
    dv->console_cut = true;
  if (device_line_on_backup(clean))
    dv->out.backup = true; /* the console's session stayed on the old master, now backup */
  if (kind == LINE_NOISE)
    return;
  on_issu_line(dv, clean);
}

static void console_done(struct transport *t, const struct transport_result *r, void *data)
{
  struct device *dv = data;
  if (dv->t != t || dv->finished)
    return;
  dv->watching_console = false;
  /* The router's refusal words count only if the facts agree that nothing changed (B2): an
   * `error:` line in a 40-minute install scroll does not undo a switchover. */
  /* Only a console the router ended itself can carry a refusal: one cut by a dropped session
   * (a network blip while the backup RE installs, when the router still looks untouched) says
   * nothing of the ISSU, whatever `error:` line the scroll showed before the cut. */
  /* A console whose words were cut or dropped (a line over the limit, output over max_output)
   * is no refusal either: no decision rests on words not seen whole; the facts decide. */
  bool whole = !r->truncated && !dv->console_cut;
  bool ended = r->error == TRANSPORT_OK && !r->signaled && whole; /* a killed CLI did not refuse */
  bool refused_exit = ended && r->exit_status != 0 && !dv->issu_idle;
  struct device_live *tx = device_live(dv);
  if (ended && (tx->issu_error[0] || refused_exit)) {
    dv->console_refused = true;
    if (!tx->issu_error[0]) {
      const char *words = tx->nevidence ? tx->evidence[(tx->nevidence - 1) % EVIDENCE_LINES] : "";
      snprintf(tx->issu_error, sizeof tx->issu_error, "issu-refused");
      snprintf(tx->issu_failure, sizeof tx->issu_failure, "the router refused the ISSU: %.*s",
               (int)text_utf8_cut(words, 360), words);
    }
  }
  /* A session that stayed on the old master (now backup) carries nothing more (issue 13): once
   * the console reached the switchover, the RE behind this session is not known, and on the old
   * master a command meant for the master would act on the wrong RE. */
  if (r->error != TRANSPORT_OK || dv->out.backup || dv->phase >= PH_SWITCHOVER)
    device_drop_session(dv);
  reconcile_step(dv);
}

void issu_start(struct device *dv)
{
  /* Look before the one command that cannot be taken back: the router must still be as preflight
   * found it (reconcile.h: RA_START_ISSU only for an untouched router). */
  reconcile_step(dv);
}

void issu_send(struct device *dv)
{
  const struct policy *p = dv->run->p;
  if (dv->issu_sent || !device_set_phase(dv, PH_VALIDATE, NULL))
    return;
  if (dv->run->fatal)
    return; /* validate could not be journaled: the ISSU does not go out (nothing unjournaled acts)
             */
  static const struct {
    unsigned bit;
    const char *word;
  } words[] = {
      {ISSU_OPT_NO_COPY, "no-copy"},
      {ISSU_OPT_UNLINK, "unlink"},
      {ISSU_OPT_NO_VALIDATE, "no-validate"},
      {ISSU_OPT_NO_TCP_SYN_CHECK, "no-tcp-syn-check"},
      {ISSU_OPT_ENHANCED_MODE, "enhanced-mode"},
  };
  const char *opts[ARRAY_LEN(words)];
  size_t n = 0;
  for (size_t i = 0; i < ARRAY_LEN(words); i++)
    if (p->issu.options & words[i].bit)
      opts[n++] = words[i].word;
  static const enum junos_old_master om[] = {
      [OLD_MASTER_REBOOT] = JUNOS_OLD_MASTER_REBOOT,
      [OLD_MASTER_LEAVE] = JUNOS_OLD_MASTER_LEAVE,
      [OLD_MASTER_SKIP] = JUNOS_OLD_MASTER_SKIP,
  };
  char cmd[700];
  /* `old_master: reboot` is Junos's own `reboot` option (field notes): the end of the old
   * master's upgrade is visible to no other session, so issu-fleet never sends that reboot
   * itself; it waits for the old master to come back as backup on the target. A VM-host RE
   * takes `request vmhost software in-service-upgrade`. */
  if (!junos_issu_command_for(cmd, sizeof cmd, p->target.package, opts, n, om[p->issu.old_master],
                              device_vmhost(dv))) {
    device_fail(dv, "issu-refused", "failure", "the ISSU command does not fit in %zu bytes",
                sizeof cmd);
    return;
  }
  /* Recorded (the phase-changed event above is journaled) before the command goes out: from
   * here on this router is never given a second ISSU. */
  dv->issu_sent = true;
  dv->watching_console = true;
  int rc = transport_exec(dv->t, cmd, NULL, 0, console_line, console_done, dv);
  if (rc < 0)
    device_fail(dv, transport_error_name(rc), "failure", "cannot send the ISSU command: %s",
                transport_error_name(rc));
}
