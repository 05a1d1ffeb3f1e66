/*
 * libFuzzer harness for the policy loader and the planner: any bytes in, a clean error or a
 * plan out. A policy that loads is planned against a small fixed inventory with sites and pairs,
 * so the planner meets every limit, canary and serial shape the fuzzer can invent.
 */
#include "policies/policies.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const char fleet[] = "all:\n  hosts:\n"
                            "    a1: {site: a, pair: p1, region: eu}\n"
                            "    a2: {site: a, pair: p1, region: eu}\n"
                            "    b1: {site: b, pair: p2, region: eu}\n"
                            "    b2: {site: b, pair: p2, region: us}\n"
                            "    c1: {site: c, pair: p3, region: us}\n"
                            "    c2: {site: c, region: us}\n";

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
  static struct inventory *inv;
  struct diag d = {0};
  if (inv == NULL && inventory_load_buffer("fleet.yaml", fleet, strlen(fleet), &inv, &d) < 0)
    abort();
  struct policy *p = NULL;
  if (policy_load_buffer("fuzz.yaml", (const char *)data, size, &p, &d) == 0) {
    struct plan plan;
    if (plan_build(p, inv, NULL, &plan, &d) == 0) {
      cJSON *j = plan_to_json(&plan, inv);
      cJSON_Delete(j);
      plan_free(&plan);
    }
  }
  policy_free(p);
  diag_free(&d);
  return 0;
}
