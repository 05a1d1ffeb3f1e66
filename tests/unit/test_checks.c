/*
 * checks/: snapshots, the built-in ISSU suite, JSNAPy's operators and its test-file reader.
 *
 * XML answers are built here in the shapes of the captures in ../shared/captures (read from
 * $ISSU_CAPTURES, else ISSU_SOURCE_DIR/../shared/captures; a test that needs them and cannot find
 * them skips). Where a capture is `| display json`, the XML written here is its equivalent: each
 * JSON key is the XML element's name (the file named says which). Where no capture shows the
 * element (bgp-peer, ospf-neighbor, ldp-session) the shape is Juniper's documented one, and the
 * built-in rows say UNVERIFIED.
 */
#include "checks/checks.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static const char *captures_dir(void)
{
  static char dir[4096];
  const char *env = getenv("ISSU_CAPTURES");
  if (env && *env)
    snprintf(dir, sizeof dir, "%s", env);
  else
    snprintf(dir, sizeof dir, "%s", ISSU_SOURCE_DIR "/../shared/captures");
  DIR *d = opendir(dir);
  if (d == NULL)
    return NULL;
  closedir(d);
  return dir;
}

#define NEED_CAPTURES(dir)                                                                         \
  const char *dir = captures_dir();                                                                \
  if (dir == NULL)                                                                                 \
  cr_skip_test("no captures: set ISSU_CAPTURES or check out ../shared/captures")

static char *capture(const char *dir, const char *file)
{
  char path[4096], err[256], *buf = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/%s", dir, file);
  cr_assert_eq(text_read_file(path, 1 << 20, &buf, &len, err, sizeof err), 0, "%s", err);
  return buf;
}

