/*
 * junos-sim's network (issue 15): the XML of each command the built-in checks run parses and
 * holds the contract's items; the dip and the recovery follow simulated time; each network
 * fault's effect once the network has recovered; the text forms have the captures' columns.
 */
#include "simulator/sim.h"
#include "simulator/sim_net.h"

#include <criterion/criterion.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char lab[256];

/* A two-router lab in a fresh temporary directory with `options`; returns mx-ams-1's state. */
static const char *make_lab(const char *options)
{
  unsetenv("JUNOS_SIM_REAL_NOW");
  snprintf(lab, sizeof lab, "/tmp/issu-simnet-test-XXXXXX");
  cr_assert_not_null(mkdtemp(lab));
  char *cmd = xasprintf("%s lab init %s/lab --devices 2 --time-scale 600 --seed 7 %s >/dev/null",
                        JUNOS_SIM_BINARY, lab, options ? options : "");
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  free(cmd);
  static char state[512];
  snprintf(state, sizeof state, "%s/lab/routers/mx-ams-1.json", lab);
  return state;
}

static void remove_lab(void)
{
  char *cmd = xasprintf("rm -rf %s", lab);
  cr_expect_eq(system(cmd), 0);
  free(cmd);
  unsetenv("JUNOS_SIM_REAL_NOW");
}

static struct sim_router load(const char *state)
{
  struct sim_router r;
  char err[256];
  cr_assert_eq(sim_peek(state, &r, err, sizeof err), 0, "%s", err);
  sim_router_free(&r);
  return r;
}

/* The router's clock at `since` simulated seconds after its last switchover (JUNOS_SIM_REAL_NOW;
 * real time maps to simulated time through the anchors). */
static void at(const char *state, double since)
{
  struct sim_router r = load(state);
  double t = r.mastership_changed + since;
  char now[64];
  snprintf(now, sizeof now, "%.6f", r.anchor_real + (t - r.anchor_sim) / r.time_scale);
  setenv("JUNOS_SIM_REAL_NOW", now, 1);
}

/* A switchover now (as the ISSU's): mastership moves to RE1. */
static void switchover(const char *state)
{
  struct sim_router r;
  int fd;
  char err[256];
  cr_assert_eq(sim_open(state, &r, &fd, err, sizeof err), 0, "%s", err);
  double now = sim_now(&r);
  sim_settle(&r, now);
  sim_switch_mastership(&r, now);
  cr_assert_eq(sim_save(&r, err, sizeof err), 0, "%s", err);
  sim_close(&r, fd);
}

/* Runs one command in-process; returns its output (caller frees) without a `set cli timestamp`
 * line. */
static char *run(const char *state, const char *command)
{
  size_t len = 0;
  char *out = NULL, input[] = "\n";
  FILE *o = open_memstream(&out, &len);
  FILE *in = fmemopen(input, 1, "r");
  sim_run_command(state, command, in, o);
  fclose(o);
  fclose(in);
  if (strlen(out) > 16 && out[3] == ' ' && out[6] == ' ' && out[9] == ':' && out[15] == '\n')
    memmove(out, out + 16, strlen(out + 16) + 1);
  return out;
}

/* ---- the contract's items, read with libxml2 ---- */

/* "//bgp-peer/bgp-rib" as an XPath that ignores the replies' default namespace. */
static void local_path(const char *path, char *buf, size_t len)
{
  buf[0] = '\0';
  for (const char *p = path; *p;) {
    size_t slashes = strspn(p, "/");
    snprintf(buf + strlen(buf), len - strlen(buf), "%.*s", (int)slashes, p);
    p += slashes;
    size_t n = strcspn(p, "/");
    if (n == 0)
      break;
    if ((n == 1 && p[0] == '.') || (n == 2 && strncmp(p, "..", 2) == 0))
      snprintf(buf + strlen(buf), len - strlen(buf), "%.*s", (int)n, p);
    else
      snprintf(buf + strlen(buf), len - strlen(buf), "*[local-name()='%.*s']", (int)n, p);
    p += n;
  }
}

/* The text of `rel` under `node` ("" when missing). */
static void text_at(xmlXPathContextPtr ctx, xmlNodePtr node, const char *rel, char *buf, size_t len)
{
  char path[512];
  local_path(rel, path, sizeof path);
  ctx->node = node;
  xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)path, ctx);
  buf[0] = '\0';
  if (o && o->nodesetval && o->nodesetval->nodeNr > 0) {
    xmlChar *t = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
    snprintf(buf, len, "%s", t ? (const char *)t : "");
    xmlFree(t);
  }
  xmlXPathFreeObject(o);
}

/* One check of the issue 15 contract: the command, the items, their ids and values. */
struct item {
  const char *name, *command, *xpath, *id[2], *value[2];
  size_t min, max; /* how many items a healthy router of the default size has */
};

