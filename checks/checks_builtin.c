/*
 * The built-in ISSU suite, as data: one row per rule, each a JSNAPy test written in C. The
 * element names are those of the captures in ../shared/captures (where a capture is `| display
 * json`, its keys are the XML element names); rows marked UNVERIFIED rest on Juniper's documented
 * XML tag names because no capture shows the element.
 *
 * Every row skips an item whose node is missing before (no baseline: a peer that was down before
 * the ISSU has no prefixes to compare) but fails one whose node went missing after, and passes a
 * command with no items at all (a router without OSPF), so the suite is on by default on any MX.
 */
#include "checks/checks_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The alarm Junos raises whenever RE1 is master (captures show-chassis-alarms__crtc-loop-backup-
 * re-active and show-system-alarms__crtc-after-switchover-backup-re-active). */
#define BACKUP_RE_ACTIVE "Backup RE Active"

static const char *const builtin_names[CHECK_BUILTIN_COUNT] = {
    [CHECK_BGP_PEERS] = "bgp-peers",
    [CHECK_BGP_STATE] = "bgp-state",
    [CHECK_BGP_PREFIXES] = "bgp-prefixes",
    [CHECK_OSPF] = "ospf",
    [CHECK_ISIS] = "isis",
    [CHECK_LDP] = "ldp",
    [CHECK_INTERFACES] = "interfaces",
    [CHECK_ROUTES] = "routes",
    [CHECK_FPC] = "fpc",
    [CHECK_ALARMS] = "alarms",
    [CHECK_NSR] = "nsr",
};

/* The default tolerance of the checks that take one (NULL: the check takes none). */
static const char *const builtin_tolerance[CHECK_BUILTIN_COUNT] = {
    [CHECK_BGP_PREFIXES] = "5%",
    [CHECK_ROUTES] = "5%",
};

const char *check_builtin_name(enum check_builtin c)
{
  return (unsigned)c < CHECK_BUILTIN_COUNT ? builtin_names[c] : "unknown";
}

void check_builtin_options_default(struct check_builtin_options *o)
{
  memset(o, 0, sizeof *o);
  for (size_t i = 0; i < CHECK_BUILTIN_COUNT; i++)
    o->enabled[i] = true;
}

struct builtin_row {
  enum check_builtin check;
  const char *command;
  const char *xpath; /* the items */
  const char *ids[2], *labels[2];
  const char *noun; /* how a message names the item: each %s is an id's value, in order */
  enum check_op op;
  const char *node;
  const char *value; /* is-equal's value; delta's takes the check's tolerance */
};