/* `s` with the first `from` replaced by `to` (which must be there). */
static char *replace(const char *s, const char *from, const char *to)
{
  const char *p = strstr(s, from);
  cr_assert_not_null(p, "no %s to replace", from);
  return xasprintf("%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
}

static char *replace_free(char *s, const char *from, const char *to)
{
  char *r = replace(s, from, to);
  free(s);
  return r;
}

/* Junos `| display json` as the XML it stands for: each key an element, each "data" its text,
 * "attributes" dropped (namespaces are stripped when read anyway). Keys repeated in one object
 * (show task replication's flat pairs) stay in their order. */
static void json_to_xml(const cJSON *obj, char **buf, size_t *len, size_t *cap)
{
  for (const cJSON *k = obj ? obj->child : NULL; k; k = k->next) {
    if (strcmp(k->string, "attributes") == 0 || strcmp(k->string, "data") == 0)
      continue;
    for (const cJSON *e = cJSON_IsArray(k) ? k->child : k; e;
         e = cJSON_IsArray(k) ? e->next : NULL) {
      text_appendf(buf, len, cap, "<%s>", k->string);
      const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
      if (cJSON_IsString(data))
        for (const char *c = data->valuestring; *c; c++)
          text_appendf(buf, len, cap, "%s",
                       *c == '<'   ? "&lt;"
                       : *c == '&' ? "&amp;"
                       : *c == '>' ? "&gt;"
                                   : (char[]){*c, 0});
      json_to_xml(e, buf, len, cap);
      text_appendf(buf, len, cap, "</%s>", k->string);
    }
  }
}

/* A `| display json` capture (bare, or inside PyEZ's <output>) as XML. */
static char *capture_json_as_xml(const char *dir, const char *file)
{
  char *raw = capture(dir, file);
  char *open = strchr(raw, '{'), *close = strrchr(raw, '}');
  cr_assert(open && close && close > open, "%s holds no JSON", file);
  cJSON *j = cJSON_ParseWithLength(open, (size_t)(close - open + 1));
  cr_assert_not_null(j, "%s: not JSON", file);
  char *buf = NULL;
  size_t len = 0, cap = 0;
  buf = xcalloc(1, 1);
  cap = 1;
  json_to_xml(j, &buf, &len, &cap);
  cJSON_Delete(j);
  free(raw);
  return buf;
}

static struct check_suite *builtin_suite(void)
{
  struct check_builtin_options o;
  check_builtin_options_default(&o);
  struct diag d = {0};
  struct check_suite *s = check_suite_new(&o, "policy.yaml", 1, 1, &d);
  cr_assert_not_null(s);
  diag_free(&d);
  return s;
}

static size_t command_index(const struct check_suite *s, const char *cmd)
{
  for (size_t i = 0; i < check_suite_command_count(s); i++)
    if (strcmp(check_suite_command(s, i), cmd) == 0)
      return i;
  cr_assert_fail("no command %s in the suite", cmd);
  return 0;
}

/* Puts one answer, asserting it is accepted. */
static void put(struct check_snapshot *snap, const struct check_suite *s, const char *cmd,
                const char *xml)
{
  char err[512];
  cr_assert_eq(check_snapshot_put(snap, command_index(s, cmd), xml, strlen(xml), err, sizeof err),
               0, "%s: %s", cmd, err);
}

/* A snapshot where every command answers with an empty element (a router with none of it). */
static struct check_snapshot *empty_snapshot(const struct check_suite *s)
{
  struct check_snapshot *snap = check_snapshot_new(s);
  for (size_t i = 0; i < check_suite_command_count(s); i++) {
    char err[256];
    cr_assert_eq(check_snapshot_put(snap, i, "<empty/>", 8, err, sizeof err), 0);
  }
  return snap;
}

static bool has_failure(const struct check_outcome *o, const char *test, const char *item,
                        const char *message)
{
  for (size_t i = 0; i < o->failure_count; i++) {
    const struct check_failure *f = &o->failures[i];
    if (strcmp(f->test, test) == 0 && (item == NULL || strcmp(f->item, item) == 0) &&
        (message == NULL || strcmp(f->message, message) == 0))
      return true;
  }
  return false;
}

static void dump(const struct check_outcome *o)
{
  for (size_t i = 0; i < o->failure_count; i++)
    fprintf(stderr, "  %s | %s | %s | %s | %s -> %s | %s\n", o->failures[i].test,
            o->failures[i].command, o->failures[i].item, o->failures[i].rule, o->failures[i].pre,
            o->failures[i].post, o->failures[i].message);
}

/* show bgp summary | display xml, one peer. UNVERIFIED shape (no capture lists peers): Juniper's
 * documented bgp-peer with peer-address, peer-state and a bgp-rib per table. */
static char *bgp_peer(const char *addr, const char *state, const char *prefixes)
{
  if (prefixes == NULL)
    return xasprintf("<bgp-peer><peer-address>%s</peer-address><peer-as>65001</peer-as>"
                     "<peer-state>%s</peer-state></bgp-peer>",
                     addr, state);
  return xasprintf("<bgp-peer><peer-address>%s</peer-address><peer-as>65001</peer-as>"
                   "<peer-state>%s</peer-state><bgp-rib><name>inet.0</name>"
                   "<received-prefix-count>%s</received-prefix-count></bgp-rib></bgp-peer>",
                   addr, state, prefixes);
}

/* As the router sends it: rpc-reply with a release namespace (stripped when read). */
static char *bgp_summary(const char *peers)
{
  return xasprintf("<rpc-reply xmlns:junos=\"http://xml.juniper.net/junos/22.4R0/junos\">\n"
                   "<bgp-information "
                   "xmlns=\"http://xml.juniper.net/junos/22.4R0/junos-routing\">\n"
                   "<peer-count>2</peer-count>%s</bgp-information>\n"
                   "<cli><banner>{master}</banner></cli></rpc-reply>\n",
                   peers);
}

static struct check_snapshot *bgp_snapshot(const struct check_suite *s, const char *p1,
                                           const char *p2)
{
  struct check_snapshot *snap = empty_snapshot(s);
  char *peers = xasprintf("%s%s", p1 ? p1 : "", p2 ? p2 : "");
  char *xml = bgp_summary(peers);
  put(snap, s, "show bgp summary", xml);
  free(xml);
  free(peers);
  return snap;
}

/* ---- the built-in suite ---- */

Test(checks_builtin, runs_each_command_of_the_contract_once)
{
  struct check_suite *s = builtin_suite();
  static const char *const want[] = {"show bgp summary",
                                     "show ospf neighbor",
                                     "show isis adjacency",
                                     "show ldp session",
                                     "show interfaces terse",
                                     "show route summary",
                                     "show chassis fpc pic-status",
                                     "show chassis alarms",
                                     "show task replication"};
  cr_assert_eq(check_suite_command_count(s), ARRAY_LEN(want));
  for (size_t i = 0; i < ARRAY_LEN(want); i++)
    cr_assert_str_eq(check_suite_command(s, i), want[i]);
  cr_assert_gt(check_suite_test_count(s), 10);
  cr_assert_str_eq(check_builtin_name(CHECK_BGP_PREFIXES), "bgp-prefixes");
  cr_assert_str_eq(check_builtin_name(CHECK_NSR), "nsr");
  check_suite_free(s);
}

Test(checks_builtin, a_check_turned_off_sends_no_command)
{
  struct check_builtin_options o;
  check_builtin_options_default(&o);
  o.enabled[CHECK_BGP_PEERS] = o.enabled[CHECK_BGP_STATE] = o.enabled[CHECK_BGP_PREFIXES] = false;
  struct diag d = {0};
  struct check_suite *s = check_suite_new(&o, "p.yaml", 3, 5, &d);
  cr_assert_not_null(s);
  for (size_t i = 0; i < check_suite_command_count(s); i++)
    cr_assert_str_neq(check_suite_command(s, i), "show bgp summary");
  check_suite_free(s);
  struct check_suite *none = check_suite_new(NULL, "p.yaml", 0, 0, &d);
  cr_assert_eq(check_suite_command_count(none), 0);
  check_suite_free(none);
  diag_free(&d);
}

Test(checks_builtin, a_bad_tolerance_is_an_error_at_the_policy_key)
{
  struct check_builtin_options o;
  check_builtin_options_default(&o);
  o.tolerance[CHECK_ROUTES] = "five percent";
  o.tolerance[CHECK_FPC] = "5%";
  struct diag d = {0};
  cr_assert_null(check_suite_new(&o, "p.yaml", 7, 9, &d));
  cr_assert(diag_contains(&d, "p.yaml:7:9: checks.builtin.routes: tolerance \"five percent\""));
  cr_assert(diag_contains(&d, "p.yaml:7:9: checks.builtin.fpc takes no tolerance"));
  diag_free(&d);
}

Test(checks_builtin, identical_snapshots_pass_everything)
{
  struct check_suite *s = builtin_suite();
  char *p1 = bgp_peer("10.0.0.2", "Established", "1000");
  struct check_snapshot *pre = bgp_snapshot(s, p1, NULL);
  struct check_snapshot *post = bgp_snapshot(s, p1, NULL);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  dump(&o);
  cr_assert_eq(o.failure_count, 0);
  cr_assert_eq(o.tests_failed, 0);
  cr_assert_eq(o.tests_run, check_suite_test_count(s));
  check_outcome_free(&o);
  free(p1);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
}

Test(checks_builtin, a_lost_peer_a_changed_state_and_fewer_prefixes_fail_with_the_diff)
{
  struct check_suite *s = builtin_suite();
  char *a1 = bgp_peer("10.0.0.2", "Established", "1000");
  char *b1 = bgp_peer("10.0.0.3", "Established", "200");
  char *a2 = bgp_peer("10.0.0.2", "Established", "700"); /* 30% lower */
  struct check_snapshot *pre = bgp_snapshot(s, a1, b1);
  struct check_snapshot *post = bgp_snapshot(s, a2, NULL);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  dump(&o);
  cr_assert(has_failure(&o, "bgp-peers", "peer-address=10.0.0.3",
                        "BGP peer 10.0.0.3: missing after (list-not-less)"));
  cr_assert(has_failure(&o, "bgp-prefixes", "peer-address=10.0.0.2",
                        "BGP peer 10.0.0.2: 1000 -> 700 (delta bgp-rib/received-prefix-count, "
                        "5%)"));
  /* The lost peer also fails the state and prefix rules (it disappeared), never passes. */
  cr_assert(has_failure(&o, "bgp-state", "peer-address=10.0.0.3", NULL));
  cr_assert(has_failure(&o, "bgp-prefixes", "peer-address=10.0.0.3", NULL));
  for (size_t i = 0; i < o.failure_count; i++)
    if (strcmp(o.failures[i].test, "bgp-prefixes") == 0 &&
        strcmp(o.failures[i].item, "peer-address=10.0.0.2") == 0) {
      cr_assert_str_eq(o.failures[i].pre, "1000");
      cr_assert_str_eq(o.failures[i].post, "700");
      cr_assert_str_eq(o.failures[i].command, "show bgp summary");
    }
  cr_assert_eq(o.tests_failed, 3);
  check_outcome_free(&o);
  check_snapshot_free(post);

  char *a3 = bgp_peer("10.0.0.2", "Active", NULL); /* the dip: no bgp-rib at all */
  post = bgp_snapshot(s, a3, b1);
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  cr_assert(has_failure(&o, "bgp-state", "peer-address=10.0.0.2",
                        "BGP peer 10.0.0.2: Established -> Active (no-diff peer-state)"));
  cr_assert(has_failure(&o, "bgp-prefixes", "peer-address=10.0.0.2",
                        "BGP peer 10.0.0.2: node missing after (delta "
                        "bgp-rib/received-prefix-count, 5%)"));
  check_outcome_free(&o);
  check_snapshot_free(post);
  check_snapshot_free(pre);
  free(a1), free(b1), free(a2), free(a3);
  check_suite_free(s);
}

Test(checks_builtin, a_peer_down_before_has_no_baseline_and_a_new_peer_is_fine)
{
  struct check_suite *s = builtin_suite();
  char *down = bgp_peer("10.0.0.9", "Idle", NULL);
  char *up = bgp_peer("10.0.0.2", "Established", "1000");
  char *newp = bgp_peer("10.0.0.4", "Established", "5");
  char *up2 = bgp_peer("10.0.0.2", "Established", "1040"); /* +4%: within 5% */
  struct check_snapshot *pre = bgp_snapshot(s, down, up);
  char *both = xasprintf("%s%s", down, newp);
  struct check_snapshot *post = bgp_snapshot(s, both, up2);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  dump(&o);
  cr_assert_eq(o.failure_count, 0);
  check_outcome_free(&o);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  free(down), free(up), free(newp), free(up2), free(both);
  check_suite_free(s);
}

Test(checks_builtin, the_policy_tolerance_replaces_the_default)
{
  struct check_builtin_options opt;
  check_builtin_options_default(&opt);
  opt.tolerance[CHECK_BGP_PREFIXES] = "+-40%";
  struct diag d = {0};
  struct check_suite *s = check_suite_new(&opt, "p.yaml", 1, 1, &d);
  cr_assert_not_null(s);
  char *a1 = bgp_peer("10.0.0.2", "Established", "1000");
  char *a2 = bgp_peer("10.0.0.2", "Established", "700");
  struct check_snapshot *pre = bgp_snapshot(s, a1, NULL), *post = bgp_snapshot(s, a2, NULL);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  cr_assert_eq(o.failure_count, 0);
  check_outcome_free(&o);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  free(a1), free(a2);
  check_suite_free(s);
  diag_free(&d);
}

/* show-chassis-alarms__junos-upgrader-vmhost-alt-disk__22.4-era-xml.xml's shape. */
static char *alarms(const char *d1, const char *d2)
{
  char *buf = NULL;
  size_t len = 0, cap = 0;
  text_appendf(&buf, &len, &cap,
               "<alarm-information><alarm-summary><active-alarm-count>%d"
               "</active-alarm-count></alarm-summary>",
               (d1 != NULL) + (d2 != NULL));
  const char *d[2] = {d1, d2};
  for (int i = 0; i < 2; i++)
    if (d[i])
      text_appendf(&buf, &len, &cap,
                   "<alarm-detail><alarm-time>2024-08-21 10:18:30 EDT</alarm-time>"
                   "<alarm-class>Minor</alarm-class><alarm-description>%s</alarm-description>"
                   "<alarm-type>Chassis</alarm-type></alarm-detail>",
                   d[i]);
  text_appendf(&buf, &len, &cap, "</alarm-information>");
  return buf;
}

Test(checks_builtin, a_new_alarm_fails_and_backup_re_active_only_when_re1_is_left_master)
{
  struct check_suite *s = builtin_suite();
  struct check_snapshot *pre = empty_snapshot(s), *post = empty_snapshot(s);
  char *a = alarms("VMHost 1 Boot from alternate disk", NULL);
  char *b = alarms("VMHost 1 Boot from alternate disk", "Backup RE Active");
  put(pre, s, "show chassis alarms", a);
  put(post, s, "show chassis alarms", b);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  cr_assert(has_failure(&o, "alarms", "alarm-description=Backup RE Active",
                        "alarm Backup RE Active: new after (list-not-more)"));
  cr_assert_eq(o.failure_count, 1);
  check_outcome_free(&o);
  check_suite_free(s);
  check_snapshot_free(pre);
  check_snapshot_free(post);

  struct check_builtin_options opt;
  check_builtin_options_default(&opt);
  opt.allow_backup_re_active = true;
  struct diag d = {0};
  s = check_suite_new(&opt, "p.yaml", 1, 1, &d);
  pre = empty_snapshot(s);
  post = empty_snapshot(s);
  put(pre, s, "show chassis alarms", a);
  put(post, s, "show chassis alarms", b);
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  cr_assert_eq(o.failure_count, 0);
  check_outcome_free(&o);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
  free(a), free(b);
  diag_free(&d);
}

Test(checks_builtin, nsr_replication_not_complete_fails_on_the_capture)
{
  NEED_CAPTURES(dir);
  struct check_suite *s = builtin_suite();
  struct check_snapshot *pre = empty_snapshot(s);
  char *x = capture(dir, "show-task-replication__junos-upgrader-isis-not-complete__22.4-era.xml");
  put(pre, s, "show task replication", x);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, NULL, &o), 0); /* one snapshot: the pre-check */
  dump(&o);
  cr_assert_eq(o.failure_count, 1);
  cr_assert(has_failure(&o, "nsr", "protocol=IS-IS",
                        "NSR replication of IS-IS: Enabled (is-equal ., Complete)"));
  cr_assert_str_eq(o.failures[0].post, "Enabled");
  check_outcome_free(&o);
  free(x);
  /* The same file with every protocol complete (the text capture says so) passes; a router
   * without NSR protocols listed (the pyez 16.1 capture) has nothing to check here. */
  x = capture(dir, "show-task-replication__pyez-get-routing-task-replication-state__16.1I0.xml");
  put(pre, s, "show task replication", x);
  cr_assert_eq(check_evaluate(s, pre, NULL, &o), 0);
  cr_assert_eq(o.failure_count, 0);
  check_outcome_free(&o);
  free(x);
  check_snapshot_free(pre);
  check_suite_free(s);
}

