/*
 * junos_facts.h on inputs written here: the shapes around the XML that captures show one at a
 * time (prompt, timestamp, echoed command, BOM, CRLF, namespaces), what a hostile or cut reply
 * may hold, the release rule, alarms against a baseline, and the commands issu-fleet types.
 * test_junos_captures.c checks the same parsers on the real outputs.
 */
#include "junos/junos_facts.h"
#include "common/common.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits `text` into cleaned lines as the scheduler keeps them. */
struct lines {
  char buf[256][1024];
  const char *l[256];
  size_t n;
};

static struct lines *split(const char *text)
{
  static struct lines L;
  L.n = 0;
  for (const char *p = text; *p && L.n < 256;) {
    size_t len = strcspn(p, "\n");
    if (junos_clean_line(p, len, L.buf[L.n], sizeof L.buf[L.n]) == LINE_TEXT) {
      L.l[L.n] = L.buf[L.n];
      L.n++;
    }
    p += len + (p[len] == '\n');
  }
  return &L;
}

#define DUAL_RE                                                                                    \
  "<route-engine-information xmlns=\"http://xml.juniper.net/junos/21.4R3/junos-chassis\">\r\n"     \
  "<route-engine><slot>0</slot><mastership-state>backup</mastership-state>\r\n"                    \
  "<model>RE-S-X6-64G</model><up-time junos:seconds=\"120\">2 minutes</up-time></route-engine>\n"  \
  "<route-engine><slot>1</slot><mastership-state>master</mastership-state>\n"                      \
  "<model>RE-S-X6-64G</model></route-engine></route-engine-information>\n"

Test(junos_facts, a_reply_is_read_through_prompts_timestamps_bom_crlf_and_namespaces)
{
  /* The echoed command, a cli timestamp, a BOM, an undeclared junos: prefix, CRLF, {backup}. */
  struct lines *L = split("user@r1> show chassis routing-engine | display xml\n"
                          "Dec 16 01:33:44\n"
                          "\xEF\xBB\xBF" DUAL_RE "\n{backup}\nuser@r1> \n");
  struct junos_routing_engines r;
  cr_assert(junos_xml_routing_engines(L->l, L->n, &r), "%s", r.reply.error);
  cr_expect(r.reply.xml);
  cr_expect_eq(r.count, 2);
  cr_expect_eq(r.master, 1);
  cr_expect_eq(r.re[0].mastership, JUNOS_RE_BACKUP);
  cr_expect_eq(r.re[0].uptime_s, 120);
  cr_expect(r.re[0].vmhost && r.re[1].vmhost, "RE-S-X6 is a VM-host RE");
  cr_expect_str_eq(r.re[1].model, "RE-S-X6-64G");
}

Test(junos_facts, an_rpc_reply_with_a_default_namespace_and_an_xml_declaration)
{
  struct lines *L = split("<?xml version=\"1.0\" encoding=\"us-ascii\"?>\n"
                          "<rpc-reply xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\" "
                          "xmlns:junos=\"http://xml.juniper.net/junos/19.2R1/junos\">\n" DUAL_RE
                          "<cli><banner>{master:1}</banner></cli></rpc-reply>\n]]>]]>\n");
  struct junos_routing_engines r;
  cr_assert(junos_xml_routing_engines(L->l, L->n, &r), "%s", r.reply.error);
  cr_expect_eq(r.master, 1);
  cr_expect_eq(r.reply.banner, JUNOS_PROMPT_MASTER);
}

Test(junos_facts, the_other_re_not_answering_is_named_with_the_routers_words)
{
  struct lines *L = split("<rpc-reply>\n<rpc-error><error-severity>error</error-severity>\n"
                          "<error-message>\nCould not connect to re1 : No route to host\n"
                          "</error-message></rpc-error>\n<multi-routing-engine-results>\n"
                          "<multi-routing-engine-item><re-name>re0</re-name>\n"
                          "<software-information><junos-version>21.4R3-S3.4</junos-version>"
                          "</software-information></multi-routing-engine-item>\n"
                          "</multi-routing-engine-results></rpc-reply>\n");
  struct junos_versions_xml v;
  cr_assert(junos_xml_versions(L->l, L->n, &v));
  cr_expect(v.multi);
  cr_expect(v.re[0].answer.answered);
  cr_expect_str_eq(v.re[0].release, "21.4R3-S3.4");
  cr_expect(v.re[1].answer.listed && !v.re[1].answer.answered);
  cr_expect_str_eq(v.re[1].answer.error, "Could not connect to re1 : No route to host");
  cr_expect_str_eq(v.reply.error, "");
}