static const struct item contract[] = {
    {"bgp",
     "show bgp summary",
     "//bgp-peer",
     {"peer-address"},
     {"peer-state", "bgp-rib/received-prefix-count"},
     4,
     12},
    {"ospf",
     "show ospf neighbor",
     "//ospf-neighbor",
     {"neighbor-address"},
     {"ospf-neighbor-state"},
     1,
     3},
    {"isis",
     "show isis adjacency",
     "//isis-adjacency",
     {"interface-name", "system-name"},
     {"adjacency-state"},
     1,
     3},
    {"ldp",
     "show ldp session",
     "//ldp-session",
     {"ldp-neighbor-address"},
     {"ldp-session-state"},
     2,
     4},
    {"interfaces",
     "show interfaces terse",
     "//physical-interface",
     {"name"},
     {"oper-status"},
     10,
     42},
    {"routes", "show route summary", "//route-table", {"table-name"}, {"active-route-count"}, 4, 4},
    {"fpc", "show chassis fpc pic-status", "//fpc", {"slot"}, {"state"}, 2, 4},
    {"pic",
     "show chassis fpc pic-status",
     "//fpc/pic",
     {"../slot", "pic-slot"},
     {"pic-state"},
     4,
     8},
    {"alarms",
     "show chassis alarms",
     "//alarm-detail",
     {"alarm-description"},
     {"alarm-class"},
     0,
     0},
    {"nsr",
     "show task replication",
     "//task-replication-state",
     {"task-re-mode"},
     {"task-protocol-replication-state"},
     1,
     1},
};

enum { BGP, OSPF, ISIS, LDP, INTERFACES, ROUTES, FPC, PIC, ALARMS, NSR };

/* The items of `it` now, one "id|id = value|value" line each (caller frees); *count of them.
 * Every id and value must be there: the XML has the contract's items. */
static char *items(const char *state, const struct item *it, size_t *count)
{
  char *cmd = xasprintf("%s | display xml", it->command), *xml = run(state, cmd);
  xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "reply.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  cr_assert_not_null(doc, "'%s' is not well-formed XML:\n%s", cmd, xml);
  xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
  char path[512];
  local_path(it->xpath, path, sizeof path);
  xmlXPathObjectPtr set = xmlXPathEvalExpression((const xmlChar *)path, ctx);
  cr_assert_not_null(set);
  size_t n = set->nodesetval ? (size_t)set->nodesetval->nodeNr : 0, cap = 64 + n * 256, used = 0;
  char *out = xcalloc(1, cap);
  for (size_t i = 0; i < n; i++) {
    xmlNodePtr node = set->nodesetval->nodeTab[i];
    char line[256] = "", part[96];
    for (size_t k = 0; k < 4; k++) {
      const char *rel = k < 2 ? it->id[k] : it->value[k - 2];
      if (rel == NULL)
        continue;
      text_at(ctx, node, rel, part, sizeof part);
      cr_expect(part[0] != '\0', "%s: an item of %s has no %s:\n%s", it->name, cmd, rel, xml);
      snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s",
               k == 0   ? ""
               : k == 2 ? " = "
                        : "|",
               part);
    }
    used += (size_t)snprintf(out + used, cap - used, "%s\n", line);
  }
  *count = n;
  xmlXPathFreeObject(set);
  xmlXPathFreeContext(ctx);
  xmlFreeDoc(doc);
  free(xml);
  free(cmd);
  return out;
}

/* The snapshot of every check of the contract: what a pre or post snapshot compares. */
struct snap {
  char *text[ARRAY_LEN(contract)];
  size_t count[ARRAY_LEN(contract)];
};

static void take(const char *state, struct snap *s)
{
  for (size_t i = 0; i < ARRAY_LEN(contract); i++)
    s->text[i] = items(state, &contract[i], &s->count[i]);
}

static void drop(struct snap *s)
{
  for (size_t i = 0; i < ARRAY_LEN(contract); i++)
    free(s->text[i]);
}

/* How many lines of `text` contain `needle`. */
static size_t lines_with(const char *text, const char *needle)
{
  size_t n = 0;
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    char *line = xstrndup(p, len);
    n += strstr(line, needle) != NULL;
    free(line);
    p += len + (p[len] == '\n');
  }
  return n;
}

/* The value after "ID = " or "ID|...= " on the line of `id` (0 when absent). */
static unsigned long value_of(const char *text, const char *id)
{
  size_t idlen = strlen(id);
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    if (strncmp(p, id, idlen) == 0 && (p[idlen] == ' ' || p[idlen] == '|')) {
      const char *eq = strstr(p, " = ");
      const char *num = eq ? eq + 3 : p;
      while (*num && *num != '\n' && (*num < '0' || *num > '9'))
        num++;
      return strtoul(num, NULL, 10);
    }
    p += len + (p[len] == '\n');
  }
  return 0;
}

/* ---- a healthy router ---- */

