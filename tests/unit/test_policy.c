/*
 * policies: the policy schema, value checks, defaults, and the CLI-safety rules.
 */
#define _DEFAULT_SOURCE /* timegm */
#include "helpers.h"

#include <stdlib.h>

Test(policy, durations_take_units_in_decreasing_order)
{
  static const struct {
    const char *text;
    long long seconds; /* -1: refused */
  } cases[] = {
      {"90s", 90}, {"15m", 900},       {"2h", 7200}, {"1h30m", 5400}, {"1d2h", 93600},
      {"0", 0},    {"1h30m15s", 5415}, {"15", -1},   {"30m1h", -1},   {"1.5h", -1},
      {"-5m", -1}, {"", -1},           {"5 m", -1},  {"1hh", -1},     {"m", -1},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    uint64_t s = 0;
    int rc = policy_parse_duration(cases[i].text, &s);
    if (cases[i].seconds < 0)
      cr_expect_lt(rc, 0, "'%s' should be refused", cases[i].text);
    else {
      cr_expect_eq(rc, 0, "'%s' should parse", cases[i].text);
      cr_expect_eq(s, (uint64_t)cases[i].seconds, "'%s' = %llu", cases[i].text,
                   (unsigned long long)s);
    }
  }
}

Test(policy, the_example_policy_loads_with_every_value)
{
  struct policy *p = NULL;
  struct diag d = {0};
  cr_assert_eq(policy_load(ISSU_SOURCE_DIR "/examples/fleet/rollout.yaml", &p, &d), 0, "%s",
               d.count ? d.lines[0] : "");
  cr_expect_str_eq(p->target.version, "23.4R2-S3.7");
  cr_expect_eq(p->issu.options, ISSU_OPT_NO_TCP_SYN_CHECK);
  cr_expect_eq(p->issu.timeouts_s[TIMEOUT_VALIDATE], 900);
  cr_expect_eq(p->waves.canary.kind, AMOUNT_COUNT);
  cr_expect_eq(p->waves.serial.count, 2);
  cr_expect_eq(p->waves.serial.items[1].kind, AMOUNT_PERCENT);
  cr_expect_eq(p->waves.serial.items[1].value, 25);
  cr_expect_eq(p->waves.soak_s, 900);
  cr_expect_eq(p->limits.max_parallel, 8);
  cr_expect_eq(p->limits.per.count, 2);
  cr_expect_str_eq(p->limits.exclusive.items[0].name, "pair");
  cr_expect_eq(p->window.days, (1u << 5) | (1u << 6));
  cr_expect_eq(p->window.start_min, 60);
  cr_expect_eq(p->failures.max_failed, 2);
  policy_free(p);
}

Test(policy, defaults_apply_when_keys_are_absent)
{
  struct policy *p = policy_ok(POLICY_TARGET);
  cr_expect_eq(p->issu.old_master, OLD_MASTER_REBOOT);
  cr_expect(p->issu.switchback);
  cr_expect_eq(p->issu.timeouts_s[TIMEOUT_DEVICE], 7200);
  cr_expect_eq(p->waves.mode, MODE_WAVES);
  cr_expect_eq(p->waves.canary.kind, AMOUNT_NONE);
  cr_expect_eq(p->estimate_s, 2400);
  cr_expect_eq(p->failures.max_fail_percentage, 100);
  cr_expect_not(p->window.set);
  policy_free(p);
}

Test(policy, values_that_reach_the_router_cli_are_strictly_checked)
{
  static const char *const bad_packages[] = {
      "/var/tmp/a;reboot.tgz", "/var/tmp/a|b.tgz", "/var/tmp/\\\"a\\\".tgz", "/var/tmp/a b.tgz",
      "/var/tmp/a\\nb.tgz",    "var/tmp/a.tgz",    "/var/tmp/../etc/x",      "/var/tmp/$(x).tgz",
  };
  for (size_t i = 0; i < ARRAY_LEN(bad_packages); i++) {
    char *yaml = xasprintf("target: {version: 23.4R2, package: \"%s\"}\n", bad_packages[i]);
    char *e = policy_error(yaml);
    cr_expect(strstr(e, "target.package:") && strstr(e, "is refused"), "%s -> %s", bad_packages[i],
              e);
    free(e);
    free(yaml);
  }
  char *e = policy_error(
      "target: {version: \"23.4R2; request system reboot\", package: /var/tmp/x.tgz}\n");
  cr_expect(strstr(e, "policy.yaml:1:19: target.version:") && strstr(e, "control character"), "%s",
            e);
  free(e);
}

