/*
 * The YAML tree builder: libyaml events in, a bounded tree with marks out.
 *
 * One pass over the events with an explicit stack of open collections. Anchors are recorded as
 * they are defined; an alias is a deep copy of its anchor's node, charged against the document's
 * node budget, so a "billion laughs" file fails fast with a marked error instead of eating memory.
 * An alias to a collection that is still open would be a cycle and is refused.
 */
#include "yamldoc/yamldoc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct anchor {
  char *name;
  struct ynode *node;
  bool open; /* its collection has not ended yet */
};

struct builder {
  struct ydoc *doc;
  struct diag *d;
  struct ynode *stack[YDOC_MAX_DEPTH + 1];
  size_t depth;
  struct anchor *anchors;
  size_t nanchors, anchors_cap;
  size_t items_cap[YDOC_MAX_DEPTH + 1];
  struct ynode **graveyard;
  size_t ngraveyard, graveyard_cap;
  bool failed;
};

static void node_free(struct ynode *n)
{
  if (n == NULL)
    return;
  free(n->text);
  for (size_t i = 0; n->kind == YNODE_SEQ && i < n->count; i++)
    node_free(n->items[i]);
  for (size_t i = 0; n->kind == YNODE_MAP && i < n->count; i++) {
    node_free(n->pairs[i].key);
    node_free(n->pairs[i].value);
  }
  free(n->items);
  free(n->pairs);
  free(n);
}

static void fail(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
    ISSU_PRINTF(4, 5);

/* Records the first error only: after it, the event stream no longer makes sense. */
static void fail(struct builder *b, unsigned line, unsigned col, const char *fmt, ...)
{
  if (!b->failed) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_add(b->d, b->doc->file, line, col, "%s", msg);
  }
  b->failed = true;
}

static bool charge(struct builder *b, unsigned line, unsigned col)
{
  if (++b->doc->nodes > YDOC_MAX_NODES) {
    fail(b, line, col, "document expands to more than %s nodes (alias expansion is bounded)",
         "2000000");
    return false;
  }
  return true;
}

static struct ynode *node_new(struct builder *b, enum ynode_kind kind, const yaml_mark_t *m)
{
  if (!charge(b, (unsigned)m->line + 1, (unsigned)m->column + 1))
    return NULL;
  struct ynode *n = xcalloc(1, sizeof *n);
  n->kind = kind;
  n->line = (unsigned)m->line + 1;
  n->col = (unsigned)m->column + 1;
  return n;
}

static struct ynode *node_copy(struct builder *b, const struct ynode *src)
{
  if (!charge(b, src->line, src->col))
    return NULL;
  struct ynode *n = xcalloc(1, sizeof *n);
  *n = *src;
  n->text = src->text ? xstrndup(src->text, src->len) : NULL;
  n->items = NULL;
  n->pairs = NULL;
  if (src->kind == YNODE_SEQ && src->count) {
    n->items = xcalloc(src->count, sizeof *n->items);
    for (size_t i = 0; i < src->count; i++)
      if ((n->items[i] = node_copy(b, src->items[i])) == NULL) {
        n->count = i;
        node_free(n);
        return NULL;
      }
  }
  if (src->kind == YNODE_MAP && src->count) {
    n->pairs = xcalloc(src->count, sizeof *n->pairs);
    for (size_t i = 0; i < src->count; i++) {
      n->pairs[i].key = node_copy(b, src->pairs[i].key);
      n->pairs[i].value = n->pairs[i].key ? node_copy(b, src->pairs[i].value) : NULL;
      if (n->pairs[i].value == NULL) {
        node_free(n->pairs[i].key);
        n->count = i;
        node_free(n);
        return NULL;
      }
    }
  }
  return n;
}

static void anchor_define(struct builder *b, const yaml_char_t *name, struct ynode *n, bool open)
{
  if (name == NULL)
    return;
  /* A redefined anchor replaces the earlier one from here on, as YAML 1.1 says. */
  for (size_t i = 0; i < b->nanchors; i++)
    if (strcmp(b->anchors[i].name, (const char *)name) == 0) {
      b->anchors[i].node = n;
      b->anchors[i].open = open;
      return;
    }
  b->anchors = xgrow(b->anchors, &b->anchors_cap, b->nanchors + 1, sizeof *b->anchors);
  b->anchors[b->nanchors++] = (struct anchor){xstrdup((const char *)name), n, open};
}

