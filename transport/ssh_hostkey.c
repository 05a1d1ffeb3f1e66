/*
 * Host keys: known_hosts read the way OpenSSH reads it, and the words of a refusal.
 *
 * A dual-RE router has two host keys behind one master-only address (each routing engine has its
 * own, and the address moves at a switchover), so known_hosts holds two keys of one type for one
 * name, and either must be accepted. libssh2 1.10's libssh2_knownhost_checkp does try every line
 * (checked), but it also lets a hashed plain "host" line match another port, ignores @revoked,
 * and reads "@cert-authority" as a host name; its errors cannot name a line. So the file is read
 * here: plain and hashed (|1|salt|HMAC-SHA1) names, comma lists, * ? and ! patterns (case
 * insensitive), "[host]:port" for ports other than 22 (a plain name never matches another port,
 * as in OpenSSH), @revoked honoured, @cert-authority lines skipped (libssh2 cannot verify host
 * certificates; they are counted so a refusal can say so). A line that cannot be parsed is
 * skipped as OpenSSH does, except an @revoked one: ignoring it could accept a revoked key.
 */
#include "transport/transport_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KNOWN_HOSTS_MAX (64u << 20)
#define BLOB_MAX 16384
#define RECORDED_NAMED 4

/* The host-key algorithms libssh2 1.10 can check, in the order offered when known_hosts holds
 * none for the name (RSA is left out: this libssh2 verifies RSA host keys only with SHA-1). */
static const char *const methods[] = {
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
};

enum marker { M_NONE, M_REVOKED, M_CA, M_OTHER };

struct kh_line {
  unsigned no;
  enum marker marker;
  const char *hosts, *type, *key;
  size_t hosts_len, type_len, key_len;
};

/* The next whitespace-separated field of [*p, end). */
static bool field(const char **p, const char *end, const char **start, size_t *len)
{
  const char *s = *p;
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  const char *e = s;
  while (e < end && *e != ' ' && *e != '\t')
    e++;
  *start = s;
  *len = (size_t)(e - s);
  *p = e;
  return e > s;
}

/* Splits one line into its fields; false for blank lines, comments and lines too short. */
static bool parse_line(const char *s, const char *end, struct kh_line *l)
{
  while (s < end && (*s == ' ' || *s == '\t'))
    s++;
  if (s == end || *s == '#')
    return false;
  l->marker = M_NONE;
  const char *f;
  size_t n;
  if (*s == '@') {
    field(&s, end, &f, &n);
    l->marker = n == 8 && strncmp(f, "@revoked", 8) == 0            ? M_REVOKED
                : n == 15 && strncmp(f, "@cert-authority", 15) == 0 ? M_CA
                                                                    : M_OTHER;
  }
  return field(&s, end, &l->hosts, &l->hosts_len) && field(&s, end, &l->type, &l->type_len) &&
         field(&s, end, &l->key, &l->key_len);
}

/* OpenSSH's match_pattern: '*' any run, '?' one character; hosts compare case-insensitively. */
static bool glob(const char *p, const char *pend, const char *s)
{
  while (p < pend) {
    if (*p == '*') {
      for (const char *t = s;; t++) {
        if (glob(p + 1, pend, t))
          return true;
        if (*t == '\0')
          return false;
      }
    }
    if (*s == '\0' || (*p != '?' && tolower((unsigned char)*p) != tolower((unsigned char)*s)))
      return false;
    p++;
    s++;
  }
  return *s == '\0';
}

static bool hashed_match(const char *f, size_t n, const char *name)
{
  /* |1|base64(salt)|base64(HMAC-SHA1(salt, name)) */
  if (n < 3 || strncmp(f, "|1|", 3) != 0)
    return false;
  const char *salt = f + 3, *bar = memchr(salt, '|', n - 3);
  if (bar == NULL)
    return false;
  unsigned char key[64], want[32], got[20];
  long klen = transport__base64_decode(salt, (size_t)(bar - salt), key, sizeof key);
  long wlen = transport__base64_decode(bar + 1, (size_t)(f + n - bar - 1), want, sizeof want);
  if (klen <= 0 || wlen != 20)
    return false;
  transport__hmac_sha1(key, (size_t)klen, (const unsigned char *)name, strlen(name), got);
  return memcmp(got, want, 20) == 0;
}

