/*
 * libFuzzer harness for the inventory loader: any bytes in, a clean error or a loaded inventory
 * out, never a crash, a leak or unbounded work. A loaded inventory is also listed as JSON and
 * matched against a --limit pattern, to reach the code that walks it.
 */
#include "inventory/inventory.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
  struct diag d = {0};
  struct inventory *inv = NULL;
  if (inventory_load_buffer("fuzz.yaml", (const char *)data, size, &inv, &d) == 0) {
    cJSON *j = inventory_to_json(inv, NULL);
    char *text = cJSON_PrintUnformatted(j);
    free(text);
    cJSON_Delete(j);
    bool *selected = xcalloc(inv->nhosts + 1, sizeof *selected);
    inventory_select(inv, "all:!ungrouped:&*", selected, &d);
    free(selected);
  }
  diag_free(&d);
  inventory_free(inv);
  return 0;
}