Test(policy, cli_safety_rules_name_the_offending_character)
{
  cr_expect_null(policy_cli_unsafe("/var/tmp/jinstall-10.3R2.11-domestic-signed.tgz", true));
  cr_expect_null(policy_cli_unsafe("21.4R3-S5.4", false));
  /* Short paths once read before the string (found by fuzzing). */
  cr_expect_null(policy_cli_unsafe("/a", true));
  cr_expect_null(policy_cli_unsafe("/", true));
  cr_expect_str_eq(policy_cli_unsafe("/..", true), "it contains '.' or '..' path components");
  cr_expect_str_eq(policy_cli_unsafe("/a/.", true), "it contains '.' or '..' path components");
  cr_expect_str_eq(policy_cli_unsafe("a;b", false), "it contains a shell or CLI control character");
  cr_expect_str_eq(policy_cli_unsafe("a'b", false), "it contains a quote");
  cr_expect_str_eq(policy_cli_unsafe("a\nb", false), "it contains a line break");
  cr_expect_str_eq(policy_cli_unsafe("/a/b", false),
                   "it contains a character outside letters, digits and ._-+/");
}

Test(policy, unknown_keys_suggest_the_nearest_valid_key)
{
  char *e = policy_error(POLICY_TARGET "waves:\n  serail: 5\n");
  cr_expect_str_eq(e, "policy.yaml:3:3: unknown key 'serail' in waves (did you mean 'serial'?)");
  free(e);
  e = policy_error(POLICY_TARGET "limit:\n  max_parallel: 5\n");
  cr_expect_str_eq(e,
                   "policy.yaml:2:1: unknown key 'limit' in the policy (did you mean 'limits'?)");
  free(e);
  e = policy_error(POLICY_TARGET "issu:\n  timeouts: {valdate: 5m}\n");
  cr_expect(strstr(e, "unknown phase 'valdate' (did you mean 'validate'?)"), "%s", e);
  free(e);
}

Test(policy, serial_refuses_what_ansible_treats_oddly)
{
  static const char *const bad[] = {"0",        "-1", "1.5",    "\"0%\"", "\"2.5%\"",
                                    "\"150%\"", "[]", "[5, 0]", "lots"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    char *yaml = xasprintf(POLICY_TARGET "waves: {serial: %s}\n", bad[i]);
    char *e = policy_error(yaml);
    cr_expect(strstr(e, "waves.serial:") != NULL, "%s -> %s", bad[i], e);
    free(e);
    free(yaml);
  }
}

Test(policy, canary_takes_a_count_a_percentage_or_host_names)
{
  struct policy *p = policy_ok(POLICY_TARGET "waves: {canary: \"10%\"}\n");
  cr_expect_eq(p->waves.canary.kind, AMOUNT_PERCENT);
  policy_free(p);
  p = policy_ok(POLICY_TARGET "waves:\n  canary: [mx-a, mx-b]\n");
  cr_expect_eq(p->waves.canary.kind, AMOUNT_HOSTS);
  cr_expect_eq(p->waves.canary.nhosts, 2);
  cr_expect_eq(p->waves.canary.host_lines[1], 3);
  policy_free(p);
  char *e = policy_error(POLICY_TARGET "waves:\n  canary: [mx-a, mx-a]\n");
  cr_expect(strstr(e, "host 'mx-a' is listed twice"), "%s", e);
  free(e);
}

Test(policy, target_version_and_package_are_required)
{
  char *e = policy_error("waves: {serial: 1}\n");
  cr_expect(strstr(e, "target is required"), "%s", e);
  free(e);
  e = policy_error("target: {version: 23.4R2}\n");
  cr_expect(strstr(e, "policy.yaml:1:9: target.package is required"), "%s", e);
  free(e);
}

Test(policy, windows_need_a_real_time_zone_and_times_of_day)
{
  struct policy *p =
      policy_ok(POLICY_TARGET "window: {start: \"22:00\", end: \"04:00\", tz: UTC}\n");
  cr_expect(p->window.set);
  cr_expect_eq(p->window.days, 0x7f);
  policy_free(p);
  char *e =
      policy_error(POLICY_TARGET "window: {start: \"01:00\", end: \"05:00\", tz: Mars/Olympus}\n");
  cr_expect(strstr(e, "window.tz: 'Mars/Olympus' is not a time zone"), "%s", e);
  free(e);
  e = policy_error(POLICY_TARGET "window: {start: \"25:00\", end: \"05:00\", tz: UTC}\n");
  cr_expect(strstr(e, "window.start: '25:00' is not a time of day"), "%s", e);
  free(e);
  e = policy_error(POLICY_TARGET "window: {start: \"01:00\", tz: UTC}\n");
  cr_expect(strstr(e, "window.end is required"), "%s", e);
  free(e);
  e = policy_error(POLICY_TARGET "window: {start: \"01:00\", end: \"01:00\", tz: UTC}\n");
  cr_expect(strstr(e, "start and end are the same time"), "%s", e);
  free(e);
}

Test(policy, every_error_of_a_file_is_reported_in_one_pass)
{
  struct diag d = {0};
  struct policy *p = NULL;
  const char *yaml = POLICY_TARGET "waves: {serial: 0, mode: wave}\nlimits: {max_parallel: 0}\n";
  cr_assert_lt(policy_load_buffer("policy.yaml", yaml, strlen(yaml), &p, &d), 0);
  cr_expect_eq(d.count, 3);
  cr_expect(diag_contains(&d, "did you mean 'waves'?"));
  diag_free(&d);
}

