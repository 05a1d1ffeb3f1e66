/*
 * junos/: the console table and the parsers, on text as Junos prints it (reference §1, §3),
 * including the variants across releases: [Mon DD HH:MM:SS]: prefixes, cli timestamps, {master}
 * banners, "Peer state: Steady State", an RE that does not answer.
 */
#include "junos/junos.h"
#include "common/common.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>

/* Cleans `text` (lines separated by '\n') the way the scheduler does, into `out`. */
static size_t clean_lines(const char *text, char out[][256], const char **ptrs, size_t max)
{
  size_t n = 0;
  for (const char *p = text; *p && n < max;) {
    size_t len = strcspn(p, "\n");
    if (junos_clean_line(p, len, out[n], 256) == LINE_TEXT) {
      ptrs[n] = out[n];
      n++;
    }
    p += len + (p[len] == '\n');
  }
  return n;
}

#define CLEAN(text)                                                                                \
  char buf_[64][256];                                                                              \
  const char *L[64];                                                                               \
  size_t n = clean_lines(text, buf_, L, 64)

Test(junos, cleaning_strips_prefixes_banners_and_timestamps)
{
  char out[256];
  cr_expect_eq(junos_clean_line("[Feb 22 02:37:04]:ISSU: Validating Image", 40, out, sizeof out),
               LINE_TEXT);
  cr_expect_str_eq(out, "ISSU: Validating Image");
  cr_expect_eq(junos_clean_line("{master}", 8, out, sizeof out), LINE_NOISE);
  cr_expect_eq(junos_clean_line("Dec 16 01:33:44", 15, out, sizeof out), LINE_NOISE);
  cr_expect_eq(junos_clean_line("   \r", 4, out, sizeof out), LINE_NOISE);
  cr_expect_eq(
      junos_clean_line("Message from syslogd@ at Dec 29 19:11:57 ...", 44, out, sizeof out),
      LINE_NOISE);
  cr_expect_eq(junos_clean_line("Backup upgrade done\r", 20, out, sizeof out), LINE_TEXT);
  cr_expect_str_eq(out, "Backup upgrade done");
  /* Control characters never reach an event. */
  junos_clean_line("a\x1b[2Jb", 6, out, sizeof out);
  cr_expect_eq(strchr(out, 0x1b), NULL);
}

Test(junos, the_console_of_the_field_notes_walks_every_phase_in_order)
{
  static const struct {
    const char *line;
    enum junos_phase phase;
  } capture[] = {
      {"Chassis ISSU Check Done", PH_VALIDATE},
      {"ISSU: Validating Image", PH_VALIDATE},
      {"Using jbase-10.1R1.8", PH_COUNT},
      {"Using /var/tmp/jinstall-10.3R2.11-domestic-signed.tgz", PH_BACKUP_UPGRADE},
      {"Saving package file in /var/sw/pkg/jinstall-10.3R2.11-domestic-signed.tgz ...",
       PH_BACKUP_UPGRADE},
      {"Backup upgrade done", PH_BACKUP_REBOOT},
      {"Rebooting Backup RE", PH_BACKUP_REBOOT},
      {"GRES operational", PH_DAEMONS},
      {"[Nov 24 01:37:04]:ISSU: Preparing Daemons", PH_DAEMONS},
      {"ISSU: Starting Upgrade for FRUs", PH_FRU_UPGRADE},
      {"ISSU: Preparing for Switchover", PH_SWITCHOVER},
  };
  for (size_t i = 0; i < ARRAY_LEN(capture); i++) {
    char clean[256];
    junos_clean_line(capture[i].line, strlen(capture[i].line), clean, sizeof clean);
    struct junos_issu_class c = junos_issu_classify(clean);
    if (capture[i].phase == PH_COUNT)
      cr_expect_eq(c.event, ISSU_LINE_INFO, "%s", capture[i].line);
    else {
      cr_expect_eq(c.event, ISSU_LINE_PHASE, "%s", capture[i].line);
      cr_expect_eq(c.phase, capture[i].phase, "%s -> %s", capture[i].line,
                   junos_phase_name(c.phase));
    }
  }
  cr_expect_eq(junos_issu_classify("vn_read_compressed_block: invalid block index 550").event,
               ISSU_LINE_INFO, "the scroll's noise is not a failure");
  cr_expect_eq(junos_issu_classify("ISSU: IDLE").event, ISSU_LINE_DONE);
}

