/*
 * The planner: Ansible's batches when nothing else matters, packing under limits when it does,
 * the canary, deferral reasons, the lower bound, and the example fleet's goal.
 */
#include "helpers.h"

#include <stdlib.h>

#define SITES_AND_PAIRS true

/* n hosts h01..hNN; with sites, four hosts a site (s1, s2, ...) and two a pair (p1, p2, ...). */
static struct inventory *flat_fleet(size_t n, bool sites)
{
  char *yaml = xstrdup("all:\n  hosts:\n");
  size_t len = strlen(yaml), cap = len + 1;
  for (size_t i = 1; i <= n; i++) {
    if (sites)
      text_appendf(&yaml, &len, &cap, "    h%02zu: {site: s%zu, pair: p%zu}\n", i, (i + 3) / 4,
                   (i + 1) / 2);
    else
      text_appendf(&yaml, &len, &cap, "    h%02zu:\n", i);
  }
  struct inventory *inv = inv_ok(yaml);
  free(yaml);
  return inv;
}

static struct plan make_plan(const struct inventory *inv, const char *policy_tail)
{
  char *yaml = xasprintf(POLICY_TARGET "%s", policy_tail);
  struct policy *p = policy_ok(yaml);
  struct plan plan;
  struct diag d = {0};
  cr_assert_eq(plan_build(p, inv, NULL, &plan, &d), 0, "%s", d.count ? d.lines[0] : "");
  policy_free(p);
  free(yaml);
  return plan;
}

/* The first error of a plan that must fail (caller frees). */
static char *plan_error(const struct inventory *inv, const char *policy_tail)
{
  char *yaml = xasprintf(POLICY_TARGET "%s", policy_tail);
  struct policy *p = policy_ok(yaml);
  struct plan plan;
  struct diag d = {0};
  cr_assert_lt(plan_build(p, inv, NULL, &plan, &d), 0, "the plan was built but should not be");
  cr_assert_gt(d.count, 0);
  char *first = xstrdup(d.lines[0]);
  diag_free(&d);
  policy_free(p);
  free(yaml);
  return first;
}

static void expect_sizes(const struct plan *plan, const size_t *sizes, size_t n)
{
  cr_assert_eq(plan->nwaves, n, "waves: %zu, expected %zu", plan->nwaves, n);
  for (size_t i = 0; i < n; i++)
    cr_expect_eq(plan->waves[i].nhosts, sizes[i], "wave %zu has %zu, expected %zu", i,
                 plan->waves[i].nhosts, sizes[i]);
}

Test(planner, serial_30_percent_of_20_hosts_gives_6_6_6_2_as_ansible_documents)
{
  struct inventory *inv = flat_fleet(20, false);
  struct plan plan = make_plan(inv, "waves: {serial: \"30%\"}\n");
  expect_sizes(&plan, (size_t[]){6, 6, 6, 2}, 4);
  cr_expect_str_eq(plan.waves[0].name, "wave-1");
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, serial_list_repeats_its_last_value_as_ansible_documents)
{
  struct inventory *inv = flat_fleet(20, false);
  struct plan plan = make_plan(inv, "waves: {serial: [1, 5, 10]}\n");
  expect_sizes(&plan, (size_t[]){1, 5, 10, 4}, 4);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, a_tiny_percentage_is_never_below_one_host)
{
  struct inventory *inv = flat_fleet(3, false);
  struct plan plan = make_plan(inv, "waves: {serial: \"1%\"}\n");
  expect_sizes(&plan, (size_t[]){1, 1, 1}, 3);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, no_serial_means_one_batch_after_the_canary)
{
  struct inventory *inv = flat_fleet(10, false);
  struct plan plan = make_plan(inv, "waves: {canary: 2}\n");
  expect_sizes(&plan, (size_t[]){2, 8}, 2);
  cr_expect_str_eq(plan.waves[0].name, "canary");
  cr_expect_str_eq(plan.waves[1].name, "wave-1");
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, percentages_are_of_all_hosts_including_the_canary)
{
  struct inventory *inv = flat_fleet(20, false);
  struct plan plan = make_plan(inv, "waves: {canary: \"10%\", serial: \"25%\"}\n");
  expect_sizes(&plan, (size_t[]){2, 5, 5, 5, 3}, 5);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, named_canaries_go_first_whatever_their_order)
{
  struct inventory *inv = flat_fleet(6, false);
  struct plan plan = make_plan(inv, "waves: {canary: [h05, h02], serial: 2}\n");
  expect_sizes(&plan, (size_t[]){2, 2, 2}, 3);
  cr_expect_str_eq(inv->hosts[plan.waves[0].hosts[0]].name, "h02");
  cr_expect_str_eq(inv->hosts[plan.waves[0].hosts[1]].name, "h05");
  cr_expect_str_eq(inv->hosts[plan.waves[1].hosts[0]].name, "h01");
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, a_canary_host_missing_from_the_inventory_is_an_error_at_its_line)
{
  struct inventory *inv = flat_fleet(4, false);
  char *e = plan_error(inv, "waves:\n  canary: [h01, h99]\n");
  cr_expect(strstr(e, "policy.yaml:3:17: waves.canary: host 'h99' is not in the inventory"), "%s",
            e);
  free(e);
  inventory_free(inv);
}