Test(checks_builtin, routes_per_table_within_tolerance_on_the_capture)
{
  NEED_CAPTURES(dir);
  struct check_suite *s = builtin_suite();
  struct check_snapshot *pre = empty_snapshot(s), *post = empty_snapshot(s);
  char *x = capture(dir, "show-route-summary__pyez-factory__12.1X46.xml");
  put(pre, s, "show route summary", x);
  /* After: inet.0 has 8 -> 7 active routes (12.5% fewer); the protocols' own
   * active-route-count elements are left as they were and must not be summed in. */
  char *y = xstrdup(x);
  char *p = strstr(y, "<active-route-count>8</active-route-count>");
  cr_assert_not_null(p);
  p[strlen("<active-route-count>")] = '7';
  put(post, s, "show route summary", y);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  dump(&o);
  cr_assert_eq(o.failure_count, 1);
  cr_assert(has_failure(&o, "routes", "table-name=inet.0",
                        "route table inet.0: 8 -> 7 (delta active-route-count, 5%)"));
  check_outcome_free(&o);
  free(x), free(y);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
}

/* show-chassis-fpc-pic-status__junos-upgrader-display-json__22.4R0.json as XML. */
static char *fpc_pic_status(const char *fpc_state, const char *pic1_state)
{
  return xasprintf("<fpc-information junos:style=\"pic-style\"><fpc><slot>1</slot>"
                   "<state>%s</state><description>LC2103</description>"
                   "<pic><pic-slot>0</pic-slot><pic-state>Online</pic-state>"
                   "<pic-type>6xQSFPP</pic-type></pic>"
                   "<pic><pic-slot>1</pic-slot><pic-state>%s</pic-state>"
                   "<pic-type>MIC1</pic-type></pic></fpc></fpc-information>",
                   fpc_state, pic1_state);
}

Test(checks_builtin, an_fpc_or_pic_left_offline_fails)
{
  struct check_suite *s = builtin_suite();
  struct check_snapshot *pre = empty_snapshot(s), *post = empty_snapshot(s);
  char *a = fpc_pic_status("Online", "Online"), *b = fpc_pic_status("Offline", "Offline");
  put(pre, s, "show chassis fpc pic-status", a);
  put(post, s, "show chassis fpc pic-status", b);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  dump(&o);
  cr_assert(has_failure(&o, "fpc", "fpc=1", "FPC 1: Offline (is-equal state, Online)"));
  cr_assert(
      has_failure(&o, "fpc", "fpc=1, pic=1", "FPC 1 PIC 1: Offline (is-equal pic-state, Online)"));
  cr_assert_eq(o.failure_count, 2);
  check_outcome_free(&o);
  /* An FPC gone from the list fails too. */
  put(post, s, "show chassis fpc pic-status", "<fpc-information/>");
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  cr_assert(has_failure(&o, "fpc", "fpc=1", "FPC 1: missing after (list-not-less)"));
  check_outcome_free(&o);
  free(a), free(b);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
}

Test(checks_builtin, an_unreadable_answer_fails_its_tests_naming_the_command)
{
  struct check_suite *s = builtin_suite();
  struct check_snapshot *pre = empty_snapshot(s), *post = empty_snapshot(s);
  char err[512];
  size_t i = command_index(s, "show interfaces terse");
  const char *cut = "<interface-information><physical-interface><name>ge-0/0/0";
  cr_assert_eq(check_snapshot_put(post, i, cut, strlen(cut), err, sizeof err), -1);
  cr_assert(strstr(err, "show interfaces terse: the answer is not well-formed XML") != NULL, "%s",
            err);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  cr_assert_eq(o.failure_count, 1);
  cr_assert_str_eq(o.failures[0].test, "interfaces");
  cr_assert(strstr(o.failures[0].message, "the post answer to `show interfaces terse` is "
                                          "unusable: the answer is not well-formed XML") != NULL,
            "%s", o.failures[0].message);
  check_outcome_free(&o);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
}

