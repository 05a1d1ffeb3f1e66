/*
 * What the `show` and `file` commands print, modelled on the real captures of the reference
 * (junos-issu.md §3): the same headers, the same column layout, the same words for the states.
 * Each function reads the settled router and writes lines through the pipe filters.
 */
#include "simulator/sim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *re_name(int slot)
{
  return slot ? "re1" : "re0";
}

/* "462 days, 16 minutes, 20 seconds", as Junos spells an uptime. */
static void uptime_text(double seconds, char *buf, size_t len)
{
  long s = seconds > 0 ? (long)seconds : 0;
  long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
  buf[0] = '\0';
  if (d)
    snprintf(buf + strlen(buf), len - strlen(buf), "%ld days, ", d);
  if (h)
    snprintf(buf + strlen(buf), len - strlen(buf), "%ld hours, ", h);
  snprintf(buf + strlen(buf), len - strlen(buf), "%ld minutes, %ld seconds", m, sec);
}

static void version_block(struct sim_ctx *c, int slot)
{
  const struct sim_router *r = c->r;
  const char *v = r->re[slot].version;
  sim_line(c->out, "Hostname: %s", r->hostname);
  sim_line(c->out, "Model: %s", r->model);
  sim_line(c->out, "Junos: %s", v);
  sim_line(c->out, "JUNOS OS Kernel 64-bit  [%s-builder_stable_12]", v);
  sim_line(c->out, "JUNOS OS libs [%s]", v);
  sim_line(c->out, "JUNOS OS runtime [%s]", v);
  sim_line(c->out, "JUNOS Packet Forwarding Engine Support (MX Common) [%s]", v);
  sim_line(c->out, "JUNOS Routing Software Suite [%s]", v);
}

/* The error a command invoked on a routing engine that is down gets (reference §3.6). */
static void unreachable(struct sim_ctx *c, int slot)
{
  sim_line(c->out, "error: Could not connect to %s : No route to host", re_name(slot));
}

/* `... invoke-on all-routing-engines | other-routing-engine`: which slots, or -1 if none given. */
static int invoke_target(const struct sim_ctx *c, bool *all)
{
  *all = false;
  for (size_t i = 0; i + 1 < c->nargs; i++)
    if (strcmp(c->args[i], "invoke-on") == 0) {
      if (strncmp(c->args[i + 1], "all", 3) == 0) {
        *all = true;
        return 0;
      }
      if (strncmp(c->args[i + 1], "other", 5) == 0)
        return 1 - sim_master(c->r);
    }
  return -1;
}

int sim_show_version(struct sim_ctx *c)
{
  bool all;
  int other = invoke_target(c, &all);
  int master = sim_master(c->r);
  if (!all && other < 0) {
    version_block(c, master);
    return 0;
  }
  int rc = 0;
  for (int slot = 0; slot < 2; slot++) {
    if (!all && slot != other)
      continue;
    if (!c->r->re[slot].present)
      continue;
    if (!sim_re_up(c->r, slot, c->now)) {
      unreachable(c, slot);
      rc = 1;
      continue;
    }
    sim_line(c->out, "%s:", re_name(slot));
    sim_line(c->out, "--------------------------------------------------------------------------");
    version_block(c, slot);
    sim_line(c->out, "%s", "");
  }
  return rc;
}