/* Whether the hosts field names `name`: a negated pattern that matches wins over every other. */
static bool hosts_match(const char *f, size_t n, const char *name)
{
  if (n > 0 && f[0] == '|')
    return hashed_match(f, n, name);
  bool yes = false;
  const char *end = f + n;
  while (f < end) {
    const char *comma = memchr(f, ',', (size_t)(end - f));
    const char *pend = comma ? comma : end;
    bool neg = *f == '!';
    if (glob(f + neg, pend, name)) {
      if (neg)
        return false;
      yes = true;
    }
    f = comma ? comma + 1 : end;
  }
  return yes;
}

/* The key type a wire blob names (its first string); false when malformed. */
static bool blob_type(const unsigned char *blob, size_t len, char *out, size_t outlen)
{
  if (len < 4)
    return false;
  uint32_t n = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3];
  if (n == 0 || n > len - 4 || n >= outlen)
    return false;
  memcpy(out, blob + 4, n);
  out[n] = '\0';
  return true;
}

/* The lines of a known_hosts text that name `name`, one after another (CRLF or LF). */
struct kh_iter {
  const char *p, *end, *name;
  unsigned no;
};

static bool next_line(struct kh_iter *it, struct kh_line *l)
{
  while (it->p < it->end) {
    const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    const char *eol = nl ? nl : it->end;
    if (eol > it->p && eol[-1] == '\r')
      eol--;
    const char *line = it->p;
    it->p = nl ? nl + 1 : it->end;
    it->no++;
    l->no = it->no;
    if (parse_line(line, eol, l) && hosts_match(l->hosts, l->hosts_len, it->name))
      return true;
  }
  return false;
}

char *transport_known_hosts_name(const char *host, unsigned port)
{
  char *name = port == 22 || port == 0 ? xstrdup(host) : xasprintf("[%s]:%u", host, port);
  for (char *p = name; *p; p++)
    *p = (char)tolower((unsigned char)*p); /* OpenSSH looks hosts up in lower case */
  return name;
}

static int read_file(const char *file, char **buf, size_t *len, char **error)
{
  char err[512];
  *buf = NULL;
  *len = 0;
  if (access(file, F_OK) != 0 && errno == ENOENT)
    return 0; /* a missing file is an empty one */
  if (text_read_file(file, KNOWN_HOSTS_MAX, buf, len, err, sizeof err) != 0) {
    *error = xasprintf("%s cannot be read: %s", file, err);
    return -1;
  }
  return 0;
}

int transport_known_hosts_check(const char *file, const char *host, unsigned port,
                                const unsigned char *blob, size_t len,
                                struct transport_hostkey_lookup *out, char **error)
{
  memset(out, 0, sizeof *out);
  *error = NULL;
  char type[64];
  if (!blob_type(blob, len, type, sizeof type)) {
    *error = xstrdup("the server's host key is malformed");
    return -1;
  }
  char *text;
  size_t size;
  if (read_file(file, &text, &size, error) != 0)
    return -1;
  char *name = transport_known_hosts_name(host, port);
  unsigned char *key = xmalloc(BLOB_MAX);
  size_t rcap = 0, rlen = 0;
  unsigned known = 0, revoked = 0;
  struct kh_iter it = {.p = text, .end = text + size, .name = name};
  struct kh_line l;
  while (next_line(&it, &l)) {
    unsigned no = l.no;
    if (l.marker == M_CA || l.marker == M_OTHER) {
      out->ca_lines += l.marker == M_CA;
      continue;
    }
    long klen = transport__base64_decode(l.key, l.key_len, key, BLOB_MAX);
    char ltype[64];
    if (klen <= 0 || !blob_type(key, (size_t)klen, ltype, sizeof ltype)) {
      if (l.marker == M_REVOKED) {
        *error = xasprintf("%s:%u: an @revoked line whose key cannot be read", file, no);
        break;
      }
      continue;
    }
    bool same = (size_t)klen == len && memcmp(key, blob, len) == 0;
    if (l.marker == M_REVOKED) {
      if (same && !revoked)
        revoked = no;
      continue;
    }
    if (same) {
      if (!known)
        known = no;
    } else if (strcmp(ltype, type) == 0) {
      /* A few are named (a message has room for them), the rest counted. */
      if (out->others < RECORDED_NAMED) {
        char fpr[64];
        transport__fingerprint(key, (size_t)klen, fpr, sizeof fpr);
        text_appendf(&out->recorded, &rlen, &rcap, "%s%s (line %u)", out->others ? ", " : "", fpr,
                     no);
      }
      out->others++;
    }
  }
  if (out->others > RECORDED_NAMED)
    text_appendf(&out->recorded, &rlen, &rcap, " and %u more", out->others - RECORDED_NAMED);
  free(key);
  free(name);
  free(text);
  if (*error != NULL) {
    free(out->recorded);
    out->recorded = NULL;
    return -1;
  }
  if (revoked) {
    out->status = TRANSPORT_HOSTKEY_REVOKED;
    out->line = revoked;
  } else if (known) {
    out->status = TRANSPORT_HOSTKEY_KNOWN;
    out->line = known;
  } else
    out->status = out->others ? TRANSPORT_HOSTKEY_CHANGED : TRANSPORT_HOSTKEY_UNKNOWN;
  return 0;
}