Test(policy, the_reference_in_docs_matches_the_schema)
{
  char *generated = NULL, *doc = NULL, err[128];
  size_t len = 0, doclen = 0;
  FILE *f = open_memstream(&generated, &len);
  policy_schema_markdown(f);
  fclose(f);
  cr_assert_eq(
      text_read_file(ISSU_SOURCE_DIR "/docs/policy.md", 1 << 20, &doc, &doclen, err, sizeof err), 0,
      "%s", err);
  cr_expect(strstr(doc, generated) != NULL,
            "docs/policy.md is out of date: regenerate its table with build/policy_reference");
  free(doc);
  free(generated);
}

Test(policy, schema_reference_lists_every_section)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  policy_schema_markdown(f);
  fclose(f);
  cr_expect(strstr(buf, "`waves.serial`") && strstr(buf, "`limits.exclusive`") &&
            strstr(buf, "`window.tz`") && strstr(buf, "`estimate`") &&
            strstr(buf, "| `old-master-reboot` | 20m |"));
  free(buf);
}

static time_t utc(int y, int mo, int d, int h, int mi)
{
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
  return timegm(&tm);
}

Test(policy, the_window_follows_days_hours_and_the_time_zone)
{
  /* 2026-11-28 is a Saturday; Amsterdam is UTC+1 in November. */
  struct policy *p = policy_ok(POLICY_TARGET "window: {days: [sat, sun], start: \"01:00\", end: "
                                             "\"05:00\", tz: Europe/Amsterdam}\n");
  cr_expect(policy_window_open(p, utc(2026, 11, 28, 0, 30)), "01:30 in Amsterdam on Saturday");
  cr_expect(!policy_window_open(p, utc(2026, 11, 28, 4, 0)), "05:00 local: closed");
  cr_expect(!policy_window_open(p, utc(2026, 11, 27, 0, 30)), "a Friday");
  cr_expect_eq(policy_window_next_change(p, utc(2026, 11, 28, 4, 30)), utc(2026, 11, 29, 0, 0),
               "next opening: Sunday 01:00 local");
  cr_expect_eq(policy_window_next_change(p, utc(2026, 11, 28, 0, 30)), utc(2026, 11, 28, 4, 0));
  policy_free(p);
  /* Across midnight: the morning part belongs to the day the window opened. */
  p = policy_ok(POLICY_TARGET "window: {days: [fri], start: \"22:00\", end: \"02:00\", tz: UTC}\n");
  cr_expect(policy_window_open(p, utc(2026, 11, 27, 23, 0)), "Friday 23:00");
  cr_expect(policy_window_open(p, utc(2026, 11, 28, 1, 59)), "Saturday 01:59, from Friday");
  cr_expect(!policy_window_open(p, utc(2026, 11, 29, 1, 0)), "Sunday 01:00: Saturday is no day");
  policy_free(p);
  p = policy_ok(POLICY_TARGET);
  cr_expect(policy_window_open(p, utc(2026, 11, 25, 12, 0)), "no window: always open");
  policy_free(p);
}

/* i13-fleet: target.vmhost and preflight.accept_alarms */
Test(policy, vmhost_is_detected_unless_forced_and_accepted_alarms_are_descriptions)
{
  struct policy *p = policy_ok(POLICY_TARGET);
  cr_expect_eq(p->target.vmhost, VMHOST_DETECT);
  cr_expect_eq(p->preflight.accept_alarms.count, 0);
  policy_free(p);
  p = policy_ok("target: {version: 23.4R2.3, package: /var/tmp/junos.tgz, vmhost: true}\n"
                "preflight:\n  accept_alarms: [\"Host 0 fan tray failure\", PEM 1 Not OK]\n");
  cr_expect_eq(p->target.vmhost, VMHOST_YES);
  cr_assert_eq(p->preflight.accept_alarms.count, 2);
  cr_expect_str_eq(p->preflight.accept_alarms.items[0].name, "Host 0 fan tray failure");
  cr_expect_str_eq(p->preflight.accept_alarms.items[1].name, "PEM 1 Not OK");
  policy_free(p);
  char *e = policy_error("target: {version: 23.4R2.3, package: /var/tmp/junos.tgz, vmhost: yes}\n");
  cr_expect(strstr(e, "policy.yaml:1:") && strstr(e, "expected true or false"), "%s", e);
  free(e);
  e = policy_error(POLICY_TARGET "preflight:\n  accept_alarms: [\"\"]\n");
  cr_expect(strstr(e, "policy.yaml:3:") && strstr(e, "alarm description"), "%s", e);
  free(e);
}

Test(policy, exclusive_labels_are_names_and_a_single_word_is_a_list)
{
  struct policy *p = policy_ok(POLICY_TARGET "limits: {exclusive: pair}\n");
  cr_assert_eq(p->limits.exclusive.count, 1);
  cr_expect_str_eq(p->limits.exclusive.items[0].name, "pair");
  policy_free(p);
  char *e = policy_error(POLICY_TARGET "limits:\n  exclusive: [pair, \"rack;reboot\"]\n");
  cr_expect(strstr(e, "policy.yaml:3:") && strstr(e, "'rack;reboot' is not a name"), "%s", e);
  free(e);
}