int sim_show_chassis_re(struct sim_ctx *c)
{
  const struct sim_router *r = c->r;
  for (int slot = 0; slot < 2; slot++) {
    const struct sim_re *re = &r->re[slot];
    if (!re->present)
      continue;
    sim_line(c->out, "Routing Engine status:");
    sim_line(c->out, "  Slot %d:", slot);
    if (!sim_re_up(r, slot, c->now)) {
      /* A rebooting RE is present but tells nothing more. */
      sim_line(c->out, "    Current state                  Present");
      continue;
    }
    const char *role = re->master ? "Master" : "Backup";
    sim_line(c->out, "    Current state                  %s", role);
    sim_line(c->out, "    Election priority              %s (default)",
             slot == 0 ? "Master" : "Backup");
    sim_line(c->out, "    Temperature                 %2d degrees C / %d degrees F", 29 + slot,
             84 + 2 * slot);
    sim_line(c->out, "    CPU temperature             %2d degrees C / %d degrees F", 27 + slot,
             80 + 2 * slot);
    sim_line(c->out, "    DRAM                      16329 MB (16384 MB installed)");
    sim_line(c->out, "    Memory utilization          %2d percent", re->master ? 8 : 5);
    sim_line(c->out, "    5 sec CPU utilization:");
    sim_line(c->out, "      User                       0 percent");
    sim_line(c->out, "      Background                 0 percent");
    sim_line(c->out, "      Kernel                     1 percent");
    sim_line(c->out, "      Interrupt                  0 percent");
    sim_line(c->out, "      Idle                      99 percent");
    sim_line(c->out, "    Model                          RE-S-1800x4");
    sim_line(c->out, "    Serial ID                      9009%06llu",
             (unsigned long long)((r->seed * 7 + (uint64_t)slot) % 1000000));
    char start[64], up[96];
    time_t booted = (time_t)re->booted;
    struct tm tm;
    gmtime_r(&booted, &tm);
    strftime(start, sizeof start, "%Y-%m-%d %H:%M:%S UTC", &tm);
    uptime_text(c->now - re->booted, up, sizeof up);
    sim_line(c->out, "    Start time                     %s", start);
    sim_line(c->out, "    Uptime                         %s", up);
    sim_line(c->out, "    Last reboot reason             %s",
             re->reboot_reason[0] ? re->reboot_reason : "Router rebooted after a normal shutdown.");
    sim_line(c->out, "    Load averages:                 1 minute   5 minute  15 minute");
    sim_line(c->out, "                                       0.02       0.11       0.14");
  }
  return 0;
}

static void switchover_block(struct sim_ctx *c)
{
  const struct sim_router *r = c->r;
  bool synced = !(r->faults & FAULT_BACKUP_NOT_READY);
  sim_line(c->out, "Graceful switchover: %s", r->gres ? "On" : "Off");
  sim_line(c->out, "Configuration database: Ready");
  sim_line(c->out, "Kernel database: %s", synced ? "Ready" : "Synchronizing");
  if (r->peer_state_wording)
    sim_line(c->out, "Peer state: %s", synced && r->gres ? "Steady State" : "Not Ready");
  else
    sim_line(c->out, "Switchover Status: %s", synced && r->gres ? "Ready" : "Not Ready");
}

int sim_show_switchover(struct sim_ctx *c)
{
  bool all;
  int other = invoke_target(c, &all);
  int backup = 1 - sim_master(c->r);
  if (other < 0 && !all) {
    /* On the master only the mode is meaningful: the replication state lives on the backup. */
    sim_line(c->out, "Graceful switchover: %s", c->r->gres ? "On" : "Off");
    return 0;
  }
  if (!c->r->re[backup].present || !sim_re_up(c->r, backup, c->now)) {
    unreachable(c, backup);
    return 1;
  }
  sim_line(c->out, "%s:", re_name(backup));
  sim_line(c->out, "--------------------------------------------------------------------------");
  switchover_block(c);
  return 0;
}

int sim_show_task_replication(struct sim_ctx *c)
{
  static const char *const protocols[] = {"OSPF", "BGP", "MPLS", "RSVP", "LDP"};
  const struct sim_router *r = c->r;
  bool synced = !(r->faults & FAULT_BACKUP_NOT_READY);
  sim_line(c->out, "        Stateful Replication: %s", r->nsr ? "Enabled" : "Disabled");
  sim_line(c->out, "        RE mode: Master");
  if (!r->nsr)
    return 0;
  sim_line(c->out, "%s", "");
  sim_line(c->out, "    Protocol                Synchronization Status");
  for (size_t i = 0; i < ARRAY_LEN(protocols); i++)
    sim_line(c->out, "    %-24s%s", protocols[i], synced || i != 1 ? "Complete" : "NotStarted");
  return 0;
}

/* The configuration: each statement a hierarchy and a leaf. `show configuration` prints the
 * brace tree; `| display set` prints "set HIERARCHY LEAF" lines. */
struct statement {
  char hierarchy[64];
  char leaf[96];
};