Test(sim_net, the_xml_of_each_command_parses_and_has_the_contract_items)
{
  const char *s = make_lab(NULL);
  struct snap pre;
  take(s, &pre);
  for (size_t i = 0; i < ARRAY_LEN(contract); i++)
    cr_expect(pre.count[i] >= contract[i].min && pre.count[i] <= contract[i].max,
              "%s: %zu items, expected %zu to %zu:\n%s", contract[i].name, pre.count[i],
              contract[i].min, contract[i].max, pre.text[i]);
  cr_expect_eq(lines_with(pre.text[BGP], "= Established|"), pre.count[BGP], "%s", pre.text[BGP]);
  cr_expect_eq(lines_with(pre.text[OSPF], "= Full"), pre.count[OSPF]);
  cr_expect_eq(lines_with(pre.text[ISIS], "= Up"), pre.count[ISIS]);
  cr_expect_eq(lines_with(pre.text[LDP], "= Operational"), pre.count[LDP]);
  cr_expect_eq(lines_with(pre.text[FPC], "= Online"), pre.count[FPC]);
  cr_expect_eq(lines_with(pre.text[PIC], "= Online"), pre.count[PIC]);
  cr_expect_eq(lines_with(pre.text[NSR], "Master = Complete"), 1, "%s", pre.text[NSR]);
  for (size_t k = 0; k < 4; k++) {
    const char *table[] = {"inet.0 ", "inet.3 ", "inet6.0 ", "mpls.0 "};
    cr_expect_eq(lines_with(pre.text[ROUTES], table[k]), 1, "%s", pre.text[ROUTES]);
  }
  cr_expect(value_of(pre.text[ROUTES], "inet.0") > 1000, "%s", pre.text[ROUTES]);
  drop(&pre);
  remove_lab();
}

/* The network is a function of the router's name and the time since its switchover: another lab
 * seed gives mx-ams-1 the same items, and a second look the same answer. */
Test(sim_net, the_network_is_a_function_of_the_name)
{
  const char *s = make_lab(NULL);
  struct snap a, b;
  take(s, &a);
  take(s, &b);
  remove_lab();
  s = make_lab("--seed 99");
  struct snap c;
  take(s, &c);
  for (size_t i = 0; i < ARRAY_LEN(contract); i++) {
    cr_expect_str_eq(a.text[i], b.text[i]);
    cr_expect_str_eq(a.text[i], c.text[i], "%s", contract[i].name);
  }
  /* mx-ams-2 is another router. */
  char other[600];
  snprintf(other, sizeof other, "%s/lab/routers/mx-ams-2.json", lab);
  size_t n;
  char *bgp = items(other, &contract[BGP], &n);
  cr_expect_str_neq(bgp, a.text[BGP]);
  free(bgp);
  drop(&a);
  drop(&b);
  drop(&c);
  remove_lab();
}

/* ---- the dip and the recovery ---- */

Test(sim_net, the_dip_and_the_recovery_follow_simulated_time)
{
  const char *s = make_lab("--net-recovery 120");
  struct snap pre;
  take(s, &pre);
  switchover(s);
  /* Right after the switchover: every peer down with no prefixes, adjacencies and sessions
   * fewer, the learned routes gone; the line cards and interfaces stay. */
  at(s, 1);
  struct snap dip;
  take(s, &dip);
  cr_expect_eq(dip.count[BGP], pre.count[BGP], "a configured peer stays listed");
  cr_expect_eq(lines_with(dip.text[BGP], "= Established|"), 0, "%s", dip.text[BGP]);
  cr_expect_eq(lines_with(dip.text[BGP], "|0"), pre.count[BGP], "no prefixes: %s", dip.text[BGP]);
  cr_expect_lt(dip.count[OSPF] + dip.count[ISIS], pre.count[OSPF] + pre.count[ISIS]);
  cr_expect_lt(dip.count[LDP], pre.count[LDP]);
  cr_expect_lt(value_of(dip.text[ROUTES], "inet.0"), value_of(pre.text[ROUTES], "inet.0") / 10);
  cr_expect_str_eq(dip.text[FPC], pre.text[FPC]);
  cr_expect_str_eq(dip.text[INTERFACES], pre.text[INTERFACES]);
  drop(&dip);
  /* The peers return one by one; the last exactly at the recovery. */
  size_t down_before = pre.count[BGP] + 1;
  const double moments[] = {1, 40, 60, 80, 100, 119.5};
  for (size_t m = 0; m < ARRAY_LEN(moments); m++) {
    at(s, moments[m]);
    size_t n;
    char *bgp = items(s, &contract[BGP], &n);
    size_t down = n - lines_with(bgp, "= Established|");
    cr_expect_leq(down, down_before, "peers only return (at %g s): %s", moments[m], bgp);
    cr_expect_geq(down, 1, "a peer is still down at %g s: %s", moments[m], bgp);
    down_before = down;
    free(bgp);
  }
  /* After the recovery every item equals the pre state (Backup RE Active is the alarms'). */
  at(s, 120.5);
  struct snap post;
  take(s, &post);
  for (size_t i = 0; i < ARRAY_LEN(contract); i++)
    if (i != ALARMS)
      cr_expect_str_eq(post.text[i], pre.text[i], "%s", contract[i].name);
  cr_expect_str_eq(post.text[ALARMS], "Backup RE Active = Minor\n");
  drop(&post);
  drop(&pre);
  remove_lab();
}

