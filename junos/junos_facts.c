/*
 * The fact table and the parsers that read it (junos_facts.h). Each row is a fact issu-fleet
 * decides on: the command that shows it, the XPath (relative to the row's context), and what it
 * means. Every XPath here was checked against the XML captures in ../shared/captures/ by the
 * table-driven test (tests/unit/test_junos_captures.c), except where a row says UNVERIFIED.
 */
#include "junos/junos_xml.h"
#include "common/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ANY JUNOS_SHOW_COUNT /* a row that every reply shares */
#define RE JUNOS_SHOW_ROUTING_ENGINES
#define VER JUNOS_SHOW_VERSIONS
#define STO JUNOS_SHOW_STORAGE
#define ALM JUNOS_SHOW_CHASSIS_ALARMS
#define SWO JUNOS_SHOW_SWITCHOVER
#define REP JUNOS_SHOW_REPLICATION
#define CKS JUNOS_SHOW_CHECKSUM
#define ITEM "//multi-routing-engine-item"

static const struct junos_fact_row facts[JF_COUNT] = {
    [JF_ITEM] = {ANY, "item", ITEM, NULL,
                 "one RE's part of an invoke-on all-routing-engines reply"},
    [JF_ITEM_NAME] = {ANY, "item.re", "re-name", ITEM,
                      "re0 / re1; other names (member0, lcc0-re0) are other chassis: ignored"},
    [JF_RPC_ERROR] = {ANY, "error", "//rpc-error", NULL,
                      "an error; naming re0/re1 it means that RE did not answer"},
    [JF_ERROR_MESSAGE] = {ANY, "error.message", "error-message", "//rpc-error",
                          "the router's words, e.g. Could not connect to re0 : No route to host"},
    [JF_ERROR_SEVERITY] = {ANY, "error.severity", "error-severity", "//rpc-error",
                           "error or warning; warnings are not failures"},
    [JF_OUTPUT] = {ANY, "output", "//output", NULL,
                   "text instead of XML (format=text, or the master-only refusal)"},
    [JF_BANNER] = {ANY, "banner", "//cli/banner", NULL,
                   "{master} / {backup}: the role of the RE that answered"},

    [JF_RE] = {RE, "re", ".//route-engine", "the document or an re0/re1 item",
               "one routing engine"},
    [JF_RE_SLOT] = {RE, "re.slot", "slot", "route-engine",
                    "0 or 1; absent on a single-RE box (MX80): reported as slot 0"},
    [JF_RE_STATE] = {RE, "re.mastership", "mastership-state", "route-engine",
                     "master / backup (mastership-priority is only the configured wish)"},
    [JF_RE_STATUS] = {RE, "re.status", "status", "route-engine", "OK when healthy"},
    [JF_RE_MODEL] = {RE, "re.model", "model", "route-engine",
                     "RE-S-1800x4; VM-host models are listed in junos_model_is_vmhost"},
    [JF_RE_REBOOT] = {RE, "re.reboot-reason", "last-reboot-reason", "route-engine",
                      "0x2000:hypervisor reboot / 0x4000:VJUNOS reboot: a VM-host RE"},
    [JF_RE_UPTIME] = {RE, "re.uptime", "up-time/@seconds", "route-engine",
                      "seconds since the RE booted (junos:seconds; absent in some replies)"},

    [JF_SW] = {VER, "version", ".//software-information", "the document or an re0/re1 item",
               "one RE's software"},
    [JF_SW_RELEASE] = {VER, "version.release", "junos-version", "software-information",
                       "the release as printed, 15.1F5.15-C1.12 (15.x and later)"},
    [JF_SW_RELEASE_PKG] = {VER, "version.release-package",
                           "package-information[name='junos-version']/comment",
                           "software-information", "\"Junos: 14.2R4\" (14.x)"},
    [JF_SW_BASE_OS] = {VER, "version.base-os",
                       "package-information/comment[starts-with(.,'JUNOS Base OS boot [')]",
                       "software-information",
                       "\"JUNOS Base OS boot [9.1S3.5]\": the release on old releases"},
    [JF_SW_MODEL] = {VER, "version.model", "product-model", "software-information", "mx480"},
    [JF_SW_HOST] = {VER, "version.host", "host-name", "software-information", "the RE's host name"},

    [JF_FS] = {STO, "storage.fs", ".//system-storage-information/filesystem",
               "the document or an re0/re1 item", "one filesystem of one RE"},
    [JF_FS_NAME] = {STO, "storage.device", "filesystem-name", "filesystem", "/dev/gpt/var"},
    [JF_FS_MOUNT] = {STO, "storage.mount", "mounted-on", "filesystem",
                     "/var is the one checked (else /.mount/var, /.mount, the largest)"},
    [JF_FS_PCT] = {STO, "storage.used-pct", "used-percent", "filesystem",
                   "percent used (printed with a leading space)"},
    [JF_FS_TOTAL] = {STO, "storage.total", "total-blocks", "filesystem",
                     "size in 512-byte blocks (junos:format holds the human size)"},
    [JF_FS_AVAIL] = {STO, "storage.available", "available-blocks", "filesystem",
                     "free space in 512-byte blocks"},

    [JF_AL_NONE] = {ALM, "alarms.none", "//alarm-summary/no-active-alarms", NULL,
                    "no active alarms (show chassis alarms and show system alarms)"},
    [JF_AL_COUNT] = {ALM, "alarms.count", "//alarm-summary/active-alarm-count", NULL,
                     "how many alarms the router says are active"},
    [JF_AL_DETAIL] = {ALM, "alarm", "//alarm-detail", NULL, "one active alarm"},
    [JF_AL_CLASS] = {ALM, "alarm.class", "alarm-class", "alarm-detail", "Major or Minor"},
    [JF_AL_DESC] = {ALM, "alarm.description", "alarm-description", "alarm-detail",
                    "Backup RE Active, Loss of communication with Backup RE, ..."},
    [JF_AL_TIME] = {ALM, "alarm.time", "alarm-time", "alarm-detail", "when it was raised"},

    [JF_SO] = {SWO, "switchover", "//switchover-information", NULL,
               "the backup RE's view (the master answers nothing useful)"},
    [JF_SO_STATE] = {SWO, "switchover.gres", "switchover-state", "switchover-information",
                     "On when graceful switchover is configured"},
    [JF_SO_CONFIG] = {SWO, "switchover.config", "configuration-state/configuration-ready",
                      "switchover-information", "configuration synchronized"},
    [JF_SO_REPL] = {SWO, "switchover.replication", "replication-state/*", "switchover-information",
                    "replication-synchronizing = not ready; any other child = done "
                    "(UNVERIFIED: only the synchronizing form is captured)"},
    [JF_SO_READY] = {SWO, "switchover.ready", "//gresreadiness-status/output", NULL,
                     "Ready / Not Ready: the router's own verdict"},

    [JF_TR] = {REP, "replication", "//task-replication-state", NULL, "NSR replication"},
    [JF_TR_GRES] = {REP, "replication.enabled", "task-gres-state", "task-replication-state",
                    "Enabled when stateful replication runs"},
    [JF_TR_MODE] = {REP, "replication.re-mode", "task-re-mode", "task-replication-state",
                    "Master on the master RE"},
    [JF_TR_NAME] = {REP, "replication.protocol", "task-protocol-replication-name",
                    "task-replication-state", "a protocol (flat name/state pairs)"},
    [JF_TR_STATE] = {REP, "replication.protocol-state", "task-protocol-replication-state",
                     "task-replication-state", "Complete, or not yet"},

    [JF_CK] = {CKS, "checksum", "//checksum-information/file-checksum", NULL, "one file's digest"},
    [JF_CK_METHOD] = {CKS, "checksum.method", "computation-method", "file-checksum",
                      "MD5 (captured); SHA256 for sha-256 (no capture: any name accepted)"},
    [JF_CK_FILE] = {CKS, "checksum.file", "input-file", "file-checksum", "the file"},
    [JF_CK_SUM] = {CKS, "checksum.hex", "checksum", "file-checksum", "the hex digest"},
};

