/*
 * Value parsers for the policy schema. Each reads one YAML node, checks it strictly, and stores
 * it; on a bad value it says what was found, where, and what was expected. The policy's own
 * typing is used, not YAML 1.1's: "01:00" is a time, not the sexagesimal 60, and `no` is not a
 * boolean by accident.
 */
#include "policies/policy_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const policy_timeout_names[TIMEOUT_COUNT] = {
    "connect",           "preflight",  "stage",       "validate",   "backup-upgrade",
    "backup-reboot",     "daemons",    "fru-upgrade", "switchover", "old-master-upgrade",
    "old-master-reboot", "switchback", "verify",      "device",
};

void perr(struct pctx *c, const struct ynode *n, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_add(c->d, c->p->file, n ? n->line : 0, n ? n->col : 0, "%s: %s", c->path, msg);
}

/* The scalar's text, or NULL after reporting that a scalar was expected. */
static const char *scalar(struct pctx *c, const struct ynode *n, const char *expected)
{
  if (n == NULL || n->kind != YNODE_SCALAR || n->len == 0 || strlen(n->text) != n->len) {
    perr(c, n, "expected %s (found %s)", expected,
         n && n->kind == YNODE_SCALAR ? "nothing" : ynode_kind_name(n));
    return NULL;
  }
  return n->text;
}

/* A whole number written in decimal; false for anything else (fractions, signs, words). */
static bool whole_number(const char *s, unsigned long *out)
{
  if (*s == '\0' || strlen(s) > 9)
    return false;
  unsigned long v = 0;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s))
      return false;
    v = v * 10 + (unsigned long)(*s - '0');
  }
  *out = v;
  return true;
}

/* "25%": 1..100. Returns 1 parsed, 0 not a percentage at all, -1 a bad percentage (reported). */
static int percentage(struct pctx *c, const struct ynode *n, const char *s, unsigned *out)
{
  size_t len = strlen(s);
  if (len < 2 || s[len - 1] != '%')
    return 0;
  char digits[16];
  unsigned long v;
  if (len - 1 >= sizeof digits)
    goto bad;
  memcpy(digits, s, len - 1);
  digits[len - 1] = '\0';
  if (!whole_number(digits, &v) || v < 1 || v > 100)
    goto bad;
  *out = (unsigned)v;
  return 1;
bad:
  perr(c, n, "'%s' is not a usable percentage (expected a whole percentage from 1%% to 100%%)", s);
  return -1;
}

const char *policy_cli_unsafe(const char *text, bool path)
{
  size_t len = strlen(text);
  if (len == 0)
    return "it is empty";
  if (len > 255)
    return "it is longer than 255 characters";
  if (path && text[0] != '/')
    return "it is not an absolute path on the router (expected /var/tmp/...)";
  bool dotdot_end = len >= 3 && strcmp(text + len - 3, "/..") == 0;
  bool dot_end = len >= 2 && strcmp(text + len - 2, "/.") == 0;
  if (path && (strstr(text, "/../") || strstr(text, "/./") || dotdot_end || dot_end))
    return "it contains '.' or '..' path components";
  for (const char *p = text; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (isalnum(ch) || ch == '.' || ch == '_' || ch == '-' || ch == '+' || (path && ch == '/'))
      continue;
    if (ch == ' ')
      return "it contains a space";
    if (ch == '\n' || ch == '\r')
      return "it contains a line break";
    if (ch == ';' || ch == '|' || ch == '&' || ch == '`' || ch == '$')
      return "it contains a shell or CLI control character";
    if (ch == '"' || ch == '\'')
      return "it contains a quote";
    return "it contains a character outside letters, digits and ._-+/";
  }
  return NULL;
}

int parse_version(struct pctx *c, const struct ynode *n, void *field)
{
  const char *s = scalar(c, n, "a Junos version like 21.4R3-S5.4");
  if (s == NULL)
    return -1;
  const char *why = policy_cli_unsafe(s, false);
  if (why == NULL && !isdigit((unsigned char)s[0]))
    why = "it does not start with a digit";
  if (why != NULL) {
    perr(c, n, "'%s' is refused: %s (expected a Junos version like 21.4R3-S5.4)", s, why);
    return -1;
  }
  *(char **)field = xstrdup(s);
  return 0;
}

int parse_package(struct pctx *c, const struct ynode *n, void *field)
{
  const char *s = scalar(c, n, "the package's path on the router");
  if (s == NULL)
    return -1;
  const char *why = policy_cli_unsafe(s, true);
  if (why != NULL) {
    perr(c, n, "'%s' is refused: %s (expected a path like /var/tmp/jinstall-21.4R3.tgz)", s, why);
    return -1;
  }
  *(char **)field = xstrdup(s);
  return 0;
}