/* ---- snapshots ---- */

static char *tmpdir(void)
{
  char *t = xstrdup("/tmp/test_checks.XXXXXX");
  cr_assert_not_null(mkdtemp(t));
  return t;
}

Test(checks_snapshot, saved_and_loaded_it_evaluates_the_same)
{
  struct check_suite *s = builtin_suite();
  char *a1 = bgp_peer("10.0.0.2", "Established", "1000");
  char *a2 = bgp_peer("10.0.0.2", "Active", NULL);
  struct check_snapshot *pre = bgp_snapshot(s, a1, NULL), *post = bgp_snapshot(s, a2, NULL);
  char err[512];
  const char *bad = "<a><b></a>";
  cr_assert_eq(check_snapshot_put(pre, command_index(s, "show ldp session"), bad, strlen(bad), err,
                                  sizeof err),
               -1);
  char *dir = tmpdir();
  char *path = xasprintf("%s/r1.pre.xml", dir), *tmp = xasprintf("%s.tmp", path);
  cr_assert_eq(check_snapshot_save(pre, path, true, err, sizeof err), 0, "%s", err);
  cr_assert_neq(access(tmp, F_OK), 0, "the .tmp file is renamed away");
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_eq(st.st_mode & 077, 0, "a snapshot is private to its owner");
  struct check_snapshot *back = check_snapshot_load(s, path, err, sizeof err);
  cr_assert_not_null(back, "%s", err);
  struct check_outcome o1, o2;
  cr_assert_eq(check_evaluate(s, pre, post, &o1), 0);
  cr_assert_eq(check_evaluate(s, back, post, &o2), 0);
  cr_assert_eq(o1.failure_count, o2.failure_count);
  for (size_t i = 0; i < o1.failure_count; i++)
    cr_assert_str_eq(o1.failures[i].message, o2.failures[i].message);
  cr_assert(has_failure(&o2, "ldp", NULL, NULL), "the unreadable answer stays unreadable");
  check_outcome_free(&o1);
  check_outcome_free(&o2);
  /* Saving again replaces the file whole. */
  cr_assert_eq(check_snapshot_save(post, path, false, err, sizeof err), 0, "%s", err);
  check_snapshot_free(back);
  back = check_snapshot_load(s, path, err, sizeof err);
  cr_assert_not_null(back);
  cr_assert_eq(check_evaluate(s, post, back, &o1), 0);
  cr_assert_eq(o1.failure_count, 0);
  check_outcome_free(&o1);
  check_snapshot_free(back);
  unlink(path);
  rmdir(dir);
  free(path), free(tmp), free(dir), free(a1), free(a2);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
}

Test(checks_snapshot, a_file_that_is_not_a_snapshot_is_refused)
{
  struct check_suite *s = builtin_suite();
  char *dir = tmpdir();
  char *path = xasprintf("%s/junk", dir), err[512];
  static const char *const junk[] = {"",
                                     "hello\n",
                                     "issu-fleet checks snapshot 1\n2\nC 3\nabc\n",
                                     "issu-fleet checks snapshot 1\n1\nC 999999999999\nabc\n",
                                     "issu-fleet checks snapshot 1\n1\nC 3\nabc\nZ 1\nx\n",
                                     "issu-fleet checks snapshot 1\n0\ntrailing"};
  for (size_t i = 0; i < ARRAY_LEN(junk); i++) {
    FILE *f = fopen(path, "w");
    fputs(junk[i], f);
    fclose(f);
    cr_assert_null(check_snapshot_load(s, path, err, sizeof err), "junk %zu", i);
    cr_assert(strstr(err, "not an issu-fleet checks snapshot") != NULL, "%s", err);
  }
  unlink(path);
  cr_assert_null(check_snapshot_load(s, path, err, sizeof err));
  cr_assert_null(check_snapshot_load(s, "/nonexistent/dir/x", err, sizeof err));
  rmdir(dir);
  free(path), free(dir);
  check_suite_free(s);
}

Test(checks_snapshot, dtds_entities_and_non_xml_are_refused)
{
  struct check_suite *s = builtin_suite();
  struct check_snapshot *snap = check_snapshot_new(s);
  char err[512];
  static const char *const bad[] = {
      "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"boom\">]><x>&e;</x>",
      "<!DOCTYPE x SYSTEM \"http://example.com/x.dtd\"><x/>",
      "BGP is not running",
      "{\"bgp-information\": []}",
      "<x>&undefined;</x>",
      ""};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++)
    cr_assert_eq(check_snapshot_put(snap, 0, bad[i], strlen(bad[i]), err, sizeof err), -1,
                 "bad %zu accepted", i);
  cr_assert_eq(check_snapshot_put(snap, 0, bad[0], strlen(bad[0]), err, sizeof err), -1);
  cr_assert(strstr(err, "DTD") != NULL, "%s", err);
  /* Around the document: an echoed command, a prompt, a declaration, a BOM. */
  const char *ok = "\xef\xbb\xbfshow bgp summary | display xml\n<?xml version=\"1.0\"?>\n"
                   "<rpc-reply><bgp-information/></rpc-reply>\n\n{master}\n";
  cr_assert_eq(check_snapshot_put(snap, 0, ok, strlen(ok), err, sizeof err), 0, "%s", err);
  cr_assert_eq(check_snapshot_put(snap, 99, ok, strlen(ok), err, sizeof err), -1);
  check_snapshot_free(snap);
  check_suite_free(s);
}

/* ---- the JSNAPy reader ---- */

/* A suite of one JSNAPy test file given as text; NULL when it is refused (`d` says why). */
static struct check_suite *jsnapy(const char *yaml, struct diag *d)
{
  struct check_suite *s = check_suite_new(NULL, NULL, 0, 0, d);
  cr_assert_not_null(s);
  if (check_suite_add_buffer(s, "t.yml", yaml, strlen(yaml), d) < 0) {
    cr_assert_eq(check_suite_command_count(s), 0, "a refused file adds no command");
    cr_assert_eq(check_suite_test_count(s), 0, "a refused file adds no test");
    check_suite_free(s);
    return NULL;
  }
  return s;
}

static void refused(const char *yaml, const char *message)
{
  struct diag d = {0};
  struct check_suite *s = jsnapy(yaml, &d);
  if (s != NULL || !diag_contains(&d, message)) {
    diag_print(&d, stderr);
    cr_assert_fail("expected \"%s\" for:\n%s", message, yaml);
  }
  diag_free(&d);
}