/* Every wave respects the limits: no pair twice, per-site caps, max_parallel. */
static void check_limits(const struct inventory *inv, const struct plan *plan, const char *var,
                         unsigned cap, unsigned max_parallel)
{
  for (size_t w = 0; w < plan->nwaves; w++) {
    if (max_parallel)
      cr_expect_leq(plan->waves[w].nhosts, max_parallel);
    for (size_t i = 0; i < plan->waves[w].nhosts; i++) {
      char b1[64], b2[64];
      const char *vi = inventory_value_text(inventory_host_var(inv, plan->waves[w].hosts[i], var),
                                            b1, sizeof b1);
      unsigned same = 0;
      for (size_t j = 0; j < plan->waves[w].nhosts; j++) {
        const char *vj = inventory_value_text(inventory_host_var(inv, plan->waves[w].hosts[j], var),
                                              b2, sizeof b2);
        same += vi && vj && strcmp(vi, vj) == 0;
      }
      cr_expect_leq(same, cap, "wave %zu holds %u routers with %s=%s", w, same, var, vi);
    }
  }
}

Test(planner, exclusive_pairs_never_share_a_wave)
{
  struct inventory *inv = flat_fleet(12, SITES_AND_PAIRS);
  struct plan plan = make_plan(inv, "waves: {serial: 4}\nlimits: {exclusive: [pair]}\n");
  check_limits(inv, &plan, "pair", 1, 0);
  cr_expect_eq(plan.nwaves, 3);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, per_site_caps_hold_in_every_wave_and_deferrals_say_why)
{
  struct inventory *inv = flat_fleet(12, SITES_AND_PAIRS);
  struct plan plan = make_plan(inv, "waves: {serial: 6}\nlimits: {per: {site: 1}}\n");
  check_limits(inv, &plan, "site", 1, 0);
  cr_expect_eq(plan.nwaves, 4, "3 sites of 4 routers, one at a time: 4 waves");
  cr_assert_gt(plan.ndeferred, 0);
  cr_expect(
      strstr(plan.deferred[0].reason, "limits.per.site: site=s1 is already in the wave (h01)"),
      "%s", plan.deferred[0].reason);
  cr_expect_eq(plan.deferred[0].from_wave, 0);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, every_router_moved_from_its_ansible_batch_is_recorded_once)
{
  /* Batches of 2 under max_parallel 1: from wave 1 on, every wave defers the host due in it. */
  struct inventory *inv = flat_fleet(6, false);
  struct plan plan = make_plan(inv, "waves: {serial: 2}\nlimits: {max_parallel: 1}\n");
  cr_expect_eq(plan.nwaves, 6);
  bool seen[6] = {false};
  for (size_t i = 0; i < plan.ndeferred; i++) {
    cr_expect_not(seen[plan.deferred[i].host], "recorded twice");
    seen[plan.deferred[i].host] = true;
  }
  /* Nominal batches {h01,h02} {h03,h04} {h05,h06}; actual waves one each: h02..h06 all move. */
  cr_expect_eq(plan.ndeferred, 5);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, a_percentage_cap_is_of_the_hosts_sharing_that_value)
{
  /* 12 hosts in 3 sites of 4; 50% of a site = 2 at a time. */
  struct inventory *inv = flat_fleet(12, SITES_AND_PAIRS);
  struct plan plan = make_plan(inv, "limits: {per: {site: \"50%\"}}\n");
  check_limits(inv, &plan, "site", 2, 0);
  expect_sizes(&plan, (size_t[]){6, 6}, 2);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, max_parallel_caps_every_wave)
{
  struct inventory *inv = flat_fleet(10, false);
  struct plan plan = make_plan(inv, "limits: {max_parallel: 4}\n");
  expect_sizes(&plan, (size_t[]){4, 4, 2}, 3);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, routers_of_the_busiest_value_go_first_so_no_wave_is_wasted)
{
  /* Site a has 4 routers, b and c have 2: with one per site, 4 waves are the minimum. In
   * inventory order b and c come first; packing must still start site a in wave 1. */
  struct inventory *inv = inv_ok("all:\n  hosts:\n    b1: {site: b}\n    b2: {site: b}\n"
                                 "    c1: {site: c}\n    c2: {site: c}\n    a1: {site: a}\n"
                                 "    a2: {site: a}\n    a3: {site: a}\n    a4: {site: a}\n");
  struct plan plan = make_plan(inv, "waves: {serial: 2}\nlimits: {per: {site: 1}}\n");
  cr_expect_eq(plan.nwaves, 4);
  cr_expect_eq(plan.makespan_s, plan.lower_bound_s);
  check_limits(inv, &plan, "site", 1, 0);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, lower_bound_and_makespan_count_waves_and_soak)
{
  struct inventory *inv = flat_fleet(12, SITES_AND_PAIRS);
  struct plan plan = make_plan(inv, "waves: {canary: 1, soak: 10m}\nlimits: {per: {site: 1}}\n"
                                    "estimate: 30m\n");
  /* canary h01 (site s1), then s2 and s3 have 4 routers left: 4 waves after the canary. */
  cr_expect_eq(plan.nwaves, 5);
  cr_expect_eq(plan.lower_bound_s, 30 * 60 + 10 * 60 + 4 * 30 * 60 + 3 * 10 * 60);
  cr_expect_eq(plan.makespan_s, plan.lower_bound_s);
  cr_expect_eq(plan.waves[1].start_s, 40 * 60);
  cr_expect(strstr(plan.bound_reason, "limits.per.site: site=s2 has 4 routers after the canary"),
            "%s", plan.bound_reason);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, rolling_mode_soaks_only_after_the_canary)
{
  struct inventory *inv = flat_fleet(8, false);
  struct plan plan = make_plan(inv, "waves: {canary: 1, serial: 3, soak: 10m, mode: rolling}\n"
                                    "limits: {max_parallel: 3}\nestimate: 30m\n");
  cr_expect_eq(plan.nwaves, 4);
  cr_expect_eq(plan.makespan_s, 40 * 60 + 3 * 30 * 60);
  cr_expect_eq(plan.lower_bound_s, plan.makespan_s);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, canaries_that_cannot_run_together_are_refused)
{
  struct inventory *inv = flat_fleet(4, SITES_AND_PAIRS);
  char *e = plan_error(inv, "waves: {canary: [h01, h02]}\nlimits: {exclusive: pair}\n");
  cr_expect(strstr(e, "waves.canary: host 'h02' cannot run together with the other canaries "
                      "(limits.exclusive pair: pair=p1 is already in the wave (h01))"),
            "%s", e);
  free(e);
  inventory_free(inv);
}