Test(junos, failures_carry_a_stable_code)
{
  struct junos_issu_class c = junos_issu_classify("mgd: error: configuration check-out failed");
  cr_expect_eq(c.event, ISSU_LINE_FAILED);
  cr_expect_str_eq(c.error_code, "validation-failed");
  c = junos_issu_classify("'reboot' keyword must be specified. Aborting ISSU");
  cr_expect_str_eq(c.error_code, "issu-aborted");
  c = junos_issu_classify("error: ISSU is already in progress");
  cr_expect_str_eq(c.error_code, "issu-refused");
  c = junos_issu_classify("Standby Routing Engine is not ready for graceful switchover.");
  cr_expect_str_eq(c.error_code, "switchover-not-ready");
}

Test(junos, issu_state_names_map_to_phases)
{
  CLEAN("ISSU state: FRU_ISSU\n\nItem    Status\nFPC 0   Online\n");
  cr_expect_eq(junos_issu_state(L, n), PH_FRU_UPGRADE);

  const char *idle[] = {"ISSU state: IDLE"};
  cr_expect_eq(junos_issu_state(idle, 1), PH_DONE);
  const char *abort_[] = {"ISSU state: ABORT", "ISSU failure: error: ISSU Aborted"};
  cr_expect_eq(junos_issu_state(abort_, 2), PH_FAILED);
  const char *none[] = {"Item Status Reason FPC 0 Online"};
  cr_expect_eq(junos_issu_state(none, 1), PH_COUNT, "no state line: not known");
}

Test(junos, routing_engines_with_the_second_header_and_a_rebooting_re)
{
  CLEAN("Routing Engine status:\n  Slot 0:\n    Current state                  Master\n"
        "    Election priority              Master (default)\nRouting Engine status:\n"
        "  Slot 1:\n    Current state                  Backup\n");
  struct junos_re_status s;
  cr_assert(junos_parse_routing_engines(L, n, &s));
  cr_expect_eq(s.master, 0);
  cr_expect(s.re[1].up && s.re[1].backup);
  const char *rebooting[] = {"Routing Engine status:", "Slot 0:", "Current state Backup",
                             "Slot 1:", "Current state Present"};
  cr_assert(junos_parse_routing_engines(rebooting, 5, &s));
  cr_expect_eq(s.master, -1);
  cr_expect(s.re[1].present && !s.re[1].up);
}

Test(junos, versions_per_re_and_an_re_that_does_not_answer)
{
  CLEAN("{master}\nre0:\n-----------------------------------\nHostname: mx\nModel: mx480\n"
        "Junos: 17.3R3-S8.1\n\nre1:\n-----------------------------------\nHostname: mx\n"
        "Junos: 17.3R3-S8.1\n");
  struct junos_versions v;
  cr_assert(junos_parse_versions(L, n, &v));
  cr_expect_str_eq(v.version[0], "17.3R3-S8.1");
  cr_expect_str_eq(v.version[1], "17.3R3-S8.1");
  const char *down[] = {"error: Could not connect to re0 : No route to host",
                        "re1:", "Junos: 23.4R2-S3.7"};
  junos_parse_versions(down, 3, &v);
  cr_expect(v.unreachable[0]);
  cr_expect_str_eq(v.version[0], "");
  cr_expect_str_eq(v.version[1], "23.4R2-S3.7");
  const char *old[] = {"re0:", "JUNOS Base OS boot [9.0-20071210.0]"};
  junos_parse_versions(old, 2, &v);
  cr_expect_str_eq(v.version[0], "9.0-20071210.0");
}

Test(junos, switchover_readiness_in_both_wordings)
{
  struct junos_switchover s;
  const char *a[] = {"Graceful switchover: On", "Configuration database: Ready",
                     "Kernel database: Ready", "Switchover Status: Ready"};
  junos_parse_switchover(a, 4, &s);
  cr_expect(s.found && s.gres_on && s.kernel_ready && s.ready);
  const char *b[] = {"Graceful switchover: On", "Kernel database: Ready",
                     "Peer state: Steady State"};
  junos_parse_switchover(b, 3, &s);
  cr_expect(s.ready);
  const char *c[] = {"Graceful switchover: On", "Kernel database: Synchronizing",
                     "Switchover Status: Not Ready"};
  junos_parse_switchover(c, 3, &s);
  cr_expect(!s.kernel_ready && !s.ready);
}

Test(junos, master_switch_check_ready_holddown_and_not_ready)
{
  unsigned hold;
  const char *ready[] = {"Switchover Ready"};
  cr_expect_eq(junos_parse_switch_check(ready, 1, &hold), SWITCH_READY);
  const char *held[] = {"Not ready for mastership switch, try after 239 secs."};
  cr_expect_eq(junos_parse_switch_check(held, 1, &hold), SWITCH_HOLDDOWN);
  cr_expect_eq(hold, 239);
  const char *no[] = {"warning: Traffic will be interrupted while the PFE is re-initialized",
                      "Standby Routing Engine is not ready for graceful switchover."};
  cr_expect_eq(junos_parse_switch_check(no, 2, &hold), SWITCH_NOT_READY);
}