Test(checks_jsnapy, the_documented_sample_reads_and_evaluates_on_the_capture)
{
  NEED_CAPTURES(dir);
  struct diag d = {0};
  struct check_suite *s = check_suite_new(NULL, NULL, 0, 0, &d);
  int rc =
      check_suite_add_file(s, ISSU_SOURCE_DIR "/tests/fixtures/checks/jsnapy_chassis_fpc.yml", &d);
  diag_print(&d, stderr);
  cr_assert_eq(rc, 0);
  cr_assert_eq(check_suite_command_count(s), 1);
  cr_assert_str_eq(check_suite_command(s, 0), "show chassis fpc");
  cr_assert_eq(check_suite_test_count(s), 4);
  char *x = capture(dir, "show-chassis-fpc__jsnapy-xml__unknown.xml");
  struct check_snapshot *pre = check_snapshot_new(s), *post = check_snapshot_new(s);
  put(pre, s, "show chassis fpc", x);
  put(post, s, "show chassis fpc", x);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  dump(&o);
  cr_assert_eq(o.failure_count, 0);
  cr_assert_eq(o.tests_run, 4);
  cr_assert_eq(o.tests_passed, 4);
  check_outcome_free(&o);
  /* After: FPC 0 busy at 1% CPU and its heap past 80%, slot 2 gone, slot 1 Online. */
  char *y = replace(x, "<cpu-total>10</cpu-total>", "<cpu-total>1</cpu-total>");
  y = replace_free(y, "<memory-heap-utilization>7<", "<memory-heap-utilization>93<");
  y = replace_free(y, "<fpc>\n<slot>2</slot>\n<state>Empty</state>\n</fpc>", "");
  y = replace_free(y, "<slot>1</slot>\n<state>Empty</state>",
                   "<slot>1</slot><state>Online</state>");
  put(post, s, "show chassis fpc", y);
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  dump(&o);
  cr_assert(has_failure(&o, "check_chassis_fpc", "memory-dram-size=1536",
                        "FPC with 1536 MB of DRAM: cpu-total <1> is not above 2, heap at <93>"));
  cr_assert(has_failure(&o, "check_fpc_state", "slot=2", "FPC 2 is gone"));
  cr_assert(has_failure(&o, "check_fpc_state", "slot=1", "FPC 1 went from <Empty> to <Online>"));
  cr_assert(has_failure(&o, "check_fpc_state", "slot=0", "FPC 0 heap at <93>"));
  cr_assert_eq(o.tests_failed, 4);
  check_outcome_free(&o);
  /* One snapshot (issu-fleet check): only the single-snapshot tests run. */
  cr_assert_eq(check_evaluate(s, pre, NULL, &o), 0);
  cr_assert_eq(o.tests_run, 2);
  cr_assert_eq(o.failure_count, 0);
  check_outcome_free(&o);
  free(x), free(y);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
  diag_free(&d);
}

Test(checks_jsnapy, without_tests_include_every_test_runs_and_a_repeated_name_runs_once)
{
  struct diag d = {0};
  struct check_suite *s = jsnapy("a:\n  - command: show version\n  - item:\n      xpath: "
                                 "software-information\n      tests:\n        - exists: host-name\n"
                                 "b:\n  - command: show chassis alarms\n  - iterate:\n"
                                 "      xpath: //alarm-detail\n      tests:\n"
                                 "        - list-not-more: alarm-description\n",
                                 &d);
  cr_assert_not_null(s);
  cr_assert_eq(check_suite_command_count(s), 2);
  check_suite_free(s);
  s = jsnapy("tests_include: [a, a]\na:\n  - command: show version\n  - item:\n"
             "      xpath: software-information\n      tests:\n        - exists: host-name\n",
             &d);
  cr_assert_not_null(s);
  cr_assert_eq(check_suite_test_count(s), 1);
  check_suite_free(s);
  diag_free(&d);
}

Test(checks_jsnapy, rpc_is_unsupported_at_its_line_and_column)
{
  refused("tests_include:\n  - t\nt:\n  - rpc: get-bgp-neighbor-information\n",
          "t.yml:4:5: rpc: is unsupported");
}

Test(checks_jsnapy, an_unknown_operator_or_key_is_an_error_with_the_nearest_name)
{
  const char *head = "t:\n  - command: show bgp summary\n  - iterate:\n      xpath: //bgp-peer\n"
                     "      id: peer-address\n      tests:\n";
  char *y = xasprintf("%s        - is-equl: peer-state, Established\n", head);
  refused(y, "t.yml:7:11: unknown operator or key 'is-equl' (did you mean 'is-equal'?)");
  free(y);
  y = xasprintf("%s        - no-diff: peer-state\n          errr: x\n", head);
  refused(y, "t.yml:8:11: unknown operator or key 'errr' (did you mean 'err'?)");
  free(y);
  y = xasprintf("%s        - no-diff: peer-state\n          frobnicate: x\n", head);
  refused(y, "unknown operator or key 'frobnicate' (supported: no-diff");
  free(y);
  refused("t:\n  - command: show bgp summary\n  - iterate:\n      xpth: //bgp-peer\n",
          "t.yml:4:7: unknown key 'xpth' in iterate (did you mean 'xpath'?)");
  refused("t:\n  - comand: show bgp summary\n",
          "t.yml:2:5: unknown key 'comand' in a test (did you mean 'command'?)");
  refused("tests_include: [test_bgp]\ntest_bpg:\n  - command: show bgp summary\n",
          "t.yml:1:17: tests_include names 'test_bgp', which the file does not define (did you "
          "mean 'test_bpg'?)");
}

Test(checks_jsnapy, commands_are_plain_show_commands)
{
  refused("t:\n  - command: show bgp summary | match Estab\n",
          "t.yml:2:14: command 'show bgp summary | match Estab' contains '|'");
  refused("t:\n  - command: show version; request system reboot\n", "contains ';'");
  refused("t:\n  - command: request system reboot\n", "is not a `show` command");
  refused("t:\n  - command: \"show version\\nrequest system halt\"\n", "contains a line break");
  refused("t:\n  - command: \"show version\\tdetail\"\n", "not printable ASCII");
  refused("t:\n  - command: \"show version \xc2\xa0"
          "detail\"\n",
          "not printable ASCII");
  char *y = xasprintf("t:\n  - command: show %0300d\n", 0);
  refused(y, "is longer than 256 characters");
  free(y);
}

