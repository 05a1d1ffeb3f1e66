/*
 * What the chassis and redundancy commands print, text and `| display xml`, in the shapes of
 * the captures in ../shared/captures (named where used): `show chassis routing-engine`,
 * `show system switchover`, `show task replication`, `show chassis alarms`, `show system alarms`
 * and `show chassis in-service-upgrade`.
 */
#include "simulator/sim.h"

#include <string.h>
#include <time.h>

/* "462 days, 16 minutes, 20 seconds", as Junos spells an uptime. */
static void uptime_text(double seconds, char *buf, size_t len)
{
  long s = (long)sim_clock_secs(seconds);
  long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
  buf[0] = '\0';
  if (d)
    snprintf(buf + strlen(buf), len - strlen(buf), "%ld days, ", d);
  if (h)
    snprintf(buf + strlen(buf), len - strlen(buf), "%ld hours, ", h);
  snprintf(buf + strlen(buf), len - strlen(buf), "%ld minutes, %ld seconds", m, sec);
}

static void date_text(double t, char *buf, size_t len)
{
  time_t secs = sim_clock_secs(t);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* ---- show chassis routing-engine ---- */

/* One RE's figures, shared by the text and the XML form. A VM-host RE (capture
 * junos-upgrader-text-dual-vmhost) is an RE-S-1600x8 with four CPU blocks on the master, no
 * Serial ID, and a hypervisor or VJUNOS reboot reason. */
struct re_view {
  const char *state, *priority, *model, *reason;
  int temp, cpu_temp, mem, dram, installed;
  char serial[24], start[40], uptime[96];
  double booted, up;
  bool cpu_history; /* the 1 min / 5 min / 15 min blocks */
};

static void re_view(const struct sim_ctx *c, int slot, struct re_view *v)
{
  const struct sim_router *r = c->r;
  const struct sim_re *re = &r->re[slot];
  memset(v, 0, sizeof *v);
  v->state = re->master ? "Master" : "Backup";
  v->priority = slot == 0 ? "Master (default)" : "Backup (default)";
  v->temp = 29 + slot;
  v->cpu_temp = 27 + slot;
  v->mem = re->master ? 8 : 5;
  v->model = r->vmhost ? "RE-S-1600x8" : "RE-S-1800x4";
  v->dram = r->vmhost ? 32768 : 16329;
  v->installed = r->vmhost ? 32768 : 16384;
  v->cpu_history = re->master; /* as the XML of capture pyez-re-info-dual: not on the backup */
  if (!r->vmhost)
    snprintf(v->serial, sizeof v->serial, "9009%06llu",
             (unsigned long long)((r->seed * 7 + (uint64_t)slot) % 1000000));
  v->reason = re->reboot_reason[0] ? re->reboot_reason
              : r->vmhost ? (slot == 0 ? "0x2000:hypervisor reboot" : "0x4000:VJUNOS reboot")
                          : "Router rebooted after a normal shutdown.";
  v->booted = re->booted;
  v->up = c->now - re->booted;
  date_text(re->booted, v->start, sizeof v->start);
  uptime_text(v->up, v->uptime, sizeof v->uptime);
}

static void cpu_block(struct sim_ctx *c, const char *title, int user, int kernel)
{
  sim_line(c->out, "    %s", title);
  sim_line(c->out, "      User                     %3d percent", user);
  sim_line(c->out, "      Background                 0 percent");
  sim_line(c->out, "      Kernel                   %3d percent", kernel);
  sim_line(c->out, "      Interrupt                  0 percent");
  sim_line(c->out, "      Idle                     %3d percent", 100 - user - kernel);
}

static void re_text(struct sim_ctx *c, int slot)
{
  struct re_view v;
  re_view(c, slot, &v);
  sim_line(c->out, "    Current state                  %s", v.state);
  sim_line(c->out, "    Election priority              %s", v.priority);
  sim_line(c->out, "    Temperature                 %2d degrees C / %d degrees F", v.temp,
           v.temp * 9 / 5 + 32);
  sim_line(c->out, "    CPU temperature             %2d degrees C / %d degrees F", v.cpu_temp,
           v.cpu_temp * 9 / 5 + 32);
  sim_line(c->out, "    DRAM                      %5d MB (%d MB installed)", v.dram, v.installed);
  sim_line(c->out, "    Memory utilization          %2d percent", v.mem);
  cpu_block(c, "5 sec CPU utilization:", 0, 1);
  if (v.cpu_history) {
    cpu_block(c, "1 min CPU utilization:", 3, 1);
    cpu_block(c, "5 min CPU utilization:", 5, 1);
    cpu_block(c, "15 min CPU utilization:", 5, 1);
  }
  sim_line(c->out, "    Model                          %s", v.model);
  if (v.serial[0])
    sim_line(c->out, "    Serial ID                      %s", v.serial);
  sim_line(c->out, "    Start time                     %s", v.start);
  sim_line(c->out, "    Uptime                         %s", v.uptime);
  sim_line(c->out, "    Last reboot reason             %s", v.reason);
  sim_line(c->out, "    Load averages:                 1 minute   5 minute  15 minute");
  sim_line(c->out, "                                       0.02       0.11       0.14");
}

/* Capture pyez-re-info-dual (15.1F5): the backup has no cpu-user1..3. */
static void re_xml(struct sim_ctx *c, int slot)
{
  struct re_view v;
  re_view(c, slot, &v);
  char lower_state[16], lower_priority[32];
  snprintf(lower_state, sizeof lower_state, "%s", v.state);
  snprintf(lower_priority, sizeof lower_priority, "%s", v.priority);
  lower_state[0] = (char)(lower_state[0] - 'A' + 'a');
  lower_priority[0] = (char)(lower_priority[0] - 'A' + 'a');
  sim_xml_elem(c, 12, "mastership-state", "%s", lower_state);
  sim_xml_elem(c, 12, "mastership-priority", "%s", lower_priority);
  sim_xml_elem(c, 12, "status", "OK");
  sim_line(
      c->out,
      "            <temperature junos:celsius=\"%d\">%d degrees C / %d degrees F</temperature>",
      v.temp, v.temp, v.temp * 9 / 5 + 32);
  sim_line(c->out,
           "            <cpu-temperature junos:celsius=\"%d\">%d degrees C / %d degrees "
           "F</cpu-temperature>",
           v.cpu_temp, v.cpu_temp, v.cpu_temp * 9 / 5 + 32);
  sim_xml_elem(c, 12, "memory-dram-size", "%d MB", v.dram);
  sim_xml_elem(c, 12, "memory-installed-size", "(%d MB installed)", v.installed);
  sim_xml_elem(c, 12, "memory-buffer-utilization", "%d", v.mem);
  static const char *const cpu[] = {"cpu-user", "cpu-background", "cpu-system", "cpu-interrupt",
                                    "cpu-idle"};
  static const int figures[4][5] = {
      {0, 0, 1, 0, 99}, {3, 0, 1, 0, 96}, {5, 0, 1, 0, 94}, {5, 0, 1, 0, 94}};
  bool master = c->r->re[slot].master;
  for (int k = 0; k < (master ? 4 : 1); k++)
    for (int i = 0; i < 5; i++) {
      char name[32];
      snprintf(name, sizeof name, "%s%.0d", cpu[i], k);
      sim_xml_elem(c, 12, name, "%d", figures[k][i]);
    }
  sim_xml_elem(c, 12, "model", "%s", v.model);
  if (v.serial[0])
    sim_xml_elem(c, 12, "serial-number", "%s", v.serial);
  sim_line(c->out, "            <start-time junos:seconds=\"%.0f\">%s</start-time>", v.booted,
           v.start);
  sim_line(c->out, "            <up-time junos:seconds=\"%.0f\">%s</up-time>", v.up > 0 ? v.up : 0,
           v.uptime);
  sim_xml_elem(c, 12, "last-reboot-reason", "%s", v.reason);
  sim_xml_elem(c, 12, "load-average-one", "0.02");
  sim_xml_elem(c, 12, "load-average-five", "0.11");
  sim_xml_elem(c, 12, "load-average-fifteen", "0.14");
}

int sim_show_chassis_re(struct sim_ctx *c)
{
  const struct sim_router *r = c->r;
  if (c->out->xml) {
    sim_xml_open(c);
    sim_line(c->out, "    <route-engine-information>");
  }
  for (int slot = 0; slot < 2; slot++) {
    if (!r->re[slot].present)
      continue;
    bool up = sim_re_up(r, slot, c->now);
    if (c->out->xml) {
      sim_line(c->out, "        <route-engine>");
      sim_xml_elem(c, 12, "slot", "%d", slot);
      if (up)
        re_xml(c, slot);
      else /* UNVERIFIED: no capture shows an RE while it reboots */
        sim_xml_elem(c, 12, "mastership-state", "present");
      sim_line(c->out, "        </route-engine>");
      continue;
    }
    /* The header is repeated before each slot (captures genieparser-dual-re-1800x4,
     * textfsm-wiki-dual-re-4.0, junos-upgrader-text-dual-vmhost). */
    sim_line(c->out, "Routing Engine status:");
    sim_line(c->out, "  Slot %d:", slot);
    if (up)
      re_text(c, slot);
    else /* UNVERIFIED: no capture shows an RE while it reboots */
      sim_line(c->out, "    Current state                  Present");
  }
  if (c->out->xml) {
    sim_line(c->out, "    </route-engine-information>");
    sim_xml_close(c);
  }
  return 0;
}

/* ---- show system switchover ---- */

/* On the backup RE (capture pyez-request-shell-execute-not-ready gives the XML; the text lines
 * are the ones Juniper's Toby and public runbooks match: UNVERIFIED as a whole, no capture). */
static void switchover_text(struct sim_ctx *c, int slot)
{
  const struct sim_router *r = c->r;
  if (r->re[slot].master) {
    /* UNVERIFIED: Juniper deprecated the command on the master; only the mode is printed. */
    sim_line(c->out, "Graceful switchover: %s", r->gres ? "On" : "Off");
    return;
  }
  bool synced = !(r->faults & FAULT_BACKUP_NOT_READY);
  sim_line(c->out, "Graceful switchover: %s", r->gres ? "On" : "Off");
  sim_line(c->out, "Configuration database: Ready");
  sim_line(c->out, "Kernel database: %s", synced ? "Ready" : "Synchronizing");
  if (r->peer_state_wording)
    sim_line(c->out, "Peer state: %s", synced && r->gres ? "Steady State" : "Not Ready");
  else
    sim_line(c->out, "Switchover Status: %s", synced && r->gres ? "Ready" : "Not Ready");
}

static void switchover_xml(struct sim_ctx *c, int slot, int indent)
{
  const struct sim_router *r = c->r;
  bool synced = !(r->faults & FAULT_BACKUP_NOT_READY);
  sim_line(c->out, "%*s<switchover-information>", indent, "");
  sim_xml_elem(c, indent + 4, "switchover-state", "%s", r->gres ? "On" : "Off");
  if (r->re[slot].master) {
    /* UNVERIFIED: the master's form (deprecated there) */
    sim_line(c->out, "%*s</switchover-information>", indent, "");
    return;
  }
  sim_line(c->out, "%*s<switchover-mode>", indent + 4, "");
  sim_line(c->out, "%*s<gres-mode/>", indent + 8, "");
  sim_line(c->out, "%*s</switchover-mode>", indent + 4, "");
  sim_line(c->out, "%*s<configuration-state>", indent + 4, "");
  sim_line(c->out, "%*s<configuration-ready/>", indent + 8, "");
  sim_line(c->out, "%*s</configuration-state>", indent + 4, "");
  sim_line(c->out, "%*s<replication-state>", indent + 4, "");
  /* <replication-ready/> is UNVERIFIED (the capture shows <replication-synchronizing/>). */
  sim_line(c->out, "%*s<replication-%s/>", indent + 8, "", synced ? "ready" : "synchronizing");
  sim_line(c->out, "%*s</replication-state>", indent + 4, "");
  sim_line(c->out, "%*s</switchover-information>", indent, "");
  sim_line(c->out, "%*s<gresreadiness-status><switchover-status/>", indent, "");
  /* "Ready" is UNVERIFIED (the capture shows "Not Ready"). */
  sim_line(c->out, "%*s<output>%s</output>", indent, "", synced && r->gres ? "Ready" : "Not Ready");
  sim_line(c->out, "%*s</gresreadiness-status>", indent, "");
}

int sim_show_switchover(struct sim_ctx *c)
{
  return sim_per_re(c, switchover_text, switchover_xml);
}

/* ---- show task replication ---- */

static const char *const protocols[] = {"OSPF", "BGP", "MPLS", "RSVP", "LDP"};

int sim_show_task_replication(struct sim_ctx *c)
{
  const struct sim_router *r = c->r;
  bool synced = !(r->faults & FAULT_BACKUP_NOT_READY);
  const char *mode = r->re[c->re].master ? "Master" : "Backup";
  if (c->out->xml) {
    /* Captures pyez-get-routing-task-replication-state and junos-upgrader-isis-not-complete:
     * flat name/state pairs. */
    sim_xml_open(c);
    sim_line(c->out, "    <task-replication-state>");
    sim_xml_elem(c, 8, "task-gres-state", "%s", r->nsr ? "Enabled" : "Disabled");
    sim_xml_elem(c, 8, "task-re-mode", "%s", mode);
    for (size_t i = 0; r->nsr && i < ARRAY_LEN(protocols); i++) {
      sim_xml_elem(c, 8, "task-protocol-replication-name", "%s", protocols[i]);
      sim_xml_elem(c, 8, "task-protocol-replication-state", "%s",
                   synced || i != 1 ? "Complete" : "NotStarted");
    }
    sim_line(c->out, "    </task-replication-state>");
    sim_xml_close(c);
    return 0;
  }
  sim_line(c->out, "        Stateful Replication: %s", r->nsr ? "Enabled" : "Disabled");
  sim_line(c->out, "        RE mode: %s", mode);
  if (!r->nsr)
    return 0;
  sim_line(c->out, "%s", "");
  sim_line(c->out, "    Protocol                Synchronization Status");
  for (size_t i = 0; i < ARRAY_LEN(protocols); i++)
    sim_line(c->out, "    %-24s%s", protocols[i], synced || i != 1 ? "Complete" : "NotStarted");
  return 0;
}

/* ---- alarms ---- */

/* Text: captures genieparser-loss-of-comm-backup-re, crtc-after-switchover-backup-re-active
 * ("1 alarms" is Junos's own grammar). XML: captures junos-upgrader-vmhost-alt-disk (xml) and
 * jsnapy-no-active-alarms. `show system alarms` has the same shape (its XML element names are
 * UNVERIFIED: no capture shows them). */
static int alarms(struct sim_ctx *c)
{
  struct sim_alarm a[8];
  size_t n = sim_alarms(c, a, ARRAY_LEN(a));
  char when[40];
  if (c->out->xml) {
    sim_xml_open(c);
    sim_line(c->out, "    <alarm-information>");
    sim_line(c->out, "        <alarm-summary>");
    if (n == 0)
      sim_line(c->out, "            <no-active-alarms/>");
    else
      sim_xml_elem(c, 12, "active-alarm-count", "%zu", n);
    sim_line(c->out, "        </alarm-summary>");
    for (size_t i = 0; i < n; i++) {
      date_text(a[i].time, when, sizeof when);
      sim_line(c->out, "        <alarm-detail>");
      sim_line(c->out, "            <alarm-time junos:seconds=\"%.0f\">%s</alarm-time>", a[i].time,
               when);
      sim_xml_elem(c, 12, "alarm-class", "%s", a[i].cls);
      sim_xml_elem(c, 12, "alarm-description", "%s", a[i].description);
      sim_xml_elem(c, 12, "alarm-short-description", "%s", a[i].short_description);
      sim_xml_elem(c, 12, "alarm-type", "Chassis");
      sim_line(c->out, "        </alarm-detail>");
    }
    sim_line(c->out, "    </alarm-information>");
    sim_xml_close(c);
    return 0;
  }
  if (n == 0) {
    sim_line(c->out, "No alarms currently active");
    return 0;
  }
  sim_line(c->out, "%zu alarms currently active", n);
  sim_line(c->out, "Alarm time               Class  Description");
  for (size_t i = 0; i < n; i++) {
    date_text(a[i].time, when, sizeof when);
    sim_line(c->out, "%s  %-5s  %s", when, a[i].cls, a[i].description);
  }
  return 0;
}

int sim_show_alarms(struct sim_ctx *c)
{
  return alarms(c);
}

int sim_show_system_alarms(struct sim_ctx *c)
{
  return alarms(c);
}

/* ---- show chassis in-service-upgrade ---- */

/* The Item/Status/Reason table of FPCs and PICs (Juniper's post-ISSU example, issu-verifying,
 * flattened there: the column widths are UNVERIFIED). No ISSU state line: no real MX prints one.
 * The line cards are all online here. */
int sim_show_issu(struct sim_ctx *c)
{
  sim_line(c->out, "Item                   Status                  Reason");
  for (int fpc = 0; fpc < 3; fpc++) {
    sim_line(c->out, "FPC %d                  Online", fpc);
    sim_line(c->out, "  PIC 0                Online");
  }
  return 0;
}