/* Sizes no router prints but router input can hold (found by fuzz_junos under UBSan: a double
 * cast to unsigned long long out of range is undefined): a size too large saturates, one that is
 * not a size at all (negative, NaN) reads as no space. */
Test(junos, storage_size_out_of_range_is_defined)
{
  static const struct {
    const char *avail;
    unsigned long long kb;
  } cases[] = {
      {"1e30G", ULLONG_MAX},
      {"9e999", ULLONG_MAX},
      {"inf", ULLONG_MAX},
      {"1e300T", ULLONG_MAX},
      {"nan", 0},
      {"-5G", 0},
      {"-inf", 0},
      {"8.8G", 9227468},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char line[160];
    snprintf(line, sizeof line, "/dev/gpt/var  9.8G  9.7G  %s  99%%  /.mount/var", cases[i].avail);
    const char *lines[] = {line};
    struct junos_storage st;
    junos_parse_storage(lines, 1, &st);
    cr_expect(st.found, "%s", line);
    cr_expect_eq(st.avail_kb, cases[i].kb, "%s: %llu KB, expected %llu", cases[i].avail,
                 st.avail_kb, cases[i].kb);
  }
}

Test(junos, replication_config_storage_alarms_checksum)
{
  bool master;
  const char *rep[] = {"Stateful Replication: Enabled", "RE mode: Master"};
  cr_expect(junos_parse_replication(rep, 2, &master) && master);
  const char *cfg[] = {"set chassis redundancy graceful-switchover",
                       "set routing-options nonstop-routing"};
  struct junos_config c;
  junos_parse_config(cfg, 2, &c);
  cr_expect(c.gres && c.nsr && !c.commit_sync);
  CLEAN("Filesystem              Size       Used      Avail  Capacity   Mounted on\n"
        "/dev/md0.uzip            21M        21M         0B      100%  /\n"
        "/dev/gpt/junos           19G       8.9G       8.8G       50%  /.mount\n"
        "/dev/gpt/var            9.8G       9.7G       0.1G       99%  /.mount/var\n");
  struct junos_storage st;
  junos_parse_storage(L, n, &st);
  cr_expect(st.found);
  cr_expect_str_eq(st.mount, "/.mount/var");
  cr_expect_eq(st.capacity_pct, 99);
  struct junos_alarms before, after;
  const char *none[] = {"No alarms currently active"};
  junos_parse_alarms(none, 1, &before);
  cr_expect(before.found && before.count == 0);
  const char *one[] = {"1 alarms currently active", "Alarm time               Class  Description",
                       "2024-08-21 10:18:30 EDT  Minor  VMHost 1 Boot from alternate disk"};
  junos_parse_alarms(one, 3, &after);
  char first[128];
  cr_expect_eq(junos_alarms_new(&before, &after, first, sizeof first), 1);
  cr_expect_str_eq(first, "VMHost 1 Boot from alternate disk");
  cr_expect_eq(junos_alarms_new(&after, &after, first, sizeof first), 0);
  char hex[80];
  const char *sum[] = {"SHA256 (/var/tmp/p.tgz) = "
                       "0B6DC6D308B85CB023B55CBFEA3A4A2C207F9CEE872F93C7A38C0E5FB1A15EC9"};
  cr_expect_eq(junos_parse_checksum(sum, 1, hex, sizeof hex), CHECKSUM_FOUND);
  cr_expect_str_eq(hex, "0b6dc6d308b85cb023b55cbfea3a4a2c207f9cee872f93c7a38c0e5fb1a15ec9");
  const char *missing[] = {"error: Could not resolve file: /var/tmp/p.tgz: No such file or "
                           "directory"};
  cr_expect_eq(junos_parse_checksum(missing, 1, hex, sizeof hex), CHECKSUM_MISSING);
}

Test(junos, the_issu_command_never_carries_reboot_and_skip_is_no_old_master_upgrade)
{
  char cmd[256];
  const char *opts[] = {"no-validate"};
  junos_issu_command(cmd, sizeof cmd, "/var/tmp/p.tgz", opts, 1, JUNOS_OLD_MASTER_REBOOT);
  cr_expect_str_eq(cmd, "request system software in-service-upgrade /var/tmp/p.tgz no-validate");
  junos_issu_command(cmd, sizeof cmd, "/var/tmp/p.tgz", NULL, 0, JUNOS_OLD_MASTER_SKIP);
  cr_expect_str_eq(
      cmd, "request system software in-service-upgrade /var/tmp/p.tgz no-old-master-upgrade");
}