Test(junos_facts, warnings_are_not_failures_and_other_errors_are_the_replys)
{
  struct lines *L = split("<rpc-reply><rpc-error><error-severity>warning</error-severity>"
                          "<error-message>re0 is busy</error-message></rpc-error>\n"
                          "<rpc-error><error-severity>error</error-severity>"
                          "<error-message>syntax error</error-message></rpc-error></rpc-reply>\n");
  struct junos_versions_xml v;
  cr_expect_not(junos_xml_versions(L->l, L->n, &v));
  cr_expect_not(v.re[0].answer.listed);
  cr_expect_str_eq(v.reply.error, "syntax error");
}

Test(junos_facts, the_master_only_refusal_in_text_and_in_xml)
{
  struct lines *L =
      split("error: Aborted! This command can only be used on the master routing engine.\n");
  struct junos_storage_xml st;
  cr_expect_not(junos_xml_storage(L->l, L->n, &st));
  cr_expect(st.reply.not_master);
  L = split("<rpc-reply><output>\nAborted! This command can only be used on the master routing "
            "engine.</output>\n</rpc-reply>\n");
  struct junos_alarm_list a;
  cr_expect_not(junos_xml_alarms(L->l, L->n, &a));
  cr_expect(a.reply.not_master);
  cr_expect(junos_is_not_master_refusal(L->l, L->n));
}

Test(junos_facts, a_version_too_long_for_the_field_is_missing_never_cut)
{
  char big[600];
  memset(big, 'R', 300);
  big[300] = '\0';
  char xml[900];
  snprintf(xml, sizeof xml,
           "<software-information><junos-version>21.4%s</junos-version></software-information>\n",
           big);
  struct lines *L = split(xml);
  struct junos_versions_xml v;
  cr_expect_not(junos_xml_versions(L->l, L->n, &v));
  cr_expect_str_eq(v.re[0].release, "");
}

Test(junos_facts, numbers_out_of_range_are_no_numbers)
{
  struct lines *L = split("<system-storage-information><filesystem>"
                          "<filesystem-name>/dev/gpt/var</filesystem-name>"
                          "<total-blocks>99999999999999999999999</total-blocks>"
                          "<used-blocks>1</used-blocks><available-blocks>1</available-blocks>"
                          "<used-percent> 7</used-percent><mounted-on>/var</mounted-on>"
                          "</filesystem><filesystem><filesystem-name>x</filesystem-name>"
                          "<total-blocks>4096</total-blocks><available-blocks>2048"
                          "</available-blocks><used-percent>250</used-percent>"
                          "<mounted-on>/.mount/var</mounted-on></filesystem>"
                          "<filesystem><filesystem-name>/dev/gpt/junos</filesystem-name>"
                          "<total-blocks>4096</total-blocks><available-blocks>2048"
                          "</available-blocks><used-percent> 50</used-percent>"
                          "<mounted-on>/.mount</mounted-on></filesystem>"
                          "</system-storage-information>\n");
  struct junos_storage_xml st;
  cr_assert(junos_xml_storage(L->l, L->n, &st));
  /* /var's size overflows and /.mount/var is 250% used: neither is read; /.mount is. */
  cr_expect_str_eq(st.re[0].fs.mount, "/.mount");
  cr_expect_eq(st.re[0].fs.used_pct, 50);
  cr_expect_eq(st.re[0].fs.avail_kb, 1024);
  L = split("<route-engine><slot>0</slot><mastership-state>master</mastership-state>"
            "<up-time junos:seconds=\"1e300\">x</up-time></route-engine>\n");
  struct junos_routing_engines r;
  cr_assert(junos_xml_routing_engines(L->l, L->n, &r));
  cr_expect_eq(r.re[0].uptime_s, -1);
}

Test(junos_facts, a_dtd_is_refused_so_no_entity_expands)
{
  struct lines *L = split("<!DOCTYPE a [<!ENTITY x \"xxxxxxxx\"><!ENTITY y \"&x;&x;&x;&x;\">]>\n"
                          "<alarm-information><alarm-summary><active-alarm-count>&y;"
                          "</active-alarm-count></alarm-summary></alarm-information>\n");
  struct junos_alarm_list a;
  cr_expect_not(junos_xml_alarms(L->l, L->n, &a));
  cr_expect(strstr(a.reply.error, "DTD") != NULL, "%s", a.reply.error);
}