static void anchor_close(struct builder *b, const struct ynode *n)
{
  for (size_t i = 0; i < b->nanchors; i++)
    if (b->anchors[i].node == n)
      b->anchors[i].open = false;
}

static bool same_key(const struct ynode *a, const struct ynode *b)
{
  return a->kind == YNODE_SCALAR && b->kind == YNODE_SCALAR && a->len == b->len &&
         memcmp(a->text, b->text, a->len) == 0;
}

static bool is_merge_key(const struct ynode *k)
{
  return k->kind == YNODE_SCALAR && k->plain && k->len == 2 && memcmp(k->text, "<<", 2) == 0;
}

static bool map_has(const struct ypair *pairs, size_t n, const struct ynode *key)
{
  for (size_t i = 0; i < n; i++)
    if (same_key(pairs[i].key, key))
      return true;
  return false;
}

/* Copies the pairs of `src` that the mapping lacks into the merged list (earlier sources win).
 * The source stays intact: it may carry an anchor that a later alias copies. */
static void merge_from(struct builder *b, struct ypair **merged, size_t *nmerged, size_t *cap,
                       const struct ynode *own, const struct ynode *src)
{
  for (size_t i = 0; i < src->count && !b->failed; i++) {
    struct ypair p = src->pairs[i];
    bool shadowed = map_has(*merged, *nmerged, p.key);
    for (size_t j = 0; !shadowed && j < own->count; j++)
      shadowed = !is_merge_key(own->pairs[j].key) && same_key(own->pairs[j].key, p.key);
    if (shadowed)
      continue;
    struct ynode *k = node_copy(b, p.key);
    struct ynode *v = k ? node_copy(b, p.value) : NULL;
    if (v == NULL) {
      node_free(k);
      return;
    }
    *merged = xgrow(*merged, cap, *nmerged + 1, sizeof **merged);
    (*merged)[(*nmerged)++] = (struct ypair){k, v};
  }
}

/* Nodes dropped from the tree are freed only when loading ends: an anchor may still point at one.
 */
static void bury(struct builder *b, struct ynode *n)
{
  b->graveyard = xgrow(b->graveyard, &b->graveyard_cap, b->ngraveyard + 1, sizeof *b->graveyard);
  b->graveyard[b->ngraveyard++] = n;
}

/* A finished mapping: reject duplicate keys, then apply `<<` merge keys (YAML 1.1). */
static void map_finish(struct builder *b, struct ynode *map)
{
  bool has_merge = false;
  for (size_t i = 0; i < map->count; i++) {
    const struct ynode *k = map->pairs[i].key;
    if (is_merge_key(k)) {
      has_merge = true;
      continue;
    }
    for (size_t j = 0; j < i; j++)
      if (same_key(map->pairs[j].key, k) && !is_merge_key(k)) {
        char where[64];
        snprintf(where, sizeof where, "%u:%u", map->pairs[j].key->line, map->pairs[j].key->col);
        char *msg = xasprintf("duplicate key '%.*s' (first defined at %s; each key once)",
                              (int)(k->len > 80 ? 80 : k->len), k->text, where);
        fail(b, k->line, k->col, "%s", msg);
        free(msg);
        return;
      }
  }
  if (!has_merge)
    return;

  struct ypair *merged = NULL;
  size_t nmerged = 0, cap = 0;
  for (size_t i = 0; i < map->count && !b->failed; i++) {
    if (!is_merge_key(map->pairs[i].key))
      continue;
    struct ynode *v = map->pairs[i].value;
    if (v->kind == YNODE_MAP)
      merge_from(b, &merged, &nmerged, &cap, map, v);
    else if (v->kind == YNODE_SEQ) {
      for (size_t j = 0; j < v->count && !b->failed; j++) {
        if (v->items[j]->kind != YNODE_MAP)
          fail(b, v->items[j]->line, v->items[j]->col, "%s",
               "merge key '<<' takes a mapping or a list of mappings (found something else)");
        else
          merge_from(b, &merged, &nmerged, &cap, map, v->items[j]);
      }
    } else
      fail(b, v->line, v->col, "%s",
           "merge key '<<' takes a mapping or a list of mappings (found a scalar)");
  }
  /* Merged pairs first, then the mapping's own pairs, the order PyYAML produces. */
  for (size_t i = 0; i < map->count; i++) {
    if (is_merge_key(map->pairs[i].key)) {
      bury(b, map->pairs[i].key);
      bury(b, map->pairs[i].value);
    } else {
      merged = xgrow(merged, &cap, nmerged + 1, sizeof *merged);
      merged[nmerged++] = map->pairs[i];
    }
  }
  free(map->pairs);
  map->pairs = merged;
  map->count = nmerged;
}

