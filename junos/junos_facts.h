/*
 * junos_facts: what a real router reports, read from `| display xml` with libxml2.
 *
 * Every read-only `show` command issu-fleet sends goes out as junos_show_command() spells it
 * (with `| display xml`), and its reply is read here. Each fact is one row of the table in
 * junos_facts.c (junos_fact_table()): the command, the XPath, and what it means. The XPaths are
 * the ones the parsers evaluate, so the table is the code, not a comment about it.
 *
 * One reader serves every reply shape the captures show (../shared/captures/MANIFEST.md):
 *   - `<rpc-reply>` or a bare body, with or without `xmlns` / `xmlns:junos` and with `junos:`
 *     prefixed attributes (namespaces are dropped after parsing: XPaths use plain names);
 *   - `<multi-routing-engine-results>` (invoke-on all-routing-engines): one item per RE, named by
 *     `<re-name>` re0/re1; items of other names (VC members, matrix LCCs) are counted, not read;
 *   - an `<rpc-error>` beside them ("Could not connect to re0 : No route to host"): that RE is
 *     listed as not answering, with the router's words;
 *   - `<output>`-wrapped text (PyEZ format=text, and the master-only refusal
 *     "Aborted! This command can only be used on the master routing engine.");
 *   - a leading `{master}` / `{backup}` prompt, a cli timestamp line, the echoed command, a UTF-8
 *     BOM and CRLF line ends around the XML, and `<banner>{backup}</banner>` inside it.
 * Input is the command's lines as the scheduler keeps them (junos_clean_line'd); nothing here
 * does I/O. Every text field is NUL-terminated; a value that does not fit is never cut short:
 * the fact is reported missing and reply.error says why.
 */
#ifndef ISSU_JUNOS_FACTS_H
#define ISSU_JUNOS_FACTS_H

#include "junos/junos.h"

#include <stdbool.h>
#include <stddef.h>

#define JUNOS_TEXT_MAX 256    /* router error messages, alarm descriptions, reboot reasons */
#define JUNOS_RELEASE_MAX 256 /* a release as printed; as long as a policy target may be */
#define JUNOS_NAME_MAX 64     /* models, host names, mount points, short states */
#define JUNOS_ALARMS_MAX 32

/* ---- the commands ---- */

enum junos_show {
  JUNOS_SHOW_ROUTING_ENGINES, /* show chassis routing-engine | display xml */
  JUNOS_SHOW_VERSIONS,        /* show version invoke-on all-routing-engines | display xml */
  JUNOS_SHOW_STORAGE,         /* show system storage invoke-on all-routing-engines | display xml */
  JUNOS_SHOW_CHASSIS_ALARMS,  /* show chassis alarms | display xml */
  JUNOS_SHOW_SYSTEM_ALARMS,   /* show system alarms | display xml */
  /* show system switchover | display xml: answered only on the backup RE. Juniper's syntax has
   * no invoke-on for it (and no capture shows `invoke-on other-routing-engine`): send it on a
   * session to the backup RE itself (its own address). The parser also reads the reply inside
   * an re0/re1 item, should an invoke-on form exist. */
  JUNOS_SHOW_SWITCHOVER,
  JUNOS_SHOW_REPLICATION, /* show task replication | display xml */
  JUNOS_SHOW_CHECKSUM,    /* file checksum sha-256 PATH | display xml */
  JUNOS_SHOW_COUNT
};
/* The command as sent, e.g. "show chassis routing-engine | display xml". For
 * JUNOS_SHOW_CHECKSUM use junos_checksum_command(). */
const char *junos_show_command(enum junos_show cmd);
/* "file checksum sha-256 PATH | display xml" (or md5 when `md5`); false if it does not fit. */
bool junos_checksum_command(char *buf, size_t len, const char *path, bool md5);

/* One row of the fact table. */
struct junos_fact_row {
  enum junos_show cmd;
  const char *name;    /* "re.mastership", "alarm.class", ... */
  const char *xpath;   /* relative to the row's context (see `context`) */
  const char *context; /* the XPath of the node the row is read in, or NULL for the document */
  const char *meaning;
};
const struct junos_fact_row *junos_fact_table(size_t *n);