/* The ISSU's own switchover starts the dip: a whole ISSU in a child junos-sim (its session is cut
 * at the switchover, as a real one is), then the network just after it and once recovered. */
Test(sim_net, the_issu_switchover_starts_the_dip)
{
  const char *s = make_lab("--steady --router mx-ams-1=peer-lost");
  struct snap pre;
  take(s, &pre);
  char *cmd = xasprintf("%s device --state %s -c 'request system software in-service-upgrade "
                        "/var/tmp/junos-install-mx-x86-64-23.4R2-S3.7.tgz reboot' >/dev/null 2>&1",
                        JUNOS_SIM_BINARY, s);
  int status = system(cmd);
  free(cmd);
  cr_expect_neq(status, 0, "the session is cut at the switchover");
  struct sim_router r = load(s);
  cr_assert(r.re[1].master && r.mastership_changed > 0,
            "RE1 is master after the ISSU's switchover");
  at(s, 1);
  size_t n;
  char *bgp = items(s, &contract[BGP], &n);
  cr_expect_eq(lines_with(bgp, "= Established|"), 0, "%s", bgp);
  free(bgp);
  at(s, 61);
  struct snap post;
  take(s, &post);
  cr_expect_eq(lines_with(post.text[BGP], "= Established|"), pre.count[BGP] - 1, "%s",
               post.text[BGP]);
  for (size_t i = 0; i < ARRAY_LEN(contract); i++)
    if (i != BGP && i != ROUTES && i != ALARMS)
      cr_expect_str_eq(post.text[i], pre.text[i], "%s", contract[i].name);
  drop(&pre);
  drop(&post);
  remove_lab();
}

/* ---- the faults, once the network has recovered ---- */

/* The pre and post snapshots around a switchover of a router with `options`, post at `since`. */
static void around(const char *options, double since, struct snap *pre, struct snap *post)
{
  const char *s = make_lab(options);
  take(s, pre);
  switchover(s);
  at(s, since);
  take(s, post);
}

Test(sim_net, peer_lost_leaves_one_peer_down_for_ever)
{
  struct snap pre, post;
  around("--router mx-ams-1=peer-lost", 3600, &pre, &post);
  cr_expect_eq(post.count[BGP], pre.count[BGP]);
  cr_expect_eq(lines_with(post.text[BGP], "= Established|"), pre.count[BGP] - 1, "%s",
               post.text[BGP]);
  /* The lost peer is the small customer: Active or Connect with no prefixes; the others as
   * before, and the routes within 5%. */
  cr_expect_eq(lines_with(post.text[BGP], "= Active|0") + lines_with(post.text[BGP], "= Connect|0"),
               1, "%s", post.text[BGP]);
  for (size_t i = 0; i < ARRAY_LEN(contract); i++)
    if (i != BGP && i != ROUTES && i != ALARMS)
      cr_expect_str_eq(post.text[i], pre.text[i], "%s", contract[i].name);
  unsigned long before = value_of(pre.text[ROUTES], "inet.0"),
                after = value_of(post.text[ROUTES], "inet.0");
  cr_expect(after < before && after * 100 >= before * 95, "%lu -> %lu", before, after);
  drop(&pre);
  drop(&post);
  remove_lab();
}

Test(sim_net, a_fault_shows_nothing_before_the_switchover)
{
  const char *s = make_lab(NULL);
  struct snap healthy;
  take(s, &healthy);
  remove_lab();
  s = make_lab("--router mx-ams-1=peer-lost --router mx-ams-1=prefixes-low "
               "--router mx-ams-1=fpc-offline --router mx-ams-1=slow-converge:5");
  struct snap faulty;
  take(s, &faulty);
  for (size_t i = 0; i < ARRAY_LEN(contract); i++)
    cr_expect_str_eq(faulty.text[i], healthy.text[i], "%s", contract[i].name);
  drop(&healthy);
  drop(&faulty);
  remove_lab();
}