int parse_sha256(struct pctx *c, const struct ynode *n, void *field)
{
  const char *s = scalar(c, n, "a SHA-256 checksum (64 hex digits)");
  if (s == NULL)
    return -1;
  bool ok = strlen(s) == 64;
  for (const char *p = s; ok && *p; p++)
    ok = isxdigit((unsigned char)*p);
  if (!ok) {
    perr(c, n, "'%.70s' is not a SHA-256 checksum (expected 64 hex digits)", s);
    return -1;
  }
  char *lower = xstrdup(s);
  for (char *p = lower; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  *(char **)field = lower;
  return 0;
}

int parse_text(struct pctx *c, const struct ynode *n, void *field)
{
  const char *s = scalar(c, n, "a file path");
  if (s == NULL)
    return -1;
  *(char **)field = xstrdup(s);
  return 0;
}

/* Looks `s` up in a NULL-terminated word list; reports the choices when it is not there. */
static int enum_value(struct pctx *c, const struct ynode *n, const char *const *words, int *out)
{
  const char *s = scalar(c, n, "one of the listed words");
  if (s == NULL)
    return -1;
  size_t count = 0;
  for (; words[count]; count++)
    if (strcmp(words[count], s) == 0) {
      *out = (int)count;
      return 0;
    }
  char choices[256] = "";
  for (size_t i = 0; i < count; i++) {
    strncat(choices, i ? ", " : "", sizeof choices - strlen(choices) - 1);
    strncat(choices, words[i], sizeof choices - strlen(choices) - 1);
  }
  const char *near = text_nearest(s, words, count);
  if (near)
    perr(c, n, "'%s' is not allowed (expected one of %s; did you mean '%s'?)", s, choices, near);
  else
    perr(c, n, "'%s' is not allowed (expected one of %s)", s, choices);
  return -1;
}

int parse_options(struct pctx *c, const struct ynode *n, void *field)
{
  static const char *const words[] = {"no-copy",          "unlink",        "no-validate",
                                      "no-tcp-syn-check", "enhanced-mode", NULL};
  if (n == NULL || n->kind != YNODE_SEQ) {
    perr(c, n, "expected a list like [no-validate] (found %s)", ynode_kind_name(n));
    return -1;
  }
  unsigned mask = 0;
  int rc = 0;
  for (size_t i = 0; i < n->count; i++) {
    int v;
    if (enum_value(c, n->items[i], words, &v) < 0) {
      rc = -1;
      continue;
    }
    if (mask & (1u << v)) {
      perr(c, n->items[i], "'%s' is listed twice", words[v]);
      rc = -1;
    }
    mask |= 1u << v;
  }
  *(unsigned *)field = mask;
  return rc;
}

int parse_old_master(struct pctx *c, const struct ynode *n, void *field)
{
  static const char *const words[] = {"reboot", "leave", "skip", NULL};
  return enum_value(c, n, words, (int *)field);
}

int parse_mode(struct pctx *c, const struct ynode *n, void *field)
{
  static const char *const words[] = {"waves", "rolling", NULL};
  return enum_value(c, n, words, (int *)field);
}

int parse_order(struct pctx *c, const struct ynode *n, void *field)
{
  static const char *const words[] = {"inventory",      "reverse_inventory", "sorted",
                                      "reverse_sorted", "shuffle",           NULL};
  return enum_value(c, n, words, (int *)field);
}

int parse_bool(struct pctx *c, const struct ynode *n, void *field)
{
  const char *s = scalar(c, n, "true or false");
  if (s == NULL)
    return -1;
  if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
    *(bool *)field = s[0] == 't';
    return 0;
  }
  perr(c, n, "'%s' is not allowed (expected true or false)", s);
  return -1;
}

int policy_parse_duration(const char *text, uint64_t *seconds)
{
  if (strcmp(text, "0") == 0) {
    *seconds = 0;
    return 0;
  }
  static const struct {
    char unit;
    uint64_t seconds;
  } units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
  uint64_t total = 0;
  size_t next_unit = 0;
  const char *p = text;
  if (*p == '\0')
    return -1;
  while (*p) {
    if (!isdigit((unsigned char)*p))
      return -1;
    uint64_t v = 0;
    while (isdigit((unsigned char)*p)) {
      v = v * 10 + (uint64_t)(*p++ - '0');
      if (v > 100000000)
        return -1;
    }
    /* Units must come in decreasing order, each once: "1h30m", not "30m1h". */
    size_t u = next_unit;
    while (u < ARRAY_LEN(units) && units[u].unit != *p)
      u++;
    if (u == ARRAY_LEN(units))
      return -1;
    total += v * units[u].seconds;
    next_unit = u + 1;
    p++;
  }
  *seconds = total;
  return 0;
}