int transport_known_hosts_keys(const char *file, const char *host, unsigned port,
                               struct transport_known_key **keys, size_t *n, char **error)
{
  *keys = NULL;
  *n = 0;
  *error = NULL;
  char *text;
  size_t size, cap = 0;
  if (read_file(file, &text, &size, error) != 0)
    return -1;
  char *name = transport_known_hosts_name(host, port);
  unsigned char *key = xmalloc(BLOB_MAX);
  struct kh_iter it = {.p = text, .end = text + size, .name = name};
  struct kh_line l;
  while (next_line(&it, &l)) {
    long klen = l.marker == M_NONE ? transport__base64_decode(l.key, l.key_len, key, BLOB_MAX) : -1;
    struct transport_known_key k = {.line = l.no};
    if (klen <= 0 || !blob_type(key, (size_t)klen, k.type, sizeof k.type))
      continue;
    transport__fingerprint(key, (size_t)klen, k.fingerprint, sizeof k.fingerprint);
    *keys = xgrow(*keys, &cap, *n + 1, sizeof **keys);
    (*keys)[(*n)++] = k;
  }
  free(key);
  free(name);
  free(text);
  return 0;
}

int transport_known_hosts_append(const char *file, const char *lines, char **error)
{
  *error = NULL;
  bool created = access(file, F_OK) != 0;
  int fd = open(file, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = xasprintf("cannot open %s to append to it: %s", file, strerror(errno));
    return -1;
  }
  /* A file whose last line has no newline would swallow the first new line. */
  struct stat st;
  char last = '\n';
  if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
    last = '\n';
  size_t len = strlen(lines);
  bool ok = last == '\n' || write(fd, "\n", 1) == 1;
  for (size_t off = 0; ok && off < len;) {
    ssize_t n = write(fd, lines + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    ok = n > 0;
    off += n > 0 ? (size_t)n : 0;
  }
  int e = errno;
  ok = ok && fsync(fd) == 0;
  if (!ok)
    e = errno;
  if (close(fd) != 0 && ok) {
    ok = false;
    e = errno;
  }
  if (ok && created) {
    /* The new file's name must survive a crash too. */
    char *copy = xstrdup(file);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    free(copy);
  }
  if (!ok) {
    *error = xasprintf("cannot append to %s: %s", file, strerror(e));
    return -1;
  }
  return 0;
}

/* ---- for ssh_session.c ---- */

const struct transport_host_key *transport_host_key(const struct transport *t)
{
  return t->has_host_key ? &t->host_key : NULL;
}

bool transport__set_host_key(struct transport *t, const unsigned char *blob, size_t len)
{
  struct transport_host_key *k = &t->host_key;
  if (!blob_type(blob, len, k->type, sizeof k->type))
    return false;
  transport__fingerprint(blob, len, k->fingerprint, sizeof k->fingerprint);
  free(k->base64);
  k->base64 = xmalloc(len / 3 * 4 + 8);
  transport__base64(blob, len, k->base64, len / 3 * 4 + 8);
  /* known_hosts lines carry padded base64, as OpenSSH writes it. */
  size_t n = strlen(k->base64);
  while (n % 4)
    k->base64[n++] = '=';
  k->base64[n] = '\0';
  free(k->blob);
  k->blob = xmalloc(len);
  memcpy(k->blob, blob, len);
  k->blob_len = len;
  t->has_host_key = true;
  return true;
}

static const char *key_host(const struct transport *t)
{
  return t->o.key_host ? t->o.key_host : t->o.host;
}

static unsigned key_port(const struct transport *t)
{
  return t->o.key_host ? (t->o.key_port ? t->o.key_port : 22) : t->o.port;
}

/* The known_hosts files, in order: ssh_config's UserKnownHostsFile list, else the one file. */
static size_t kh_count(const struct transport *t)
{
  return t->o.known_hosts_file_count > 0 ? t->o.known_hosts_file_count : 1;
}

static const char *kh_file(const struct transport *t, size_t i)
{
  return t->o.known_hosts_file_count > 0 ? t->o.known_hosts_files[i] : t->o.known_hosts;
}

/* Where new keys are written (accept-new) and what a fix names: the first file, as OpenSSH. */
static const char *kh_first(const struct transport *t)
{
  return kh_file(t, 0);
}

/* The files, for a message: "a, b" (bounded by TRANSPORT_MAX_PATH_LIST). */
static char *kh_joined(const struct transport *t)
{
  char *out = xstrdup(kh_file(t, 0) ? kh_file(t, 0) : "(none)");
  for (size_t i = 1; i < kh_count(t); i++) {
    char *next = xasprintf("%s, %s", out, kh_file(t, i));
    free(out);
    out = next;
  }
  return out;
}

void transport__hostkey_preference(const struct transport *t, char *pref, size_t len)
{
  char *text = NULL, *error = NULL;
  size_t size = 0;
  bool known[ARRAY_LEN(methods)] = {false};
  for (size_t f = 0; f < kh_count(t); f++) {
    if (kh_file(t, f) == NULL || read_file(kh_file(t, f), &text, &size, &error) != 0) {
      free(error); /* an unreadable file is reported by the check itself */
      error = NULL;
      continue;
    }
    char *name = transport_known_hosts_name(key_host(t), key_port(t));
    struct kh_iter it = {.p = text, .end = text + size, .name = name};
    struct kh_line l;
    while (next_line(&it, &l)) {
      if (l.marker != M_NONE)
        continue;
      for (size_t i = 0; i < ARRAY_LEN(methods); i++)
        known[i] |=
            strlen(methods[i]) == l.type_len && strncmp(methods[i], l.type, l.type_len) == 0;
    }
    free(name);
    free(text);
    text = NULL;
  }
  pref[0] = '\0';
  /* Known types first; the rest after, so an unknown host can still be reported by its key. */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < ARRAY_LEN(methods); i++)
      if (known[i] == (pass == 0))
        snprintf(pref + strlen(pref), len - strlen(pref), "%s%s", pref[0] ? "," : "", methods[i]);
}

