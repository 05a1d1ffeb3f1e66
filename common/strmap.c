/*
 * A string-keyed open-addressing hash map (FNV-1a, linear probing). Inventories reach tens of
 * thousands of hosts, and every group membership and variable lookup goes by name.
 */
#include "common/common.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s)
{
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h;
}

void strmap_init(struct strmap *m)
{
  memset(m, 0, sizeof *m);
}

void strmap_free(struct strmap *m)
{
  free(m->keys);
  free(m->values);
  memset(m, 0, sizeof *m);
}

static void rehash(struct strmap *m, size_t cap)
{
  struct strmap old = *m;
  m->keys = xcalloc(cap, sizeof *m->keys);
  m->values = xcalloc(cap, sizeof *m->values);
  m->cap = cap;
  m->count = 0;
  for (size_t i = 0; i < old.cap; i++)
    if (old.keys[i] != NULL)
      strmap_put(m, old.keys[i], old.values[i]);
  free(old.keys);
  free(old.values);
}

bool strmap_get(const struct strmap *m, const char *key, size_t *value)
{
  if (m->cap == 0)
    return false;
  size_t i = hash(key) & (m->cap - 1);
  while (m->keys[i] != NULL) {
    if (strcmp(m->keys[i], key) == 0) {
      if (value != NULL)
        *value = m->values[i];
      return true;
    }
    i = (i + 1) & (m->cap - 1);
  }
  return false;
}

void strmap_put(struct strmap *m, const char *key, size_t value)
{
  if ((m->count + 1) * 4 > m->cap * 3)
    rehash(m, m->cap ? m->cap * 2 : 16);
  size_t i = hash(key) & (m->cap - 1);
  while (m->keys[i] != NULL) {
    if (strcmp(m->keys[i], key) == 0) {
      m->values[i] = value;
      return;
    }
    i = (i + 1) & (m->cap - 1);
  }
  m->keys[i] = key;
  m->values[i] = value;
  m->count++;
}