static int duration_value(struct pctx *c, const struct ynode *n, uint64_t *out, bool positive)
{
  const char *s = scalar(c, n, "a duration like 90s, 15m, 2h or 1h30m");
  if (s == NULL)
    return -1;
  if (policy_parse_duration(s, out) < 0) {
    perr(c, n, "'%s' is not a duration (expected a number with a unit: 90s, 15m, 2h, 1h30m)", s);
    return -1;
  }
  if (positive && *out == 0) {
    perr(c, n, "a duration of 0 would expire at once (expected more than 0)");
    return -1;
  }
  return 0;
}

int parse_duration(struct pctx *c, const struct ynode *n, void *field)
{
  return duration_value(c, n, field, false);
}

int parse_positive_duration(struct pctx *c, const struct ynode *n, void *field)
{
  return duration_value(c, n, field, true);
}

int parse_timeouts(struct pctx *c, const struct ynode *n, void *field)
{
  uint64_t *timeouts = field;
  if (n == NULL || n->kind != YNODE_MAP) {
    perr(c, n, "expected a mapping like {validate: 15m} (found %s)", ynode_kind_name(n));
    return -1;
  }
  int rc = 0;
  const char *outer = c->path;
  for (size_t i = 0; i < n->count; i++) {
    const struct ynode *k = n->pairs[i].key;
    size_t t;
    for (t = 0; t < TIMEOUT_COUNT; t++)
      if (strcmp(k->text, policy_timeout_names[t]) == 0)
        break;
    if (t == TIMEOUT_COUNT) {
      const char *near = text_nearest(k->text, policy_timeout_names, TIMEOUT_COUNT);
      if (near)
        perr(c, k, "unknown phase '%s' (did you mean '%s'?)", k->text, near);
      else
        perr(c, k, "unknown phase '%s' (expected connect, preflight, ..., device)", k->text);
      rc = -1;
      continue;
    }
    char *path = xasprintf("%s.%s", outer, k->text);
    c->path = path;
    if (duration_value(c, n->pairs[i].value, &timeouts[t], true) < 0)
      rc = -1;
    c->path = outer;
    free(path);
  }
  return rc;
}

/* One size: a whole number >= 1 or a percentage. */
static int size_value(struct pctx *c, const struct ynode *n, struct policy_amount *a, bool zero_ok)
{
  const char *s = scalar(c, n, "a number of routers or a percentage like \"25%\"");
  if (s == NULL)
    return -1;
  a->line = n->line;
  a->col = n->col;
  int pr = percentage(c, n, s, &a->value);
  if (pr < 0)
    return -1;
  if (pr > 0) {
    a->kind = AMOUNT_PERCENT;
    return 0;
  }
  unsigned long v;
  if (!whole_number(s, &v) || (v == 0 && !zero_ok) || v > 1000000) {
    perr(c, n,
         "'%s' is not a batch size (expected a whole number of at least %d, or a percentage like "
         "\"25%%\")",
         s, zero_ok ? 0 : 1);
    return -1;
  }
  a->kind = v == 0 ? AMOUNT_NONE : AMOUNT_COUNT;
  a->value = (unsigned)v;
  return 0;
}

int parse_canary(struct pctx *c, const struct ynode *n, void *field)
{
  struct policy_amount *a = field;
  if (n == NULL || n->kind != YNODE_SEQ)
    return size_value(c, n, a, true);
  a->kind = AMOUNT_HOSTS;
  a->line = n->line;
  a->col = n->col;
  if (n->count == 0) {
    perr(c, n, "an empty list names no canary (expected host names, or leave canary out)");
    return -1;
  }
  a->hosts = xcalloc(n->count, sizeof *a->hosts);
  a->host_lines = xcalloc(n->count, sizeof *a->host_lines);
  a->host_cols = xcalloc(n->count, sizeof *a->host_cols);
  int rc = 0;
  for (size_t i = 0; i < n->count; i++) {
    const char *s = scalar(c, n->items[i], "a host name");
    if (s == NULL) {
      rc = -1;
      continue;
    }
    for (size_t j = 0; j < a->nhosts; j++)
      if (strcmp(a->hosts[j], s) == 0) {
        perr(c, n->items[i], "host '%s' is listed twice", s);
        rc = -1;
      }
    a->host_lines[a->nhosts] = n->items[i]->line;
    a->host_cols[a->nhosts] = n->items[i]->col;
    a->hosts[a->nhosts++] = xstrdup(s);
  }
  return rc;
}