static size_t configuration(const struct sim_router *r, struct statement *st)
{
  size_t n = 0;
  snprintf(st[n].hierarchy, 64, "system");
  snprintf(st[n++].leaf, sizeof st[0].leaf, "host-name %s", r->hostname);
  if (r->commit_sync) {
    snprintf(st[n].hierarchy, 64, "system commit");
    snprintf(st[n++].leaf, sizeof st[0].leaf, "synchronize");
  }
  snprintf(st[n].hierarchy, 64, "system services");
  snprintf(st[n++].leaf, sizeof st[0].leaf, "ssh");
  snprintf(st[n].hierarchy, 64, "chassis redundancy");
  snprintf(st[n++].leaf, sizeof st[0].leaf, "routing-engine 0 master");
  snprintf(st[n].hierarchy, 64, "chassis redundancy");
  snprintf(st[n++].leaf, sizeof st[0].leaf, "routing-engine 1 backup");
  if (r->gres) {
    snprintf(st[n].hierarchy, 64, "chassis redundancy");
    snprintf(st[n++].leaf, sizeof st[0].leaf, "graceful-switchover");
  }
  if (r->nsr) {
    snprintf(st[n].hierarchy, 64, "routing-options");
    snprintf(st[n++].leaf, sizeof st[0].leaf, "nonstop-routing");
  }
  snprintf(st[n].hierarchy, 64, "routing-options");
  snprintf(st[n++].leaf, sizeof st[0].leaf, "router-id 192.0.2.%llu",
           (unsigned long long)(r->seed % 250 + 1));
  return n;
}

static size_t split_words(const char *text, char words[][64], size_t max)
{
  size_t n = 0;
  for (const char *p = text; *p && n < max;) {
    while (*p == ' ')
      p++;
    size_t len = strcspn(p, " ");
    if (len == 0)
      break;
    snprintf(words[n++], 64, "%.*s", (int)len, p);
    p += len;
  }
  return n;
}

int sim_show_configuration(struct sim_ctx *c)
{
  struct statement st[16];
  size_t n = configuration(c->r, st);
  char open[8][64];
  size_t nopen = 0;
  for (size_t i = 0; i < n; i++) {
    char full[sizeof st[0].hierarchy + sizeof st[0].leaf + 1], words[12][64], hierarchy[12][64];
    if (snprintf(full, sizeof full, "%s %s", st[i].hierarchy, st[i].leaf) >= (int)sizeof full)
      continue;
    size_t nw = split_words(full, words, 12);
    size_t nh = split_words(st[i].hierarchy, hierarchy, 12);
    /* The filter: the command's words must be a prefix of the statement's words. */
    bool match = c->nargs <= nw;
    for (size_t k = 0; match && k < c->nargs; k++)
      match = strcmp(c->args[k], words[k]) == 0;
    if (!match)
      continue;
    if (c->out->display_set) {
      sim_line(c->out, "set %s", full);
      continue;
    }
    /* Levels below the filter: close what differs, open what is new, print the leaf. */
    size_t from = c->nargs < nh ? c->nargs : nh;
    size_t keep = 0;
    while (keep < nopen && from + keep < nh && strcmp(open[keep], words[from + keep]) == 0)
      keep++;
    while (nopen > keep)
      sim_line(c->out, "%*s}", (int)(4 * --nopen), "");
    for (size_t k = from + keep; k < nh && nopen < 8; k++) {
      sim_line(c->out, "%*s%s {", (int)(4 * nopen), "", words[k]);
      snprintf(open[nopen++], 64, "%s", words[k]);
    }
    size_t leaf_from = c->nargs > nh ? c->nargs : nh;
    char leaf[160] = "";
    for (size_t k = leaf_from; k < nw; k++)
      snprintf(leaf + strlen(leaf), sizeof leaf - strlen(leaf), "%s%s", k > leaf_from ? " " : "",
               words[k]);
    if (leaf[0])
      sim_line(c->out, "%*s%s;", (int)(4 * nopen), "", leaf);
  }
  while (nopen > 0)
    sim_line(c->out, "%*s}", (int)(4 * --nopen), "");
  return 0;
}

int sim_show_storage(struct sim_ctx *c)
{
  const struct sim_router *r = c->r;
  uint64_t total = r->var_total_kb, used = r->var_used_kb;
  if (r->faults & FAULT_DISK_FULL)
    used = total - total / 200;
  uint64_t avail = total > used ? total - used : 0;
  sim_line(c->out, "Filesystem              Size       Used      Avail  Capacity   Mounted on");
  sim_line(c->out, "/dev/md0.uzip            21M        21M         0B      100%%  /");
  sim_line(c->out, "devfs                   1.0K       1.0K         0B      100%%  /dev");
  sim_line(c->out, "/dev/gpt/junos           19G       8.9G       8.8G       50%%  /.mount");
  sim_line(c->out, "/dev/gpt/var           %5.1fG     %5.1fG     %5.1fG      %3llu%%  /.mount/var",
           (double)total / 1048576.0, (double)used / 1048576.0, (double)avail / 1048576.0,
           (unsigned long long)(total ? used * 100 / total : 0));
  sim_line(c->out, "tmpfs                   3.1G        36K       3.1G        0%%  /.mount/tmp");
  return 0;
}