Test(sim_net, prefixes_low_makes_prefixes_and_routes_30_percent_fewer)
{
  struct snap pre, post;
  around("--router mx-ams-1=prefixes-low", 60.5, &pre, &post);
  cr_expect_eq(lines_with(post.text[BGP], "= Established|"), pre.count[BGP]);
  /* Each peer's received prefixes: 70% of before. */
  for (const char *p = pre.text[BGP]; *p;) {
    char id[64];
    size_t len = strcspn(p, " ");
    snprintf(id, sizeof id, "%.*s", (int)len, p);
    unsigned long before = value_of(pre.text[BGP], id), after = value_of(post.text[BGP], id);
    cr_expect_eq(after, before * 7 / 10, "%s: %lu -> %lu", id, before, after);
    p += strcspn(p, "\n");
    p += *p == '\n';
  }
  const char *tables[] = {"inet.0", "inet6.0"};
  for (size_t t = 0; t < ARRAY_LEN(tables); t++) {
    unsigned long before = value_of(pre.text[ROUTES], tables[t]),
                  after = value_of(post.text[ROUTES], tables[t]);
    cr_expect(after * 100 <= before * 72 && after * 100 >= before * 68, "%s: %lu -> %lu", tables[t],
              before, after);
  }
  cr_expect_str_eq(post.text[FPC], pre.text[FPC]);
  cr_expect_str_eq(post.text[INTERFACES], pre.text[INTERFACES]);
  drop(&pre);
  drop(&post);
  remove_lab();
}

Test(sim_net, fpc_offline_leaves_the_last_fpc_offline)
{
  struct snap pre, post;
  around("--router mx-ams-1=fpc-offline", 600, &pre, &post);
  cr_expect_eq(post.count[FPC], pre.count[FPC]);
  cr_expect_eq(lines_with(post.text[FPC], "= Offline"), 1, "%s", post.text[FPC]);
  char last[16];
  snprintf(last, sizeof last, "%zu = Offline", pre.count[FPC] - 1);
  cr_expect(strstr(post.text[FPC], last), "%s", post.text[FPC]);
  /* Its PICs and its ports are gone; the protocols are back. */
  cr_expect_eq(post.count[PIC], pre.count[PIC] - 2);
  cr_expect_lt(post.count[INTERFACES], pre.count[INTERFACES]);
  cr_expect_str_eq(post.text[BGP], pre.text[BGP]);
  cr_expect_str_eq(post.text[OSPF], pre.text[OSPF]);
  cr_expect_str_eq(post.text[ISIS], pre.text[ISIS]);
  drop(&pre);
  drop(&post);
  remove_lab();
}

Test(sim_net, slow_converge_recovers_after_its_minutes)
{
  const char *s = make_lab("--router mx-ams-1=slow-converge:3");
  struct snap pre;
  take(s, &pre);
  switchover(s);
  const double still_down[] = {60.5, 179.5};
  for (size_t m = 0; m < ARRAY_LEN(still_down); m++) {
    at(s, still_down[m]);
    size_t n;
    char *bgp = items(s, &contract[BGP], &n);
    cr_expect_lt(lines_with(bgp, "= Established|"), n, "still converging at %g s: %s",
                 still_down[m], bgp);
    free(bgp);
  }
  at(s, 180.5);
  struct snap post;
  take(s, &post);
  for (size_t i = 0; i < ARRAY_LEN(contract); i++)
    if (i != ALARMS)
      cr_expect_str_eq(post.text[i], pre.text[i], "%s", contract[i].name);
  drop(&pre);
  drop(&post);
  remove_lab();
}

/* ---- the lab's options ---- */

Test(sim_net, the_lab_options_are_checked_and_kept_in_the_state_file)
{
  static const struct {
    const char *options, *says;
  } bad[] = {
      {"--router mx-ams-1=slow-converge:soon", "'slow-converge:soon': the minutes must be"},
      {"--router mx-ams-1=slow-converge:0", "'slow-converge:0': the minutes must be"},
      {"--net-recovery 0", "--net-recovery must be from 1 to 86400"},
      {"--net-recovery ten", "'ten' is not a number"},
      {"--net-scale 0", "--net-scale must be from 1 to"},
      {"--router mx-ams-1=peer-gone", "unknown router option 'peer-gone'"},
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    char tmp[] = "/tmp/issu-simnet-bad-XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    char *cmd =
        xasprintf("%s lab init %s/lab --devices 2 %s 2>&1", JUNOS_SIM_BINARY, tmp, bad[i].options);
    FILE *p = popen(cmd, "r");
    char msg[1024] = "";
    size_t got = fread(msg, 1, sizeof msg - 1, p);
    msg[got] = '\0';
    int status = pclose(p);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "%s: exit %d", bad[i].options, status);
    cr_expect(strncmp(msg, "junos-sim lab: ", 15) == 0 && strstr(msg, bad[i].says), "%s: %s",
              bad[i].options, msg);
    free(cmd);
    cmd = xasprintf("rm -rf %s", tmp);
    cr_expect_eq(system(cmd), 0);
    free(cmd);
  }
  const char *s = make_lab("--net-recovery 90 --router mx-ams-1=peer-lost "
                           "--router mx-ams-1=slow-converge:2.5");
  struct sim_router r = load(s);
  cr_expect_eq(r.net_faults, NET_PEER_LOST | NET_SLOW_CONVERGE);
  cr_expect_eq(r.net_recovery, 90);
  cr_expect_eq(sim_net_recovery(&r), 150, "slow-converge wins over --net-recovery");
  char list[128];
  sim_net_fault_list(&r, list, sizeof list);
  cr_expect_str_eq(list, "peer-lost,slow-converge:2.5");
  remove_lab();
}

