/*
 * Private to checks/: the suite, its tests and rules, the operator table and the snapshot's
 * parsed answers, shared by the suite builder (checks_suite.c), the built-in suite
 * (checks_builtin.c), the JSNAPy reader (checks_jsnapy.c), the rule helpers (checks_rule.c),
 * the snapshots (checks_snapshot.c) and the evaluator (checks_eval.c).
 */
#ifndef ISSU_CHECKS_INT_H
#define ISSU_CHECKS_INT_H

#include "checks/checks.h"

#include <libxml/tree.h>
#include <libxml/xpath.h>

/* Bounds against hostile or runaway input. */
#define CHECK_COMMAND_MAX 256                   /* a show command's length */
#define CHECK_SNAPSHOT_MAX (160u * 1024 * 1024) /* a whole snapshot file */
#define CHECK_COMMANDS_MAX 256                  /* distinct commands in a suite */

/* JSNAPy's operators. Pre/post ones compare two snapshots; the others look at one (the post
 * snapshot after an ISSU, the pre one alone for `issu-fleet check`). */
enum check_op {
  CK_NO_DIFF,
  CK_LIST_NOT_LESS,
  CK_LIST_NOT_MORE,
  CK_DELTA,
  CK_IS_EQUAL,
  CK_NOT_EQUAL,
  CK_IN_RANGE,
  CK_NOT_RANGE,
  CK_IS_GT,
  CK_IS_LT,
  CK_EXISTS,
  CK_NOT_EXISTS,
  CK_CONTAINS,
  CK_IS_IN,
  CK_NOT_IN,
  CK_ALL_SAME,
  CK_OP_COUNT
};

/* What an operator takes after its node: the number of values (min..max, max 0 = none;
 * CK_VALUES_ANY = one or more), whether the node may be left out, and whether the values are
 * numbers. */
#define CK_VALUES_ANY 0xffffu
struct check_op_info {
  const char *name;
  bool prepost;       /* needs both snapshots */
  bool node_optional; /* list-not-less/more and all-same may name no node */
  unsigned min_values, max_values;
  bool numeric; /* values must be numbers (ranges, is-gt/lt) */
};
extern const struct check_op_info check_op_table[CK_OP_COUNT];
/* The operator named `name`, or -1. */
int check_op_find(const char *name);

/* What a missing node means: JSNAPy fails the item unless `ignore-null` is set, which skips it.
 * The built-in suite skips an item only when the node is missing before (no baseline: a peer that
 * was already down has no prefixes to compare) and fails it when the node went missing after; for
 * the same reason an item new after the ISSU passes its no-diff rules. */
enum check_null { CHECK_NULL_FAIL, CHECK_NULL_SKIP, CHECK_NULL_BASELINE };

/* JSNAPy's delta forms: "10" or "+-10" (either way), "+10" (up only), "-10" (down only), each
 * with an optional '%' (of the pre value). */
struct check_delta {
  double amount;
  bool percent;
  int sign; /* 0 either way, +1 up only, -1 down only */
};
/* Parses a delta form; false when `s` is none. */
bool check_delta_parse(const char *s, struct check_delta *out);
/* Whether post is within the delta of pre. */
bool check_delta_holds(const struct check_delta *d, double pre, double post);
/* A whole value as a number (JSNAPy compares floats); false for anything else. */
bool check_number(const char *s, double *out);

struct check_rule {
  enum check_op op;
  char *node; /* XPath relative to the item; NULL when the operator names none */
  xmlXPathCompExprPtr node_expr;
  char **values;
  size_t nvalues;
  struct check_delta delta; /* CK_DELTA */
  double num[2];            /* numeric values (ranges, is-gt, is-lt) */
  char *text;               /* "no-diff peer-state", "delta bgp-rib/received-prefix-count, 5%" */
  char *err, *info;         /* message templates, or NULL */
  enum check_null null;
  char **skip; /* item ids this rule ignores ("Backup RE Active" for the alarms check) */
  size_t nskip;
};

struct check_test {
  char *name;     /* the JSNAPy test name or the built-in check's name */
  size_t command; /* index into the suite's commands */
  char *xpath;    /* the items */
  xmlXPathCompExprPtr xpath_expr;
  bool first_only; /* JSNAPy `item:` rather than `iterate:` */
  char **ids;      /* XPaths relative to the item that identify it across snapshots */
  xmlXPathCompExprPtr *id_exprs;
  char **id_labels; /* how the item is named: "peer-address" for "./peer-address" */
  size_t nids;
  const char *noun; /* built-in messages: "BGP peer %s", each %s an id's value in order */
  bool empty_ok;    /* no item at all passes (built-ins: a router without OSPF) */
  struct check_rule *rules;
  size_t nrules;
};

struct check_suite {
  char **commands;
  size_t ncommands, capcommands;
  struct check_test *tests;
  size_t ntests, captests;
};

/* The command's index, adding it when new. -1 when the suite already has too many. */
int check_suite_command_add(struct check_suite *s, const char *command);
/* Appends a zeroed test for the caller to fill; the pointer lasts until the next append. */
struct check_test *check_suite_test_add(struct check_suite *s);
void check_test_free(struct check_test *t);
void check_rule_free(struct check_rule *r);
/* Compiles an XPath without printing libxml2's errors; NULL when it is not a valid XPath. */
xmlXPathCompExprPtr check_xpath_compile(const char *xpath);
/* An XPath context that keeps evaluation errors quiet. */
xmlXPathContextPtr check_xpath_context(xmlDocPtr doc);
/* Why a command is refused ("contains '|'"), or NULL when it is fine to send. */
const char *check_command_invalid(const char *command);
/* The rule's display text from its operator, node and values. Caller frees. */
char *check_rule_text(const struct check_rule *r);
/* The placeholders: {{pre['node']}}, {{post["node"]}}, {{id_0}} (spaces inside the braces
 * allowed, as Jinja reads them). Parses one starting after "{{"; returns the length up to and
 * including "}}", or 0 when it is not one of these. Fills kind ('p' pre, 'q' post, 'i' id), the
 * node (borrowed, not terminated) or the id's index. */
size_t check_placeholder(const char *p, char *kind, const char **node, size_t *nodelen,
                         unsigned *index);
/* Why a message template is refused ("{{foo}}: only {{pre[...]}}, ..."), or NULL. */
const char *check_template_invalid(const char *tmpl, size_t *where);

/* The built-in suite: adds the chosen checks to `s`. 0, or -1 with `d` filled. */
int check_builtin_add(struct check_suite *s, const struct check_builtin_options *o,
                      const char *origin, unsigned line, unsigned col, struct diag *d);

/* One command's answer in a snapshot: its XML, parsed, or why it could not be read. */
struct check_answer {
  char *xml;
  size_t len;
  char *error; /* set when the answer was not usable XML, or never given */
  xmlDocPtr doc;
  xmlNodePtr root; /* the reply's element (inside rpc-reply), where relative XPaths start */
};

struct check_snapshot {
  const struct check_suite *suite;
  struct check_answer *answers; /* one per suite command */
  size_t count;
};

#endif
