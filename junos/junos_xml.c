/*
 * The XML around a Junos reply (junos_xml.h). A reply's lines may carry, around the document, the
 * echoed command, a `{master}` prompt, a cli timestamp, a BOM; inside it, namespaces that vary by
 * release (xmlns on rpc-reply, a per-module default namespace, `junos:` attributes). The document
 * is cut out, wrapped in one root that declares the `junos` prefix (bodies stored without
 * rpc-reply use it undeclared), parsed in recover mode with no network and no DTD (Junos never
 * sends one: a reply that does is refused, so no entity can expand), and stripped of namespaces
 * so that the fact table's XPaths use plain names.
 */
#include "junos/junos_xml.h"
#include "common/common.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xpathInternals.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_OPEN "<issu-fleet-reply xmlns:junos=\"http://xml.juniper.net/junos/\">"
#define ROOT_CLOSE "</issu-fleet-reply>"
#define NOT_MASTER "This command can only be used on the master routing engine"

bool jx_copy(char *out, size_t len, const char *s, size_t slen)
{
  if (slen >= len) {
    out[0] = '\0';
    return false;
  }
  memcpy(out, s, slen);
  out[slen] = '\0';
  return true;
}

static bool is_blank(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool jx_node_text(xmlNodePtr node, char *out, size_t len)
{
  out[0] = '\0';
  if (node == NULL)
    return false;
  xmlChar *c = xmlNodeGetContent(node);
  if (c == NULL)
    return false;
  const char *s = (const char *)c;
  size_t l = strlen(s);
  while (l > 0 && is_blank((unsigned char)s[l - 1]))
    l--;
  while (l > 0 && is_blank((unsigned char)*s)) {
    s++;
    l--;
  }
  bool ok = jx_copy(out, len, s, l);
  xmlFree(c);
  return ok;
}

/* The table's XPaths, compiled on first use and kept for the process (the scheduler reads
 * thousands of replies: compiling each time cost as much as parsing). One thread reads replies. */
static xmlXPathCompExprPtr compiled[JF_COUNT];

/* One XPath context and one parser context for the process, for the same reason: a new XPath
 * context registers every XPath function in a fresh hash table (a tenth of a reply's cost), a new
 * parser context allocates its tables and a dictionary of names. The XPath context is pointed at
 * the reply's document before each evaluation, so two replies may be open at once. */
static xmlXPathContextPtr shared_xp;
static xmlParserCtxtPtr shared_parser;
/* The parser's dictionary keeps every element and attribute name it has seen (and short or blank
 * texts); a router that sends ever new names must not grow it without end: past this many entries
 * the context is replaced (an open document keeps its own reference to the old dictionary). */
#define PARSER_DICT_MAX 4096

xmlXPathObjectPtr jx_eval(struct jx *x, xmlNodePtr ctx, enum jx_fact f)
{
  if (x->xp == NULL || (unsigned)f >= JF_COUNT)
    return NULL;
  if (compiled[f] == NULL && (compiled[f] = xmlXPathCompile((const xmlChar *)jx_xpath(f))) == NULL)
    return NULL;
  x->xp->doc = x->doc;
  x->xp->node = ctx ? ctx : xmlDocGetRootElement(x->doc);
  return xmlXPathCompiledEval(compiled[f], x->xp);
}

/* A row whose XPath is one child name ("slot", "model"): a look at the children does what the
 * XPath engine would, at a tenth of the cost. */
static bool plain_name(const char *xpath)
{
  return xpath[0] != '\0' && strpbrk(xpath, "/[]@*.():|") == NULL;
}

xmlNodePtr jx_node(struct jx *x, xmlNodePtr ctx, enum jx_fact f)
{
  if (ctx != NULL && (unsigned)f < JF_COUNT && plain_name(jx_xpath(f))) {
    for (xmlNodePtr c = ctx->children; c; c = c->next)
      if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, jx_xpath(f)) == 0)
        return c;
    return NULL;
  }
  xmlXPathObjectPtr o = jx_eval(x, ctx, f);
  xmlNodePtr n = NULL;
  if (o && o->type == XPATH_NODESET && o->nodesetval && o->nodesetval->nodeNr > 0)
    n = o->nodesetval->nodeTab[0];
  xmlXPathFreeObject(o);
  return n;
}