Test(sim_net, net_scale_multiplies_the_network)
{
  const char *s = make_lab(NULL);
  size_t small;
  free(items(s, &contract[BGP], &small));
  remove_lab();
  s = make_lab("--net-scale 10");
  size_t big, ifds;
  free(items(s, &contract[BGP], &big));
  free(items(s, &contract[INTERFACES], &ifds));
  cr_expect_eq(big, 10 * small);
  cr_expect_gt(ifds, 80);
  remove_lab();
}

static int by_text(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every item's id is unique, also in a lab scaled up for benchmarks (the checks key on them). */
Test(sim_net, item_ids_are_unique_at_scale)
{
  const char *s = make_lab("--net-scale 200");
  const size_t checks[] = {BGP, OSPF, ISIS, LDP, INTERFACES, ROUTES, FPC, PIC};
  for (size_t c = 0; c < ARRAY_LEN(checks); c++) {
    size_t n;
    char *text = items(s, &contract[checks[c]], &n);
    char **ids = xcalloc(n + 1, sizeof *ids);
    size_t k = 0;
    for (char *line = strtok(text, "\n"); line && k < n; line = strtok(NULL, "\n")) {
      char *eq = strstr(line, " = ");
      if (eq)
        *eq = '\0';
      ids[k++] = line;
    }
    qsort(ids, k, sizeof *ids, by_text);
    for (size_t i = 1; i < k; i++)
      cr_expect_str_neq(ids[i - 1], ids[i], "%s: a duplicate id", contract[checks[c]].name);
    free(ids);
    free(text);
  }
  remove_lab();
}

/* ---- the captures are the oracle ---- */

/* The captures directory: ISSU_CAPTURES, else ../shared/captures beside the source tree. */
static const char *captures_dir(void)
{
  static char path[512];
  const char *env = getenv("ISSU_CAPTURES");
  snprintf(path, sizeof path, "%s", env && *env ? env : ISSU_SOURCE_DIR "/../shared/captures");
  return path;
}

static char *read_capture(const char *name)
{
  char *path = xasprintf("%s/%s", captures_dir(), name), *text = NULL, err[128];
  size_t len;
  int rc = text_read_file(path, 1 << 22, &text, &len, err, sizeof err);
  free(path);
  return rc == 0 ? text : NULL;
}

/* The first line of `text` that contains `needle`, without its end, CR or the fixtures' added
 * indent when `trim` (caller frees; NULL if none). */
static char *line_with(const char *text, const char *needle, bool trim)
{
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    char *line = xstrndup(p, len);
    line[strcspn(line, "\r")] = '\0';
    if (strstr(line, needle)) {
      if (trim) {
        size_t lead = strspn(line, " ");
        memmove(line, line + lead, strlen(line + lead) + 1);
      }
      return line;
    }
    free(line);
    p += len + (p[len] == '\n');
  }
  return NULL;
}

/* Where each whitespace-separated field of `line` ends (its right edge), up to `max`. */
static size_t field_ends(const char *line, size_t *ends, size_t max)
{
  size_t n = 0;
  for (size_t i = 0; line[i] && n < max; i++)
    if (line[i] != ' ' && (line[i + 1] == ' ' || line[i + 1] == '\0'))
      ends[n++] = i + 1;
  return n;
}

static size_t field_starts(const char *line, size_t *starts, size_t max)
{
  size_t n = 0;
  for (size_t i = 0; line[i] && n < max; i++)
    if (line[i] != ' ' && (i == 0 || line[i - 1] == ' '))
      starts[n++] = i;
  return n;
}

/* The text forms: the capture's header line is junos-sim's, and a row of each has its fields at
 * the same columns (right edges for the right-aligned numbers of show bgp summary). */
struct text_shape {
  const char *command, *capture;
  const char *header;   /* a word of the header line */
  const char *row;      /* a word of a row in the capture ("Establ", "Full", "Online", ...) */
  const char *sim_row;  /* the same in junos-sim's output */
  bool ends;            /* compare right edges (numbers) rather than left edges */
  size_t first, fields; /* which fields to compare */
};