const char *jx_xpath(enum jx_fact f)
{
  return facts[f].xpath;
}

const struct junos_fact_row *junos_fact_table(size_t *n)
{
  *n = ARRAY_LEN(facts);
  return facts;
}

static const char *const commands[JUNOS_SHOW_COUNT] = {
    [JUNOS_SHOW_ROUTING_ENGINES] = "show chassis routing-engine | display xml",
    [JUNOS_SHOW_VERSIONS] = "show version invoke-on all-routing-engines | display xml",
    [JUNOS_SHOW_STORAGE] = "show system storage invoke-on all-routing-engines | display xml",
    [JUNOS_SHOW_CHASSIS_ALARMS] = "show chassis alarms | display xml",
    [JUNOS_SHOW_SYSTEM_ALARMS] = "show system alarms | display xml",
    [JUNOS_SHOW_SWITCHOVER] = "show system switchover | display xml",
    [JUNOS_SHOW_REPLICATION] = "show task replication | display xml",
    [JUNOS_SHOW_CHECKSUM] = "file checksum sha-256 {path} | display xml",
};

const char *junos_show_command(enum junos_show cmd)
{
  return cmd < JUNOS_SHOW_COUNT ? commands[cmd] : "";
}

bool junos_checksum_command(char *buf, size_t len, const char *path, bool md5)
{
  int w = snprintf(buf, len, "file checksum %s %s | display xml", md5 ? "md5" : "sha-256", path);
  if (w < 0 || (size_t)w >= len) {
    if (len)
      buf[0] = '\0';
    return false;
  }
  return true;
}