/* The fix a refusal gives: issu-fleet's own command, and the OpenSSH way. */
static char *fix(const struct transport *t, const char *name)
{
  const struct transport_host_key *k = &t->host_key;
  char *keyscan;
  if (t->o.key_host == NULL) {
    char port[24] = "";
    if (t->o.port != 22)
      snprintf(port, sizeof port, "-p %u ", t->o.port);
    keyscan = xasprintf("or, once the fingerprint is checked: ssh-keyscan %s-t %s %s >> %s", port,
                        k->type, t->o.host, kh_first(t));
  } else
    keyscan = xasprintf("or, once the fingerprint is checked, add this line to %s: %s %s %s",
                        kh_first(t), name, k->type, k->base64);
  char *s = xasprintf("To fix: record both REs' keys with `issu-fleet known-hosts -i %s --limit %s "
                      "--write` (it reads each RE's key from issu_re0_host and issu_re1_host); %s",
                      t->o.inventory_file ? t->o.inventory_file : "INVENTORY", t->o.name, keyscan);
  free(keyscan);
  return s;
}

int transport__hostkey_verify(struct transport *t, const unsigned char *blob, size_t len,
                              char **message)
{
  *message = NULL;
  if (!transport__set_host_key(t, blob, len)) {
    *message = xstrdup("the server's host key cannot be read; nothing was sent");
    return TRANSPORT_E_HOSTKEY;
  }
  const struct transport_host_key *k = &t->host_key;
  /* Every file is read, as OpenSSH does: revoked in any refuses; known in any is known; else a
   * changed key in any refuses (that file named); else the key is unknown. */
  struct transport_hostkey_lookup r = {.status = TRANSPORT_HOSTKEY_UNKNOWN};
  const char *file = kh_first(t); /* the file the verdict names */
  for (size_t f = 0; f < kh_count(t); f++) {
    struct transport_hostkey_lookup one;
    char *error = NULL;
    if (transport_known_hosts_check(kh_file(t, f), key_host(t), key_port(t), blob, len, &one,
                                    &error) != 0) {
      *message = xasprintf("%s; nothing was sent", error);
      free(error);
      free(r.recorded);
      return TRANSPORT_E_HOSTKEY;
    }
    static const int rank[] = {
        [TRANSPORT_HOSTKEY_UNKNOWN] = 0,
        [TRANSPORT_HOSTKEY_CHANGED] = 1,
        [TRANSPORT_HOSTKEY_KNOWN] = 2,
        [TRANSPORT_HOSTKEY_REVOKED] = 3,
    };
    unsigned ca = r.ca_lines + one.ca_lines;
    if (rank[one.status] > rank[r.status]) {
      free(r.recorded);
      r = one;
      file = kh_file(t, f);
    } else
      free(one.recorded);
    r.ca_lines = ca;
  }
  char *name = transport_known_hosts_name(key_host(t), key_port(t));
  char ca[200] = "";
  if (r.ca_lines)
    snprintf(ca, sizeof ca,
             " (%u @cert-authority line(s) name it too, but issu-fleet's libssh2 cannot use host "
             "certificates: record the keys themselves)",
             r.ca_lines);
  int rc = 0;
  switch (r.status) {
  case TRANSPORT_HOSTKEY_KNOWN:
    break;
  case TRANSPORT_HOSTKEY_REVOKED:
    *message = xasprintf("the host key of %s:%u (%s %s) is marked @revoked in %s line %u; "
                         "refused, and nothing was sent to it (no authentication attempted)",
                         t->o.host, t->o.port, k->type, k->fingerprint, file, r.line);
    rc = TRANSPORT_E_HOSTKEY;
    break;
  case TRANSPORT_HOSTKEY_CHANGED: {
    char *f = fix(t, name);
    *message = xasprintf(
        "WARNING: the host key of %s:%u has CHANGED: it presented %s %s, and %s holds for %s only "
        "other %s keys: %s%s. Each routing engine has its own host keys and the master-only "
        "address moves to the new master at a switchover, so this is what an RE whose key was "
        "never recorded looks like; it is also what a machine in the middle would show. Nothing "
        "was sent to it (no authentication attempted). %s",
        t->o.host, t->o.port, k->type, k->fingerprint, file, name, k->type, r.recorded, ca, f);
    free(f);
    rc = TRANSPORT_E_HOSTKEY_CHANGED;
    break;
  }
  case TRANSPORT_HOSTKEY_UNKNOWN: {
    if (t->o.accept_new_host_keys) {
      char *line = xasprintf("%s %s %s\n", name, k->type, k->base64), *err = NULL;
      if (transport_known_hosts_append(kh_first(t), line, &err) != 0) {
        *message = xasprintf("cannot record the new host key %s %s of %s:%u: %s; nothing was sent",
                             k->type, k->fingerprint, t->o.host, t->o.port, err);
        rc = TRANSPORT_E_HOSTKEY;
      }
      free(err);
      free(line);
      break;
    }
    char *f = fix(t, name), *files = kh_joined(t), *strict = NULL;
    if (t->o.strict_host_key_checking)
      strict = xasprintf(" (ssh_config's StrictHostKeyChecking %s does not accept new keys by "
                         "itself: accepting them is opt-in)",
                         t->o.strict_host_key_checking);
    *message =
        xasprintf("the host key of %s:%u (%s %s) is not in %s%s for %s%s; nothing was "
                  "sent to it (no authentication attempted). %s, or run with "
                  "--accept-new-host-keys%s",
                  t->o.host, t->o.port, k->type, k->fingerprint, kh_count(t) > 1 ? "any of " : "",
                  files, name, ca, f, strict ? strict : "");
    free(strict);
    free(files);
    free(f);
    rc = TRANSPORT_E_HOSTKEY_UNKNOWN;
    break;
  }
  }
  free(name);
  free(r.recorded);
  return rc;
}