Test(junos_facts, a_reply_cut_short_still_yields_what_arrived)
{
  struct lines *L = split("<rpc-reply><route-engine-information><route-engine><slot>0</slot>"
                          "<mastership-state>master</mastership-state></route-engine>\n"
                          "<route-engine><slot>1</slot><mastership-st\n");
  struct junos_routing_engines r;
  cr_assert(junos_xml_routing_engines(L->l, L->n, &r));
  cr_expect_eq(r.master, 0);
  cr_expect_neq(r.re[1].mastership, JUNOS_RE_BACKUP);
}

Test(junos_facts, two_res_that_both_say_master_give_no_master)
{
  struct lines *L = split("<rpc-reply><route-engine-information><route-engine><slot>0</slot>"
                          "<mastership-state>master</mastership-state></route-engine>\n"
                          "<route-engine><slot>1</slot><mastership-state>master"
                          "</mastership-state></route-engine></route-engine-information>"
                          "</rpc-reply>\n");
  struct junos_routing_engines r;
  cr_assert(junos_xml_routing_engines(L->l, L->n, &r));
  cr_expect(r.two_masters);
  cr_expect_eq(r.master, -1, "never re0 by default");
}

Test(junos_facts, no_reply_at_all)
{
  struct junos_routing_engines r;
  cr_expect_not(junos_xml_routing_engines(NULL, 0, &r));
  cr_expect_eq(r.master, -1);
  struct junos_checksum_xml c;
  cr_expect_not(junos_xml_checksum(NULL, 0, &c));
  cr_expect_eq(c.result, CHECKSUM_UNPARSED);
}

Test(junos_facts, switchover_readiness_needs_the_routers_ready)
{
  struct lines *L = split("<switchover-information><switchover-state>On</switchover-state>"
                          "<configuration-state><configuration-ready/></configuration-state>"
                          "<replication-state><replication-complete/></replication-state>"
                          "</switchover-information><gresreadiness-status><switchover-status/>"
                          "<output>Ready</output></gresreadiness-status>\n");
  struct junos_switchover_xml s;
  cr_assert(junos_xml_switchover(L->l, L->n, &s));
  cr_expect(s.ready && s.gres_on && s.config_ready && s.replication_ready);
  L = split("<switchover-information><switchover-state>Off</switchover-state>"
            "</switchover-information>\n");
  cr_assert(junos_xml_switchover(L->l, L->n, &s));
  cr_expect_not(s.ready);
  cr_expect_not(s.gres_on);
}

Test(junos_facts, checksums_sha256_and_a_missing_file)
{
  struct lines *L = split("<checksum-information><file-checksum>"
                          "<computation-method>SHA256</computation-method>"
                          "<input-file>/var/tmp/p.tgz</input-file><checksum>"
                          "4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C4F7C"
                          "</checksum></file-checksum></checksum-information>\n");
  struct junos_checksum_xml c;
  cr_assert(junos_xml_checksum(L->l, L->n, &c));
  cr_expect_str_eq(c.hex, "4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c4f7c");
  L = split("<rpc-reply><rpc-error><error-severity>error</error-severity><error-message>\n"
            "error: stat: /var/tmp/p.tgz: No such file or directory</error-message>"
            "</rpc-error></rpc-reply>\n");
  cr_expect_not(junos_xml_checksum(L->l, L->n, &c));
  cr_expect_eq(c.result, CHECKSUM_MISSING);
}

/* ---- releases ---- */

Test(junos_facts, one_release_in_two_spellings)
{
  cr_expect(junos_same_release("15.1F5.15-C1.12", "15.1F5.15"));
  cr_expect(junos_same_release("15.1F5.15", "15.1F5.15-C1.12"));
  cr_expect(junos_same_release("21.4R3-S3.4", "21.4R3-S3.4"));
  cr_expect_not(junos_same_release("21.4R3-S3.4", "21.4R3-S3.5"));
  cr_expect_not(junos_same_release("21.4R3-S3.4", "21.4R3"));
  cr_expect_not(junos_same_release("15.1F5.15", "15.1F5.16-C1.12"));
  cr_expect_not(junos_same_release("", ""));
  cr_expect_not(junos_same_release(NULL, "19.2R1.8"));
  /* Two long strings that share a prefix are two releases (review B18). */
  char a[300], b[300];
  memset(a, '1', 299);
  a[299] = '\0';
  memcpy(b, a, sizeof b);
  b[298] = '2';
  cr_expect_not(junos_same_release(a, b));
}