/* ---- show chassis routing-engine ---- */

/* VM-host REs, from Juniper's VM host documentation (models not in a capture, except
 * RE-S-1600x8, which the junos_upgrader capture shows rebooting as "hypervisor reboot"). */
static const char *const vmhost_models[] = {
    "RE-S-X6", "RE-MX-X6", "RE-MX-X8", "RE-MX2K-X8", "RE-MX2008-X8", "RE-S-1600x8", "RE-PTX-X8",
};

bool junos_model_is_vmhost(const char *model)
{
  for (size_t i = 0; model && i < ARRAY_LEN(vmhost_models); i++)
    if (strncasecmp(model, vmhost_models[i], strlen(vmhost_models[i])) == 0)
      return true;
  return false;
}

static bool contains_nocase(const char *s, const char *word)
{
  size_t w = strlen(word);
  for (; *s; s++)
    if (strncasecmp(s, word, w) == 0)
      return true;
  return false;
}

static bool reason_is_vmhost(const char *reason)
{
  return contains_nocase(reason, "hypervisor") || contains_nocase(reason, "VJUNOS");
}

enum junos_mastership jx_mastership(const char *s)
{
  static const struct {
    const char *word;
    enum junos_mastership m;
  } words[] = {{"master", JUNOS_RE_MASTER},
               {"primary", JUNOS_RE_MASTER},
               {"backup", JUNOS_RE_BACKUP},
               {"standby", JUNOS_RE_BACKUP}};
  if (s[0] == '\0')
    return JUNOS_RE_UNKNOWN;
  for (size_t i = 0; i < ARRAY_LEN(words); i++)
    if (strncasecmp(s, words[i].word, strlen(words[i].word)) == 0)
      return words[i].m;
  return JUNOS_RE_OTHER;
}

static void finish_re(struct junos_routing_engines *out)
{
  out->master = -1;
  for (int s = 0; s < 2; s++) {
    struct junos_re_info *re = &out->re[s];
    if (re->mastership == JUNOS_RE_ABSENT)
      continue;
    re->vmhost = reason_is_vmhost(re->reboot_reason) || junos_model_is_vmhost(re->model);
    if (re->mastership == JUNOS_RE_MASTER && out->master < 0)
      out->master = s;
    else if (re->mastership == JUNOS_RE_MASTER)
      out->two_masters = true;
  }
  if (out->two_masters)
    out->master = -1; /* unknown, not the first one read */
}