static const struct text_shape text_shapes[] = {
    {"show bgp summary", "show-bgp-summary__ntc-templates__unknown.txt", "Last Up/Dwn", " Establ",
     " Establ", true, 1, 5},
    {"show ospf neighbor", "show-ospf-neighbor__ntc-templates__unknown.txt", "Interface", " Full ",
     " Full ", false, 0, 4},
    {"show isis adjacency", "show-isis-adjacency__ntc-templates__unknown.txt", "System", "  Up ",
     "  Up ", false, 0, 4},
    {"show interfaces terse", "show-interfaces-terse__genieparser-vmx__unknown.txt", "Admin Link",
     "inet     10.0.1.1", " inet ", false, 0, 5},
    {"show chassis fpc pic-status", "show-chassis-fpc-pic-status__genieparser-dpce__unknown.txt",
     NULL, "Slot 0", "Slot 0", false, 0, 3},
    {"show chassis fpc pic-status", "show-chassis-fpc-pic-status__genieparser-dpce__unknown.txt",
     NULL, "  PIC 0", "  PIC 0", false, 0, 4},
};

Test(sim_net, text_forms_have_the_columns_of_the_captures)
{
  char *probe = read_capture("MANIFEST.md");
  if (probe == NULL)
    cr_skip_test("no captures in %s (set ISSU_CAPTURES)", captures_dir());
  free(probe);
  const char *s = make_lab(NULL);
  for (size_t i = 0; i < ARRAY_LEN(text_shapes); i++) {
    const struct text_shape *t = &text_shapes[i];
    char *capture = read_capture(t->capture), *out = run(s, t->command);
    cr_assert_not_null(capture, "%s is missing", t->capture);
    if (t->header) {
      char *want = line_with(capture, t->header, true), *got = line_with(out, t->header, false);
      cr_expect(want && got && strcmp(want, got) == 0, "%s header:\n%s\n%s", t->command,
                want ? want : "(none)", got ? got : "(none)");
      free(want);
      free(got);
    }
    bool trim = strncmp(t->row, "  ", 2) != 0;
    char *want = line_with(capture, t->row, trim), *got = line_with(out, t->sim_row, false);
    cr_assert(want && got, "%s: no row:\n%s", t->command, out);
    size_t a[12], b[12];
    size_t na = (t->ends ? field_ends : field_starts)(want, a, 12);
    size_t nb = (t->ends ? field_ends : field_starts)(got, b, 12);
    size_t last = t->first + t->fields;
    cr_expect(na >= last && nb >= last, "%s:\n%s\n%s", t->command, want, got);
    for (size_t k = t->first; k < last && k < na && k < nb; k++)
      cr_expect_eq(a[k], b[k], "%s field %zu:\n%s\n%s", t->command, k, want, got);
    free(want);
    free(got);
    free(out);
    free(capture);
  }
  /* show route summary: the capture's table and protocol line forms. */
  char *out = run(s, "show route summary");
  cr_expect(strstr(out, "Autonomous system number: ") && strstr(out, "\nRouter ID: "), "%s", out);
  char *table = line_with(out, "inet.0: ", false), *proto = line_with(out, "Direct:", false);
  unsigned d, r, a, h, hid, pr, pa;
  cr_expect(table && sscanf(table,
                            "inet.0: %u destinations, %u routes (%u active, %u holddown, "
                            "%u hidden)",
                            &d, &r, &a, &h, &hid) == 5,
            "%s", out);
  cr_expect(proto && strncmp(proto, "              Direct: ", 22) == 0 &&
                sscanf(proto + 22, "%u routes, %u active", &pr, &pa) == 2,
            "%s", out);
  free(table);
  free(proto);
  free(out);
  remove_lab();
}

/* The XML forms carry the elements the captures show (for the JSON captures, their keys). */
struct xml_shape {
  const char *command, *capture;
  const char *tags[10]; /* in junos-sim's output */
  const char *keys[10]; /* in the capture */
};