Test(planner, a_limit_on_a_variable_no_host_has_is_an_error)
{
  struct inventory *inv = flat_fleet(4, SITES_AND_PAIRS);
  char *e = plan_error(inv, "limits:\n  per: {stie: 1}\n");
  cr_expect(strstr(e, "policy.yaml:3:9: limits.per.stie: no host of the run has a variable 'stie'"),
            "%s", e);
  free(e);
  inventory_free(inv);
}

Test(planner, hosts_lacking_a_limit_variable_are_warned_about)
{
  struct inventory *inv = inv_ok("all:\n  hosts:\n    a: {site: x}\n    b:\n");
  struct plan plan = make_plan(inv, "limits: {per: {site: 1}}\n");
  cr_assert_eq(plan.nwarnings, 1);
  cr_expect(strstr(plan.warnings[0], "1 of 2 hosts have no 'site' variable"), "%s",
            plan.warnings[0]);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, per_group_limits_count_nested_group_members)
{
  struct inventory *inv = inv_ok("eu:\n  children:\n    ams:\n      hosts: {a1: , a2: }\n"
                                 "    fra:\n      hosts: {f1: , f2: }\n");
  struct plan plan = make_plan(inv, "limits: {per: {group: 1}}\n");
  /* Membership of eu covers all four: one router at a time. */
  cr_expect_eq(plan.nwaves, 4);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, orders_sort_reverse_and_shuffle_reproducibly)
{
  struct inventory *inv = inv_ok("all:\n  hosts: {c: , a: , b: }\n");
  struct plan plan = make_plan(inv, "waves: {serial: 1, order: sorted}\n");
  cr_expect_str_eq(inv->hosts[plan.waves[0].hosts[0]].name, "a");
  plan_free(&plan);
  plan = make_plan(inv, "waves: {serial: 1, order: reverse_inventory}\n");
  cr_expect_str_eq(inv->hosts[plan.waves[0].hosts[0]].name, "b");
  plan_free(&plan);
  struct plan s1 = make_plan(inv, "waves: {serial: 1, order: shuffle, seed: 7}\n");
  struct plan s2 = make_plan(inv, "waves: {serial: 1, order: shuffle, seed: 7}\n");
  for (size_t i = 0; i < 3; i++)
    cr_expect_eq(s1.waves[i].hosts[0], s2.waves[i].hosts[0]);
  plan_free(&s1);
  plan_free(&s2);
  inventory_free(inv);
}