int parse_serial(struct pctx *c, const struct ynode *n, void *field)
{
  struct policy_serial *serial = field;
  size_t items = n && n->kind == YNODE_SEQ ? n->count : 1;
  if (n && n->kind == YNODE_SEQ && n->count == 0) {
    perr(c, n, "an empty list gives no batch size (expected sizes like [1, 5, \"25%%\"])");
    return -1;
  }
  serial->items = xcalloc(items, sizeof *serial->items);
  serial->count = items;
  int rc = 0;
  for (size_t i = 0; i < items; i++) {
    const struct ynode *item = n && n->kind == YNODE_SEQ ? n->items[i] : n;
    if (size_value(c, item, &serial->items[i], false) < 0)
      rc = -1;
  }
  return rc;
}

int parse_approve(struct pctx *c, const struct ynode *n, void *field)
{
  if (parse_labels(c, n, field) < 0)
    return -1;
  const struct policy_labels *labels = field;
  int rc = 0;
  for (size_t i = 0; i < labels->count; i++) {
    const char *s = labels->items[i].name;
    unsigned long w;
    bool ok = strcmp(s, "canary") == 0 || strcmp(s, "all") == 0 ||
              (strncmp(s, "wave-", 5) == 0 && whole_number(s + 5, &w) && w >= 1);
    if (!ok) {
      struct ynode at = {.line = labels->items[i].line, .col = labels->items[i].col};
      perr(c, &at, "'%s' names no wave (expected canary, wave-N with N >= 1, or all)", s);
      rc = -1;
    }
  }
  return rc;
}

int parse_seed(struct pctx *c, const struct ynode *n, void *field)
{
  const char *s = scalar(c, n, "a whole number");
  unsigned long v;
  if (s == NULL)
    return -1;
  if (!whole_number(s, &v)) {
    perr(c, n, "'%s' is not a seed (expected a whole number)", s);
    return -1;
  }
  *(uint64_t *)field = v;
  return 0;
}

static int unsigned_value(struct pctx *c, const struct ynode *n, unsigned *out, unsigned min,
                          unsigned max)
{
  const char *s = scalar(c, n, "a whole number");
  unsigned long v;
  if (s == NULL)
    return -1;
  if (!whole_number(s, &v) || v < min || v > max) {
    perr(c, n, "'%s' is not allowed (expected a whole number from %u to %u)", s, min, max);
    return -1;
  }
  *out = (unsigned)v;
  return 0;
}

int parse_positive(struct pctx *c, const struct ynode *n, void *field)
{
  return unsigned_value(c, n, field, 1, 1000000);
}

int parse_count(struct pctx *c, const struct ynode *n, void *field)
{
  return unsigned_value(c, n, field, 0, 1000000);
}

int parse_percent_limit(struct pctx *c, const struct ynode *n, void *field)
{
  return unsigned_value(c, n, field, 0, 100);
}

static bool identifier(const char *s)
{
  if (*s == '\0' || strlen(s) > 64 || isdigit((unsigned char)*s))
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_')
      return false;
  return true;
}

int parse_per(struct pctx *c, const struct ynode *n, void *field)
{
  struct policy_pers *per = field;
  if (n == NULL || n->kind != YNODE_MAP) {
    perr(c, n, "expected a mapping like {site: 1, region: \"25%%\"} (found %s)",
         ynode_kind_name(n));
    return -1;
  }
  per->items = xcalloc(n->count ? n->count : 1, sizeof *per->items);
  int rc = 0;
  for (size_t i = 0; i < n->count; i++) {
    const struct ynode *k = n->pairs[i].key;
    if (!identifier(k->text)) {
      perr(c, k, "'%s' is not a variable name (expected letters, digits and _)", k->text);
      rc = -1;
      continue;
    }
    struct policy_amount a = {0};
    if (size_value(c, n->pairs[i].value, &a, false) < 0) {
      rc = -1;
      continue;
    }
    struct policy_per *e = &per->items[per->count++];
    e->var = xstrdup(k->text);
    e->kind = a.kind;
    e->value = a.value;
    e->line = k->line;
    e->col = k->col;
  }
  return rc;
}

/* A list of words, or a single word read as a one-item list (`exclusive: pair` means [pair]);
 * `bad` says why a word is refused (reported at the word's line:col), or NULL if it is fine. */
