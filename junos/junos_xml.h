/*
 * Private to junos/: the libxml2 plumbing the fact parsers share (junos_xml.c). Finds the XML in
 * a reply's lines, parses it without namespaces, and lays out the multi-RE shape.
 */
#ifndef ISSU_JUNOS_XML_H
#define ISSU_JUNOS_XML_H

#include "junos/junos_facts.h"

#include <libxml/tree.h>
#include <libxml/xpath.h>

/* The fact table's rows (junos_facts.c), by name in code: F(RE_SLOT) is the XPath of row
 * JF_RE_SLOT. Order and count match the table (a static assert there checks). */
enum jx_fact {
  JF_ITEM,
  JF_ITEM_NAME,
  JF_RPC_ERROR,
  JF_ERROR_MESSAGE,
  JF_ERROR_SEVERITY,
  JF_OUTPUT,
  JF_BANNER,
  JF_RE,
  JF_RE_SLOT,
  JF_RE_STATE,
  JF_RE_STATUS,
  JF_RE_MODEL,
  JF_RE_REBOOT,
  JF_RE_UPTIME,
  JF_SW,
  JF_SW_RELEASE,
  JF_SW_RELEASE_PKG,
  JF_SW_BASE_OS,
  JF_SW_MODEL,
  JF_SW_HOST,
  JF_FS,
  JF_FS_NAME,
  JF_FS_MOUNT,
  JF_FS_PCT,
  JF_FS_TOTAL,
  JF_FS_AVAIL,
  JF_AL_NONE,
  JF_AL_COUNT,
  JF_AL_DETAIL,
  JF_AL_CLASS,
  JF_AL_DESC,
  JF_AL_TIME,
  JF_SO,
  JF_SO_STATE,
  JF_SO_CONFIG,
  JF_SO_REPL,
  JF_SO_READY,
  JF_TR,
  JF_TR_GRES,
  JF_TR_MODE,
  JF_TR_NAME,
  JF_TR_STATE,
  JF_CK,
  JF_CK_METHOD,
  JF_CK_FILE,
  JF_CK_SUM,
  JF_COUNT
};
const char *jx_xpath(enum jx_fact f);
#define F(id) JF_##id

struct jx {
  xmlDocPtr doc;
  xmlXPathContextPtr xp;
  char *buf; /* the reply's lines joined with '\n' */
  size_t len;
  /* multi-routing-engine-item of re0 / re1, or NULL; `multi` when the reply had them */
  xmlNodePtr item[2];
  bool multi;
};

/* Parses the reply. Fills reply (xml, text, not_master, banner, foreign_items, error) and, for
 * multi-RE replies, ans[] and x->item[]. Returns false when there is no XML document (reply->text
 * then says whether the lines were text). Always jx_close() afterwards. */
bool jx_open(struct jx *x, const char *const *lines, size_t n, struct junos_reply *reply,
             struct junos_re_answer ans[2]);
void jx_close(struct jx *x);

/* The nodes row `f`'s XPath (compiled once) selects from `ctx` (the document when NULL); NULL or an
 * empty set when none. Free with xmlXPathFreeObject. */
xmlXPathObjectPtr jx_eval(struct jx *x, xmlNodePtr ctx, enum jx_fact f);
/* The first node it selects, or NULL. */
xmlNodePtr jx_node(struct jx *x, xmlNodePtr ctx, enum jx_fact f);
/* The trimmed text of the first node it selects. False (out "") when there is none or it
 * does not fit in `len` (never cut). */
bool jx_text(struct jx *x, xmlNodePtr ctx, enum jx_fact f, char *out, size_t len);
/* The trimmed text of `node` (same rule). */
bool jx_node_text(xmlNodePtr node, char *out, size_t len);

/* The text of every <output> in the reply, joined, split into cleaned lines for the text
 * fallbacks; *n lines. Free with jx_free_lines. NULL when there is none. */
char **jx_output_lines(struct jx *x, size_t *n);
void jx_free_lines(char **lines, size_t n);

/* A whole decimal number from the router, at most `max`; false for anything else. */
bool jx_to_ull(const char *s, unsigned long long max, unsigned long long *out);
/* master/primary, backup/standby, other, or unknown when empty (junos_facts.c). */
enum junos_mastership jx_mastership(const char *s);
/* Counts one protocol of show task replication (junos_facts.c). */
void jx_replication_row(struct junos_replication_xml *out, const char *name, const char *st);

/* The text forms (junos_text.c). When the XML held no fact, jx_text_fallback runs `fn` on the
 * text inside <output> (PyEZ format=text) or, with no <output>, on the reply's own lines. */
typedef void (*jx_text_fn)(const char *const *lines, size_t n, void *out);
void jx_text_fallback(struct jx *x, const struct junos_reply *reply, const char *const *lines,
                      size_t n, jx_text_fn fn, void *out);
void jx_text_routing_engines(const char *const *lines, size_t n, void *out);
void jx_text_versions(const char *const *lines, size_t n, void *out);
void jx_text_replication(const char *const *lines, size_t n, void *out);
/* "Key  value" / "Key: value" at the start of a cleaned line: the value, or NULL. */
const char *jx_after_key(const char *line, const char *key);

/* Copies `s` (whole) into out; false (out "") if it does not fit. */
bool jx_copy(char *out, size_t len, const char *s, size_t slen);

#endif