static void read_route_engine(struct jx *x, xmlNodePtr n, bool alone,
                              struct junos_routing_engines *out)
{
  char slot[8];
  int s = -1;
  if (jx_text(x, n, F(RE_SLOT), slot, sizeof slot))
    s = strcmp(slot, "0") == 0 ? 0 : strcmp(slot, "1") == 0 ? 1 : -1;
  else if (alone) {
    s = 0;
    out->no_slot = true;
  }
  if (s < 0 || out->re[s].mastership != JUNOS_RE_ABSENT)
    return;
  struct junos_re_info *re = &out->re[s];
  jx_text(x, n, F(RE_STATE), re->state, sizeof re->state);
  re->mastership = jx_mastership(re->state);
  jx_text(x, n, F(RE_STATUS), re->status, sizeof re->status);
  jx_text(x, n, F(RE_MODEL), re->model, sizeof re->model);
  jx_text(x, n, F(RE_REBOOT), re->reboot_reason, sizeof re->reboot_reason);
  char up[32];
  unsigned long long v;
  re->uptime_s = jx_text(x, n, F(RE_UPTIME), up, sizeof up) && jx_to_ull(up, 1ULL << 40, &v)
                     ? (long long)v
                     : -1;
  out->count++;
  out->found = true;
}

bool junos_xml_routing_engines(const char *const *lines, size_t n,
                               struct junos_routing_engines *out)
{
  memset(out, 0, sizeof *out);
  out->re[0].uptime_s = out->re[1].uptime_s = -1;
  struct jx x;
  if (jx_open(&x, lines, n, &out->reply, NULL)) {
    /* Multi-RE form: only re0/re1 items count (VC members and matrix LCCs are other chassis). */
    xmlNodePtr ctx[2] = {x.item[0], x.item[1]};
    size_t nctx = x.multi ? 2 : 1;
    if (!x.multi)
      ctx[0] = NULL;
    for (size_t c = 0; c < nctx; c++) {
      if (x.multi && ctx[c] == NULL)
        continue;
      xmlXPathObjectPtr o = jx_eval(&x, ctx[c], F(RE));
      int nr = o && o->nodesetval ? o->nodesetval->nodeNr : 0;
      for (int i = 0; i < nr; i++)
        read_route_engine(&x, o->nodesetval->nodeTab[i], nr == 1, out);
      xmlXPathFreeObject(o);
    }
  }
  if (!out->found)
    jx_text_fallback(&x, &out->reply, lines, n, jx_text_routing_engines, out);
  jx_close(&x);
  finish_re(out);
  return out->found;
}

/* ---- show version invoke-on all-routing-engines ---- */

static void read_software(struct jx *x, xmlNodePtr sw, struct junos_re_version *v)
{
  char c[JUNOS_TEXT_MAX];
  jx_text(x, sw, F(SW_MODEL), v->model, sizeof v->model);
  jx_text(x, sw, F(SW_HOST), v->host, sizeof v->host);
  if (jx_text(x, sw, F(SW_RELEASE), v->release, sizeof v->release)) {
    v->release_from = "junos-version";
    return;
  }
  /* "Junos: 14.2R4" */
  if (jx_text(x, sw, F(SW_RELEASE_PKG), c, sizeof c)) {
    const char *r = strncmp(c, "Junos:", 6) == 0 ? c + 6 : c;
    r += strspn(r, " ");
    size_t l = strcspn(r, " ");
    if (l > 0 && jx_copy(v->release, sizeof v->release, r, l)) {
      v->release_from = "junos-version package";
      return;
    }
  }
  /* "JUNOS Base OS boot [9.1S3.5]" */
  if (jx_text(x, sw, F(SW_BASE_OS), c, sizeof c)) {
    const char *r = strchr(c, '[');
    size_t l = r ? strcspn(r + 1, "]") : 0;
    if (l > 0 && r[1 + l] == ']' && jx_copy(v->release, sizeof v->release, r + 1, l))
      v->release_from = "base os boot";
  }
}

bool junos_xml_versions(const char *const *lines, size_t n, struct junos_versions_xml *out)
{
  memset(out, 0, sizeof *out);
  struct junos_re_answer ans[2];
  struct jx x;
  bool any = false;
  if (jx_open(&x, lines, n, &out->reply, ans)) {
    out->multi = x.multi;
    for (int s = 0; s < 2; s++)
      out->re[s].answer = ans[s];
    for (int s = 0; s < 2; s++) {
      xmlNodePtr ctx = x.multi ? x.item[s] : NULL;
      if (x.multi ? ctx == NULL : s > 0)
        continue;
      xmlNodePtr sw = jx_node(&x, ctx, F(SW));
      if (sw == NULL)
        continue;
      if (!x.multi)
        out->re[0].answer.listed = out->re[0].answer.answered = true;
      read_software(&x, sw, &out->re[s]);
    }
  }
  for (int s = 0; s < 2; s++)
    any |= out->re[s].release[0] != '\0';
  if (!any && !out->multi) {
    jx_text_fallback(&x, &out->reply, lines, n, jx_text_versions, out);
    for (int s = 0; s < 2; s++)
      any |= out->re[s].release[0] != '\0';
  }
  jx_close(&x);
  return any;
}

