/*
 * Snapshots: one moment's answers to a suite's commands, kept as the XML text the router sent
 * and parsed once for the evaluator.
 *
 * An answer is read the way junos/junos_xml.c reads a reply: the document is cut out of whatever
 * surrounds it (an echoed command, a `{master}` prompt, a BOM), wrapped in one root that declares
 * the `junos` prefix, parsed with no network access, and stripped of namespaces so that a test's
 * XPath uses plain names whatever xmlns a release puts on its elements. Unlike a reply to a
 * request it must be well-formed (no recover mode: a cut answer is an error naming the command,
 * not a silently shorter list of peers), and an answer declaring a DTD or an entity is refused
 * (Junos never sends one), so no entity can expand.
 *
 * On disk a snapshot is a small private format: a header line, then per command its text and
 * its answer (or why there is none), each as a length-prefixed block, so any bytes survive.
 * Files are written to PATH.tmp, fsynced and renamed, so a crash leaves the old file or the new
 * one, never half of one; a resume then reuses the pre snapshot.
 */
#include "checks/checks_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT_OPEN "<issu-fleet-answer xmlns:junos=\"http://xml.juniper.net/junos/\">"
#define ROOT_CLOSE "</issu-fleet-answer>"
#define HEADER "issu-fleet checks snapshot 1\n"

struct check_snapshot *check_snapshot_new(const struct check_suite *s)
{
  struct check_snapshot *snap = xcalloc(1, sizeof *snap);
  snap->suite = s;
  snap->count = check_suite_command_count(s);
  snap->answers = xcalloc(snap->count ? snap->count : 1, sizeof *snap->answers);
  for (size_t i = 0; i < snap->count; i++)
    snap->answers[i].error = xstrdup("no answer was taken");
  return snap;
}

static void answer_clear(struct check_answer *a)
{
  free(a->xml);
  free(a->error);
  if (a->doc)
    xmlFreeDoc(a->doc);
  memset(a, 0, sizeof *a);
}

void check_snapshot_free(struct check_snapshot *snap)
{
  if (snap == NULL)
    return;
  for (size_t i = 0; i < snap->count; i++)
    answer_clear(&snap->answers[i]);
  free(snap->answers);
  free(snap);
}

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

static const void *find_bytes(const char *hay, size_t n, const char *needle)
{
  size_t l = strlen(needle);
  for (size_t i = 0; i + l <= n; i++)
    if (hay[i] == needle[0] && memcmp(hay + i, needle, l) == 0)
      return hay + i;
  return NULL;
}

/* The document inside an answer: from the first '<' that opens an element (past an XML
 * declaration or comments) to the last '>'. NULL when there is none. */
static const char *doc_bounds(const char *xml, size_t len, size_t *body)
{
  const char *end = xml + len, *p = xml;
  while (p < end) {
    const char *lt = memchr(p, '<', (size_t)(end - p));
    if (lt == NULL || lt + 1 >= end)
      return NULL;
    const char *skip_to = NULL;
    if (lt[1] == '?')
      skip_to = find_bytes(lt, (size_t)(end - lt), "?>");
    else if (end - lt >= 4 && memcmp(lt, "<!--", 4) == 0)
      skip_to = find_bytes(lt, (size_t)(end - lt), "-->");
    else {
      const char *last = end;
      while (last > lt && last[-1] != '>')
        last--;
      if (last == lt)
        return NULL;
      *body = (size_t)(last - lt);
      return lt;
    }
    if (skip_to == NULL)
      return NULL;
    p = skip_to + 2;
  }
  return NULL;
}

/* The reply's own element: inside rpc-reply when there is one (past its <cli> trailer). */
static xmlNodePtr reply_root(xmlDocPtr doc)
{
  xmlNodePtr wrap = xmlDocGetRootElement(doc);
  xmlNodePtr first = NULL;
  for (xmlNodePtr c = wrap ? wrap->children : NULL; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE) {
      first = c;
      break;
    }
  if (first == NULL || strcmp((const char *)first->name, "rpc-reply") != 0)
    return first ? first : wrap;
  for (xmlNodePtr c = first->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "cli") != 0)
      return c;
  return first;
}