/* Attaches a finished node to the collection on top of the stack (or makes it the root). */
static void attach(struct builder *b, struct ynode *n)
{
  if (b->depth == 0) {
    b->doc->root = n;
    return;
  }
  struct ynode *parent = b->stack[b->depth - 1];
  size_t *cap = &b->items_cap[b->depth - 1];
  if (parent->kind == YNODE_SEQ) {
    parent->items = xgrow(parent->items, cap, parent->count + 1, sizeof *parent->items);
    parent->items[parent->count++] = n;
    return;
  }
  /* Mapping: a pair is open while its value is missing. Keys must be scalars. */
  if (parent->count > 0 && parent->pairs[parent->count - 1].value == NULL) {
    parent->pairs[parent->count - 1].value = n;
    return;
  }
  if (n->kind != YNODE_SCALAR) {
    fail(b, n->line, n->col, "%s", "mapping keys must be plain text (found a collection as a key)");
    bury(b, n);
    return;
  }
  parent->pairs = xgrow(parent->pairs, cap, parent->count + 1, sizeof *parent->pairs);
  parent->pairs[parent->count++] = (struct ypair){n, NULL};
}

static bool tag_is_str(const yaml_char_t *tag)
{
  return tag != NULL && (strcmp((const char *)tag, "tag:yaml.org,2002:str") == 0 ||
                         strcmp((const char *)tag, "!unsafe") == 0);
}

static void on_scalar(struct builder *b, const yaml_event_t *e)
{
  const yaml_char_t *tag = e->data.scalar.tag;
  if (tag != NULL && strcmp((const char *)tag, "!vault") == 0) {
    fail(b, (unsigned)e->start_mark.line + 1, (unsigned)e->start_mark.column + 1, "%s",
         "Ansible Vault values are not supported (keep secrets out of the inventory: use "
         "issu_password_env or ssh keys)");
    return;
  }
  struct ynode *n = node_new(b, YNODE_SCALAR, &e->start_mark);
  if (n == NULL)
    return;
  n->text = xstrndup((const char *)e->data.scalar.value, e->data.scalar.length);
  n->len = e->data.scalar.length;
  n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !tag_is_str(tag);
  anchor_define(b, e->data.scalar.anchor, n, false);
  attach(b, n);
}

static void on_alias(struct builder *b, const yaml_event_t *e)
{
  const char *name = (const char *)e->data.alias.anchor;
  unsigned line = (unsigned)e->start_mark.line + 1, col = (unsigned)e->start_mark.column + 1;
  for (size_t i = b->nanchors; i-- > 0;) {
    if (strcmp(b->anchors[i].name, name) != 0)
      continue;
    if (b->anchors[i].open) {
      fail(b, line, col, "alias '*%s' refers to a collection that contains it (a cycle)", name);
      return;
    }
    struct ynode *n = node_copy(b, b->anchors[i].node);
    if (n != NULL) {
      n->line = line;
      n->col = col;
      attach(b, n);
    }
    return;
  }
  fail(b, line, col, "alias '*%s' has no anchor defined before it (expected '&name' first)", name);
}

static void on_start(struct builder *b, const yaml_event_t *e, enum ynode_kind kind)
{
  if (b->depth >= YDOC_MAX_DEPTH) {
    fail(b, (unsigned)e->start_mark.line + 1, (unsigned)e->start_mark.column + 1,
         "nesting deeper than %s levels", "64");
    return;
  }
  struct ynode *n = node_new(b, kind, &e->start_mark);
  if (n == NULL)
    return;
  const yaml_char_t *anchor =
      kind == YNODE_SEQ ? e->data.sequence_start.anchor : e->data.mapping_start.anchor;
  anchor_define(b, anchor, n, true);
  b->items_cap[b->depth] = 0;
  b->stack[b->depth++] = n;
}

static void on_end(struct builder *b)
{
  struct ynode *n = b->stack[--b->depth];
  anchor_close(b, n);
  if (n->kind == YNODE_MAP)
    map_finish(b, n);
  attach(b, n);
}