Test(planner, approval_gates_mark_their_waves_and_unknown_ones_warn)
{
  struct inventory *inv = flat_fleet(4, false);
  struct plan plan =
      make_plan(inv, "waves: {canary: 1, serial: 1, approve: [canary, wave-2, wave-9]}\n");
  cr_expect(plan.waves[0].approve);
  cr_expect_not(plan.waves[1].approve);
  cr_expect(plan.waves[2].approve);
  cr_expect_eq(plan.nwarnings, 1);
  cr_expect(strstr(plan.warnings[0], "'wave-9' is not a wave of this plan"));
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, the_example_fleet_plans_at_its_bound_and_keeps_each_site_in_inventory_order)
{
  struct inventory *inv = NULL;
  struct policy *p = NULL;
  struct diag d = {0};
  cr_assert_eq(inventory_load(ISSU_SOURCE_DIR "/examples/fleet/inventory.yaml", &inv, &d), 0);
  cr_assert_eq(policy_load(ISSU_SOURCE_DIR "/examples/fleet/rollout.yaml", &p, &d), 0);
  struct plan plan;
  cr_assert_eq(plan_build(p, inv, NULL, &plan, &d), 0);
  cr_expect_eq(plan.makespan_s, plan.lower_bound_s);
  /* One router a site a wave: each site's routers go in their inventory order (mx-fra-1 in
   * wave-1, mx-fra-2 in wave-2, ...), the most constrained first never scrambles them. */
  size_t *wave_of = calloc(inv->nhosts, sizeof *wave_of);
  for (size_t w = 0; w < plan.nwaves; w++)
    for (size_t i = 0; i < plan.waves[w].nhosts; i++)
      wave_of[plan.waves[w].hosts[i]] = w;
  for (size_t a = 0; a < inv->nhosts; a++)
    for (size_t b = a + 1; b < inv->nhosts; b++) {
      const char *na = inv->hosts[a].name, *nb = inv->hosts[b].name;
      size_t site = strcspn(na + 3, "-") + 3;
      if (strncmp(na, nb, site) == 0 && nb[site] == '-')
        cr_expect_lt(wave_of[a], wave_of[b], "%s in %s, %s in %s", na, plan.waves[wave_of[a]].name,
                     nb, plan.waves[wave_of[b]].name);
    }
  free(wave_of);
  plan_free(&plan);
  policy_free(p);
  inventory_free(inv);
}

Test(planner, the_example_fleet_plans_within_ten_percent_of_the_lower_bound)
{
  struct inventory *inv = NULL;
  struct policy *p = NULL;
  struct diag d = {0};
  cr_assert_eq(inventory_load(ISSU_SOURCE_DIR "/examples/fleet/inventory.yaml", &inv, &d), 0);
  cr_assert_eq(policy_load(ISSU_SOURCE_DIR "/examples/fleet/rollout.yaml", &p, &d), 0);
  struct plan plan;
  cr_assert_eq(plan_build(p, inv, NULL, &plan, &d), 0);
  cr_expect_geq(plan.nhosts, 48);
  cr_expect_leq(plan.makespan_s * 10, plan.lower_bound_s * 11, "makespan %llu, bound %llu",
                (unsigned long long)plan.makespan_s, (unsigned long long)plan.lower_bound_s);
  check_limits(inv, &plan, "site", 1, p->limits.max_parallel);
  check_limits(inv, &plan, "pair", 1, 0);
  size_t total = 0;
  for (size_t w = 0; w < plan.nwaves; w++)
    total += plan.waves[w].nhosts;
  cr_expect_eq(total, plan.nhosts, "every router is in exactly one wave");
  plan_free(&plan);
  policy_free(p);
  inventory_free(inv);
}

