/*
 * junos/ against real Junos output: every relevant file of ../shared/captures/ (MANIFEST.md says
 * where each comes from), fed to its parser exactly as the scheduler would hold it (split into
 * lines, junos_clean_line'd), must yield the facts named in its row. Facts are written as
 * "key=value" lines by one dump per parser, so a row reads like the capture's summary.
 *
 * The captures are never copied into the project: the directory is $ISSU_CAPTURES, else
 * ISSU_SOURCE_DIR/../shared/captures; a test that cannot find it skips with one line.
 */
#include "junos/junos_facts.h"
#include "common/common.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *captures_dir(void)
{
  static char dir[4096];
  const char *env = getenv("ISSU_CAPTURES");
  if (env && *env)
    snprintf(dir, sizeof dir, "%s", env);
  else
    snprintf(dir, sizeof dir, "%s", ISSU_SOURCE_DIR "/../shared/captures");
  DIR *d = opendir(dir);
  if (d == NULL)
    return NULL;
  closedir(d);
  return dir;
}

#define NEED_CAPTURES(dir)                                                                         \
  const char *dir = captures_dir();                                                                \
  if (dir == NULL)                                                                                 \
  cr_skip_test("no captures: set ISSU_CAPTURES or check out ../shared/captures")

/* A capture as the scheduler holds it: cleaned lines. */
struct capture {
  char *raw;
  size_t rawlen;
  char **lines;
  size_t n;
};