static const struct builtin_row rows[] = {
    /* UNVERIFIED: the one bgp summary capture (junos-upgrader display json, 22.4R0) lists no
     * peers; bgp-peer/peer-address/peer-state/bgp-rib/received-prefix-count are Juniper's
     * documented tags of `show bgp summary | display xml`. */
    {CHECK_BGP_PEERS,
     "show bgp summary",
     "//bgp-peer",
     {"peer-address"},
     {"peer-address"},
     "BGP peer %s",
     CK_LIST_NOT_LESS,
     NULL,
     NULL},
    {CHECK_BGP_STATE,
     "show bgp summary",
     "//bgp-peer",
     {"peer-address"},
     {"peer-address"},
     "BGP peer %s",
     CK_NO_DIFF,
     "peer-state",
     NULL},
    {CHECK_BGP_PREFIXES,
     "show bgp summary",
     "//bgp-peer",
     {"peer-address"},
     {"peer-address"},
     "BGP peer %s",
     CK_DELTA,
     "bgp-rib/received-prefix-count",
     NULL},
    /* UNVERIFIED: only text captures of show ospf neighbor; ospf-neighbor/neighbor-address are
     * Juniper's documented tags. */
    {CHECK_OSPF,
     "show ospf neighbor",
     "//ospf-neighbor",
     {"neighbor-address"},
     {"neighbor-address"},
     "OSPF neighbor %s",
     CK_LIST_NOT_LESS,
     NULL,
     NULL},
    /* show-isis-adjacency__junos-upgrader-display-json__22.4R0: isis-adjacency with
     * interface-name, system-name, adjacency-state. */
    {CHECK_ISIS,
     "show isis adjacency",
     "//isis-adjacency",
     {"interface-name", "system-name"},
     {"interface-name", "system-name"},
     "IS-IS adjacency %s to %s",
     CK_LIST_NOT_LESS,
     NULL,
     NULL},
    {CHECK_ISIS,
     "show isis adjacency",
     "//isis-adjacency",
     {"interface-name", "system-name"},
     {"interface-name", "system-name"},
     "IS-IS adjacency %s to %s",
     CK_NO_DIFF,
     "adjacency-state",
     NULL},
    /* UNVERIFIED: no capture of show ldp session (only show ldp neighbor as text);
     * ldp-session/ldp-neighbor-address/ldp-session-state are Juniper's documented tags. */
    {CHECK_LDP,
     "show ldp session",
     "//ldp-session",
     {"ldp-neighbor-address"},
     {"ldp-neighbor-address"},
     "LDP session %s",
     CK_LIST_NOT_LESS,
     NULL,
     NULL},
    {CHECK_LDP,
     "show ldp session",
     "//ldp-session",
     {"ldp-neighbor-address"},
     {"ldp-neighbor-address"},
     "LDP session %s",
     CK_NO_DIFF,
     "ldp-session-state",
     NULL},
    /* show-interfaces-terse__pyez-display-json__16.1I0: physical-interface name, oper-status. */
    {CHECK_INTERFACES,
     "show interfaces terse",
     "//physical-interface",
     {"name"},
     {"name"},
     "interface %s",
     CK_NO_DIFF,
     "oper-status",
     NULL},
    /* show-route-summary__pyez-factory__12.1X46: route-table table-name, active-route-count
     * (a direct child: the protocols' own active-route-count are not summed in). */
    {CHECK_ROUTES,
     "show route summary",
     "//route-table",
     {"table-name"},
     {"table-name"},
     "route table %s",
     CK_DELTA,
     "active-route-count",
     NULL},
    /* show-chassis-fpc-pic-status__junos-upgrader-display-json__22.4R0: fpc slot/state, and
     * fpc/pic pic-slot/pic-state. */
    {CHECK_FPC,
     "show chassis fpc pic-status",
     "//fpc",
     {"slot"},
     {"fpc"},
     "FPC %s",
     CK_LIST_NOT_LESS,
     NULL,
     NULL},
    {CHECK_FPC,
     "show chassis fpc pic-status",
     "//fpc",
     {"slot"},
     {"fpc"},
     "FPC %s",
     CK_IS_EQUAL,
     "state",
     "Online"},
    {CHECK_FPC,
     "show chassis fpc pic-status",
     "//fpc/pic",
     {"../slot", "pic-slot"},
     {"fpc", "pic"},
     "FPC %s PIC %s",
     CK_IS_EQUAL,
     "pic-state",
     "Online"},
    /* show-chassis-alarms__junos-upgrader-vmhost-alt-disk__22.4-era-xml: alarm-detail with
     * alarm-description. An alarm raised after the ISSU that was not there before fails. */
    {CHECK_ALARMS,
     "show chassis alarms",
     "//alarm-detail",
     {"alarm-description"},
     {"alarm-description"},
     "alarm %s",
     CK_LIST_NOT_MORE,
     NULL,
     NULL},
    /* show-task-replication__junos-upgrader-isis-not-complete__22.4-era: flat name/state pairs
     * under task-replication-state (as junos_xml_replication reads them); each state is named
     * by the name just before it. A router without NSR lists no protocols and passes here
     * (preflight judges NSR itself). */
    {CHECK_NSR,
     "show task replication",
     "//task-protocol-replication-state",
     {"preceding-sibling::task-protocol-replication-name[1]"},
     {"protocol"},
     "NSR replication of %s",
     CK_IS_EQUAL,
     ".",
     "Complete"},
};

