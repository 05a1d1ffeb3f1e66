/*
 * yamldoc: a YAML document as a tree, with the position of every node.
 *
 * Built from libyaml's event API (libyaml 0.2.5 does no typing, no merge keys and no limits, and
 * its document API can build cycles). Here aliases are copied into the tree under a node budget,
 * `<<` merge keys follow YAML 1.1, duplicate keys are errors, and nesting depth and input size
 * are bounded, so a hostile file costs at most a bounded amount of memory and time. Scalars keep
 * their text; yamldoc_scalar_resolve() applies YAML 1.1 implicit typing the way Ansible's loader
 * (PyYAML) sees it.
 */
#ifndef ISSU_YAMLDOC_H
#define ISSU_YAMLDOC_H

#include "common/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ynode_kind { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode;

struct ypair {
  struct ynode *key;
  struct ynode *value;
};

struct ynode {
  enum ynode_kind kind;
  unsigned line, col; /* 1-based, where the node starts */
  /* Scalar: text, its length, and whether it may be implicitly typed (plain and untagged). */
  char *text;
  size_t len;
  bool plain;
  /* Sequence items, or mapping pairs in document order (merged keys first, as PyYAML does). */
  struct ynode **items;
  struct ypair *pairs;
  size_t count;
};

struct ydoc {
  char *file;         /* the name errors carry */
  struct ynode *root; /* NULL for an empty document */
  size_t nodes;       /* nodes materialised, alias copies included */
};

/* Hard bounds against hostile input. */
#define YDOC_MAX_BYTES (16u * 1024 * 1024)
#define YDOC_MAX_DEPTH 64
#define YDOC_MAX_NODES 2000000u

int ydoc_load_file(const char *path, struct ydoc *doc, struct diag *d);
int ydoc_load_buffer(const char *name, const char *buf, size_t len, struct ydoc *doc,
                     struct diag *d);
void ydoc_free(struct ydoc *doc);

/* Mapping lookup by scalar key text; NULL when absent or `map` is not a mapping. */
const struct ynode *ynode_get(const struct ynode *map, const char *key);
const char *ynode_kind_name(const struct ynode *n);

enum yscalar_type { YSCALAR_NULL, YSCALAR_BOOL, YSCALAR_INT, YSCALAR_FLOAT, YSCALAR_STR };

struct yscalar {
  enum yscalar_type type;
  bool b;
  int64_t i;
  double f;
};

/* YAML 1.1 implicit typing as PyYAML's SafeLoader applies it (yes/no/on/off are booleans, 010 is
 * octal, 1:30 is 90); quoted or !!str-tagged scalars are strings. Returns -ERANGE for an integer
 * that does not fit 64 bits. */
int yscalar_resolve(const struct ynode *n, struct yscalar *out);
/* A scalar as JSON text ("true", "8", "1500.0", "null", or NULL for a string). Caller frees. */
char *yscalar_json_number(const struct yscalar *s);

#endif
