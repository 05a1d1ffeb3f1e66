/*
 * inventory: Ansible's YAML inventory semantics: groups, ranges, ports, variable precedence,
 * ungrouped, --limit patterns, and the ansible-inventory --list JSON.
 * (tests/oracle/ansible_oracle.sh compares the same fixtures with ansible-core itself.)
 */
#include "helpers.h"

#include <stdlib.h>

static const char *var(const struct inventory *inv, const char *host, const char *key)
{
  static char buf[64];
  long h = inventory_find_host(inv, host);
  cr_assert_geq(h, 0, "host %s missing", host);
  return inventory_value_text(inventory_host_var(inv, (size_t)h, key), buf, sizeof buf);
}

static bool in_group(const struct inventory *inv, const char *group, const char *host)
{
  long g = inventory_find_group(inv, group), h = inventory_find_host(inv, host);
  cr_assert(g >= 0 && h >= 0);
  for (size_t i = 0; i < inv->groups[g].nhosts; i++)
    if (inv->groups[g].hosts[i] == (size_t)h)
      return true;
  return false;
}

static const char nested[] = "all:\n"
                             "  vars: {x: all, user: netops}\n"
                             "  hosts:\n"
                             "    lonely:\n"
                             "  children:\n"
                             "    site_ams:\n"
                             "      vars: {x: ams, site: ams}\n"
                             "      hosts:\n"
                             "        mx1: {pair: p1}\n"
                             "        mx2: {pair: p1, x: host}\n"
                             "    site_fra:\n"
                             "      vars: {site: fra}\n"
                             "      children:\n"
                             "        deep:\n"
                             "          hosts:\n"
                             "            mx1:\n";

Test(inventory, hosts_appear_in_first_seen_order_and_in_every_group)
{
  struct inventory *inv = inv_ok(nested);
  cr_assert_eq(inv->nhosts, 3);
  cr_expect_str_eq(inv->hosts[0].name, "lonely");
  cr_expect_str_eq(inv->hosts[1].name, "mx1");
  cr_expect(in_group(inv, "site_ams", "mx1"));
  cr_expect(in_group(inv, "deep", "mx1"));
  inventory_free(inv);
}

/* What a run keeps for its hours: names, groups and memberships; the document and the variables
 * are freed (valgrind and ASan see the rest freed by inventory_free, nothing twice). */
Test(inventory, forgetting_the_values_keeps_names_groups_and_members)
{
  struct inventory *inv = inv_ok("all:\n  hosts:\n    mx[1:3]:\n      ansible_host: 10.0.0.1\n"
                                 "    edge:1022: {site: ams}\n  children:\n    ams:\n"
                                 "      vars: {site: ams}\n      hosts: {mx1: {pair: p1}}\n");
  cr_assert_str_eq(var(inv, "mx1", "site"), "ams");
  cr_assert_str_eq(var(inv, "edge", "ansible_port"), "1022");
  inventory_forget_values(inv);
  cr_expect_eq(inv->nhosts, 4);
  cr_expect_str_eq(inv->hosts[inventory_find_host(inv, "mx3")].name, "mx3");
  cr_expect(in_group(inv, "ams", "mx1"));
  cr_expect_not(in_group(inv, "ams", "mx2"));
  cr_expect_null(var(inv, "mx1", "site"));
  cr_expect_null(var(inv, "edge", "ansible_port"));
  cr_expect_null(inv->doc.root);
  inventory_forget_values(inv); /* twice is harmless */
  inventory_free(inv);
}

Test(inventory, hosts_only_in_all_land_in_ungrouped)
{
  struct inventory *inv = inv_ok(nested);
  cr_expect(in_group(inv, "ungrouped", "lonely"));
  cr_expect_not(in_group(inv, "ungrouped", "mx1"));
  inventory_free(inv);
}

Test(inventory, host_vars_win_over_group_vars_over_all_vars)
{
  struct inventory *inv = inv_ok(nested);
  cr_expect_str_eq(var(inv, "mx2", "x"), "host");
  cr_expect_str_eq(var(inv, "lonely", "x"), "all");
  cr_expect_str_eq(var(inv, "mx2", "user"), "netops");
  inventory_free(inv);
}

Test(inventory, same_depth_groups_apply_in_name_order_so_the_later_name_wins)
{
  /* mx1 is in site_ams (depth 1) and, through deep, in site_fra (depth 1): fra > ams. */
  struct inventory *inv = inv_ok(nested);
  cr_expect_str_eq(var(inv, "mx1", "site"), "fra");
  inventory_free(inv);
}

Test(inventory, a_deeper_group_wins_over_its_parent)
{
  struct inventory *inv = inv_ok("parent:\n  vars: {v: parent}\n  children:\n"
                                 "    child:\n      vars: {v: child}\n      hosts: {h: }\n");
  cr_expect_str_eq(var(inv, "h", "v"), "child");
  inventory_free(inv);
}