bool jx_text(struct jx *x, xmlNodePtr ctx, enum jx_fact f, char *out, size_t len)
{
  xmlNodePtr n = jx_node(x, ctx, f);
  if (n == NULL) {
    out[0] = '\0';
    return false;
  }
  return jx_node_text(n, out, len);
}

/* Drops every namespace, so `route-engine` matches whatever xmlns a release put on it. */
static void strip_ns(xmlNodePtr n)
{
  for (; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    n->ns = NULL;
    for (xmlAttrPtr a = n->properties; a; a = a->next)
      a->ns = NULL;
    strip_ns(n->children);
  }
}

/* Where the document starts: the first '<' that opens an element (or a declaration), and its
 * root element's name. */
static const char *doc_start(const char *b, const char *end, const char **name, size_t *nlen)
{
  for (const char *p = b; p < end; p++) {
    if (*p != '<' || p + 1 >= end)
      continue;
    if (p[1] == '?') { /* <?xml ...?> */
      const char *q = strstr(p, "?>");
      if (q == NULL)
        return NULL;
      p = q + 1;
      continue;
    }
    if (!isalpha((unsigned char)p[1]))
      continue;
    const char *s = p + 1;
    size_t l = strcspn(s, " \t\r\n/>");
    *name = s;
    *nlen = l;
    return p;
  }
  return NULL;
}

/* Where the document ends: after the last `</root>`, else after the last '>' (a cut reply). The
 * search runs backwards from the end, where the root's end tag is: the first match is the last.
 * `end` is the reply's terminating NUL. */
static const char *doc_end(const char *start, const char *end, const char *name, size_t nlen)
{
  for (const char *p = end - 1; p > start; p--) {
    if (p[-1] != '<' || p[0] != '/' || strncmp(p + 1, name, nlen) != 0)
      continue;
    const char *q = p + 1 + nlen;
    while (q < end && is_blank((unsigned char)*q))
      q++;
    if (q < end && *q == '>')
      return q + 1;
  }
  for (const char *p = end; p > start; p--)
    if (p[-1] == '>')
      return p;
  return end;
}

/* A DTD or an entity declaration anywhere in the reply (one pass over it). */
static bool declares_dtd(const char *buf)
{
  for (const char *p = buf; (p = strstr(p, "<!")) != NULL; p += 2)
    if (strncmp(p + 2, "DOCTYPE", 7) == 0 || strncmp(p + 2, "ENTITY", 6) == 0)
      return true;
  return false;
}

static int slot_of_name(const char *s)
{
  return (strcmp(s, "re0") == 0) ? 0 : (strcmp(s, "re1") == 0) ? 1 : -1;
}

/* "Could not connect to re0 : No route to host": the RE named as a word. */
static int slot_in_message(const char *m)
{
  for (const char *p = m; (p = strstr(p, "re")) != NULL; p++) {
    bool start = p == m || !isalnum((unsigned char)p[-1]);
    if (start && (p[2] == '0' || p[2] == '1') && !isalnum((unsigned char)p[3]))
      return p[2] - '0';
  }
  return -1;
}

static void note_error(char *dst, size_t len, const char *msg)
{
  if (dst[0] == '\0' && !jx_copy(dst, len, msg, strlen(msg)))
    jx_copy(dst, len, "an rpc-error too long to quote", 30);
}

/* The nodes every reply may carry, found in one walk (four `//` searches cost as much as the
 * parse). The names are the last steps of the table's rows JF_ITEM, JF_RPC_ERROR, JF_OUTPUT and
 * JF_BANNER. libxml2 refuses nesting deeper than 256 levels, which bounds the recursion. */
#define LAYOUT_MAX 16
struct layout {
  xmlNodePtr item[LAYOUT_MAX], error[LAYOUT_MAX], output[LAYOUT_MAX], banner;
  size_t nitem, nerror, noutput;
  unsigned more_items;
};

static void keep(xmlNodePtr *list, size_t *n, xmlNodePtr node, unsigned *more)
{
  if (*n < LAYOUT_MAX)
    list[(*n)++] = node;
  else if (more)
    (*more)++;
}