Test(junos_facts, a_target_matches_the_release_it_names)
{
  static const struct {
    const char *printed, *target;
    bool match;
  } cases[] = {
      {"19.2R1.8", "19.2R1.8", true},
      {"19.2R1.8", "19.2R1", true},
      {"19.2R10.1", "19.2R1", false},
      {"21.4R3-S3.4", "21.4R3-S3", true},
      {"21.4R3-S3.4", "21.4R3-S3.4", true},
      {"21.4R3-S3.4", "21.4R3", false},
      {"21.4R3-S3.4", "21.4", false},
      {"15.1F5.15-C1.12", "15.1F5.15", true},
      {"15.1F5.15-C1.12", "15.1F5", true},
      {"15.1F5.15", "15.1F5.15-C1.12", true},
      {"14.2-20141220.0", "14.2-20141220.0", true},
      {"14.2-20141220.0", "14.2", false},
      {"14.2-20141220.0", "14.2-20141220", false},
      {"9.1S3.5", "9.1S3", true},
      {"9.1S3.5", "9.1S3.5", true},
      {"12.3X48-D10.5", "12.3X48-D10", true},
      {"18.3I20180716_1639", "18.3I20180716", false},
      {"19.2R1.8", "", false},
      {"", "19.2R1", false},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++)
    cr_expect_eq(junos_release_matches(cases[i].printed, cases[i].target), cases[i].match,
                 "%s vs target %s", cases[i].printed, cases[i].target);
}

/* ---- alarms ---- */

static void alarms_from(const char *text, struct junos_alarm_list *a)
{
  struct lines *L = split(text);
  cr_assert(junos_xml_alarms(L->l, L->n, a), "%s", text);
}

#define ALARM(cls, desc)                                                                           \
  "<alarm-detail><alarm-time>2024-08-21 10:18:30 EDT</alarm-time><alarm-class>" cls                \
  "</alarm-class><alarm-description>" desc "</alarm-description></alarm-detail>"

Test(junos_facts, new_alarms_are_those_neither_in_the_baseline_nor_expected)
{
  struct junos_alarm_list before, after;
  alarms_from("<alarm-information>" ALARM(
                  "Minor", "Rescue configuration is not set") "</alarm-information>\n",
              &before);
  alarms_from("<alarm-information><alarm-summary><active-alarm-count>3</active-alarm-count>"
              "</alarm-summary>" ALARM("Minor", "Rescue configuration is not set")
                  ALARM("Minor", JUNOS_ALARM_BACKUP_RE_ACTIVE)
                      ALARM("Major", "FPC 4 PIC 0 Failure") "</alarm-information>\n",
              &after);
  cr_expect_eq(after.reported, 3);
  cr_expect_eq(junos_alarms_count(&after, JUNOS_ALARM_MAJOR), 1);
  size_t fresh[4];
  /* RE1 left master: Backup RE Active is expected. */
  const char *expected[] = {JUNOS_ALARM_BACKUP_RE_ACTIVE};
  size_t k = junos_alarms_fresh(&before, &after, expected, 1, fresh, ARRAY_LEN(fresh));
  cr_assert_eq(k, 1);
  cr_expect_str_eq(after.a[fresh[0]].description, "FPC 4 PIC 0 Failure");
  /* RE0 master again: the same alarm is new. */
  k = junos_alarms_fresh(&before, &after, NULL, 0, fresh, ARRAY_LEN(fresh));
  cr_expect_eq(k, 2);
  /* A class change is a new alarm. */
  alarms_from("<alarm-information>" ALARM(
                  "Major", "Rescue configuration is not set") "</alarm-information>\n",
              &after);
  cr_expect_eq(junos_alarms_fresh(&before, &after, NULL, 0, fresh, 0), 1);
}

Test(junos_facts, more_alarms_than_kept_are_said_to_be_cut)
{
  char *xml = NULL;
  size_t len = 0, cap = 0;
  text_appendf(&xml, &len, &cap, "<alarm-information>");
  for (int i = 0; i < JUNOS_ALARMS_MAX + 3; i++)
    text_appendf(&xml, &len, &cap, ALARM("Minor", "PEM %d Absent") "\n", i); /* lines < 1 KB */
  text_appendf(&xml, &len, &cap, "</alarm-information>\n");
  struct junos_alarm_list a;
  alarms_from(xml, &a);
  cr_expect(a.cut);
  cr_expect_eq(a.n, JUNOS_ALARMS_MAX);
  free(xml);
}

/* ---- text that stays text ---- */