Test(checks_jsnapy, values_xpaths_and_templates_are_checked_at_load)
{
  const char *head = "t:\n  - command: show route summary\n  - iterate:\n"
                     "      xpath: route-table\n      id: table-name\n      tests:\n";
  static const struct {
    const char *rule, *message;
  } cases[] = {
      {"- delta: active-route-count, lots", "delta: 'lots' is not one of JSNAPy's forms"},
      {"- in-range: active-route-count, 5", "in-range takes a node and 2 value(s), not 1"},
      {"- in-range: active-route-count, ten, 20", "in-range: 'ten' is not a number"},
      {"- in-range: active-route-count, 20, 10", "the range 20, 10 is empty"},
      {"- is-gt: active-route-count, many", "is-gt: 'many' is not a number"},
      {"- is-equal: active-route-count", "is-equal takes a node and 1 value(s), not 0"},
      {"- no-diff: active-route-count, 5", "no-diff takes a node only"},
      {"- no-diff:", "no-diff needs a node"},
      {"- no-diff: \"active-route-count[\"", "the node 'active-route-count[' is not a valid XPath"},
      {"- no-diff: x\n          err: \"{{ pre.x }}\"", "only {{pre['NODE']}}, {{post['NODE']}}"},
      {"- no-diff: x\n          info: \"{% if x %}\"", "{% ... %} blocks are not supported"},
      {"- no-diff: x\n          err: \"{{post['a[']}}\"", "the message's node 'a[' is not a valid"},
      {"- no-diff: x\n          ignore-null: maybe", "ignore-null must be true or false"},
      {"- no-diff: x\n          is-equal: x, 1", "one operator per test"},
      {"- err: x", "this test names no operator"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    char *y = xasprintf("%s        %s\n", head, cases[i].rule);
    refused(y, cases[i].message);
    free(y);
  }
  refused("t:\n  - command: show route summary\n  - iterate:\n      xpath: \"//[\"\n"
          "      tests:\n        - exists: x\n",
          "t.yml:4:14: xpath '//[' is not a valid XPath");
  refused("t:\n  - iterate:\n      xpath: x\n      tests:\n        - exists: x\n",
          "iterate comes before any `command:`");
  refused("t:\n  - command: show version\n", "test 't' has no `iterate:` or `item:`");
  refused("t:\n  - command: show version\n  - item:\n      xpath: x\n", "item needs `tests:`");
  refused("- a\n- b\n", "a JSNAPy test file is a map of tests");
  refused("", "the test file is empty");
  refused("t: [\n", "t.yml");
}

Test(checks_jsnapy, a_missing_file_is_an_error_naming_it)
{
  struct diag d = {0};
  struct check_suite *s = check_suite_new(NULL, NULL, 0, 0, &d);
  cr_assert_eq(check_suite_add_file(s, "/nonexistent/checks.yml", &d), -1);
  cr_assert(diag_contains(&d, "/nonexistent/checks.yml"));
  check_suite_free(s);
  diag_free(&d);
}

/* ---- every operator, on the captures' shapes ---- */

/* Evaluates the one test of `rules` (a `tests:` list) over `xpath`/`id` of `command`'s answers
 * `pre` and `post` (post NULL: one snapshot). Returns the outcome; the suite is freed. */
static struct check_outcome run_rules(const char *command, const char *block, const char *rules,
                                      const char *pre_xml, const char *post_xml)
{
  char *yaml = xasprintf("t:\n  - command: %s\n  - %s\n      tests:\n%s", command, block, rules);
  struct diag d = {0};
  struct check_suite *s = jsnapy(yaml, &d);
  if (s == NULL) {
    diag_print(&d, stderr);
    cr_assert_fail("refused:\n%s", yaml);
  }
  struct check_snapshot *pre = check_snapshot_new(s), *post = NULL;
  put(pre, s, command, pre_xml);
  if (post_xml) {
    post = check_snapshot_new(s);
    put(post, s, command, post_xml);
  }
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  dump(&o);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
  diag_free(&d);
  free(yaml);
  return o;
}

/* How many items failed, and that the rule's counters agree. */
static size_t failures(const char *command, const char *block, const char *rules,
                       const char *pre_xml, const char *post_xml)
{
  struct check_outcome o = run_rules(command, block, rules, pre_xml, post_xml);
  size_t n = o.failure_count;
  cr_assert_eq(o.tests_run, o.tests_passed + o.tests_failed);
  check_outcome_free(&o);
  return n;
}

#define IFACES "iterate:\n      xpath: physical-interface\n      id: name\n"

Test(checks_ops, interfaces_terse_capture_single_snapshot_operators)
{
  NEED_CAPTURES(dir);
  /* show-interfaces-terse__pyez-display-json__16.1I0.json as XML: 18 physical interfaces, all
   * oper-status up, mtun admin-status down, em0 and lo0 with logical interfaces. */
  char *x = capture_json_as_xml(dir, "show-interfaces-terse__pyez-display-json__16.1I0.json");
  const char *c = "show interfaces terse";
  cr_assert_eq(failures(c, IFACES, "        - is-equal: oper-status, up\n", x, NULL), 0);
  cr_assert_eq(failures(c, IFACES, "        - is-equal: admin-status, up\n", x, NULL), 1);
  struct check_outcome o = run_rules(c, IFACES, "        - is-equal: admin-status, up\n", x, NULL);
  cr_assert(has_failure(&o, "t", "name=mtun", "name=mtun: down (is-equal admin-status, up)"));
  cr_assert_str_eq(o.failures[0].pre, "");
  cr_assert_str_eq(o.failures[0].post, "down");
  check_outcome_free(&o);
  cr_assert_eq(failures(c, IFACES, "        - not-equal: oper-status, down\n", x, NULL), 0);
  cr_assert_eq(failures(c, IFACES, "        - not-equal: admin-status, down\n", x, NULL), 1);
  cr_assert_eq(failures(c, IFACES, "        - is-in: admin-status, up, down\n", x, NULL), 0);
  cr_assert_eq(failures(c, IFACES, "        - is-in: admin-status, up, testing\n", x, NULL), 1);
  cr_assert_eq(failures(c, IFACES, "        - not-in: admin-status, down, testing\n", x, NULL), 1);
  cr_assert_eq(failures(c, IFACES, "        - not-in: oper-status, down, testing\n", x, NULL), 0);
  cr_assert_eq(failures(c, IFACES, "        - contains: name, p\n", x, NULL), 18 - 8,
               "of cbp0 demux0 dsc em0 esi gre ipip irb lo0 lsi mtun pimd pime pip0 pp0 rbeb tap "
               "vtep, eight hold a 'p'");
  cr_assert_eq(failures(c, IFACES, "        - all-same: oper-status\n", x, NULL), 0);
  cr_assert_eq(failures(c, IFACES, "        - all-same: admin-status\n", x, NULL), 1);
  cr_assert_eq(failures(c, IFACES,
                        "        - all-same: admin-status, "
                        "physical-interface[name='mtun']/admin-status\n",
                        x, NULL),
               17, "against a reference XPath, every interface but mtun differs");
  cr_assert_eq(failures(c, IFACES, "        - exists: logical-interface\n", x, NULL), 16,
               "only em0 and lo0 have logical interfaces");
  cr_assert_eq(failures(c, IFACES, "        - not-exists: logical-interface\n", x, NULL), 2);
  cr_assert_eq(failures(c,
                        "iterate:\n      xpath: physical-interface[logical-interface]\n"
                        "      id: name\n",
                        "        - exists: logical-interface/address-family\n", x, NULL),
               0);
  cr_assert_eq(failures(c, "item:\n      xpath: //physical-interface\n",
                        "        - is-equal: name, cbp0\n", x, NULL),
               0, "item: only the first match");
  free(x);
}

Test(checks_ops, interfaces_terse_capture_pre_post_operators_and_items_that_come_and_go)
{
  NEED_CAPTURES(dir);
  char *x = capture_json_as_xml(dir, "show-interfaces-terse__pyez-display-json__16.1I0.json");
  const char *c = "show interfaces terse";
  /* em0 goes down, vtep disappears, xe-0/0/0 appears. */
  char *y = replace(x, "<name>em0</name>", "<name>em0</name>");
  y = replace_free(y, "<oper-status>up</oper-status><logical-interface>",
                   "<oper-status>down</oper-status><logical-interface>");
  y = replace_free(y,
                   "<physical-interface><oper-status>up</oper-status><admin-status>up"
                   "</admin-status><name>vtep</name></physical-interface>",
                   "<physical-interface><oper-status>up</oper-status><admin-status>up"
                   "</admin-status><name>xe-0/0/0</name></physical-interface>");
  cr_assert_eq(failures(c, IFACES, "        - no-diff: oper-status\n", x, x), 0);
  struct check_outcome o = run_rules(c, IFACES, "        - no-diff: oper-status\n", x, y);
  cr_assert_eq(o.failure_count, 3);
  cr_assert(has_failure(&o, "t", "name=em0", "name=em0: up -> down (no-diff oper-status)"));
  cr_assert(has_failure(&o, "t", "name=vtep", "name=vtep: missing after (no-diff oper-status)"));
  cr_assert(
      has_failure(&o, "t", "name=xe-0/0/0", "name=xe-0/0/0: new after (no-diff oper-status)"));
  check_outcome_free(&o);
  o = run_rules(c, IFACES, "        - list-not-less:\n", x, y);
  cr_assert_eq(o.failure_count, 1);
  cr_assert(has_failure(&o, "t", "name=vtep", NULL));
  check_outcome_free(&o);
  o = run_rules(c, IFACES, "        - list-not-more:\n", x, y);
  cr_assert_eq(o.failure_count, 1);
  cr_assert(has_failure(&o, "t", "name=xe-0/0/0", NULL));
  check_outcome_free(&o);
  /* With a node: the values of the node must not be fewer (more) per item. */
  const char *whole = "item:\n      xpath: /interface-information\n";
  o = run_rules(c, whole, "        - list-not-less: physical-interface/name\n", x, y);
  cr_assert_eq(o.failure_count, 1);
  cr_assert(strstr(o.failures[0].message, "vtep missing after") != NULL, "%s",
            o.failures[0].message);
  check_outcome_free(&o);
  o = run_rules(c, whole, "        - list-not-more: physical-interface/name\n", x, y);
  cr_assert_eq(o.failure_count, 1);
  cr_assert(strstr(o.failures[0].message, "xe-0/0/0 new after") != NULL);
  check_outcome_free(&o);
  /* Pre/post operators do not run on one snapshot. */
  o = run_rules(c, IFACES, "        - no-diff: oper-status\n        - list-not-less:\n", x, NULL);
  cr_assert_eq(o.tests_run, 0);
  check_outcome_free(&o);
  free(x), free(y);
}

static char *route_summary_with(const char *dir, const char *inet0_active)
{
  char *x = capture(dir, "show-route-summary__pyez-factory__12.1X46.xml");
  char *to = xasprintf("<active-route-count>%s</active-route-count>", inet0_active);
  char *y = replace(x, "<active-route-count>8</active-route-count>", to);
  free(x), free(to);
  return y;
}

Test(checks_ops, route_summary_capture_numbers_delta_forms_and_ranges)
{
  NEED_CAPTURES(dir);
  const char *c = "show route summary";
  const char *b = "iterate:\n      xpath: route-table\n      id: table-name\n";
  char *pre = route_summary_with(dir, "8");
  static const struct {
    const char *delta, *post;
    size_t fails;
  } cases[] = {
      {"1", "9", 0},    {"1", "7", 0},    {"1", "10", 1},    {"+-1", "7", 0},   {"+-1", "6", 1},
      {"+1", "9", 0},   {"+1", "7", 1},   {"-1", "7", 0},    {"-1", "9", 1},    {"25%", "10", 0},
      {"25%", "6", 0},  {"25%", "11", 1}, {"+-25%", "5", 1}, {"+25%", "10", 0}, {"+25%", "6", 1},
      {"-25%", "6", 0}, {"-25%", "9", 1}, {"0", "8", 0},     {"0%", "9", 1},    {"5%", "abc", 1},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    char *rules = xasprintf("        - delta: active-route-count, %s\n", cases[i].delta);
    char *post = route_summary_with(dir, cases[i].post);
    cr_assert_eq(failures(c, b, rules, pre, post), cases[i].fails, "delta %s, 8 -> %s",
                 cases[i].delta, cases[i].post);
    free(rules), free(post);
  }
  cr_assert_eq(failures(c, b, "        - in-range: active-route-count, 4, 8\n", pre, NULL), 0);
  cr_assert_eq(failures(c, b, "        - in-range: active-route-count, 4, 7.5\n", pre, NULL), 1);
  cr_assert_eq(failures(c, b, "        - not-range: active-route-count, 0, 3\n", pre, NULL), 0);
  cr_assert_eq(failures(c, b, "        - not-range: active-route-count, 4, 8\n", pre, NULL), 3);
  cr_assert_eq(failures(c, b, "        - is-gt: active-route-count, 3\n", pre, NULL), 0);
  cr_assert_eq(failures(c, b, "        - is-gt: active-route-count, 4\n", pre, NULL), 2);
  cr_assert_eq(failures(c, b, "        - is-lt: total-route-count, 5\n", pre, NULL), 1);
  cr_assert_eq(failures(c, b, "        - is-equal: destination-count, 8.0\n", pre, NULL), 2,
               "numbers compare as numbers: 8 equals 8.0, 4 does not");
  char *text = route_summary_with(dir, "many");
  cr_assert_eq(failures(c, b, "        - is-gt: active-route-count, 3\n", text, NULL), 1,
               "a value that is not a number fails a numeric operator");
  free(text);
  free(pre);
}

#define ISIS "iterate:\n      xpath: //isis-adjacency\n      id: [interface-name, ./system-name]\n"

Test(checks_ops, isis_capture_several_ids_and_the_err_message)
{
  NEED_CAPTURES(dir);
  /* show-isis-adjacency__junos-upgrader-display-json__22.4R0.json as XML: two adjacencies to
   * one system over ae17.100 and ae27.100. */
  char *x =
      capture_json_as_xml(dir, "show-isis-adjacency__junos-upgrader-display-json__22.4R0.json");
  const char *c = "show isis adjacency";
  const char *rules = "        - no-diff: adjacency-state\n"
                      "          err: \"{{id_0}} to {{ id_1 }}: <{{pre['adjacency-state']}}> then "
                      "<{{post[\\\"adjacency-state\\\"]}}>, level {{post['level']}}\"\n";
  /* ae17.100 goes Initializing; ae27.100's neighbour is replaced by another system. */
  char *y = replace(x, "<adjacency-state>Up</adjacency-state>",
                    "<adjacency-state>Initializing</adjacency-state>");
  y = replace_free(y, "<interface-name>ae27.100</interface-name><system-name>ABCD37383937",
                   "<interface-name>ae27.100</interface-name><system-name>EFGH00000001");
  struct check_outcome o = run_rules(c, ISIS, rules, x, y);
  cr_assert_eq(o.failure_count, 3);
  cr_assert(has_failure(&o, "t", "interface-name=ae17.100, system-name=ABCD37383937",
                        "ae17.100 to ABCD37383937: <Up> then <Initializing>, level 1"));
  /* The one that disappeared has no post values; the one that appeared no pre values. */
  cr_assert(has_failure(&o, "t", "interface-name=ae27.100, system-name=ABCD37383937",
                        "ae27.100 to ABCD37383937: <Up> then <>, level "));
  cr_assert(has_failure(&o, "t", "interface-name=ae27.100, system-name=EFGH00000001",
                        "ae27.100 to EFGH00000001: <> then <Up>, level 1"));
  check_outcome_free(&o);
  o = run_rules(c, ISIS, "        - list-not-less:\n", x, y);
  cr_assert_eq(o.failure_count, 1);
  cr_assert_str_eq(o.failures[0].item, "interface-name=ae27.100, system-name=ABCD37383937");
  cr_assert_str_eq(o.failures[0].message,
                   "interface-name=ae27.100, system-name=ABCD37383937: missing after "
                   "(list-not-less)");
  check_outcome_free(&o);
  /* Nothing but the ISIS element names of the capture: the built-in isis check passes on it. */
  struct check_suite *s = builtin_suite();
  struct check_snapshot *pre = empty_snapshot(s), *post = empty_snapshot(s);
  put(pre, s, c, x);
  put(post, s, c, x);
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  cr_assert_eq(o.failure_count, 0);
  check_outcome_free(&o);
  put(post, s, c, y);
  cr_assert_eq(check_evaluate(s, pre, post, &o), 0);
  cr_assert(has_failure(&o, "isis", NULL,
                        "IS-IS adjacency ae27.100 to ABCD37383937: missing after (list-not-less)"));
  cr_assert(has_failure(&o, "isis", NULL,
                        "IS-IS adjacency ae17.100 to ABCD37383937: Up -> Initializing (no-diff "
                        "adjacency-state)"));
  check_outcome_free(&o);
  check_snapshot_free(pre);
  check_snapshot_free(post);
  check_suite_free(s);
  free(x), free(y);
}

Test(checks_ops, missing_nodes_and_items_with_and_without_ignore_null)
{
  NEED_CAPTURES(dir);
  char *x =
      capture_json_as_xml(dir, "show-isis-adjacency__junos-upgrader-display-json__22.4R0.json");
  const char *c = "show isis adjacency";
  /* After: ae17.100 lost its level node. */
  char *y = replace(x, "<level>1</level>", "");
  struct check_outcome o = run_rules(c, ISIS, "        - no-diff: level\n", x, y);
  cr_assert_eq(o.failure_count, 1);
  cr_assert(strstr(o.failures[0].message, "node missing after (no-diff level)") != NULL);
  cr_assert_str_eq(o.failures[0].pre, "1");
  cr_assert_str_eq(o.failures[0].post, "");
  check_outcome_free(&o);
  cr_assert_eq(failures(c, ISIS, "        - no-diff: level\n          ignore-null: true\n", x, y),
               0);
  cr_assert_eq(failures(c, ISIS, "        - delta: level, 0\n", y, x), 1, "missing before fails");
  cr_assert_eq(failures(c, ISIS, "        - delta: level, 0\n          ignore-null: yes\n", y, x),
               0);
  /* A node no item has, in one snapshot. */
  cr_assert_eq(failures(c, ISIS, "        - is-equal: metric, 10\n", x, NULL), 2);
  cr_assert_eq(
      failures(c, ISIS, "        - is-equal: metric, 10\n          ignore-null: True\n", x, NULL),
      0);
  cr_assert_eq(failures(c, ISIS, "        - not-exists: metric\n", x, NULL), 0);
  cr_assert_eq(
      failures(c, ISIS, "        - exists: metric\n          ignore-null: true\n", x, NULL), 2,
      "exists is about presence: ignore-null does not excuse it");
  /* No item at all: a failure naming the XPath, unless ignore-null. */
  const char *none = "iterate:\n      xpath: //ospf-neighbor\n      id: neighbor-address\n";
  o = run_rules(c, none, "        - list-not-less:\n", x, x);
  cr_assert_eq(o.failure_count, 1);
  cr_assert_str_eq(o.failures[0].message, "t: no item matches //ospf-neighbor (list-not-less)");
  check_outcome_free(&o);
  cr_assert_eq(failures(c, none, "        - list-not-less:\n          ignore-null: true\n", x, x),
               0);
  o = run_rules(c, none, "        - list-not-less:\n          err: \"{{id_0}} lost\"\n", x, x);
  cr_assert_str_eq(o.failures[0].message, "t: no item matches //ospf-neighbor (list-not-less)",
                   "a failure of no item keeps the message that says why");
  check_outcome_free(&o);
  cr_assert_eq(failures(c, none, "        - is-equal: x, y\n", x, NULL), 1);
  cr_assert_eq(failures(c, none, "        - not-exists: x\n", x, NULL), 0);
  /* Every item gone after the ISSU is never a pass. */
  cr_assert_eq(
      failures(c, ISIS, "        - no-diff: adjacency-state\n", x, "<isis-adjacency-information/>"),
      2);
  cr_assert_eq(
      failures(c, ISIS, "        - delta: holdtime, 100%\n", x, "<isis-adjacency-information/>"),
      2);
  free(x), free(y);
}

Test(checks_ops, repeated_ids_are_matched_by_occurrence)
{
  const char *c = "show chassis alarms";
  const char *b = "iterate:\n      xpath: //alarm-detail\n      id: alarm-description\n";
  char *one = alarms("PEM 0 Absent", NULL), *two = alarms("PEM 0 Absent", "PEM 0 Absent");
  struct check_outcome o = run_rules(c, b, "        - list-not-more:\n", one, two);
  cr_assert_eq(o.failure_count, 1);
  cr_assert_str_eq(o.failures[0].item, "alarm-description=PEM 0 Absent #2");
  check_outcome_free(&o);
  cr_assert_eq(failures(c, b, "        - list-not-less:\n", one, two), 0);
  cr_assert_eq(failures(c, b, "        - list-not-less:\n", two, one), 1);
  free(one), free(two);
}

Test(checks_ops, a_snapshot_of_a_smaller_suite_lacks_the_new_commands)
{
  struct diag d = {0};
  struct check_suite *s = check_suite_new(NULL, NULL, 0, 0, &d);
  struct check_snapshot *old = check_snapshot_new(s);
  cr_assert_eq(check_suite_add_buffer(s, "t.yml",
                                      "t:\n  - command: show version\n  - item:\n"
                                      "      xpath: software-information\n      tests:\n"
                                      "        - exists: host-name\n",
                                      strlen("t:\n  - command: show version\n  - item:\n"
                                             "      xpath: software-information\n      tests:\n"
                                             "        - exists: host-name\n"),
                                      &d),
               0);
  struct check_outcome o;
  cr_assert_eq(check_evaluate(s, old, NULL, &o), 0);
  cr_assert_eq(o.failure_count, 1);
  cr_assert(strstr(o.failures[0].message, "the pre answer to `show version` is unusable") != NULL,
            "%s", o.failures[0].message);
  check_outcome_free(&o);
  check_snapshot_free(old);
  check_suite_free(s);
  diag_free(&d);
}

Test(checks_ops, many_items_with_one_id_stay_linear)
{
  /* 20,000 interfaces whose id selects nothing: all share the empty id. */
  char *buf = xcalloc(1, 1);
  size_t len = 0, cap = 1;
  text_appendf(&buf, &len, &cap, "<interface-information>");
  for (int i = 0; i < 20000; i++)
    text_appendf(&buf, &len, &cap,
                 "<physical-interface><name>ge-%d</name><oper-status>up</oper-status>"
                 "</physical-interface>",
                 i);
  text_appendf(&buf, &len, &cap, "</interface-information>");
  struct check_outcome o = run_rules(
      "show interfaces terse", "iterate:\n      xpath: physical-interface\n      id: description\n",
      "        - no-diff: oper-status\n", buf, buf);
  cr_assert_eq(o.failure_count, 0);
  cr_assert_eq(o.tests_passed, 1);
  check_outcome_free(&o);
  free(buf);
}

/* ---- cutting router text for events: at a UTF-8 character's boundary (common/text.c) ---- */

Test(text_utf8, cuts_between_characters_never_inside_one)
{
  const char *euro = "\xe2\x82\xac", *mix = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
  cr_expect_eq(text_utf8_cut(NULL, 10), 0);
  cr_expect_eq(text_utf8_cut("abc", 10), 3, "shorter: all of it");
  cr_expect_eq(text_utf8_cut("abc", 3), 3);
  cr_expect_eq(text_utf8_cut("abcd", 3), 3);
  cr_expect_eq(text_utf8_cut(euro, 1), 0);
  cr_expect_eq(text_utf8_cut(euro, 2), 0);
  cr_expect_eq(text_utf8_cut(euro, 3), 3);
  size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 11};
  for (size_t n = 0; n < sizeof want / sizeof want[0]; n++)
    cr_expect_eq(text_utf8_cut(mix, n), want[n], "max %zu", n);
  char buf[5];
  text_utf8_copy(buf, sizeof buf, mix); /* 4 bytes of room: "aé" and half a euro sign */
  cr_expect_str_eq(buf, "a\xc3\xa9");
  char tail[] = "ab\xe2\x82";
  text_utf8_trim(tail);
  cr_expect_str_eq(tail, "ab");
  char whole[] = "ab\xe2\x82\xac";
  text_utf8_trim(whole);
  cr_expect_str_eq(whole, "ab\xe2\x82\xac");
  char emoji[] = "x\xf0\x9f\x98";
  text_utf8_trim(emoji);
  cr_expect_str_eq(emoji, "x");
}