static void walk(xmlNodePtr n, struct layout *L)
{
  for (; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    const char *name = (const char *)n->name;
    /* Most elements are none of the four: their first letter rules them out. */
    switch (name[0]) {
    case 'm':
      if (strcmp(name, "multi-routing-engine-item") == 0)
        keep(L->item, &L->nitem, n, &L->more_items);
      break;
    case 'r':
      if (strcmp(name, "rpc-error") == 0)
        keep(L->error, &L->nerror, n, NULL);
      break;
    case 'o':
      if (strcmp(name, "output") == 0)
        keep(L->output, &L->noutput, n, NULL);
      break;
    case 'b':
      if (strcmp(name, "banner") == 0 && n->parent && n->parent->name &&
          strcmp((const char *)n->parent->name, "cli") == 0 && L->banner == NULL)
        L->banner = n;
      break;
    default:
      break;
    }
    walk(n->children, L);
  }
}

static void read_layout(struct jx *x, struct junos_reply *reply, struct junos_re_answer ans[2])
{
  char name[JUNOS_NAME_MAX], msg[JUNOS_TEXT_MAX], sev[JUNOS_NAME_MAX];
  struct layout L = {0};
  walk(xmlDocGetRootElement(x->doc), &L);
  reply->foreign_items += L.more_items;
  x->multi = L.nitem > 0 || L.more_items > 0;
  for (size_t i = 0; i < L.nitem; i++) {
    xmlNodePtr it = L.item[i];
    int s = jx_text(x, it, F(ITEM_NAME), name, sizeof name) ? slot_of_name(name) : -1;
    if (s < 0 || x->item[s] != NULL) {
      reply->foreign_items++;
      continue;
    }
    x->item[s] = it;
    ans[s].listed = ans[s].answered = true;
  }
  for (size_t i = 0; i < L.nerror; i++) {
    xmlNodePtr e = L.error[i];
    if (!jx_text(x, e, F(ERROR_MESSAGE), msg, sizeof msg))
      jx_copy(msg, sizeof msg, "an rpc-error without a readable message", 39);
    jx_text(x, e, F(ERROR_SEVERITY), sev, sizeof sev);
    int s = slot_in_message(msg);
    if (s >= 0 && strcmp(sev, "warning") != 0) {
      ans[s].listed = true;
      if (x->item[s] == NULL)
        ans[s].answered = false;
      note_error(ans[s].error, sizeof ans[s].error, msg);
    } else if (strcmp(sev, "warning") != 0)
      note_error(reply->error, sizeof reply->error, msg);
  }
  for (size_t i = 0; i < L.noutput; i++) {
    xmlChar *c = xmlNodeGetContent(L.output[i]);
    if (c && strstr((const char *)c, NOT_MASTER))
      reply->not_master = true;
    for (const xmlChar *p = c; p && *p; p++)
      if (!is_blank(*p)) {
        reply->text = true;
        break;
      }
    xmlFree(c);
  }
  if (jx_node_text(L.banner, name, sizeof name))
    reply->banner = junos_prompt_of(name, strlen(name));
}

/* The document, parsed in recover mode with no network and no DTD (see the top of the file). */
static xmlDocPtr parse(const char *text, int len)
{
  if (shared_parser == NULL && (shared_parser = xmlNewParserCtxt()) == NULL)
    return NULL;
  xmlDocPtr doc = xmlCtxtReadMemory(shared_parser, text, len, NULL, "UTF-8",
                                    XML_PARSE_RECOVER | XML_PARSE_NONET | XML_PARSE_NOERROR |
                                        XML_PARSE_NOWARNING | XML_PARSE_NOCDATA |
                                        XML_PARSE_NOBLANKS | XML_PARSE_COMPACT);
  if (shared_parser->dict == NULL || xmlDictSize(shared_parser->dict) > PARSER_DICT_MAX) {
    xmlFreeParserCtxt(shared_parser);
    shared_parser = NULL;
  }
  return doc;
}

static bool refuse(struct junos_reply *reply, const char *why)
{
  jx_copy(reply->error, sizeof reply->error, why, strlen(why));
  return false;
}