/* ---- show system storage invoke-on all-routing-engines ---- */

static int mount_rank(const char *m)
{
  static const char *const ranked[] = {"/var", "/.mount/var", "/.mount"};
  for (size_t i = 0; i < ARRAY_LEN(ranked); i++)
    if (strcmp(m, ranked[i]) == 0)
      return (int)(ARRAY_LEN(ranked) - i) + 1;
  return 1;
}

static void read_filesystems(struct jx *x, xmlNodePtr ctx, struct junos_re_storage *st)
{
  xmlXPathObjectPtr o = jx_eval(x, ctx, F(FS));
  int best = 0;
  for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
    xmlNodePtr fsn = o->nodesetval->nodeTab[i];
    struct junos_filesystem fs = {0};
    char num[32];
    unsigned long long pct, total, avail;
    if (!jx_text(x, fsn, F(FS_MOUNT), fs.mount, sizeof fs.mount) ||
        !jx_text(x, fsn, F(FS_PCT), num, sizeof num) || !jx_to_ull(num, 100, &pct) ||
        !jx_text(x, fsn, F(FS_TOTAL), num, sizeof num) || !jx_to_ull(num, 1ULL << 50, &total) ||
        !jx_text(x, fsn, F(FS_AVAIL), num, sizeof num) || !jx_to_ull(num, 1ULL << 50, &avail))
      continue;
    jx_text(x, fsn, F(FS_NAME), fs.name, sizeof fs.name);
    fs.used_pct = (unsigned)pct;
    fs.total_kb = total / 2;
    fs.avail_kb = avail / 2;
    /* A better-ranked mount wins; among the unranked, the largest. */
    int rank = mount_rank(fs.mount);
    if (rank < best || (rank == best && !(rank == 1 && fs.total_kb > st->fs.total_kb)))
      continue;
    best = rank;
    st->fs = fs;
    st->found = true;
  }
  xmlXPathFreeObject(o);
}

bool junos_xml_storage(const char *const *lines, size_t n, struct junos_storage_xml *out)
{
  memset(out, 0, sizeof *out);
  struct junos_re_answer ans[2];
  struct jx x;
  bool any = false;
  if (jx_open(&x, lines, n, &out->reply, ans)) {
    out->multi = x.multi;
    for (int s = 0; s < 2; s++) {
      out->re[s].answer = ans[s];
      xmlNodePtr ctx = x.multi ? x.item[s] : NULL;
      if (x.multi ? ctx == NULL : s > 0)
        continue;
      if (!x.multi)
        out->re[0].answer.listed = out->re[0].answer.answered = true;
      read_filesystems(&x, ctx, &out->re[s]);
      any |= out->re[s].found;
    }
  }
  jx_close(&x);
  return any;
}

/* ---- show system switchover ---- */

bool junos_xml_switchover(const char *const *lines, size_t n, struct junos_switchover_xml *out)
{
  memset(out, 0, sizeof *out);
  struct jx x;
  if (jx_open(&x, lines, n, &out->reply, NULL)) {
    xmlNodePtr so = jx_node(&x, NULL, F(SO));
    if (so != NULL) {
      char st[JUNOS_NAME_MAX];
      out->found = true;
      out->gres_on = jx_text(&x, so, F(SO_STATE), st, sizeof st) && strcasecmp(st, "On") == 0;
      out->config_ready = jx_node(&x, so, F(SO_CONFIG)) != NULL;
      xmlNodePtr r = jx_node(&x, so, F(SO_REPL));
      if (r != NULL) {
        const char *name = (const char *)r->name;
        jx_copy(out->replication, sizeof out->replication, name, strlen(name));
        out->replication_ready = strcmp(name, "replication-synchronizing") != 0;
      }
    }
    if (jx_text(&x, NULL, F(SO_READY), out->readiness, sizeof out->readiness)) {
      out->found = true;
      out->ready = strcasecmp(out->readiness, "Ready") == 0;
    } else
      out->ready = out->gres_on && out->config_ready && out->replication_ready;
  }
  jx_close(&x);
  return out->found;
}

