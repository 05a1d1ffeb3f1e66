/*
 * Shared by the unit tests: load an inventory or a policy from a string, and fail the test with
 * the diagnostics when loading was expected to work.
 */
#ifndef ISSU_TEST_HELPERS_H
#define ISSU_TEST_HELPERS_H

#include "policies/policies.h"

#include <criterion/criterion.h>
#include <string.h>

static inline struct inventory *inv_ok(const char *yaml)
{
  struct diag d = {0};
  struct inventory *inv = NULL;
  int rc = inventory_load_buffer("inv.yaml", yaml, strlen(yaml), &inv, &d);
  cr_assert_eq(rc, 0, "inventory failed to load: %s", d.count ? d.lines[0] : "?");
  diag_free(&d);
  return inv;
}

static inline struct policy *policy_ok(const char *yaml)
{
  struct diag d = {0};
  struct policy *p = NULL;
  int rc = policy_load_buffer("policy.yaml", yaml, strlen(yaml), &p, &d);
  cr_assert_eq(rc, 0, "policy failed to load: %s", d.count ? d.lines[0] : "?");
  diag_free(&d);
  return p;
}

/* The first diagnostic of a load that must fail (caller frees). */
static inline char *policy_error(const char *yaml)
{
  struct diag d = {0};
  struct policy *p = NULL;
  int rc = policy_load_buffer("policy.yaml", yaml, strlen(yaml), &p, &d);
  cr_assert_lt(rc, 0, "policy loaded but should not have");
  cr_assert_gt(d.count, 0);
  char *first = xstrdup(d.lines[0]);
  diag_free(&d);
  return first;
}

static inline char *inventory_error(const char *yaml)
{
  struct diag d = {0};
  struct inventory *inv = NULL;
  int rc = inventory_load_buffer("inv.yaml", yaml, strlen(yaml), &inv, &d);
  cr_assert_lt(rc, 0, "inventory loaded but should not have");
  cr_assert_gt(d.count, 0);
  char *first = xstrdup(d.lines[0]);
  diag_free(&d);
  return first;
}

#define POLICY_TARGET "target: {version: 23.4R2.3, package: /var/tmp/junos.tgz}\n"

#endif