/* ---- what every reply says besides its facts ---- */

enum junos_prompt { JUNOS_PROMPT_NONE, JUNOS_PROMPT_MASTER, JUNOS_PROMPT_BACKUP };

struct junos_reply {
  bool xml;                 /* an XML document was found and parsed */
  bool text;                /* the reply carried `<output>` text (or was plain text) */
  bool not_master;          /* "Aborted! This command can only be used on the master ..." */
  enum junos_prompt banner; /* `<banner>{backup}</banner>` / `{master}` inside the reply */
  unsigned foreign_items;   /* multi-RE items not named re0/re1 (VC member, matrix LCC): ignored */
  char error[JUNOS_TEXT_MAX]; /* an rpc-error not tied to one RE, or why nothing was read */
};

/* Per RE of a multi-RE reply: was it asked, did it answer. */
/* "Not listed" means the reply does not name the RE: a single-RE box, or an RE that did not
 * answer where the reply says nothing (the text form of invoke-on simply leaves it out). */
struct junos_re_answer {
  bool listed;                /* the reply names this RE (an item or an rpc-error) */
  bool answered;              /* it sent its part */
  char error[JUNOS_TEXT_MAX]; /* "Could not connect to re0 : No route to host" */
};

/* ---- show chassis routing-engine ---- */

enum junos_mastership {
  JUNOS_RE_ABSENT,  /* not in the reply */
  JUNOS_RE_MASTER,  /* mastership-state master (or primary) */
  JUNOS_RE_BACKUP,  /* backup (or standby) */
  JUNOS_RE_OTHER,   /* listed in another state (present, disabled, ...): see state */
  JUNOS_RE_UNKNOWN, /* listed without a mastership-state (MX80: single RE, no slot) */
};
struct junos_re_info {
  enum junos_mastership mastership;
  char state[JUNOS_NAME_MAX];  /* mastership-state as printed */
  char status[JUNOS_NAME_MAX]; /* "OK" */
  char model[JUNOS_NAME_MAX];  /* "RE-S-1800x4" */
  char reboot_reason[JUNOS_TEXT_MAX];
  long long uptime_s; /* up-time/@junos:seconds, -1 when not given */
  /* A VM-host RE (Junos in a VM on a Linux host: RE-S-X6/X8, RE-S-1600x8, ...), decided from
   * the last-reboot-reason ("0x2000:hypervisor reboot", "0x4000:VJUNOS reboot", capture
   * ...junos-upgrader-text-dual-vmhost...) or the model (junos_model_is_vmhost). */
  bool vmhost;
};
struct junos_routing_engines {
  struct junos_reply reply;
  bool found;       /* at least one route-engine */
  bool no_slot;     /* one route-engine without <slot> (MX80 form): reported as slot 0 */
  unsigned count;   /* route-engines read (slots 0/1) */
  int master;       /* slot, or -1 (none, or both: two_masters) */
  bool two_masters; /* both REs say master: which one is cannot be known (never re0 by default) */
  struct junos_re_info re[2];
};
bool junos_xml_routing_engines(const char *const *lines, size_t n,
                               struct junos_routing_engines *out);

/* A model name Juniper documents as a VM-host RE (prefix match, case-insensitive). */
bool junos_model_is_vmhost(const char *model);

/* ---- show version invoke-on all-routing-engines ---- */

struct junos_re_version {
  struct junos_re_answer answer;
  /* The release as printed: <junos-version>, else the "Junos: X" package comment, else the
   * "JUNOS Base OS boot [X]" package comment (old releases). "" when none was found. */
  char release[JUNOS_RELEASE_MAX];
  const char *release_from;   /* "junos-version", "junos-version package", "base os boot" */
  char model[JUNOS_NAME_MAX]; /* product-model, "mx480" */
  char host[JUNOS_NAME_MAX];  /* host-name */
};
struct junos_versions_xml {
  struct junos_reply reply;
  bool multi; /* the reply had multi-routing-engine-results; otherwise re[0] is "this RE" */
  struct junos_re_version re[2];
};
bool junos_xml_versions(const char *const *lines, size_t n, struct junos_versions_xml *out);