/* ---- show task replication ---- */

void jx_replication_row(struct junos_replication_xml *out, const char *name, const char *st)
{
  out->protocols++;
  if (strcasecmp(st, "Complete") == 0)
    return;
  if (out->incomplete++ == 0)
    jx_copy(out->first_incomplete, sizeof out->first_incomplete, name, strlen(name));
}

bool junos_xml_replication(const char *const *lines, size_t n, struct junos_replication_xml *out)
{
  memset(out, 0, sizeof *out);
  struct jx x;
  if (jx_open(&x, lines, n, &out->reply, NULL)) {
    xmlNodePtr tr = jx_node(&x, NULL, F(TR));
    if (tr != NULL) {
      char v[JUNOS_NAME_MAX];
      out->found = true;
      out->enabled = jx_text(&x, tr, F(TR_GRES), v, sizeof v) && strcasecmp(v, "Enabled") == 0;
      out->master_mode = jx_text(&x, tr, F(TR_MODE), v, sizeof v) &&
                         (strcasecmp(v, "Master") == 0 || strcasecmp(v, "Primary") == 0);
      /* Flat pairs: the i-th name goes with the i-th state. */
      xmlXPathObjectPtr names = jx_eval(&x, tr, F(TR_NAME));
      xmlXPathObjectPtr states = jx_eval(&x, tr, F(TR_STATE));
      int nn = names && names->nodesetval ? names->nodesetval->nodeNr : 0;
      int ns = states && states->nodesetval ? states->nodesetval->nodeNr : 0;
      for (int i = 0; i < nn && i < ns; i++) {
        char name[JUNOS_NAME_MAX], st[JUNOS_NAME_MAX];
        jx_node_text(names->nodesetval->nodeTab[i], name, sizeof name);
        jx_node_text(states->nodesetval->nodeTab[i], st, sizeof st);
        jx_replication_row(out, name, st);
      }
      xmlXPathFreeObject(names);
      xmlXPathFreeObject(states);
    }
  }
  if (!out->found)
    jx_text_fallback(&x, &out->reply, lines, n, jx_text_replication, out);
  jx_close(&x);
  return out->found;
}

/* ---- file checksum ---- */

static bool says_missing(const char *s)
{
  return strstr(s, "No such file or directory") || strstr(s, "Could not resolve file");
}

bool junos_xml_checksum(const char *const *lines, size_t n, struct junos_checksum_xml *out)
{
  memset(out, 0, sizeof *out);
  out->result = CHECKSUM_UNPARSED;
  struct jx x;
  if (jx_open(&x, lines, n, &out->reply, NULL)) {
    xmlNodePtr ck = jx_node(&x, NULL, F(CK));
    char hex[sizeof out->hex];
    if (ck != NULL && jx_text(&x, ck, F(CK_SUM), hex, sizeof hex)) {
      size_t hl = strspn(hex, "0123456789abcdefABCDEF");
      if (hl >= 32 && hex[hl] == '\0') {
        for (size_t k = 0; k <= hl; k++)
          out->hex[k] = (char)tolower((unsigned char)hex[k]);
        out->result = CHECKSUM_FOUND;
      }
      jx_text(&x, ck, F(CK_METHOD), out->method, sizeof out->method);
      jx_text(&x, ck, F(CK_FILE), out->file, sizeof out->file);
    }
  }
  jx_close(&x);
  if (out->result != CHECKSUM_FOUND && says_missing(out->reply.error))
    out->result = CHECKSUM_MISSING;
  for (size_t i = 0; i < n && out->result == CHECKSUM_UNPARSED; i++)
    if (says_missing(lines[i]))
      out->result = CHECKSUM_MISSING;
  return out->result == CHECKSUM_FOUND;
}
