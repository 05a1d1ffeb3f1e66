/*
 * junos/'s text side: line cleaning, the ISSU console table and the configuration checks, on
 * text as Junos prints it (reference §1, §3): [Mon DD HH:MM:SS]: prefixes, cli timestamps,
 * {master} banners. The `| display xml` facts are tested in test_junos_facts.c and
 * test_junos_captures.c.
 */
#include "junos/junos.h"
#include "common/common.h"

#include <criterion/criterion.h>
#include <string.h>

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

Test(junos, configuration_checks_read_display_set)
{
  const char *cfg[] = {"set chassis redundancy graceful-switchover",
                       "set routing-options nonstop-routing"};
  struct junos_config c;
  junos_parse_config(cfg, 2, &c);
  cr_expect(c.gres && c.nsr && !c.commit_sync);
}

Test(junos, an_inactive_statement_is_not_configured)
{
  /* Juniper's `show | display set`: the set lines, then `deactivate P` for each inactive P. */
  const char *own[] = {"set chassis redundancy graceful-switchover",
                       "deactivate chassis redundancy graceful-switchover"};
  const char *line = NULL;
  cr_expect_eq(junos_config_statement(own, 2, "chassis redundancy graceful-switchover", &line),
               JUNOS_CONFIG_INACTIVE);
  cr_expect_str_eq(line, own[1]);
  const char *above[] = {"set chassis redundancy graceful-switchover",
                         "set chassis redundancy routing-engine 0 master",
                         "deactivate chassis redundancy"};
  cr_expect_eq(junos_config_statement(above, 3, "chassis redundancy graceful-switchover", NULL),
               JUNOS_CONFIG_INACTIVE);
  /* A sibling whose name starts the same is not a level above. */
  const char *sibling[] = {"set system commit synchronize", "deactivate system commit-x",
                           "deactivate system commit synchronize-foo"};
  cr_expect_eq(junos_config_statement(sibling, 3, "system commit synchronize", NULL),
               JUNOS_CONFIG_ACTIVE);
  const char *text[] = {"set routing-options nonstop-routing", "inactive: nonstop-routing;"};
  cr_expect_eq(junos_config_statement(text, 2, "routing-options nonstop-routing", NULL),
               JUNOS_CONFIG_INACTIVE);
  struct junos_config c;
  junos_parse_config(own, 2, &c);
  cr_expect_not(c.gres, "inactive is not configured");
  cr_expect_eq(junos_config_statement(own, 0, "chassis redundancy graceful-switchover", NULL),
               JUNOS_CONFIG_ABSENT);
}