/* ---- show system storage invoke-on all-routing-engines ---- */

struct junos_filesystem {
  char name[JUNOS_TEXT_MAX];   /* /dev/gpt/var */
  char mount[JUNOS_TEXT_MAX];  /* /var */
  unsigned used_pct;           /* used-percent */
  unsigned long long total_kb; /* total-blocks (512-byte blocks) / 2 */
  unsigned long long avail_kb; /* available-blocks / 2 */
};
struct junos_re_storage {
  struct junos_re_answer answer;
  bool found; /* fs holds the filesystem below */
  /* /var, else /.mount/var, else /.mount, else the largest filesystem */
  struct junos_filesystem fs;
};
struct junos_storage_xml {
  struct junos_reply reply;
  bool multi;
  struct junos_re_storage re[2];
};
bool junos_xml_storage(const char *const *lines, size_t n, struct junos_storage_xml *out);

/* ---- show chassis alarms / show system alarms ---- */

enum junos_alarm_class { JUNOS_ALARM_MINOR, JUNOS_ALARM_MAJOR, JUNOS_ALARM_OTHER };
struct junos_alarm {
  enum junos_alarm_class cls;
  char time[JUNOS_NAME_MAX];
  char description[JUNOS_TEXT_MAX];
};
struct junos_alarm_list {
  struct junos_reply reply;
  bool found;        /* the reply said something about alarms (none counts) */
  bool none;         /* <no-active-alarms/> or "No alarms currently active" */
  unsigned reported; /* active-alarm-count / "N alarms currently active" */
  size_t n;
  bool cut; /* more than JUNOS_ALARMS_MAX: the rest were not kept (never silently: see n) */
  struct junos_alarm a[JUNOS_ALARMS_MAX];
};
/* XML (alarm-information/alarm-detail), or the text form inside <output> (PyEZ format=text). */
bool junos_xml_alarms(const char *const *lines, size_t n, struct junos_alarm_list *out);
const char *junos_alarm_class_name(enum junos_alarm_class c);
/* The class a name gives (junos_alarm_class_name's, or the router's, any case); OTHER if none. */
enum junos_alarm_class junos_alarm_class_parse(const char *s);
unsigned junos_alarms_count(const struct junos_alarm_list *l, enum junos_alarm_class c);

/* Canonical alarm descriptions, as the captures print them. The caller says which are expected
 * in a situation; this module only compares. */
#define JUNOS_ALARM_BACKUP_RE_ACTIVE "Backup RE Active" /* while RE1 is master */
#define JUNOS_ALARM_LOSS_OF_COMM_BACKUP "Loss of communication with Backup RE" /* backup reboot */

/* The alarms in `now` that are neither in `baseline` (same class and description) nor named in
 * `expected` (descriptions, compared whole). Writes their indexes into `fresh` (up to `max`) and
 * returns how many there are (possibly more than `max`). `baseline` may be NULL (no baseline). */
size_t junos_alarms_fresh(const struct junos_alarm_list *baseline,
                          const struct junos_alarm_list *now, const char *const *expected,
                          size_t nexpected, size_t *fresh, size_t max);
/* An alarm naming a VM host ("VMHost 1 Boot from alternate disk"): the box runs VM-host REs. */
bool junos_alarms_show_vmhost(const struct junos_alarm_list *l);

/* ---- show system switchover (on the backup RE) ---- */

struct junos_switchover_xml {
  struct junos_reply reply;
  bool found;             /* switchover-information */
  bool gres_on;           /* switchover-state On */
  bool config_ready;      /* configuration-state/configuration-ready */
  bool replication_ready; /* replication-state: a child other than replication-synchronizing */
  char replication[JUNOS_NAME_MAX]; /* the replication-state child's name, as printed */
  /* gresreadiness-status/output is "Ready"; without it, all three above. "Not Ready" is not. */
  bool ready;
  char readiness[JUNOS_NAME_MAX]; /* gresreadiness-status/output as printed */
};
bool junos_xml_switchover(const char *const *lines, size_t n, struct junos_switchover_xml *out);