Test(inventory, group_priority_overrides_name_order)
{
  struct inventory *inv =
      inv_ok("zz:\n  vars: {ansible_group_priority: 1, who: zz}\n  hosts: {r: }\n"
             "aa:\n  vars: {ansible_group_priority: 10, who: aa}\n  hosts: {r: }\n");
  cr_expect_str_eq(var(inv, "r", "who"), "aa");
  cr_expect_null(var(inv, "r", "ansible_group_priority"), "priority is not a variable");
  inventory_free(inv);
}

Test(inventory, a_lone_string_under_hosts_is_one_host)
{
  struct inventory *inv = inv_ok("g:\n  hosts: r1\n");
  cr_expect_eq(inv->nhosts, 1);
  cr_expect_str_eq(inv->hosts[0].name, "r1");
  inventory_free(inv);
}

Test(inventory, numeric_alpha_and_stepped_ranges_expand)
{
  static const struct {
    const char *pattern;
    const char *expect[6];
  } cases[] = {
      {"mx[01:03]", {"mx01", "mx02", "mx03"}},
      {"e-[a:c]", {"e-a", "e-b", "e-c"}},
      {"c[1:9:4].lab", {"c1.lab", "c5.lab", "c9.lab"}},
      {"[8:10]x", {"8x", "9x", "10x"}},
      {"r[:2]", {"r0", "r1", "r2"}},
      {"p[1:2]-[a:b]", {"p1-a", "p1-b", "p2-a", "p2-b"}},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    char **names, err[128];
    long n = inventory_expand_range(cases[i].pattern, &names, err, sizeof err);
    long want = 0;
    while (want < 6 && cases[i].expect[want])
      want++;
    cr_assert_eq(n, want, "%s expanded to %ld", cases[i].pattern, n);
    for (long j = 0; j < n; j++) {
      cr_expect_str_eq(names[j], cases[i].expect[j], "%s", cases[i].pattern);
      free(names[j]);
    }
    free(names);
  }
}

Test(inventory, bad_ranges_are_refused_with_a_reason)
{
  static const struct {
    const char *pattern, *message;
  } cases[] = {
      {"mx[01:3]", "same width"}, {"mx[5:1]", "begin <= end"}, {"mx[1:2:0]", "step"},
      {"mx[1:]", "end value"},    {"mx[1:2", "closing ']'"},   {"mx[1:999999]", "more than"},
      {"mx[1-3]", "[begin:end]"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    char **names, err[128];
    cr_expect_lt(inventory_expand_range(cases[i].pattern, &names, err, sizeof err), 0, "%s",
                 cases[i].pattern);
    cr_expect(strstr(err, cases[i].message) != NULL, "%s: %s", cases[i].pattern, err);
  }
}

Test(inventory, a_port_after_the_name_becomes_ansible_port)
{
  struct inventory *inv = inv_ok("g:\n  hosts:\n    pe-[1:2]:830:\n    other:\n");
  cr_expect_str_eq(var(inv, "pe-2", "ansible_port"), "830");
  struct yscalar s;
  yscalar_resolve(inventory_host_var(inv, 1, "ansible_port"), &s);
  cr_expect_eq(s.type, YSCALAR_INT, "the port is a number, as Ansible makes it");
  cr_expect_null(var(inv, "other", "ansible_port"));
  inventory_free(inv);
}

Test(inventory, a_group_loop_is_refused)
{
  char *e = inventory_error("a:\n  children:\n    b:\n      children:\n        a:\n");
  cr_expect(strstr(e, "inv.yaml:3:5: group 'b' cannot be a child of 'a': that makes a loop") !=
                NULL,
            "%s", e);
  free(e);
}

Test(inventory, limit_patterns_follow_ansible)
{
  struct inventory *inv = inv_ok("site_a:\n  hosts: {a1: , a2: }\nsite_b:\n  hosts: {b1: , b2: }\n"
                                 "lab:\n  hosts: {a2: , b2: }\n");
  static const struct {
    const char *pattern;
    const char *selected; /* one char per host in order a1 a2 b1 b2 */
  } cases[] = {
      {"all", "1111"},
      {"site_a", "1100"},
      {"b*", "0011"},
      {"a1,b1", "1010"},
      {"site_a:site_b", "1111"},
      {"all:!lab", "1010"},
      {"site_a:&lab", "0100"},
      {"!lab", "1010"},
      {"*:!site_a:&lab", "0001"},
      {"&lab", "0101"},
      {"a?", "1100"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    bool sel[4];
    struct diag d = {0};
    cr_assert_eq(inventory_select(inv, cases[i].pattern, sel, &d), 0, "%s: %s", cases[i].pattern,
                 d.count ? d.lines[0] : "");
    for (size_t h = 0; h < 4; h++)
      cr_expect_eq(sel[h], cases[i].selected[h] == '1', "pattern %s host %s", cases[i].pattern,
                   inv->hosts[h].name);
  }
  inventory_free(inv);
}

Test(inventory, a_limit_that_matches_nothing_is_an_error)
{
  struct inventory *inv = inv_ok("g:\n  hosts: {a1: }\n");
  bool sel[1];
  struct diag d = {0};
  cr_expect_lt(inventory_select(inv, "site_x", sel, &d), 0);
  cr_expect(diag_contains(&d, "no host or group in inv.yaml matches 'site_x'"), "%s", d.lines[0]);
  diag_free(&d);
  cr_expect_lt(inventory_select(inv, "all:!g", sel, &d), 0);
  cr_expect(diag_contains(&d, "leaves no host"), "%s", d.lines[d.count - 1]);
  diag_free(&d);
  inventory_free(inv);
}

Test(inventory, json_listing_has_the_shape_of_ansible_inventory)
{
  struct inventory *inv = inv_ok(nested);
  cJSON *j = inventory_to_json(inv, NULL);
  cJSON *all = cJSON_GetObjectItem(j, "all");
  cr_assert_not_null(all);
  cr_expect_null(cJSON_GetObjectItem(all, "hosts"), "all lists no hosts of its own");
  cJSON *children = cJSON_GetObjectItem(all, "children");
  cr_expect_str_eq(cJSON_GetArrayItem(children, 0)->valuestring, "ungrouped");
  cr_expect_str_eq(
      cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "ungrouped"), "hosts"), 0)
          ->valuestring,
      "lonely");
  cJSON *hv = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "_meta"), "hostvars");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(hv, "mx2"), "pair")->valuestring, "p1");
  cJSON_Delete(j);
  inventory_free(inv);
}