/* ---- at run time: the same limits against routers in flight, and the failure budget ---- */

Test(planner, run_limits_hold_a_pair_and_a_site_until_released)
{
  struct inventory *inv = flat_fleet(8, true); /* s1 = h01-h04 (pairs p1, p2), s2 = h05-h08 */
  struct policy *p = policy_ok(POLICY_TARGET "limits: {max_parallel: 3, per: {site: 2}, "
                                             "exclusive: [pair]}\n");
  size_t hosts[8];
  for (size_t i = 0; i < 8; i++)
    hosts[i] = i;
  struct run_limits *l;
  struct diag d = {0};
  cr_assert_eq(run_limits_new(p, inv, hosts, 8, &l, &d), 0);
  char why[256];
  cr_expect(!run_limits_blocked(l, 0, why, sizeof why));
  run_limits_take(l, 0);
  cr_expect(run_limits_blocked(l, 1, why, sizeof why), "h02 shares pair p1 with h01");
  cr_expect(strstr(why, "pair=p1") && strstr(why, "h01"), "%s", why);
  cr_expect(!run_limits_blocked(l, 2, why, sizeof why));
  run_limits_take(l, 2);
  cr_expect(run_limits_blocked(l, 3, why, sizeof why), "site s1 has 2 of 2");
  cr_expect(strstr(why, "limits.per.site"), "%s", why);
  run_limits_take(l, 4);
  cr_expect(run_limits_blocked(l, 6, why, sizeof why), "max_parallel 3");
  cr_expect(strstr(why, "max_parallel"), "%s", why);
  run_limits_release(l, 0);
  cr_expect_eq(run_limits_in_flight(l), 2);
  cr_expect(!run_limits_blocked(l, 1, why, sizeof why), "the pair is free again: %s", why);
  run_limits_free(l);
  policy_free(p);
  inventory_free(inv);
}

Test(planner, the_failure_budget_is_strictly_greater_and_a_canary_always_halts)
{
  struct policy *p =
      policy_ok(POLICY_TARGET "failures: {max_failed: 2, max_fail_percentage: 50}\n");
  char why[256];
  struct budget_state b = {.failed = 2, .wave_failed = 1, .wave_size = 2};
  cr_expect(!policy_budget_exceeded(p, &b, why, sizeof why), "2 failed of 2 allowed; 50%% of 50%%");
  b.failed = 3;
  cr_expect(policy_budget_exceeded(p, &b, why, sizeof why));
  cr_expect(strstr(why, "max_failed"), "%s", why);
  b = (struct budget_state){.failed = 2, .wave_failed = 2, .wave_size = 3};
  cr_expect(policy_budget_exceeded(p, &b, why, sizeof why), "67%% > 50%%");
  cr_expect(strstr(why, "max_fail_percentage"), "%s", why);
  b = (struct budget_state){.failed = 1, .canary_failed = 1, .wave_failed = 1, .wave_size = 1};
  struct policy *lax = policy_ok(POLICY_TARGET "failures: {max_failed: 10}\n");
  cr_expect(policy_budget_exceeded(lax, &b, why, sizeof why));
  cr_expect(strstr(why, "canary"), "%s", why);
  policy_free(lax);
  policy_free(p);
}

