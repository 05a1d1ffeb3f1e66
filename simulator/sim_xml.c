/*
 * What every command shares: the `| display xml` envelope as the captures show it
 * (<rpc-reply xmlns:junos=...> ... <cli><banner>{master}</banner></cli></rpc-reply>), escaped
 * elements, <output>-wrapped text, the <rpc-error> of an RE that does not answer, the prompt
 * banner, the master-only refusal, the release an RE prints, and the alarms of the moment.
 */
#include "simulator/sim.h"

#include <stdarg.h>
#include <string.h>

static void escape(const char *in, char *out, size_t len)
{
  size_t o = 0;
  for (const char *p = in; *p && o + 7 < len; p++) {
    const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
    if (rep) {
      memcpy(out + o, rep, strlen(rep));
      o += strlen(rep);
    } else
      out[o++] = *p;
  }
  out[o] = '\0';
}

void sim_re_release(const struct sim_router *r, int slot, char *buf, size_t len)
{
  snprintf(buf, len, "%s%s", r->re[slot].version, r->re[slot].suffix);
}

void sim_xml_open(struct sim_ctx *c)
{
  char release[64];
  sim_re_release(c->r, c->re, release, sizeof release);
  sim_line(c->out, "<rpc-reply xmlns:junos=\"http://xml.juniper.net/junos/%s/junos\">", release);
}

const char *sim_banner(const struct sim_ctx *c)
{
  return c->r->re[c->re].master ? "{master}" : "{backup}";
}

void sim_xml_close(struct sim_ctx *c)
{
  sim_line(c->out, "    <cli>");
  sim_line(c->out, "        <banner>%s</banner>", c->named_re ? sim_banner(c) : "");
  sim_line(c->out, "    </cli>");
  sim_line(c->out, "</rpc-reply>");
}

void sim_xml_elem(struct sim_ctx *c, int indent, const char *name, const char *fmt, ...)
{
  char text[512], esc[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  escape(text, esc, sizeof esc);
  sim_line(c->out, "%*s<%s>%s</%s>", indent, "", name, esc, name);
}

void sim_xml_output(struct sim_ctx *c, int indent, const char *text)
{
  char line[1024], esc[1024];
  sim_line(c->out, "%*s<output>", indent, "");
  for (const char *p = text; *p;) {
    size_t n = strcspn(p, "\n");
    snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
    escape(line, esc, sizeof esc);
    sim_line(c->out, "%s", esc);
    p += n + (p[n] == '\n');
  }
  sim_line(c->out, "%*s</output>", indent, "");
}

/* Capture pyez-other-re-off: error-type, error-tag, severity, the message on its own line. */
void sim_xml_rpc_error(struct sim_ctx *c, int indent, const char *message)
{
  sim_line(c->out, "%*s<rpc-error>", indent, "");
  sim_xml_elem(c, indent + 4, "error-type", "protocol");
  sim_xml_elem(c, indent + 4, "error-tag", "operation-failed");
  sim_xml_elem(c, indent + 4, "error-severity", "error");
  sim_line(c->out, "%*s<error-message>", indent + 4, "");
  sim_line(c->out, "%s", message);
  sim_line(c->out, "%*s</error-message>", indent + 4, "");
  sim_line(c->out, "%*s</rpc-error>", indent, "");
}

/* Capture show-chassis-hardware-on-backup-re__pyez-connect-not-master: the XML form is an
 * <output> whose text starts on the next line, indented. */
int sim_refuse_on_backup(struct sim_ctx *c)
{
  static const char refusal[] = "Aborted! This command can only be used on the master routing "
                                "engine.";
  if (c->out->xml) {
    sim_xml_open(c);
    sim_line(c->out, "    <output>");
    sim_line(c->out, "        %s</output>", refusal);
    sim_xml_close(c);
  } else
    sim_line(c->out, "%s", refusal);
  return 1;
}

size_t sim_alarms(const struct sim_ctx *c, struct sim_alarm *out, size_t max)
{
  const struct sim_router *r = c->r;
  size_t n = 0;
  int master = sim_master(r), backup = 1 - master;
  /* While the backup RE reboots (capture genieparser-loss-of-comm-backup-re). */
  if (n < max && r->re[backup].present && !sim_re_up(r, backup, c->now))
    out[n++] = (struct sim_alarm){r->re[backup].down_since, "Minor",
                                  "Loss of communication with Backup RE",
                                  /* UNVERIFIED short description */ "Loss of comm w/ Backup RE"};
  /* While RE1 is master after a switch (captures crtc-after-switchover-backup-re-active and
   * crtc-loop-backup-re-active). */
  if (n < max && master == 1)
    out[n++] = (struct sim_alarm){r->mastership_changed, "Minor", "Backup RE Active",
                                  /* UNVERIFIED short description */ "Backup RE Active"};
  /* UNVERIFIED wording: no capture shows the /var usage alarm. */
  if (n < max && (r->faults & FAULT_DISK_FULL))
    out[n++] = (struct sim_alarm){r->re[0].booted, "Minor", "re0 /var partition usage is high",
                                  "re0 /var usage high"};
  return n;
}

int sim_invoke_target(const struct sim_ctx *c, bool *all)
{
  *all = false;
  for (size_t i = 0; i + 1 < c->nargs; i++)
    if (strcmp(c->args[i], "invoke-on") == 0) {
      if (strncmp(c->args[i + 1], "all", 3) == 0) {
        *all = true;
        return 0;
      }
      if (strncmp(c->args[i + 1], "other", 5) == 0)
        return 1 - c->re;
    }
  return -1;
}