int sim_show_alarms(struct sim_ctx *c)
{
  if (c->r->faults & FAULT_DISK_FULL) {
    sim_line(c->out, "1 alarms currently active");
    sim_line(c->out, "Alarm time               Class  Description");
    sim_line(c->out, "2026-11-23 22:14:09 UTC  Minor  re0 /var partition usage is high");
    return 0;
  }
  sim_line(c->out, "No alarms currently active");
  return 0;
}

/* The ISSU state line (UNVERIFIED: no public capture shows one on this command; the names are
 * chassisd's own where it has one, reference §1.3), so a client whose session dropped can ask
 * where the ISSU stands. */
static const char *issu_state_word(const struct sim_ctx *c)
{
  static const char *const words[PHASE_COUNT] = {
      "VALIDATE",           "BACKUP_UPGRADE",
      "BACKUP_REBOOT",      "DAEMON_ISSU_PREPARE",
      "FRU_ISSU",           "DAEMON_SWITCHOVER_PREPARE",
      "OLD_MASTER_UPGRADE", "OLD_MASTER_REBOOT",
  };
  const char *name = sim_issu_state_name(c->r, c->now);
  for (int p = 0; p < PHASE_COUNT; p++)
    if (strcmp(name, sim_phase_names[p]) == 0)
      return words[p];
  return strcmp(name, "failed") == 0 ? "ABORT" : "IDLE";
}

int sim_show_issu(struct sim_ctx *c)
{
  sim_line(c->out, "ISSU state: %s", issu_state_word(c));
  if (c->r->issu.state == ISSU_FAILED)
    sim_line(c->out, "ISSU failure: %s", c->r->issu.failure);
  sim_line(c->out, "%s", "");
  /* Reconstructed columnar layout (reference §3.7); the line cards are all online here. */
  sim_line(c->out, "Item                   Status                  Reason");
  for (int fpc = 0; fpc < 3; fpc++) {
    sim_line(c->out, "FPC %d                  Online", fpc);
    sim_line(c->out, "  PIC 0                Online");
  }
  return 0;
}

int sim_file_list(struct sim_ctx *c)
{
  const char *dir = c->nargs > 0 ? c->args[0] : "/var/tmp/";
  bool detail = c->nargs > 1 && strcmp(c->args[1], "detail") == 0;
  size_t dlen = strlen(dir);
  sim_line(c->out, "%s:", dir);
  for (size_t i = 0; i < c->r->nfiles; i++) {
    const struct sim_file *f = &c->r->files[i];
    if (strncmp(f->path, dir, dlen) != 0 && strcmp(f->path, dir) != 0)
      continue;
    const char *name = strrchr(f->path, '/') + 1;
    if (detail)
      sim_line(c->out, "-rw-r--r--  1 root  wheel  %12llu Nov 23 22:14 %s",
               (unsigned long long)f->size, name);
    else
      sim_line(c->out, "%s", name);
  }
  return 0;
}

int sim_file_checksum(struct sim_ctx *c)
{
  if (c->nargs < 2) {
    sim_line(c->out, "error: syntax error, expecting md5, sha1 or sha-256 and a path");
    return 1;
  }
  const char *method = c->args[0], *path = c->args[1];
  bool md5 = strcmp(method, "md5") == 0, sha = strcmp(method, "sha-256") == 0;
  if (!md5 && !sha) {
    sim_line(c->out, "error: syntax error: %s", method);
    return 1;
  }
  const struct sim_file *f = sim_find_file(c->r, path);
  if (f == NULL) {
    sim_line(c->out, "error: Could not resolve file: %s: No such file or directory", path);
    return 1;
  }
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  /* UNVERIFIED for sha-256: the md5 form is documented (reference §3.9), sha-256 follows it. */
  sim_line(c->out, "%s (%s) = %s", md5 ? "MD5" : "SHA256", base, md5 ? f->md5 : f->sha256);
  return 0;
}