bool jx_open(struct jx *x, const char *const *lines, size_t n, struct junos_reply *reply,
             struct junos_re_answer ans[2])
{
  memset(x, 0, sizeof *x);
  memset(reply, 0, sizeof *reply);
  if (ans)
    memset(ans, 0, 2 * sizeof *ans);
  struct junos_re_answer scratch[2] = {0};
  if (ans == NULL)
    ans = scratch;
  size_t total = 1;
  for (size_t i = 0; i < n; i++)
    total += strlen(lines[i]) + 1;
  x->buf = xmalloc(total);
  size_t used = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(lines[i]);
    memcpy(x->buf + used, lines[i], l);
    used += l;
    x->buf[used++] = '\n';
  }
  x->buf[used] = '\0';
  x->len = used;
  reply->not_master = junos_is_not_master_refusal(lines, n);
  const char *name = NULL, *end = x->buf + used;
  size_t nlen = 0;
  const char *start = doc_start(x->buf, end, &name, &nlen);
  if (start == NULL) {
    for (size_t i = 0; i < n && !reply->text; i++)
      reply->text = lines[i][0] != '\0';
    return refuse(reply, "no XML in the reply");
  }
  if (declares_dtd(x->buf))
    return refuse(reply, "the reply declares a DTD (Junos never does): not read");
  const char *stop = doc_end(start, end, name, nlen);
  size_t body = (size_t)(stop - start);
  size_t wl = sizeof ROOT_OPEN - 1 + body + sizeof ROOT_CLOSE - 1;
  if (wl > (size_t)INT32_MAX)
    return refuse(reply, "the reply is too large to read");
  char *wrapped = xmalloc(wl + 1);
  memcpy(wrapped, ROOT_OPEN, sizeof ROOT_OPEN - 1);
  memcpy(wrapped + sizeof ROOT_OPEN - 1, start, body);
  memcpy(wrapped + sizeof ROOT_OPEN - 1 + body, ROOT_CLOSE, sizeof ROOT_CLOSE);
  x->doc = parse(wrapped, (int)wl);
  free(wrapped);
  if (x->doc == NULL || xmlDocGetRootElement(x->doc) == NULL)
    return refuse(reply, "the XML in the reply could not be read");
  strip_ns(xmlDocGetRootElement(x->doc));
  if (shared_xp == NULL)
    shared_xp = xmlXPathNewContext(x->doc);
  x->xp = shared_xp;
  if (x->xp == NULL)
    return refuse(reply, "out of memory reading the reply");
  reply->xml = true;
  read_layout(x, reply, ans);
  return true;
}

void jx_close(struct jx *x)
{
  if (x->xp && x->xp->doc == x->doc) {
    x->xp->doc = NULL; /* the shared context outlives the document */
    x->xp->node = NULL;
  }
  if (x->doc)
    xmlFreeDoc(x->doc);
  free(x->buf);
  memset(x, 0, sizeof *x);
}

char **jx_output_lines(struct jx *x, size_t *n)
{
  *n = 0;
  xmlXPathObjectPtr o = jx_eval(x, NULL, F(OUTPUT));
  char **lines = NULL;
  size_t cap = 0;
  for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
    xmlChar *c = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
    for (const char *p = (const char *)c; p && *p;) {
      size_t l = strcspn(p, "\n");
      char clean[1024];
      if (junos_clean_line(p, l, clean, sizeof clean) == LINE_TEXT) {
        lines = xgrow(lines, &cap, *n + 1, sizeof *lines);
        lines[(*n)++] = xstrdup(clean);
      }
      p += l + (p[l] == '\n');
    }
    xmlFree(c);
  }
  xmlXPathFreeObject(o);
  return lines;
}

void jx_free_lines(char **lines, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(lines[i]);
  free(lines);
}

bool jx_to_ull(const char *s, unsigned long long max, unsigned long long *out)
{
  while (*s == ' ' || *s == '\t')
    s++;
  if (!isdigit((unsigned char)*s))
    return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  while (*end == ' ' || *end == '\t')
    end++;
  if (errno == ERANGE || *end != '\0' || v > max)
    return false;
  *out = v;
  return true;
}