Test(planner, unpacked_waves_are_ansible_batches_and_take_the_rounds_their_limits_need)
{
  /* 16 hosts, four a site; serial 8: batches h01-h08 and h09-h16, each holding two whole
   * sites. With one router a site at a time each batch needs 4 rounds; packed, 4 waves of 4. */
  struct inventory *inv = flat_fleet(16, SITES_AND_PAIRS);
  struct plan plan = make_plan(inv, "waves: {serial: [8], pack: false}\nlimits: {per: {site: "
                                    "1}}\nestimate: 10m\n");
  expect_sizes(&plan, (size_t[]){8, 8}, 2);
  cr_expect_str_eq(inv->hosts[plan.waves[0].hosts[7]].name, "h08", "Ansible's order, untouched");
  cr_expect_eq(plan.waves[0].rounds, 4);
  cr_expect_eq(plan.makespan_s, 2 * 4 * 600, "two waves of four rounds");
  cr_expect_eq(plan.lower_bound_s, 4 * 600, "the bound does not depend on packing");
  cr_expect_eq(plan.ndeferred, 0);
  plan_free(&plan);
  struct plan packed = make_plan(inv, "waves: {serial: [8]}\nlimits: {per: {site: 1}}\n"
                                      "estimate: 10m\n");
  expect_sizes(&packed, (size_t[]){4, 4, 4, 4}, 4);
  cr_expect_eq(packed.makespan_s, 4 * 600);
  plan_free(&packed);
  inventory_free(inv);
}

/* Issue 14's fleet: 60 routers, 10 sites of 3 pairs, max_parallel 10, 2 per site, pairs
 * exclusive, canary 1. */
static struct inventory *sixty_routers(void)
{
  char *yaml = xstrdup("all:\n  hosts:\n");
  size_t len = strlen(yaml), cap = len + 1;
  for (size_t s = 0; s < 10; s++)
    for (size_t r = 0; r < 6; r++)
      text_appendf(&yaml, &len, &cap, "    r%zu-%zu: {site: s%zu, pair: s%zu-p%zu}\n", s, r, s, s,
                   r / 2);
  struct inventory *inv = inv_ok(yaml);
  free(yaml);
  return inv;
}

#define SIXTY_LIMITS "limits: {max_parallel: 10, per: {site: 2}, exclusive: [pair]}\n"

Test(planner, sixty_routers_in_ten_sites_take_the_seven_waves_the_bound_allows)
{
  struct inventory *inv = sixty_routers();
  struct plan plan = make_plan(inv, "waves: {canary: 1, serial: [\"100%\"]}\n" SIXTY_LIMITS);
  check_limits(inv, &plan, "site", 2, 10);
  check_limits(inv, &plan, "pair", 1, 10);
  cr_expect_eq(plan.nwaves, 7, "canary + 6 waves of 10 (5 sites x 2), got %zu", plan.nwaves);
  cr_expect_eq(plan.makespan_s, plan.lower_bound_s);
  cr_expect(strstr(plan.bound_reason, "limits.max_parallel"), "%s", plan.bound_reason);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, a_serial_list_is_part_of_the_bound_and_the_plan_reaches_it)
{
  struct inventory *inv = sixty_routers();
  struct plan plan = make_plan(inv, "waves: {canary: 1, serial: [4, \"25%\"]}\n" SIXTY_LIMITS);
  /* 4, then 25% of 60 = 15 capped at 10: 4 + 6 x 10 >= 59, so 7 waves after the canary. */
  cr_expect_eq(plan.nwaves, 8, "got %zu", plan.nwaves);
  cr_expect_eq(plan.waves[1].nhosts, 4);
  cr_expect_eq(plan.makespan_s, plan.lower_bound_s);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, small_waves_and_few_sites_together_set_the_bound)
{
  /* Three sites of 2, one per site, serial [6, 1]: the first wave holds 3 (not 6), each later
   * one 1, so 4 waves; neither serial (1 wave) nor a site (2 waves) alone says so. */
  struct inventory *inv = inv_ok("all:\n  hosts:\n    h1: {site: a}\n    h2: {site: a}\n"
                                 "    h3: {site: b}\n    h4: {site: b}\n    h5: {site: c}\n"
                                 "    h6: {site: c}\n");
  struct plan plan = make_plan(inv, "waves: {serial: [6, 1]}\nlimits: {per: {site: 1}}\n");
  cr_expect_eq(plan.nwaves, 4);
  cr_expect_eq(plan.makespan_s, plan.lower_bound_s, "%s", plan.bound_reason);
  cr_expect(strstr(plan.bound_reason, "limits.per.site with the wave sizes"), "%s",
            plan.bound_reason);
  plan_free(&plan);
  inventory_free(inv);
}

Test(planner, an_inventory_without_hosts_is_an_error_naming_the_file)
{
  struct inventory *inv = inv_ok("all:\n  hosts: {}\n");
  char *e = plan_error(inv, "waves: {canary: 1}\n");
  cr_expect(strstr(e, "inv.yaml: the inventory has no hosts"), "%s", e);
  free(e);
  inventory_free(inv);
}