static const struct xml_shape xml_shapes[] = {
    {"show bgp summary | display xml",
     "show-bgp-summary__junos-upgrader-display-json__22.4R0.json",
     {"<bgp-information xmlns=\"http://xml.juniper.net/junos/", "/junos-routing\">",
      "<bgp-rib junos:style=\"brief\">", "<received-prefix-count>", "<peer-count>",
      "<down-peer-count>", "<bgp-rib-state>BGP restart is complete</bgp-rib-state>"},
     {"\"bgp-information\"", "junos-routing", "\"junos:style\" : \"brief\"",
      "\"received-prefix-count\"", "\"peer-count\"", "\"down-peer-count\"",
      "BGP restart is complete"}},
    {"show isis adjacency | display xml",
     "show-isis-adjacency__junos-upgrader-display-json__22.4R0.json",
     {"<isis-adjacency-information xmlns=", "junos:style=\"brief\"", "<isis-adjacency>",
      "<interface-name>", "<system-name>", "<level>", "<adjacency-state>Up</adjacency-state>",
      "<holdtime>"},
     {"\"isis-adjacency-information\"", "\"brief\"", "\"isis-adjacency\"", "\"interface-name\"",
      "\"system-name\"", "\"level\"", "\"adjacency-state\"", "\"holdtime\""}},
    {"show interfaces terse | display xml",
     "show-interfaces-terse__pyez-display-json__16.1I0.json",
     {"/junos-interface\" junos:style=\"terse\">", "<physical-interface>", "<oper-status>",
      "<admin-status>", "<logical-interface>", "<address-family-name>inet<",
      "<ifa-local junos:emit=\"emit\">", "<ifa-destination junos:emit=\"emit\">0/0<",
      "<name>lo0.16384</name>", "<name>mtun</name>"},
     {"junos-interface", "\"physical-interface\"", "\"oper-status\"", "\"admin-status\"",
      "\"logical-interface\"", "\"address-family-name\"", "\"ifa-local\"", "\"ifa-destination\"",
      "lo0.16384", "mtun"}},
    {"show route summary | display xml",
     "show-route-summary__pyez-factory__12.1X46.xml",
     {"<route-summary-information xmlns=\"http://xml.juniper.net/junos/", "<router-id>",
      "<route-table>", "<table-name>inet.0</table-name>", "<destination-count>",
      "<total-route-count>", "<active-route-count>", "<protocols>", "<protocol-name>Direct<",
      "<protocol-route-count>"},
     {"<route-summary-information xmlns=\"http://xml.juniper.net/junos/", "<router-id>",
      "<route-table>", "<table-name>inet.0</table-name>", "<destination-count>",
      "<total-route-count>", "<active-route-count>", "<protocols>", "<protocol-name>Direct<",
      "<protocol-route-count>"}},
    {"show chassis fpc pic-status | display xml",
     "show-chassis-fpc-pic-status__junos-upgrader-display-json__22.4R0.json",
     {"<fpc-information xmlns=", "/junos-chassis\" junos:style=\"pic-style\">", "<fpc>",
      "<slot>0</slot>", "<state>Online</state>", "<description>", "<pic>", "<pic-slot>0<",
      "<pic-state>Online</pic-state>", "<pic-type>"},
     {"\"fpc-information\"", "junos-chassis", "\"pic-style\"", "\"fpc\"", "\"slot\"", "\"state\"",
      "\"description\"", "\"pic-slot\"", "\"pic-state\"", "\"pic-type\""}},
};

Test(sim_net, xml_forms_have_the_elements_of_the_captures)
{
  char *probe = read_capture("MANIFEST.md");
  if (probe == NULL)
    cr_skip_test("no captures in %s (set ISSU_CAPTURES)", captures_dir());
  free(probe);
  const char *s = make_lab(NULL);
  for (size_t i = 0; i < ARRAY_LEN(xml_shapes); i++) {
    const struct xml_shape *x = &xml_shapes[i];
    char *capture = read_capture(x->capture), *out = run(s, x->command);
    cr_assert_not_null(capture, "%s is missing", x->capture);
    for (size_t k = 0; k < ARRAY_LEN(x->keys) && x->keys[k]; k++)
      cr_expect(strstr(capture, x->keys[k]), "the capture %s lacks %s", x->capture, x->keys[k]);
    for (size_t k = 0; k < ARRAY_LEN(x->tags) && x->tags[k]; k++)
      cr_expect(strstr(out, x->tags[k]), "'%s' lacks %s:\n%s", x->command, x->tags[k], out);
    cr_expect(strstr(out, "</rpc-reply>"), "%s", out);
    free(out);
    free(capture);
  }
  remove_lab();
}

/* `lab status --json` says where the network is: what an end-to-end test waits on. */
Test(sim_net, the_network_state_word_follows_the_dip_and_the_faults)
{
  const char *s = make_lab("--router mx-ams-1=peer-lost --router mx-ams-1=slow-converge:2");
  struct sim_router r = load(s);
  cr_expect_str_eq(sim_net_state(&r, sim_now(&r)), "healthy");
  switchover(s);
  r = load(s);
  double t = r.mastership_changed;
  cr_expect_str_eq(sim_net_state(&r, t + 119), "converging");
  cr_expect_str_eq(sim_net_state(&r, t + 121), "degraded");
  r.net_faults = NET_SLOW_CONVERGE;
  cr_expect_str_eq(sim_net_state(&r, t + 121), "healthy");
  at(s, 30);
  char *cmd = xasprintf("%s lab status %s/lab --json", JUNOS_SIM_BINARY, lab);
  FILE *p = popen(cmd, "r");
  char buf[4096] = "";
  size_t got = fread(buf, 1, sizeof buf - 1, p);
  buf[got] = '\0';
  pclose(p);
  free(cmd);
  cr_expect(strstr(buf, "\"network\":\"converging\",\"net_faults\":\"peer-lost,slow-converge:2\""),
            "%s", buf);
  cr_expect(strstr(buf, "\"network\":\"healthy\",\"net_faults\":\"\""), "mx-ams-2: %s", buf);
  remove_lab();
}