/* Parses `xml` into `a` (which owns nothing yet). 0, or -1 with a->error set. */
static int answer_parse(struct check_answer *a, const char *xml, size_t len)
{
  if (len > CHECK_ANSWER_MAX) {
    a->error =
        xasprintf("the answer is %zu bytes, more than the %u a check reads", len, CHECK_ANSWER_MAX);
    return -1;
  }
  if (find_bytes(xml, len, "<!DOCTYPE") || find_bytes(xml, len, "<!ENTITY")) {
    a->error = xstrdup("the answer declares a DTD or an entity (Junos never does): not read");
    return -1;
  }
  size_t body = 0;
  const char *start = doc_bounds(xml, len, &body);
  if (start == NULL) {
    a->error = xstrdup("the answer holds no XML element");
    return -1;
  }
  size_t wl = sizeof ROOT_OPEN - 1 + body + sizeof ROOT_CLOSE - 1;
  char *wrapped = xmalloc(wl + 1);
  memcpy(wrapped, ROOT_OPEN, sizeof ROOT_OPEN - 1);
  memcpy(wrapped + sizeof ROOT_OPEN - 1, start, body);
  memcpy(wrapped + sizeof ROOT_OPEN - 1 + body, ROOT_CLOSE, sizeof ROOT_CLOSE);
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
  if (ctxt == NULL) {
    fprintf(stderr, "issu-fleet: out of memory (XML parser)\n");
    abort();
  }
  a->doc = xmlCtxtReadMemory(ctxt, wrapped, (int)wl, NULL, "UTF-8",
                             XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                 XML_PARSE_NOCDATA | XML_PARSE_NOBLANKS | XML_PARSE_COMPACT);
  if (a->doc == NULL || xmlDocGetRootElement(a->doc) == NULL) {
    const char *msg = ctxt->lastError.message ? ctxt->lastError.message : "unreadable\n";
    size_t ml = strlen(msg);
    while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
      ml--;
    a->error = xasprintf("the answer is not well-formed XML (line %d: %.*s)", ctxt->lastError.line,
                         (int)ml, msg);
    if (a->doc)
      xmlFreeDoc(a->doc);
    a->doc = NULL;
  }
  xmlFreeParserCtxt(ctxt);
  free(wrapped);
  if (a->doc == NULL)
    return -1;
  strip_ns(xmlDocGetRootElement(a->doc));
  /* The reply's element becomes the document's root, as in JSNAPy's snapshots, so that an
   * absolute XPath such as '/bgp-information/bgp-peer' means what it means there. */
  a->root = reply_root(a->doc);
  xmlNodePtr old = xmlDocGetRootElement(a->doc);
  if (a->root != old) {
    xmlUnlinkNode(a->root);
    xmlDocSetRootElement(a->doc, a->root);
    xmlFreeNode(old);
  }
  return 0;
}

/* Sets answer i from `xml` (copied). */
static int answer_set(struct check_snapshot *snap, size_t i, const char *xml, size_t len)
{
  struct check_answer *a = &snap->answers[i];
  answer_clear(a);
  a->xml = xmalloc(len + 1);
  memcpy(a->xml, xml, len);
  a->xml[len] = '\0';
  a->len = len;
  return answer_parse(a, xml, len);
}

int check_snapshot_put(struct check_snapshot *snap, size_t i, const char *xml, size_t len,
                       char *err, size_t errlen)
{
  if (i >= snap->count) {
    snprintf(err, errlen, "command %zu is not in the suite (it has %zu)", i, snap->count);
    return -1;
  }
  if (answer_set(snap, i, xml, len) < 0) {
    snprintf(err, errlen, "%s: %s", check_suite_command(snap->suite, i), snap->answers[i].error);
    return -1;
  }
  return 0;
}

/* ---- files ---- */

static int write_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void block(char **buf, size_t *len, size_t *cap, char tag, const char *s, size_t n)
{
  text_appendf(buf, len, cap, "%c %zu\n", tag, n);
  *buf = xgrow(*buf, cap, *len + n + 2, 1);
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[(*len)++] = '\n';
  (*buf)[*len] = '\0';
}

/* The directory part of `path` fsynced, so the rename itself survives a crash. */
static void sync_dir(const char *path)
{
  const char *slash = strrchr(path, '/');
  char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  free(dir);
}