static int parse_word_list(struct pctx *c, const struct ynode *n, struct policy_labels *labels,
                           const char *what, const char *(*bad)(const char *s))
{
  size_t items = n && n->kind == YNODE_SEQ ? n->count : 1;
  labels->items = xcalloc(items ? items : 1, sizeof *labels->items);
  int rc = 0;
  for (size_t i = 0; i < items; i++) {
    const struct ynode *item = n && n->kind == YNODE_SEQ ? n->items[i] : n;
    const char *s = scalar(c, item, what);
    const char *why = s ? bad(s) : NULL;
    if (s == NULL || why != NULL) {
      if (why)
        perr(c, item, "%s", why);
      rc = -1;
      continue;
    }
    labels->items[labels->count++] = (struct policy_label){xstrdup(s), item->line, item->col};
  }
  return rc;
}

static const char *bad_label(const char *s)
{
  static char why[160]; /* one message at a time: the loader is single-threaded */
  if (strlen(s) > 64 || strpbrk(s, " \t\n;|'\"") != NULL) {
    snprintf(why, sizeof why, "'%.64s' is not a name (expected letters, digits, - and _)", s);
    return why;
  }
  return NULL;
}

int parse_labels(struct pctx *c, const struct ynode *n, void *field)
{
  return parse_word_list(c, n, field, "a name", bad_label);
}

int parse_days(struct pctx *c, const struct ynode *n, void *field)
{
  static const char *const words[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};
  if (n == NULL || n->kind != YNODE_SEQ || n->count == 0) {
    perr(c, n, "expected a list of days like [sat, sun] (found %s)",
         n && n->kind == YNODE_SEQ ? "an empty list" : ynode_kind_name(n));
    return -1;
  }
  unsigned mask = 0;
  int rc = 0;
  for (size_t i = 0; i < n->count; i++) {
    int d;
    if (enum_value(c, n->items[i], words, &d) < 0)
      rc = -1;
    else
      mask |= 1u << d;
  }
  *(unsigned *)field = mask;
  return rc;
}

int parse_hhmm(struct pctx *c, const struct ynode *n, void *field)
{
  const char *s = scalar(c, n, "a time like \"01:00\"");
  if (s == NULL)
    return -1;
  bool ok = strlen(s) == 5 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
            s[2] == ':' && isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]);
  unsigned h = ok ? (unsigned)((s[0] - '0') * 10 + s[1] - '0') : 0;
  unsigned m = ok ? (unsigned)((s[3] - '0') * 10 + s[4] - '0') : 0;
  if (!ok || h > 23 || m > 59) {
    perr(c, n, "'%s' is not a time of day (expected HH:MM from 00:00 to 23:59, quoted)", s);
    return -1;
  }
  *(unsigned *)field = h * 60 + m;
  return 0;
}

int parse_tz(struct pctx *c, const struct ynode *n, void *field)
{
  const char *s = scalar(c, n, "a time zone like Europe/Amsterdam");
  if (s == NULL)
    return -1;
  bool ok = strlen(s) < 64 && s[0] != '/' && strstr(s, "..") == NULL;
  for (const char *p = s; ok && *p; p++)
    ok = isalnum((unsigned char)*p) || strchr("/_+-", *p) != NULL;
  if (ok) {
    const char *dir = getenv("TZDIR");
    char *path = xasprintf("%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", s);
    struct stat st;
    ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    free(path);
  }
  if (!ok) {
    perr(c, n,
         "'%s' is not a time zone of the system tz database (expected a name like "
         "Europe/Amsterdam or UTC)",
         s);
    return -1;
  }
  *(char **)field = xstrdup(s);
  return 0;
}

void labels_free(struct policy_labels *l)
{
  for (size_t i = 0; i < l->count; i++)
    free(l->items[i].name);
  free(l->items);
}

void amount_free(struct policy_amount *a)
{
  for (size_t i = 0; i < a->nhosts; i++)
    free(a->hosts[i]);
  free(a->hosts);
  free(a->host_lines);
  free(a->host_cols);
}

int parse_vmhost(struct pctx *c, const struct ynode *n, void *field)
{
  bool b;
  if (parse_bool(c, n, &b) < 0)
    return -1;
  *(enum policy_vmhost *)field = b ? VMHOST_YES : VMHOST_NO;
  return 0;
}

static const char *bad_alarm_name(const char *s)
{
  bool clean = *s != '\0' && strlen(s) < 256;
  for (const char *q = s; clean && *q; q++)
    clean = (unsigned char)*q >= 0x20 && *q != 0x7f;
  return clean ? NULL
               : "not an alarm description (expected the description as show chassis alarms "
                 "prints it, up to 255 printable characters)";
}

int parse_alarm_names(struct pctx *c, const struct ynode *n, void *field)
{
  return parse_word_list(c, n, field, "an alarm description", bad_alarm_name);
}