/* ---- show task replication ---- */

struct junos_replication_xml {
  struct junos_reply reply;
  bool found;                            /* task-replication-state */
  bool enabled;                          /* task-gres-state Enabled */
  bool master_mode;                      /* task-re-mode Master (or Primary) */
  unsigned protocols, incomplete;        /* task-protocol-replication-state other than Complete */
  char first_incomplete[JUNOS_NAME_MAX]; /* "IS-IS" */
};
bool junos_xml_replication(const char *const *lines, size_t n, struct junos_replication_xml *out);

/* ---- file checksum ---- */

struct junos_checksum_xml {
  struct junos_reply reply;
  enum junos_checksum result; /* FOUND, MISSING (no such file), UNPARSED */
  char method[16];            /* "MD5", "SHA256" as printed */
  char hex[132];              /* lower case */
  char file[JUNOS_TEXT_MAX];
};
bool junos_xml_checksum(const char *const *lines, size_t n, struct junos_checksum_xml *out);

/* ---- text that stays text: prompts, request replies ---- */

/* A raw (uncleaned) line that is a `{master}` / `{master:0}` / `{backup}` / `{backup:1}` prompt
 * banner. junos_clean_line() drops these lines as noise, so call this before cleaning. */
enum junos_prompt junos_prompt_of(const char *line, size_t len);

/* The master-only refusal in any reply, text or XML. */
bool junos_is_not_master_refusal(const char *const *lines, size_t n);

/* `request chassis routing-engine master switch [check]` replies (crtc captures, PyEZ #630):
 *   "Complete. The other routing engine becomes the master."          -> SWITCH_REPLY_DONE
 *   "Switchover Ready"                                                -> SWITCH_REPLY_READY
 *   "Command aborted. Not ready for mastership switch, try after N secs." -> HOLDDOWN, N
 *   "Standby Routing Engine is not ready for graceful switchover."    -> NOT_READY */
enum junos_switch_reply {
  SWITCH_REPLY_DONE,
  SWITCH_REPLY_READY,
  SWITCH_REPLY_HOLDDOWN,
  SWITCH_REPLY_NOT_READY,
  SWITCH_REPLY_UNKNOWN,
};
enum junos_switch_reply junos_parse_switch_reply(const char *const *lines, size_t n,
                                                 unsigned *holddown_s, const char **line);

/* An old master left without `reboot` holds a pending install: "Reboot consistency check
 * bypassed - jinstall X will complete installation upon reboot" (request system reboot) or
 * "There is already an install pending." (request system software add). Sets *line. */
bool junos_pending_install(const char *const *lines, size_t n, const char **line);

/* ---- releases (Juniper's format; the rule is in junos_release.c and docs/policy.md) ---- */

/* Two printed strings are one release ("15.1F5.15-C1.12" and "15.1F5.15"). */
bool junos_same_release(const char *a, const char *b);
/* A printed string is the policy's target: the same release, or the target leaves out only the
 * final build number ("19.2R1" matches "19.2R1.8", never "19.2R10.1" or "19.2R1-S1.2"). */
bool junos_release_matches(const char *printed, const char *target);

/* ---- command builders ---- */

/* `request {system|vmhost} software in-service-upgrade PKG` + the old-master choice:
 * JUNOS_OLD_MASTER_REBOOT adds Junos's own `reboot` option, SKIP adds `no-old-master-upgrade`,
 * LEAVE adds nothing; then `options`. False (and buf "") when it does not fit. */
bool junos_issu_command_for(char *buf, size_t len, const char *package, const char *const *options,
                            size_t noptions, enum junos_old_master old_master, bool vmhost);
/* `request system reboot [other-routing-engine]` or `request vmhost reboot [routing-engine
 * other]`. False when it does not fit. */
bool junos_reboot_command(char *buf, size_t len, bool vmhost, bool other_re);

#endif