Test(junos_facts, prompt_banners)
{
  cr_expect_eq(junos_prompt_of("{master}", 8), JUNOS_PROMPT_MASTER);
  cr_expect_eq(junos_prompt_of("{master:0}\r\n", 12), JUNOS_PROMPT_MASTER);
  cr_expect_eq(junos_prompt_of("  {backup}", 10), JUNOS_PROMPT_BACKUP);
  cr_expect_eq(junos_prompt_of("{backup:1}", 10), JUNOS_PROMPT_BACKUP);
  cr_expect_eq(junos_prompt_of("{backup:x}", 10), JUNOS_PROMPT_NONE);
  cr_expect_eq(junos_prompt_of("{master}x", 9), JUNOS_PROMPT_NONE);
  cr_expect_eq(junos_prompt_of("{maste}", 7), JUNOS_PROMPT_NONE);
  cr_expect_eq(junos_prompt_of("", 0), JUNOS_PROMPT_NONE);
}

Test(junos_facts, switch_replies_and_the_pending_install)
{
  unsigned hold;
  const char *line;
  struct lines *L =
      split("Command aborted. Not ready for mastership switch, try after 99999999999 secs.\n");
  cr_expect_eq(junos_parse_switch_reply(L->l, L->n, &hold, &line), SWITCH_REPLY_UNKNOWN,
               "a hold-down beyond a day is no number");
  L = split("warning: Traffic will be interrupted while the PFE is re-initialized\n"
            "Standby Routing Engine is not ready for graceful switchover.\n");
  cr_expect_eq(junos_parse_switch_reply(L->l, L->n, &hold, &line), SWITCH_REPLY_NOT_READY);
  L = split("Switchover Ready\n");
  cr_expect_eq(junos_parse_switch_reply(L->l, L->n, &hold, NULL), SWITCH_REPLY_READY);
  L = split("Reboot consistency check bypassed - jinstall 10.3R2.11 will complete installation "
            "upon reboot\n");
  cr_expect(junos_pending_install(L->l, L->n, &line));
  cr_expect(strstr(line, "jinstall 10.3R2.11") != NULL);
  L = split("Shutdown NOW!\n");
  cr_expect_not(junos_pending_install(L->l, L->n, NULL));
}

/* ---- commands ---- */

Test(junos_facts, issu_commands_for_normal_and_vmhost_res)
{
  char buf[256];
  const char *opts[] = {"no-tcp-syn-check"};
  cr_assert(junos_issu_command_for(buf, sizeof buf, "/var/tmp/p.tgz", opts, 1,
                                   JUNOS_OLD_MASTER_REBOOT, false));
  cr_expect_str_eq(buf, "request system software in-service-upgrade /var/tmp/p.tgz reboot "
                        "no-tcp-syn-check");
  cr_assert(junos_issu_command_for(buf, sizeof buf, "/var/tmp/p.tgz", NULL, 0,
                                   JUNOS_OLD_MASTER_LEAVE, true));
  cr_expect_str_eq(buf, "request vmhost software in-service-upgrade /var/tmp/p.tgz");
  cr_assert(junos_issu_command_for(buf, sizeof buf, "/var/tmp/p.tgz", NULL, 0,
                                   JUNOS_OLD_MASTER_SKIP, true));
  cr_expect_str_eq(buf, "request vmhost software in-service-upgrade /var/tmp/p.tgz "
                        "no-old-master-upgrade");
  /* A command that does not fit is not sent half. */
  cr_expect_not(
      junos_issu_command_for(buf, 40, "/var/tmp/p.tgz", opts, 1, JUNOS_OLD_MASTER_REBOOT, false));
  cr_expect_str_eq(buf, "");
}

Test(junos_facts, reboot_and_show_commands)
{
  char buf[64];
  cr_assert(junos_reboot_command(buf, sizeof buf, false, true));
  cr_expect_str_eq(buf, "request system reboot other-routing-engine");
  cr_assert(junos_reboot_command(buf, sizeof buf, true, true));
  cr_expect_str_eq(buf, "request vmhost reboot routing-engine other");
  cr_assert(junos_reboot_command(buf, sizeof buf, true, false));
  cr_expect_str_eq(buf, "request vmhost reboot");
  cr_expect_not(junos_reboot_command(buf, 10, false, false));
  cr_assert(junos_checksum_command(buf, sizeof buf, "/var/tmp/p.tgz", false));
  cr_expect_str_eq(buf, "file checksum sha-256 /var/tmp/p.tgz | display xml");
  cr_expect_str_eq(junos_show_command(JUNOS_SHOW_STORAGE),
                   "show system storage invoke-on all-routing-engines | display xml");
  cr_expect(junos_model_is_vmhost("re-s-1600x8"));
  cr_expect_not(junos_model_is_vmhost("RE-S-1800x4"));
  cr_expect_not(junos_model_is_vmhost(NULL));
}