Test(inventory, json_listing_respects_the_limit)
{
  struct inventory *inv = inv_ok(nested);
  bool sel[3];
  struct diag d = {0};
  cr_assert_eq(inventory_select(inv, "mx2", sel, &d), 0);
  cJSON *j = inventory_to_json(inv, sel);
  cJSON *hv = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "_meta"), "hostvars");
  cr_expect_eq(cJSON_GetArraySize(hv), 1);
  cr_expect_null(cJSON_GetObjectItem(j, "site_fra"), "a group with no selected host is left out");
  cJSON_Delete(j);
  inventory_free(inv);
}

Test(inventory, group_membership_includes_parent_groups)
{
  struct inventory *inv = inv_ok(nested);
  bool *member = xcalloc(inv->ngroups, sizeof *member);
  inventory_host_groups(inv, (size_t)inventory_find_host(inv, "mx1"), member);
  cr_expect(member[inventory_find_group(inv, "site_fra")]);
  cr_expect(member[inventory_find_group(inv, "deep")]);
  cr_expect_not(member[INVENTORY_GROUP_ALL]);
  free(member);
  inventory_free(inv);
}

Test(inventory, an_empty_file_is_an_empty_inventory)
{
  struct inventory *inv = inv_ok("");
  cr_expect_eq(inv->nhosts, 0);
  inventory_free(inv);
}

Test(inventory, loads_from_a_file_and_reports_a_missing_one)
{
  struct inventory *inv = NULL;
  struct diag d = {0};
  cr_assert_eq(inventory_load(ISSU_SOURCE_DIR "/examples/fleet/inventory.yaml", &inv, &d), 0);
  cr_expect_geq(inv->nhosts, 48);
  inventory_free(inv);
  cr_expect_lt(inventory_load("/nonexistent/inv.yaml", &inv, &d), 0);
  cr_expect(diag_contains(&d, "/nonexistent/inv.yaml: cannot open: No such file"), "%s",
            d.lines[0]);
  diag_free(&d);
}

/* ---- Issue 18 (i18-run), B13: host names reach file paths and terminals ---- */

Test(inventory_names, a_host_name_outside_the_safe_characters_is_refused_at_its_column)
{
  char *e = inventory_error("all:\n  hosts:\n    ../../../victim:\n");
  cr_expect(strstr(e, ":3:7: host name: '/' is not allowed"), "%s", e);
  free(e);
  e = inventory_error("all:\n  hosts:\n    mx1 two:\n");
  cr_expect(strstr(e, ":3:8: host name: 0x20 is not allowed"), "%s", e);
  free(e);
  e = inventory_error("all:\n  hosts:\n    ..:\n");
  cr_expect(strstr(e, "host name"), "%s", e);
  free(e);
  struct inventory *inv = inv_ok("all:\n  hosts:\n    mx-ams_1.lab:\n    mx[1:3]:\n");
  cr_expect_eq(inv->nhosts, 4);
  inventory_free(inv);
}

Test(inventory_names, an_error_quoting_bad_input_never_prints_a_control_character)
{
  /* A host range with an ESC sequence: the error names it, in safe text only. */
  char *e = inventory_error("all:\n  hosts:\n    \"mx[1:\\e[2J]\":\n");
  for (const char *c = e; *c; c++)
    cr_expect(!((unsigned char)*c < 0x20 && *c != '\n') && *c != 0x7f,
              "a control character (0x%02x) in: %s", (unsigned char)*c, e);
  cr_expect(strstr(e, "0x1b"), "the bad byte is named: %s", e);
  free(e);
}