static void capture_load(const char *dir, const char *file, struct capture *c)
{
  char path[4096], err[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  memset(c, 0, sizeof *c);
  cr_assert_eq(text_read_file(path, 1 << 20, &c->raw, &c->rawlen, err, sizeof err), 0, "%s: %s",
               file, err);
  size_t cap = 0;
  for (const char *p = c->raw; p < c->raw + c->rawlen;) {
    const char *nl = memchr(p, '\n', (size_t)(c->raw + c->rawlen - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(c->raw + c->rawlen - p);
    char clean[1024];
    if (junos_clean_line(p, len, clean, sizeof clean) == LINE_TEXT) {
      c->lines = xgrow(c->lines, &cap, c->n + 1, sizeof *c->lines);
      c->lines[c->n++] = xstrdup(clean);
    }
    p += len + 1;
  }
}

static void capture_free(struct capture *c)
{
  for (size_t i = 0; i < c->n; i++)
    free(c->lines[i]);
  free(c->lines);
  free(c->raw);
}

/* ---- dumps: one "key=value" line per fact ---- */

struct dump {
  char *s;
  size_t len, cap;
};

#define PUT(d, ...) text_appendf(&(d)->s, &(d)->len, &(d)->cap, __VA_ARGS__)

static const char *yn(bool b)
{
  return b ? "yes" : "no";
}

static void dump_reply(struct dump *d, const struct junos_reply *r)
{
  static const char *const prompts[] = {"none", "master", "backup"};
  PUT(d, "xml=%s\ntext=%s\nnot_master=%s\nbanner=%s\nforeign=%u\nerror=%s\n", yn(r->xml),
      yn(r->text), yn(r->not_master), prompts[r->banner], r->foreign_items, r->error);
}

static void dump_answer(struct dump *d, int s, const struct junos_re_answer *a)
{
  PUT(d, "re%d.listed=%s\nre%d.answered=%s\nre%d.error=%s\n", s, yn(a->listed), s, yn(a->answered),
      s, a->error);
}

static void dump_routing_engines(struct dump *d, const char *const *l, size_t n)
{
  static const char *const ms[] = {"absent", "master", "backup", "other", "unknown"};
  struct junos_routing_engines r;
  bool found = junos_xml_routing_engines(l, n, &r);
  dump_reply(d, &r.reply);
  PUT(d, "found=%s\nno_slot=%s\ncount=%u\nmaster=%d\n", yn(found), yn(r.no_slot), r.count,
      r.master);
  for (int s = 0; s < 2; s++)
    PUT(d,
        "re%d.mastership=%s\nre%d.state=%s\nre%d.model=%s\nre%d.vmhost=%s\nre%d.uptime=%lld\n"
        "re%d.reboot=%s\nre%d.status=%s\n",
        s, ms[r.re[s].mastership], s, r.re[s].state, s, r.re[s].model, s, yn(r.re[s].vmhost), s,
        r.re[s].uptime_s, s, r.re[s].reboot_reason, s, r.re[s].status);
}

static void dump_versions(struct dump *d, const char *const *l, size_t n)
{
  struct junos_versions_xml v;
  bool found = junos_xml_versions(l, n, &v);
  dump_reply(d, &v.reply);
  PUT(d, "found=%s\nmulti=%s\n", yn(found), yn(v.multi));
  for (int s = 0; s < 2; s++) {
    dump_answer(d, s, &v.re[s].answer);
    PUT(d, "re%d.release=%s\nre%d.from=%s\nre%d.model=%s\nre%d.host=%s\n", s, v.re[s].release, s,
        v.re[s].release_from ? v.re[s].release_from : "", s, v.re[s].model, s, v.re[s].host);
  }
}

static void dump_storage(struct dump *d, const char *const *l, size_t n)
{
  struct junos_storage_xml st;
  bool found = junos_xml_storage(l, n, &st);
  dump_reply(d, &st.reply);
  PUT(d, "found=%s\nmulti=%s\n", yn(found), yn(st.multi));
  for (int s = 0; s < 2; s++) {
    const struct junos_re_storage *r = &st.re[s];
    dump_answer(d, s, &r->answer);
    PUT(d,
        "re%d.found=%s\nre%d.mount=%s\nre%d.device=%s\nre%d.used_pct=%u\nre%d.avail_kb=%llu\n"
        "re%d.total_kb=%llu\n",
        s, yn(r->found), s, r->fs.mount, s, r->fs.name, s, r->fs.used_pct, s, r->fs.avail_kb, s,
        r->fs.total_kb);
  }
}

static void dump_alarms(struct dump *d, const char *const *l, size_t n)
{
  struct junos_alarm_list a;
  bool found = junos_xml_alarms(l, n, &a);
  dump_reply(d, &a.reply);
  PUT(d, "found=%s\nnone=%s\nreported=%u\nalarms=%zu\nmajor=%u\nminor=%u\nvmhost=%s\n", yn(found),
      yn(a.none), a.reported, a.n, junos_alarms_count(&a, JUNOS_ALARM_MAJOR),
      junos_alarms_count(&a, JUNOS_ALARM_MINOR), yn(junos_alarms_show_vmhost(&a)));
  for (size_t i = 0; i < a.n; i++)
    PUT(d, "alarm=%s|%s|%s\n", junos_alarm_class_name(a.a[i].cls), a.a[i].description, a.a[i].time);
}

static void dump_switchover(struct dump *d, const char *const *l, size_t n)
{
  struct junos_switchover_xml s;
  bool found = junos_xml_switchover(l, n, &s);
  dump_reply(d, &s.reply);
  PUT(d,
      "found=%s\ngres=%s\nconfig_ready=%s\nreplication=%s\nreplication_ready=%s\nready=%s\n"
      "readiness=%s\n",
      yn(found), yn(s.gres_on), yn(s.config_ready), s.replication, yn(s.replication_ready),
      yn(s.ready), s.readiness);
}

static void dump_replication(struct dump *d, const char *const *l, size_t n)
{
  struct junos_replication_xml r;
  bool found = junos_xml_replication(l, n, &r);
  dump_reply(d, &r.reply);
  PUT(d, "found=%s\nenabled=%s\nmaster_mode=%s\nprotocols=%u\nincomplete=%u\nfirst_incomplete=%s\n",
      yn(found), yn(r.enabled), yn(r.master_mode), r.protocols, r.incomplete, r.first_incomplete);
}

static void dump_checksum(struct dump *d, const char *const *l, size_t n)
{
  static const char *const res[] = {"found", "missing", "unparsed"};
  struct junos_checksum_xml c;
  junos_xml_checksum(l, n, &c);
  dump_reply(d, &c.reply);
  PUT(d, "result=%s\nmethod=%s\nhex=%s\nfile=%s\n", res[c.result], c.method, c.hex, c.file);
}

static void dump_request(struct dump *d, const char *const *l, size_t n)
{
  static const char *const sw[] = {"done", "ready", "holddown", "not-ready", "unknown"};
  unsigned hold;
  const char *line, *pline;
  enum junos_switch_reply r = junos_parse_switch_reply(l, n, &hold, &line);
  bool pending = junos_pending_install(l, n, &pline);
  PUT(d, "switch=%s\nholddown=%u\nswitch_line=%s\npending=%s\npending_line=%s\nnot_master=%s\n",
      sw[r], hold, line ? line : "", yn(pending), pline ? pline : "",
      yn(junos_is_not_master_refusal(l, n)));
}

typedef void (*dump_fn)(struct dump *d, const char *const *l, size_t n);

/* Prompt banners are dropped by cleaning: they are read from the raw lines. */
static void dump_prompts(struct dump *d, const struct capture *c)
{
  unsigned master = 0, backup = 0;
  for (const char *p = c->raw; p < c->raw + c->rawlen;) {
    const char *nl = memchr(p, '\n', (size_t)(c->raw + c->rawlen - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(c->raw + c->rawlen - p);
    enum junos_prompt pr = junos_prompt_of(p, len);
    master += pr == JUNOS_PROMPT_MASTER;
    backup += pr == JUNOS_PROMPT_BACKUP;
    p += len + 1;
  }
  PUT(d, "prompt.master=%u\nprompt.backup=%u\n", master, backup);
}

/* ---- the table ---- */

struct row {
  const char *file;
  dump_fn dump;
  const char *facts; /* "key=value" lines that must all be in the dump */
};

static const struct row rows[] = {
    {"show-chassis-routing-engine__ansible-junos-ex9200__unknown.xml", dump_routing_engines,
     "xml=yes\n"
     "text=no\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=no\n"
     "count=2\n"
     "master=0\n"
     "re0.mastership=master\n"
     "re0.model=RE-S-EX9200-1800X4\n"
     "re0.vmhost=no\n"
     "re0.uptime=-1\n"
     "re0.reboot=Router rebooted after a normal shutdown.\n"
     "re1.mastership=backup\n"
     "re1.model=RE-S-EX9200-1800X4\n"
     "re1.vmhost=no\n"
     "re1.reboot=Router rebooted after a normal shutdown.\n"},
    {"show-chassis-routing-engine__jsnapy-vmx__unknown.xml", dump_routing_engines,
     "xml=yes\n"
     "text=no\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=no\n"
     "count=1\n"
     "master=0\n"
     "re0.mastership=master\n"
     "re0.model=RE-VMX\n"
     "re0.vmhost=no\n"
     "re0.uptime=3964299\n"
     "re0.reboot=0x200:normal shutdown\n"
     "re1.mastership=absent\n"
     "re1.model=\n"
     "re1.vmhost=no\n"
     "re1.reboot=\n"},
    /* text inside <output>; VM-host REs told by the reboot reasons */
    {"show-chassis-routing-engine__junos-upgrader-text-dual-vmhost__22.4-era.xml",
     dump_routing_engines,
     "xml=yes\n"
     "text=yes\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=no\n"
     "count=2\n"
     "master=0\n"
     "re0.mastership=master\n"
     "re0.model=RE-S-1600x8\n"
     "re0.vmhost=yes\n"
     "re0.uptime=-1\n"
     "re0.reboot=0x2000:hypervisor reboot\n"
     "re1.mastership=backup\n"
     "re1.model=RE-S-1600x8\n"
     "re1.vmhost=yes\n"
     "re1.reboot=0x4000:VJUNOS reboot\n"},
    /* no rpc-reply, attributes without the junos: prefix */
    {"show-chassis-routing-engine__napalm-mx10003__unknown.xml", dump_routing_engines,
     "xml=yes\n"
     "text=no\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=no\n"
     "count=2\n"
     "master=0\n"
     "re0.mastership=master\n"
     "re0.model=RE-S-1600x8\n"
     "re0.vmhost=yes\n"
     "re0.uptime=20360313\n"
     "re0.reboot=0x2000:hypervisor reboot\n"
     "re1.mastership=backup\n"
     "re1.model=RE-S-1600x8\n"
     "re1.vmhost=yes\n"
     "re1.reboot=0x2000:hypervisor reboot\n"},
    /* MX VC: member0/member1 are other chassis, not re0/re1 */
    {"show-chassis-routing-engine__pyez-mx-vc-members__15.1I0.xml", dump_routing_engines,
     "xml=yes\n"
     "text=no\n"
     "not_master=no\n"
     "foreign=2\n"
     "found=no\n"
     "no_slot=no\n"
     "count=0\n"
     "master=-1\n"
     "re0.mastership=absent\n"
     "re0.model=\n"
     "re0.vmhost=no\n"
     "re0.uptime=-1\n"
     "re0.reboot=\n"
     "re1.mastership=absent\n"
     "re1.model=\n"
     "re1.vmhost=no\n"
     "re1.reboot=\n"},
    /* MX80: one RE, no slot, no mastership-state */
    {"show-chassis-routing-engine__pyez-mx80-no-slot__16.1I0.xml", dump_routing_engines,
     "xml=yes\n"
     "text=no\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=yes\n"
     "count=1\n"
     "master=-1\n"
     "re0.mastership=unknown\n"
     "re0.model=RE-MX80\n"
     "re0.vmhost=no\n"
     "re0.uptime=14279748\n"
     "re0.reboot=Router rebooted after a normal shutdown.\n"
     "re1.mastership=absent\n"
     "re1.model=\n"
     "re1.vmhost=no\n"
     "re1.reboot=\n"},
    /* TX Matrix: scc-re0/lcc0-re0 items are other chassis */
    {"show-chassis-routing-engine__pyez-ofacts-txm-multi__14.1D0.xml", dump_routing_engines,
     "xml=yes\n"
     "text=no\n"
     "not_master=no\n"
     "foreign=3\n"
     "found=no\n"
     "no_slot=no\n"
     "count=0\n"
     "master=-1\n"
     "re0.mastership=absent\n"
     "re0.model=\n"
     "re0.vmhost=no\n"
     "re0.uptime=-1\n"
     "re0.reboot=\n"
     "re1.mastership=absent\n"
     "re1.model=\n"
     "re1.vmhost=no\n"
     "re1.reboot=\n"},
    {"show-chassis-routing-engine__pyez-re-info-dual__15.1F5.xml", dump_routing_engines,
     "xml=yes\n"
     "text=no\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=no\n"
     "count=2\n"
     "master=0\n"
     "re0.mastership=master\n"
     "re0.model=RE-S-1800x4\n"
     "re0.vmhost=no\n"
     "re0.uptime=858432\n"
     "re0.reboot=Router rebooted after a normal shutdown.\n"
     "re1.mastership=backup\n"
     "re1.model=RE-S-1800x4\n"
     "re1.vmhost=no\n"
     "re1.reboot=Router rebooted after a normal shutdown.\n"},
    /* text form, extra indent, trailing {master} */
    {"show-chassis-routing-engine__genieparser-dual-re-1800x4__unknown.txt", dump_routing_engines,
     "xml=no\n"
     "text=yes\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=no\n"
     "count=2\n"
     "master=0\n"
     "re0.mastership=master\n"
     "re0.model=RE-S-1800x4\n"
     "re0.vmhost=no\n"
     "re0.uptime=-1\n"
     "re0.reboot=Router rebooted after a normal shutdown.\n"
     "re1.mastership=backup\n"
     "re1.model=RE-S-1800x4\n"
     "re1.vmhost=no\n"
     "re1.reboot=Router rebooted after a normal shutdown.\n"},
    {"show-chassis-routing-engine__genieparser-vmx__unknown.txt", dump_routing_engines,
     "xml=no\n"
     "text=yes\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=no\n"
     "count=1\n"
     "master=0\n"
     "re0.mastership=master\n"
     "re0.model=RE-VMX\n"
     "re0.vmhost=no\n"
     "re0.uptime=-1\n"
     "re0.reboot=Router rebooted after a normal shutdown.\n"
     "re1.mastership=absent\n"
     "re1.model=\n"
     "re1.vmhost=no\n"
     "re1.reboot=\n"},
    /* "Routing Engine status:" repeated before each slot */
    {"show-chassis-routing-engine__textfsm-wiki-dual-re-4.0__8.x-9.x-era.txt", dump_routing_engines,
     "xml=no\n"
     "text=yes\n"
     "not_master=no\n"
     "foreign=0\n"
     "found=yes\n"
     "no_slot=no\n"
     "count=2\n"
     "master=0\n"
     "re0.mastership=master\n"
     "re0.model=RE-4.0\n"
     "re0.vmhost=no\n"
     "re0.uptime=-1\n"
     "re0.reboot=\n"
     "re1.mastership=backup\n"
     "re1.model=RE-4.0\n"
     "re1.vmhost=no\n"
     "re1.reboot=\n"},
    /* a session on the backup RE: the master-only refusal */
    {"show-chassis-hardware-on-backup-re__pyez-connect-not-master__15.1F5.xml",
     dump_routing_engines,
     "xml=yes\n"
     "text=yes\n"
     "not_master=yes\n"
     "foreign=0\n"
     "found=no\n"
     "no_slot=no\n"
     "count=0\n"
     "master=-1\n"
     "re0.mastership=absent\n"
     "re0.model=\n"
     "re0.vmhost=no\n"
     "re0.uptime=-1\n"
     "re0.reboot=\n"
     "re1.mastership=absent\n"
     "re1.model=\n"
     "re1.vmhost=no\n"
     "re1.reboot=\n"},
    /* 14.x: the release only as the "Junos: " package comment */
    {"show-version-invoke-on-all-routing-engines__jsnapy-snap__14.2-20141220.0.xml", dump_versions,
     "xml=yes\n"
     "text=no\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=yes\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=14.2-20141220.0\n"
     "re0.from=junos-version package\n"
     "re0.model=mx240\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=0\n"},
    /* TX Matrix Plus: abc-re0/lcc0-re0 are not this chassis's REs */
    {"show-version-invoke-on-all-routing-engines__pyez-ofacts-txp-lcc__14.2R4.xml", dump_versions,
     "xml=yes\n"
     "text=no\n"
     "foreign=3\n"
     "found=no\n"
     "multi=yes\n"
     "re0.listed=no\n"
     "re0.answered=no\n"
     "re0.error=\n"
     "re0.release=\n"
     "re0.from=\n"
     "re0.model=\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=0\n"},
    /* the <rpc-error> for re0 before re1's results */
    {"show-version-invoke-on-all-routing-engines__pyez-other-re-off__18.3I20180716.xml",
     dump_versions,
     "xml=yes\n"
     "text=no\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=yes\n"
     "re0.listed=yes\n"
     "re0.answered=no\n"
     "re0.error=Could not connect to re0 : No route to host\n"
     "re0.release=\n"
     "re0.from=\n"
     "re0.model=\n"
     "re1.listed=yes\n"
     "re1.answered=yes\n"
     "re1.release=18.3I20180716_1639\n"
     "re1.from=junos-version\n"
     "re1.host=R1_re01\n"
     "prompt.master=0\n"},
    /* invoke-on all, but only re0 answers: re1 is not listed */
    {"show-version-invoke-on-all-routing-engines__pyez-single-re-multi-form__16.1R1.11.xml",
     dump_versions,
     "xml=yes\n"
     "text=no\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=yes\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=16.1R1.11\n"
     "re0.from=junos-version\n"
     "re0.model=mx960\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=0\n"},
    /* one release, two strings: 15.1F5.15-C1.12 and 15.1F5.15 */
    {"show-version-invoke-on-all-routing-engines__pyez-sw-info-dual__15.1F5.xml", dump_versions,
     "xml=yes\n"
     "text=no\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=yes\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=15.1F5.15-C1.12\n"
     "re0.from=junos-version\n"
     "re0.model=mx480\n"
     "re1.listed=yes\n"
     "re1.answered=yes\n"
     "re1.release=15.1F5.15\n"
     "re1.from=junos-version\n"
     "re1.host=baku1\n"
     "prompt.master=0\n"},
    {"show-version__pyez-personality-mx80__16.1-20160720.0.xml", dump_versions,
     "xml=yes\n"
     "text=no\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=no\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=16.1-20160720.0\n"
     "re0.from=junos-version\n"
     "re0.model=mx80\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=0\n"},
    {"show-version-invoke-on-all-routing-engines__genieparser-vmx__19.2R1.8.txt", dump_versions,
     "xml=no\n"
     "text=yes\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=yes\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=19.2R1.8\n"
     "re0.from=Junos: line\n"
     "re0.model=vmx\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=0\n"},
    /* a whole telnet session; no Junos: line; a stray <snipped> */
    {"show-version__crtc-readme-alecto-m320__12.3-20140210.txt", dump_versions,
     "xml=yes\n"
     "text=no\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=no\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=12.3-20140210_dev_x_123_att.0\n"
     "re0.from=base os boot\n"
     "re0.model=m320\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=5\n"},
    /* 8-space indent, prompt lines, {master:0} */
    {"show-version__genieparser-ex4200-fpc0__18.2R2-S1.txt", dump_versions,
     "xml=no\n"
     "text=yes\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=no\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=18.2R2-S1\n"
     "re0.from=Junos: line\n"
     "re0.model=ex4200-24p\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=1\n"},
    /* CRLF, an fpc0: header, {master:0} */
    {"show-version__ntc-templates-mx240-fpc0-header__13.3R1.4.txt", dump_versions,
     "xml=no\n"
     "text=yes\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=no\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=13.3R1.4\n"
     "re0.from=Junos: line\n"
     "re0.model=mx240\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=1\n"},
    /* "JUNOS Host Software [20.4R3-S4.8]" is not the release */
    {"show-version__ntc-templates-qfx5100__21.4R3-S3.4.txt", dump_versions,
     "xml=no\n"
     "text=yes\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=no\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=21.4R3-S3.4\n"
     "re0.from=Junos: line\n"
     "re0.model=qfx5100-48t-6q\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=0\n"},
    /* node0/node1 sections: the second is another member */
    {"show-version__ntc-templates-srx-cluster-node0-node1__19.4R3-S1.3.txt", dump_versions,
     "xml=no\n"
     "text=yes\n"
     "foreign=1\n"
     "found=yes\n"
     "multi=no\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=19.4R3-S1.3\n"
     "re0.from=Junos: line\n"
     "re0.model=srx1500\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=0\n"},
    /* old show version: the release only in JUNOS Base OS boot [...] */
    {"show-version__textfsm-example-mx960__9.1S3.5.txt", dump_versions,
     "xml=no\n"
     "text=yes\n"
     "foreign=0\n"
     "found=yes\n"
     "multi=no\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.error=\n"
     "re0.release=9.1S3.5\n"
     "re0.from=base os boot\n"
     "re0.model=mx960\n"
     "re1.listed=no\n"
     "re1.answered=no\n"
     "re1.release=\n"
     "re1.from=\n"
     "re1.host=\n"
     "prompt.master=0\n"},
    /* no /var: the largest filesystem; used-percent " 62" */
    {"show-system-storage__ansible-junos-vsrx__unknown.xml", dump_storage,
     "found=yes\n"
     "multi=no\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.found=yes\n"
     "re0.mount=/\n"
     "re0.device=/dev/vtbd0s1a\n"
     "re0.used_pct=62\n"
     "re0.avail_kb=179832\n"
     "re0.total_kb=512566\n"
     "re1.listed=no\n"},
    /* multi-RE form, junos:format sizes, 512-byte blocks */
    {"show-system-storage__pyez-multi-re-linux__18.4I0.xml", dump_storage,
     "found=yes\n"
     "multi=yes\n"
     "re0.listed=yes\n"
     "re0.answered=yes\n"
     "re0.found=yes\n"
     "re0.mount=/data/config\n"
     "re0.device=/dev/sda6\n"
     "re0.used_pct=1\n"
     "re0.avail_kb=937356\n"
     "re0.total_kb=1007512\n"
     "re1.listed=no\n"},
    {"show-chassis-alarms__jsnapy-no-active-alarms__unknown.xml", dump_alarms,
     "xml=yes\n"
     "text=no\n"
     "found=yes\n"
     "none=yes\n"
     "reported=0\n"
     "alarms=0\n"
     "major=0\n"
     "minor=0\n"
     "vmhost=no\n"},
    /* UTF-8 BOM and CRLF */
    {"show-chassis-alarms__junos-upgrader-vmhost-alt-disk__22.4-era-xml.xml", dump_alarms,
     "xml=yes\n"
     "text=no\n"
     "found=yes\n"
     "none=no\n"
     "reported=1\n"
     "alarms=1\n"
     "major=0\n"
     "minor=1\n"
     "vmhost=yes\n"
     "alarm=Minor|VMHost 1 Boot from alternate disk|2024-08-21 10:18:30 EDT\n"},
    /* BOM, CRLF, text inside <output> */
    {"show-chassis-alarms__junos-upgrader-vmhost-alt-disk__22.4-era.xml", dump_alarms,
     "xml=yes\n"
     "text=yes\n"
     "found=yes\n"
     "none=no\n"
     "reported=1\n"
     "alarms=1\n"
     "major=0\n"
     "minor=1\n"
     "vmhost=yes\n"
     "alarm=Minor|VMHost 1 Boot from alternate disk|2024-08-21 10:18:30 EDT\n"},
    {"show-system-alarms__pyez-rescue-config__unknown.xml", dump_alarms,
     "xml=yes\n"
     "text=yes\n"
     "found=yes\n"
     "none=no\n"
     "reported=1\n"
     "alarms=1\n"
     "major=0\n"
     "minor=1\n"
     "vmhost=no\n"
     "alarm=Minor|Rescue configuration is not set|2014-04-17 09:09:21 UTC\n"},
    /* a loop of the same command: the last listing counts */
    {"show-chassis-alarms__crtc-loop-backup-re-active__unknown-2015.txt", dump_alarms,
     "xml=no\n"
     "text=yes\n"
     "found=yes\n"
     "none=no\n"
     "reported=4\n"
     "alarms=4\n"
     "major=1\n"
     "minor=3\n"
     "vmhost=no\n"
     "alarm=Major|FPC 4 PIC 0 Failure|2015-03-01 23:51:41 EST\n"
     "alarm=Minor|PEM 1 Absent|2015-03-01 23:50:34 EST\n"
     "alarm=Minor|PEM 0 Absent|2015-03-01 23:50:34 EST\n"
     "alarm=Minor|Backup RE Active|2015-03-01 23:50:33 EST\n"},
    {"show-chassis-alarms__genieparser-loss-of-comm-backup-re__unknown.txt", dump_alarms,
     "xml=no\n"
     "text=yes\n"
     "found=yes\n"
     "none=no\n"
     "reported=2\n"
     "alarms=2\n"
     "major=1\n"
     "minor=1\n"
     "vmhost=no\n"
     "alarm=Major|SPMB 1 not online|2020-12-22 14:48:15 EST\n"
     "alarm=Minor|Loss of communication with Backup RE|2020-12-22 14:48:12 EST\n"},
    {"show-chassis-alarms__genieparser-none__unknown.txt", dump_alarms,
     "xml=no\n"
     "text=yes\n"
     "found=yes\n"
     "none=yes\n"
     "reported=0\n"
     "alarms=0\n"
     "major=0\n"
     "minor=0\n"
     "vmhost=no\n"},
    /* "1 alarms currently active" */
    {"show-chassis-alarms__genieparser-psm__unknown.txt", dump_alarms,
     "xml=no\n"
     "text=yes\n"
     "found=yes\n"
     "none=no\n"
     "reported=1\n"
     "alarms=1\n"
     "major=1\n"
     "minor=0\n"
     "vmhost=no\n"
     "alarm=Major|PSM 15 Not OK|2020-07-16 13:38:21 EST\n"},
    {"show-system-alarms__crtc-after-switchover-backup-re-active__12.3-20140210.txt", dump_alarms,
     "xml=no\n"
     "text=yes\n"
     "found=yes\n"
     "none=no\n"
     "reported=3\n"
     "alarms=3\n"
     "major=0\n"
     "minor=3\n"
     "vmhost=no\n"
     "alarm=Minor|PEM 1 Absent|2014-12-01 19:42:06 EST\n"
     "alarm=Minor|PEM 0 Absent|2014-12-01 19:42:06 EST\n"
     "alarm=Minor|Backup RE Active|2014-12-01 19:41:55 EST\n"},
    {"show-system-alarms__crtc-before-switchover-re0__12.3-20140210.txt", dump_alarms,
     "xml=no\n"
     "text=yes\n"
     "found=yes\n"
     "none=no\n"
     "reported=2\n"
     "alarms=2\n"
     "major=0\n"
     "minor=2\n"
     "vmhost=no\n"
     "alarm=Minor|PEM 1 Absent|2014-11-24 08:58:27 EST\n"
     "alarm=Minor|PEM 0 Absent|2014-11-24 08:58:27 EST\n"},
    /* the backup RE's answer: {backup} banner, Not Ready */
    {"show-system-switchover__pyez-request-shell-execute-not-ready__16.1I0.xml", dump_switchover,
     "banner=backup\n"
     "found=yes\n"
     "gres=yes\n"
     "config_ready=yes\n"
     "replication=replication-synchronizing\n"
     "replication_ready=no\n"
     "ready=no\n"
     "readiness=Not Ready\n"},
    /* flat name/state pairs, no rpc-reply */
    {"show-task-replication__junos-upgrader-isis-not-complete__22.4-era.xml", dump_replication,
     "xml=yes\n"
     "text=no\n"
     "found=yes\n"
     "enabled=yes\n"
     "master_mode=yes\n"
     "protocols=7\n"
     "incomplete=1\n"
     "first_incomplete=IS-IS\n"},
    {"show-task-replication__junos-upgrader-text__22.4-era.xml", dump_replication,
     "xml=yes\n"
     "text=yes\n"
     "found=yes\n"
     "enabled=yes\n"
     "master_mode=yes\n"
     "protocols=7\n"
     "incomplete=0\n"
     "first_incomplete=\n"},
    {"show-task-replication__pyez-get-routing-task-replication-state__16.1I0.xml", dump_replication,
     "xml=yes\n"
     "text=no\n"
     "found=yes\n"
     "enabled=yes\n"
     "master_mode=yes\n"
     "protocols=0\n"
     "incomplete=0\n"
     "first_incomplete=\n"},
    {"show-task-replication__genieparser-disabled__unknown.txt", dump_replication,
     "xml=no\n"
     "text=yes\n"
     "found=yes\n"
     "enabled=no\n"
     "master_mode=yes\n"
     "protocols=0\n"
     "incomplete=0\n"
     "first_incomplete=\n"},
    {"show-task-replication__genieparser-ospf3__unknown.txt", dump_replication,
     "xml=no\n"
     "text=yes\n"
     "found=yes\n"
     "enabled=yes\n"
     "master_mode=yes\n"
     "protocols=4\n"
     "incomplete=0\n"
     "first_incomplete=\n"},
    {"file-checksum-md5__pyez-get-checksum-information__14.1I0.xml", dump_checksum,
     "result=found\n"
     "method=MD5\n"
     "hex=96a35ab371e1ca10408c3caecdbd8a67\n"
     "file=safecopy.tgz\n"},
    {"request-chassis-routing-engine-master-switch__crtc-accepted__12.3-20140210.txt", dump_request,
     "switch=done\n"
     "holddown=0\n"
     "pending=no\n"
     "pending_line=\n"
     "not_master=no\n"
     "prompt.backup=1\n"},
    {"request-chassis-routing-engine-master-switch__crtc-refused-11s-then-reconnect-re1__12.3-"
     "20140210.txt",
     dump_request,
     "switch=holddown\n"
     "holddown=11\n"
     "pending=no\n"
     "pending_line=\n"
     "not_master=no\n"
     "prompt.backup=1\n"},
    /* right-padded lines with the author's markers */
    {"request-chassis-routing-engine-master-switch__crtc-refused-221s__12.3-20140210.txt",
     dump_request,
     "switch=holddown\n"
     "holddown=221\n"
     "pending=no\n"
     "pending_line=\n"
     "not_master=no\n"
     "prompt.backup=1\n"},
    {"request-chassis-routing-engine-master-switch__crtc-refused-229s-pfe-warning__unknown.txt",
     dump_request,
     "switch=holddown\n"
     "holddown=229\n"
     "pending=no\n"
     "pending_line=\n"
     "not_master=no\n"
     "prompt.backup=0\n"},
    {"request-system-software-add__pyez-install-pending-error__unknown.xml", dump_request,
     "switch=unknown\n"
     "holddown=0\n"
     "pending=yes\n"
     "pending_line=There is already an install pending.\n"
     "not_master=no\n"
     "prompt.backup=0\n"},
};

/* XML captures that carry no fact issu-fleet decides on (request replies are text by design). */
static const char *const not_facts[] = {
    "request-system-reboot-at__pyez-request-reboot-at__12.1X46.xml",
    "request-system-reboot__pyez-request-reboot__12.1X46.xml",
    "request-system-software-validate-in-service-upgrade__pyez-check-in-service-upgrade__16.1-"
    "20160925.xml",
    "request-system-software-validate__pyez-validate-console__13.2I.xml",
    "request-vmhost-reboot__pyez-request-reboot-output__unknown-2020.xml",
    "show-chassis-fpc__jsnapy-xml__unknown.xml",
    "show-route-summary__pyez-factory__12.1X46.xml",
};

static bool has_line(const char *dump, const char *want, size_t wl)
{
  for (const char *p = dump; *p;) {
    size_t l = strcspn(p, "\n");
    if (l == wl && strncmp(p, want, wl) == 0)
      return true;
    p += l + (p[l] == '\n');
  }
  return false;
}

static void check_row(const char *dir, const struct row *r)
{
  struct capture c;
  capture_load(dir, r->file, &c);
  struct dump d = {0};
  r->dump(&d, (const char *const *)c.lines, c.n);
  dump_prompts(&d, &c);
  if (getenv("ISSU_DUMP_FACTS"))
    fprintf(stderr, "== %s\n%s", r->file, d.s);
  for (const char *p = r->facts; *p;) {
    size_t l = strcspn(p, "\n");
    cr_expect(has_line(d.s, p, l), "%s: expected '%.*s' in:\n%s", r->file, (int)l, p, d.s);
    p += l + (p[l] == '\n');
  }
  free(d.s);
  capture_free(&c);
}

Test(junos_captures, every_row_yields_its_facts)
{
  NEED_CAPTURES(dir);
  for (size_t i = 0; i < ARRAY_LEN(rows); i++)
    check_row(dir, &rows[i]);
}

/* Every XML capture is either in the table or named as not a fact issu-fleet reads. */
Test(junos_captures, every_xml_capture_is_covered)
{
  NEED_CAPTURES(dir);
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  unsigned xml = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t l = strlen(e->d_name);
    if (l < 4 || strcmp(e->d_name + l - 4, ".xml") != 0)
      continue;
    xml++;
    bool covered = false;
    for (size_t i = 0; i < ARRAY_LEN(rows) && !covered; i++)
      covered = strcmp(rows[i].file, e->d_name) == 0;
    for (size_t i = 0; i < ARRAY_LEN(not_facts) && !covered; i++)
      covered = strcmp(not_facts[i], e->d_name) == 0;
    cr_expect(covered, "%s is neither in the table nor in not_facts", e->d_name);
  }
  closedir(d);
  cr_expect_gt(xml, 20);
}

Test(junos_captures, the_fact_table_is_complete)
{
  size_t n;
  const struct junos_fact_row *t = junos_fact_table(&n);
  cr_assert_gt(n, 30);
  for (size_t i = 0; i < n; i++) {
    cr_expect_not_null(t[i].xpath, "row %zu", i);
    cr_expect_not_null(t[i].name, "row %zu", i);
    cr_expect_not_null(t[i].meaning, "row %zu", i);
  }
  for (int c = 0; c < JUNOS_SHOW_COUNT; c++)
    cr_expect(strstr(junos_show_command((enum junos_show)c), "| display xml") != NULL);
}