char *check_snapshot_image(const struct check_snapshot *snap, size_t *len)
{
  char *buf = NULL;
  size_t cap = 0;
  *len = 0;
  text_appendf(&buf, len, &cap, "%s%zu\n", HEADER, snap->count);
  for (size_t i = 0; i < snap->count; i++) {
    const char *cmd = check_suite_command(snap->suite, i);
    const struct check_answer *a = &snap->answers[i];
    block(&buf, len, &cap, 'C', cmd, strlen(cmd));
    if (a->doc != NULL)
      block(&buf, len, &cap, 'A', a->xml, a->len);
    else
      block(&buf, len, &cap, 'E', a->error, strlen(a->error));
  }
  return buf;
}

int check_snapshot_write(const char *path, const char *image, size_t len, bool durable, char *err,
                         size_t errlen)
{
  char *tmp = xasprintf("%s.tmp", path);
  int rc = -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
  else if (write_all(fd, image, len) < 0 || (durable && fsync(fd) < 0)) {
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    close(fd);
    unlink(tmp);
  } else if (close(fd) < 0) {
    snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
    unlink(tmp);
  } else if (rename(tmp, path) < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    unlink(tmp);
  } else {
    if (durable)
      sync_dir(path);
    rc = 0;
  }
  free(tmp);
  return rc;
}

int check_snapshot_save(const struct check_snapshot *snap, const char *path, bool durable,
                        char *err, size_t errlen)
{
  size_t len;
  char *image = check_snapshot_image(snap, &len);
  int rc = check_snapshot_write(path, image, len, durable, err, errlen);
  free(image);
  return rc;
}

/* Reads one "T LEN\n<LEN bytes>\n" block at *p. False when the file is not that. */
static bool read_block(const char **p, const char *end, char *tag, const char **s, size_t *n)
{
  const char *q = *p;
  if (end - q < 4 || q[1] != ' ')
    return false;
  *tag = q[0];
  q += 2;
  size_t v = 0;
  const char *digits = q;
  while (q < end && *q >= '0' && *q <= '9' && q - digits < 12)
    v = v * 10 + (size_t)(*q++ - '0');
  if (q == digits || q >= end || *q != '\n')
    return false;
  q++;
  if ((size_t)(end - q) < v + 1 || q[v] != '\n')
    return false;
  *s = q;
  *n = v;
  *p = q + v + 1;
  return true;
}

struct check_snapshot *check_snapshot_load(const struct check_suite *s, const char *path, char *err,
                                           size_t errlen)
{
  char *buf = NULL, rerr[512];
  size_t len = 0;
  if (text_read_file(path, CHECK_SNAPSHOT_MAX, &buf, &len, rerr, sizeof rerr) < 0) {
    snprintf(err, errlen, "%s", rerr);
    return NULL;
  }
  struct check_snapshot *snap = check_snapshot_new(s);
  const char *p = buf, *end = buf + len;
  bool ok = len >= sizeof HEADER - 1 && memcmp(buf, HEADER, sizeof HEADER - 1) == 0;
  size_t count = 0;
  if (ok) {
    p += sizeof HEADER - 1;
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9' && p - digits < 6)
      count = count * 10 + (size_t)(*p++ - '0');
    ok = p > digits && p < end && *p++ == '\n';
  }
  for (size_t k = 0; ok && k < count; k++) {
    char tag, atag;
    const char *cmd, *body;
    size_t clen, blen;
    ok = read_block(&p, end, &tag, &cmd, &clen) && tag == 'C' &&
         read_block(&p, end, &atag, &body, &blen) && (atag == 'A' || atag == 'E');
    if (!ok)
      break;
    /* The suite may have changed since (a resume with an edited policy): answers are matched
     * to the suite's commands by text, and a command the file lacks stays unanswered. */
    for (size_t i = 0; i < snap->count; i++) {
      const char *want = check_suite_command(s, i);
      if (strlen(want) != clen || memcmp(want, cmd, clen) != 0)
        continue;
      if (atag == 'A')
        answer_set(snap, i, body, blen);
      else {
        answer_clear(&snap->answers[i]);
        snap->answers[i].error = xstrndup(body, blen);
      }
    }
  }
  if (ok && p != end)
    ok = false;
  free(buf);
  if (!ok) {
    snprintf(err, errlen, "%s: not an issu-fleet checks snapshot (or a damaged one)", path);
    check_snapshot_free(snap);
    return NULL;
  }
  return snap;
}