static char **strv(const char *const *src, size_t n)
{
  char **v = xcalloc(n ? n : 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = xstrdup(src[i]);
  return v;
}

static xmlXPathCompExprPtr compile_or_die(const char *xpath)
{
  xmlXPathCompExprPtr e = check_xpath_compile(xpath);
  if (e == NULL) {
    fprintf(stderr, "issu-fleet: internal error: built-in check XPath %s\n", xpath);
    abort();
  }
  return e;
}

static void add_row(struct check_suite *s, const struct builtin_row *r, const char *tolerance,
                    bool allow_backup_re_active)
{
  int cmd = check_suite_command_add(s, r->command);
  if (cmd < 0)
    abort(); /* the built-in suite has a handful of commands */
  struct check_test *t = check_suite_test_add(s);
  t->name = xstrdup(check_builtin_name(r->check));
  t->command = (size_t)cmd;
  t->xpath = xstrdup(r->xpath);
  t->xpath_expr = compile_or_die(r->xpath);
  t->nids = r->ids[1] ? 2 : 1;
  t->ids = strv(r->ids, t->nids);
  t->id_labels = strv(r->labels, t->nids);
  t->id_exprs = xcalloc(t->nids, sizeof *t->id_exprs);
  for (size_t i = 0; i < t->nids; i++)
    t->id_exprs[i] = compile_or_die(r->ids[i]);
  t->noun = r->noun;
  t->empty_ok = true;
  t->rules = xcalloc(1, sizeof *t->rules);
  t->nrules = 1;
  struct check_rule *u = &t->rules[0];
  u->op = r->op;
  u->null = CHECK_NULL_BASELINE;
  if (r->node) {
    u->node = xstrdup(r->node);
    u->node_expr = compile_or_die(r->node);
  }
  const char *value = r->op == CK_DELTA ? tolerance : r->value;
  if (value) {
    u->values = strv(&value, 1);
    u->nvalues = 1;
  }
  if (r->op == CK_DELTA && !check_delta_parse(tolerance, &u->delta))
    abort(); /* validated by the caller */
  if (r->check == CHECK_ALARMS && allow_backup_re_active) {
    const char *skip = BACKUP_RE_ACTIVE;
    u->skip = strv(&skip, 1);
    u->nskip = 1;
  }
  u->text = check_rule_text(u);
}

int check_builtin_add(struct check_suite *s, const struct check_builtin_options *o,
                      const char *origin, unsigned line, unsigned col, struct diag *d)
{
  int rc = 0;
  for (size_t c = 0; c < CHECK_BUILTIN_COUNT; c++) {
    const char *tol = o->tolerance[c];
    struct check_delta delta;
    if (tol != NULL && builtin_tolerance[c] == NULL) {
      diag_add(d, origin, line, col, "checks.builtin.%s takes no tolerance (only %s and %s do)",
               builtin_names[c], builtin_names[CHECK_BGP_PREFIXES], builtin_names[CHECK_ROUTES]);
      rc = -1;
    } else if (tol != NULL && !check_delta_parse(tol, &delta)) {
      diag_add(d, origin, line, col,
               "checks.builtin.%s: tolerance \"%s\" is not one of JSNAPy's delta forms (expected "
               "N, +-N, +N, -N, or the same with %% such as \"5%%\")",
               builtin_names[c], tol);
      rc = -1;
    }
  }
  if (rc < 0)
    return -1;
  for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
    const struct builtin_row *r = &rows[i];
    if (!o->enabled[r->check])
      continue;
    const char *tol = o->tolerance[r->check] ? o->tolerance[r->check] : builtin_tolerance[r->check];
    add_row(s, r, tol, o->allow_backup_re_active);
  }
  return 0;
}