static void parser_error(struct builder *b, const yaml_parser_t *p)
{
  const char *problem = p->problem ? p->problem : "invalid YAML";
  unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
  if (p->error == YAML_READER_ERROR) {
    /* Reader errors (bad encoding) have a byte offset, not a line. */
    char *msg = xasprintf("%s at byte %zu (expected UTF-8 text)", problem, p->problem_offset);
    fail(b, 0, 0, "%s", msg);
    free(msg);
    return;
  }
  if (p->context != NULL) {
    char *msg = xasprintf("%s (%s started at %u:%u)", problem, p->context,
                          (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
    fail(b, line, col, "%s", msg);
    free(msg);
  } else
    fail(b, line, col, "%s", problem);
}

int ydoc_load_buffer(const char *name, const char *buf, size_t len, struct ydoc *doc,
                     struct diag *d)
{
  memset(doc, 0, sizeof *doc);
  doc->file = xstrdup(name);
  if (len > YDOC_MAX_BYTES) {
    diag_add(d, name, 0, 0, "file is larger than 16 MiB");
    return -EFBIG;
  }
  struct builder b = {.doc = doc, .d = d};
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    diag_add(d, name, 0, 0, "cannot initialise the YAML parser");
    return -ENOMEM;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
  yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

  int documents = 0;
  bool done = false;
  while (!done && !b.failed) {
    yaml_event_t e;
    if (!yaml_parser_parse(&parser, &e)) {
      parser_error(&b, &parser);
      break;
    }
    switch (e.type) {
    case YAML_STREAM_END_EVENT:
      done = true;
      break;
    case YAML_DOCUMENT_START_EVENT:
      if (++documents > 1)
        fail(&b, (unsigned)e.start_mark.line + 1, (unsigned)e.start_mark.column + 1, "%s",
             "more than one YAML document in the file (expected exactly one)");
      break;
    case YAML_SCALAR_EVENT:
      on_scalar(&b, &e);
      break;
    case YAML_ALIAS_EVENT:
      on_alias(&b, &e);
      break;
    case YAML_SEQUENCE_START_EVENT:
      on_start(&b, &e, YNODE_SEQ);
      break;
    case YAML_MAPPING_START_EVENT:
      on_start(&b, &e, YNODE_MAP);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      on_end(&b);
      break;
    case YAML_NO_EVENT:
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
      break;
    }
    yaml_event_delete(&e);
  }
  yaml_parser_delete(&parser);
  /* On failure, free whatever is still on the stack. */
  while (b.depth > 0)
    node_free(b.stack[--b.depth]);
  for (size_t i = 0; i < b.ngraveyard; i++)
    node_free(b.graveyard[i]);
  free(b.graveyard);
  for (size_t i = 0; i < b.nanchors; i++)
    free(b.anchors[i].name);
  free(b.anchors);
  if (b.failed) {
    node_free(doc->root);
    doc->root = NULL;
    return -EINVAL;
  }
  return 0;
}

int ydoc_load_file(const char *path, struct ydoc *doc, struct diag *d)
{
  char *buf = NULL, err[160];
  size_t len = 0;
  int rc = text_read_file(path, YDOC_MAX_BYTES, &buf, &len, err, sizeof err);
  if (rc < 0) {
    memset(doc, 0, sizeof *doc);
    doc->file = xstrdup(path);
    diag_add(d, path, 0, 0, "%s", err);
    return rc;
  }
  rc = ydoc_load_buffer(path, buf, len, doc, d);
  free(buf);
  return rc;
}

void ydoc_free(struct ydoc *doc)
{
  node_free(doc->root);
  free(doc->file);
  memset(doc, 0, sizeof *doc);
}

const struct ynode *ynode_get(const struct ynode *map, const char *key)
{
  if (map == NULL || map->kind != YNODE_MAP)
    return NULL;
  size_t klen = strlen(key);
  for (size_t i = 0; i < map->count; i++) {
    const struct ynode *k = map->pairs[i].key;
    if (k->len == klen && memcmp(k->text, key, klen) == 0)
      return map->pairs[i].value;
  }
  return NULL;
}

const char *ynode_kind_name(const struct ynode *n)
{
  if (n == NULL)
    return "nothing";
  switch (n->kind) {
  case YNODE_SCALAR:
    return "a scalar";
  case YNODE_SEQ:
    return "a list";
  case YNODE_MAP:
    return "a mapping";
  }
  return "?";
}
