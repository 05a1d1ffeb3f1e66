/*
 * Host keys across an RE switchover (issue 13 §3): known_hosts read the way OpenSSH reads it,
 * refusals that name everything an operator needs, and `issu-fleet known-hosts`.
 *
 * The switchover is acted by two OpenSSH sshd instances with different host keys taking turns
 * on one loopback port (stop RE0's, start RE1's): the master-only address moving to the other
 * RE. Both log at DEBUG1, so "nothing was sent" is checked in RE1's own log (no userauth
 * request ever reached it).
 */
#include "transport/transport.h"
#include "common/common.h"
#include "inventory/inventory.h"
#include "sshd.h"

/* From transport_internal.h (digest.c). */
void transport__sha256(const unsigned char *in, size_t len, unsigned char out[32]);
void transport__hmac_sha1(const unsigned char *key, size_t klen, const unsigned char *msg,
                          size_t mlen, unsigned char out[20]);
long transport__base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen);

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ---- */

static int sh(const char *cmd)
{
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *read_all(const char *path)
{
  return test_sshd_read(path);
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

/* The output of a shell command, first line, without its newline. */
static char *capture(const char *cmd)
{
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  char buf[4096] = "";
  if (fgets(buf, sizeof buf, p) == NULL)
    buf[0] = '\0';
  pclose(p);
  buf[strcspn(buf, "\n")] = '\0';
  return xstrdup(buf);
}

/* ---- the lab: one directory, two REs' host keys, sshd instances ---- */

#define MAX_SSHD 3

static struct lab {
  char dir[512];
  char client_key[600];
  char host_key[2][600];   /* RE0's and RE1's private host keys */
  char host_line[2][600];  /* "ssh-ed25519 AAAA..." */
  char fingerprint[2][80]; /* from ssh-keygen -lf */
  struct test_sshd sshd[MAX_SSHD];
} lab;

static void lab_init(void)
{
  memset(&lab, 0, sizeof lab);
  snprintf(lab.dir, sizeof lab.dir, "/tmp/issu-hostkeys-XXXXXX");
  cr_assert_not_null(mkdtemp(lab.dir));
  char cmd[4096];
  snprintf(
      cmd, sizeof cmd,
      "cd %s && ssh-keygen -q -t ed25519 -N '' -f re0 && ssh-keygen -q -t ed25519 -N '' -f re1 "
      "&& ssh-keygen -q -t ed25519 -N '' -f id && cp id.pub authorized_keys",
      lab.dir);
  cr_assert_eq(sh(cmd), 0);
  snprintf(lab.client_key, sizeof lab.client_key, "%s/id", lab.dir);
  for (int re = 0; re < 2; re++) {
    snprintf(lab.host_key[re], sizeof lab.host_key[re], "%s/re%d", lab.dir, re);
    snprintf(cmd, sizeof cmd, "cut -d' ' -f1,2 %s.pub", lab.host_key[re]);
    char *line = capture(cmd);
    snprintf(lab.host_line[re], sizeof lab.host_line[re], "%s", line);
    free(line);
    snprintf(cmd, sizeof cmd, "ssh-keygen -lf %s.pub | cut -d' ' -f2", lab.host_key[re]);
    char *fpr = capture(cmd);
    snprintf(lab.fingerprint[re], sizeof lab.fingerprint[re], "%s", fpr);
    free(fpr);
    cr_assert(strncmp(lab.fingerprint[re], "SHA256:", 7) == 0, "%s", lab.fingerprint[re]);
  }
}

/* Starts sshd instance `i` with RE `re`'s host key, on `port`, or on a free port when it is 0
 * (which it returns). Both log at DEBUG1: the tests read whether authentication was attempted. */
static char extra_host_key[700]; /* a second HostKey for the next sshd_up, if set */

static int sshd_up(int i, int re, int port)
{
  char lines[4096], name[32];
  snprintf(lines, sizeof lines,
           "HostKey %s\n%s%s%sAuthorizedKeysFile %s/authorized_keys\nLogLevel DEBUG1\n",
           lab.host_key[re], extra_host_key[0] ? "HostKey " : "", extra_host_key,
           extra_host_key[0] ? "\n" : "", lab.dir);
  snprintf(name, sizeof name, "sshd%d-re%d", i, re);
  test_sshd_start(&lab.sshd[i], lab.dir, name, port, lines);
  return lab.sshd[i].port;
}

static void sshd_down(int i)
{
  test_sshd_stop(&lab.sshd[i]);
}

static void lab_fini(void)
{
  extra_host_key[0] = '\0';
  for (int i = 0; i < MAX_SSHD; i++)
    sshd_down(i);
  if (lab.dir[0] != '\0') {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf %s", lab.dir);
    sh(cmd);
    lab.dir[0] = '\0';
  }
}

/* ---- driving one transport ---- */

struct session {
  uv_loop_t loop;
  struct transport *t;
  bool opened, done, closed;
  int error;
  char message[TRANSPORT_MESSAGE_MAX];
  char out[256];
};

static void on_open(struct transport *t, int error, const char *message, void *data)
{
  (void)t;
  struct session *s = data;
  s->opened = true;
  s->error = error;
  snprintf(s->message, sizeof s->message, "%s", message);
}

static void on_line(struct transport *t, enum transport_stream st, const char *line, size_t len,
                    bool cut, void *data)
{
  (void)t;
  (void)cut;
  /* stdout only: at DEBUG1 sshd's session child prints "debug1: permanently_set_uid: ..." on the
   * session's stderr before running the command, and the two streams come in either order (the
   * test once read that line as the command's answer under load). */
  if (st != TRANSPORT_STDOUT)
    return;
  struct session *s = data;
  snprintf(s->out, sizeof s->out, "%.*s", (int)len, line);
}

static void on_done(struct transport *t, const struct transport_result *r, void *data)
{
  (void)t;
  struct session *s = data;
  s->done = true;
  s->error = r->error;
  if (r->error != 0) /* the command's failure, for the test's message */
    snprintf(s->message, sizeof s->message, "%s", r->message);
}

static void on_closed(struct transport *t, void *data)
{
  (void)t;
  ((struct session *)data)->closed = true;
}

static struct transport_options options(int port, const char *known_hosts)
{
  struct transport_options o = {.name = "mx-ams-1",
                                .kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = (unsigned)port,
                                .key_file = lab.client_key,
                                .known_hosts = known_hosts,
                                .inventory_file = "inv.yaml"};
  return o;
}

/* Opens a session; when it opens, runs `echo` on it (out holds the answer). Returns the error of
 * the open, or of the command. */
static int connect_and_run(struct session *s, const struct transport_options *o)
{
  memset(s, 0, sizeof *s);
  uv_loop_init(&s->loop);
  cr_assert_eq(transport_new(&s->loop, o, &s->t), 0);
  cr_assert_eq(transport_open(s->t, on_open, s), 0);
  while (!s->opened && uv_run(&s->loop, UV_RUN_ONCE))
    ;
  int error = s->error;
  if (error == 0) {
    /* No time limit of its own (a 10 s one ran out on a machine at load 80): a hang shows as
     * the test's timeout. */
    cr_assert_eq(transport_exec(s->t, "echo reached", NULL, 0, on_line, on_done, s), 0);
    while (!s->done && uv_run(&s->loop, UV_RUN_ONCE))
      ;
    error = s->error;
  }
  transport_close(s->t, on_closed, s);
  while (!s->closed && uv_run(&s->loop, UV_RUN_ONCE))
    ;
  uv_run(&s->loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&s->loop), 0, "every handle closed");
  return error;
}

static bool log_has(int i, const char *needle)
{
  return test_sshd_log_has(&lab.sshd[i], needle);
}

/* ---- the switchover through sshd ---- */

Test(hostkeys, after_the_switchover_an_unrecorded_re_key_is_refused_whole_and_nothing_is_sent,
     .timeout = 300, .fini = lab_fini)
{
  lab_init();
  /* A known_hosts path longer than the 256 bytes messages were cut at. */
  char dir[700], kh[800], cmd[2048];
  snprintf(dir, sizeof dir, "%s/%s", lab.dir,
           "a-directory-whose-name-is-long-enough-to-push-the-known-hosts-path-past-the-old-"
           "two-hundred-and-fifty-six-byte-message-limit/and-then-some-more-of-it/"
           "and-a-third-level-for-good-measure");
  snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
  cr_assert_eq(sh(cmd), 0);
  snprintf(kh, sizeof kh, "%s/known_hosts", dir);
  int port = sshd_up(0, 0, 0);
  char line[1400];
  snprintf(line, sizeof line, "[127.0.0.1]:%d %s\n", port, lab.host_line[0]);
  write_file(kh, line);

  struct session s;
  struct transport_options o = options(port, kh);
  cr_assert_eq(connect_and_run(&s, &o), 0, "RE0 is master and known: %s", s.message);
  cr_expect_str_eq(s.out, "reached");
  cr_expect(log_has(0, "userauth-request"), "the probe sees an authentication in RE0's log");

  sshd_down(0); /* the switchover: the master-only address now reaches RE1 */
  sshd_up(1, 1, port);
  o.accept_new_host_keys = true; /* even so: a changed key is never accepted */
  int error = connect_and_run(&s, &o);
  cr_expect_eq(error, TRANSPORT_E_HOSTKEY_CHANGED, "%s", s.message);
  cr_expect_str_eq(transport_error_name(error), "hostkey-changed");
  char want[1200];
  const char *needles[] = {"mx-ams-1: ",
                           "127.0.0.1:",
                           "ssh-ed25519",
                           lab.fingerprint[1],
                           lab.fingerprint[0],
                           kh,
                           "Nothing was sent",
                           "issu-fleet known-hosts -i inv.yaml --limit mx-ams-1 --write",
                           want};
  snprintf(want, sizeof want, "ssh-keyscan -p %d -t ssh-ed25519 127.0.0.1 >> %s", port, kh);
  for (size_t i = 0; i < ARRAY_LEN(needles); i++)
    cr_expect(strstr(s.message, needles[i]), "the message names '%s': %s", needles[i], s.message);
  cr_expect_gt(strlen(s.message), 600, "longer than any old bound, and whole");
  cr_expect(!log_has(1, "userauth-request") && !log_has(1, "Accepted"),
            "nothing was sent to RE1: no authentication attempt in its log");
  char *after = read_all(kh);
  cr_expect_str_eq(after, line, "known_hosts is untouched");
  free(after);
}

Test(hostkeys, with_both_res_keys_recorded_either_re_behind_the_address_is_accepted, .timeout = 300,
     .fini = lab_fini)
{
  lab_init();
  int port = sshd_up(0, 0, 0);
  char kh[700], text[2400];
  snprintf(kh, sizeof kh, "%s/known_hosts", lab.dir);
  /* One line per key per RE under the master-only name; RE1's first this time. */
  snprintf(text, sizeof text, "[127.0.0.1]:%d %s\n[127.0.0.1]:%d %s\n", port, lab.host_line[1],
           port, lab.host_line[0]);
  write_file(kh, text);
  struct session s;
  struct transport_options o = options(port, kh);
  cr_expect_eq(connect_and_run(&s, &o), 0, "RE0: %s", s.message);
  sshd_down(0);
  sshd_up(1, 1, port);
  cr_expect_eq(connect_and_run(&s, &o), 0, "RE1: %s", s.message);
  cr_expect_str_eq(s.out, "reached");
  sshd_down(1);
  /* The same, hashed (ssh-keygen -H), and back on RE0. */
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "ssh-keygen -q -H -f %s >/dev/null 2>&1 && rm -f %s.old", kh, kh);
  cr_assert_eq(sh(cmd), 0);
  char *hashed = read_all(kh);
  cr_assert(strncmp(hashed, "|1|", 3) == 0 && strstr(hashed, "127.0.0.1") == NULL, "%s", hashed);
  free(hashed);
  sshd_up(2, 0, port);
  cr_expect_eq(connect_and_run(&s, &o), 0, "RE0, hashed: %s", s.message);
  sshd_down(2);
  sshd_up(1, 1, port);
  cr_expect_eq(connect_and_run(&s, &o), 0, "RE1, hashed: %s", s.message);
}

Test(hostkeys, an_unknown_key_names_the_fix_and_a_plain_or_hashed_name_never_matches_another_port,
     .timeout = 300, .fini = lab_fini)
{
  lab_init();
  int port = sshd_up(0, 0, 0);
  char kh[700], text[1400], cmd[1600];
  snprintf(kh, sizeof kh, "%s/known_hosts", lab.dir);
  /* Port 22's entry (plain "127.0.0.1"), hashed: OpenSSH never uses it for another port. */
  snprintf(text, sizeof text, "127.0.0.1 %s\n", lab.host_line[0]);
  write_file(kh, text);
  snprintf(cmd, sizeof cmd, "ssh-keygen -q -H -f %s >/dev/null 2>&1 && rm -f %s.old", kh, kh);
  cr_assert_eq(sh(cmd), 0);
  struct session s;
  struct transport_options o = options(port, kh);
  int error = connect_and_run(&s, &o);
  cr_expect_eq(error, TRANSPORT_E_HOSTKEY_UNKNOWN, "%s", s.message);
  cr_expect(strstr(s.message, lab.fingerprint[0]) && strstr(s.message, kh) &&
                strstr(s.message, "--accept-new-host-keys") &&
                strstr(s.message, "issu-fleet known-hosts -i inv.yaml"),
            "%s", s.message);
  cr_expect(!log_has(0, "userauth-request"), "nothing was sent");
}

static void on_result(struct transport *t, const struct transport_result *r, void *data)
{
  (void)t;
  struct transport_result *out = data;
  *out = *r;
}

/* A key scan of one RE's own address offers first the key types recorded for the master-only
 * name, so the key it reads is the one that address will present. */
static void scan(int port, const char *key_host, unsigned key_port, const char *kh,
                 struct transport_host_key *out)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct transport_options o = {.name = "mx-ams-1 re1",
                                .kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = (unsigned)port,
                                .known_hosts = kh,
                                .key_host = key_host,
                                .key_port = key_port,
                                .scan_host_key = true};
  struct transport *t;
  struct session s = {0};
  cr_assert_eq(transport_new(&loop, &o, &t), 0);
  cr_assert_eq(transport_open(t, on_open, &s), 0);
  while (!s.opened && uv_run(&loop, UV_RUN_ONCE))
    ;
  cr_assert_eq(s.error, 0, "%s", s.message);
  const struct transport_host_key *k = transport_host_key(t);
  cr_assert_not_null(k);
  *out = *k;
  out->base64 = xstrdup(k->base64);
  out->blob = NULL;
  /* A scan runs no command. */
  struct transport_result r = {.error = 1};
  cr_assert_eq(transport_exec(t, "echo no", NULL, 0, NULL, on_result, &r), 0);
  cr_expect_eq(r.error, TRANSPORT_E_CLOSED, "%s", r.message);
  transport_close(t, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&loop), 0);
}

Test(hostkeys, a_scan_reads_the_key_type_recorded_for_the_master_only_name, .timeout = 300,
     .fini = lab_fini)
{
  lab_init();
  char cmd[1600], kh[700];
  snprintf(cmd, sizeof cmd,
           "cd %s && ssh-keygen -q -t ecdsa -b 256 -N '' -f re0_ecdsa && ssh-keygen -q -t ecdsa "
           "-b 256 -N '' -f re1_ecdsa",
           lab.dir);
  cr_assert_eq(sh(cmd), 0);
  snprintf(extra_host_key, sizeof extra_host_key, "%s/re1_ecdsa", lab.dir);
  int re1 = sshd_up(0, 1, 0); /* RE1 with an ed25519 and an ECDSA key */
  snprintf(kh, sizeof kh, "%s/known_hosts", lab.dir);
  /* Only RE0's ECDSA key is recorded for the master-only name [10.0.0.10]:830. */
  snprintf(cmd, sizeof cmd, "(printf '[10.0.0.10]:830 '; cut -d' ' -f1,2 %s/re0_ecdsa.pub) > %s",
           lab.dir, kh);
  cr_assert_eq(sh(cmd), 0);
  struct transport_host_key k;
  scan(re1, "10.0.0.10", 830, kh, &k);
  cr_expect_str_eq(k.type, "ecdsa-sha2-nistp256");
  snprintf(cmd, sizeof cmd, "ssh-keygen -lf %s/re1_ecdsa.pub | cut -d' ' -f2", lab.dir);
  char *want = capture(cmd);
  cr_expect_str_eq(k.fingerprint, want, "as ssh-keygen -lf prints it");
  free(want);
  free(k.base64);
  /* Nothing recorded for the name: ed25519 first. */
  scan(re1, "10.0.0.11", 830, kh, &k);
  cr_expect_str_eq(k.type, "ssh-ed25519");
  cr_expect_str_eq(k.fingerprint, lab.fingerprint[1]);
  free(k.base64);
}

/* ---- known_hosts, line by line (no sshd) ---- */

static size_t blob_of(int re, unsigned char *out, size_t cap)
{
  const char *b64 = strchr(lab.host_line[re], ' ') + 1;
  long n = transport__base64_decode(b64, strlen(b64), out, cap);
  cr_assert_gt(n, 0);
  return (size_t)n;
}

static struct transport_hostkey_lookup look(const char *kh, const char *host, unsigned port, int re)
{
  unsigned char blob[512];
  size_t len = blob_of(re, blob, sizeof blob);
  struct transport_hostkey_lookup r;
  char *error = NULL;
  int rc = transport_known_hosts_check(kh, host, port, blob, len, &r, &error);
  cr_assert_eq(rc, 0, "%s", error ? error : "");
  return r;
}

static enum transport_hostkey_status status_of(const char *kh, const char *host, unsigned port,
                                               int re)
{
  struct transport_hostkey_lookup r = look(kh, host, port, re);
  free(r.recorded);
  return r.status;
}

Test(hostkeys, known_hosts_lines_match_as_openssh_matches_them, .fini = lab_fini)
{
  lab_init();
  char kh[700], text[4096];
  snprintf(kh, sizeof kh, "%s/known_hosts", lab.dir);
  struct transport_hostkey_lookup r = look(kh, "mx1", 22, 0);
  cr_expect_eq(r.status, TRANSPORT_HOSTKEY_UNKNOWN, "a missing file is empty");
  snprintf(text, sizeof text,
           "# comment\n\n@cert-authority *.example.net %s\n"
           "MX1.example.net,10.0.0.1 %s\r\n"
           "[10.0.0.1]:830 %s\n"
           "10.0.0.* %s\n"
           "10.0.1.*,!10.0.1.9 %s\n",
           lab.host_line[1], lab.host_line[0], lab.host_line[1], lab.host_line[0],
           lab.host_line[0]);
  write_file(kh, text);
  cr_expect_eq(status_of(kh, "mx1.example.net", 22, 0), TRANSPORT_HOSTKEY_KNOWN,
               "names compare without case, CRLF is fine");
  r = look(kh, "mx1.example.net", 22, 1);
  cr_expect_eq(r.status, TRANSPORT_HOSTKEY_CHANGED);
  cr_expect_eq(r.ca_lines, 1u, "the @cert-authority line is counted, not used");
  cr_expect(r.recorded && strstr(r.recorded, lab.fingerprint[0]) && strstr(r.recorded, "line 4"),
            "%s", r.recorded ? r.recorded : "");
  free(r.recorded);
  cr_expect_eq(status_of(kh, "10.0.0.1", 830, 1), TRANSPORT_HOSTKEY_KNOWN);
  r = look(kh, "10.0.0.1", 830, 0);
  cr_expect_eq(r.status, TRANSPORT_HOSTKEY_CHANGED, "[host]:port only");
  free(r.recorded);
  cr_expect_eq(status_of(kh, "10.0.0.7", 22, 0), TRANSPORT_HOSTKEY_KNOWN, "a * pattern");
  cr_expect_eq(status_of(kh, "10.0.0.7", 2222, 0), TRANSPORT_HOSTKEY_UNKNOWN,
               "a plain pattern is port 22's");
  cr_expect_eq(status_of(kh, "10.0.1.8", 22, 0), TRANSPORT_HOSTKEY_KNOWN);
  cr_expect_eq(status_of(kh, "10.0.1.9", 22, 0), TRANSPORT_HOSTKEY_UNKNOWN, "a negated name");
  /* Both REs' keys under one name, in either order; then one revoked. */
  snprintf(text, sizeof text, "[mx]:830 %s\n[mx]:830 %s\n", lab.host_line[0], lab.host_line[1]);
  write_file(kh, text);
  r = look(kh, "mx", 830, 1);
  cr_expect_eq(r.status, TRANSPORT_HOSTKEY_KNOWN);
  cr_expect_eq(r.line, 2u);
  free(r.recorded);
  cr_expect_eq(status_of(kh, "mx", 830, 0), TRANSPORT_HOSTKEY_KNOWN);
  snprintf(text, sizeof text, "[mx]:830 %s\n[mx]:830 %s\n@revoked * %s\n", lab.host_line[0],
           lab.host_line[1], lab.host_line[1]);
  write_file(kh, text);
  r = look(kh, "mx", 830, 1);
  cr_expect_eq(r.status, TRANSPORT_HOSTKEY_REVOKED, "@revoked wins over a recorded line");
  cr_expect_eq(r.line, 3u);
  free(r.recorded);
  /* A revocation that cannot be read fails the check, naming its line; other bad lines are
   * skipped as OpenSSH skips them. */
  snprintf(text, sizeof text, "[mx]:830 ssh-ed25519 not-base64!\n[mx]:830 %s\n", lab.host_line[0]);
  write_file(kh, text);
  cr_expect_eq(status_of(kh, "mx", 830, 0), TRANSPORT_HOSTKEY_KNOWN);
  write_file(kh, "@revoked * ssh-ed25519 ???\n");
  unsigned char blob[512];
  size_t len = blob_of(0, blob, sizeof blob);
  char *error = NULL;
  cr_expect_eq(transport_known_hosts_check(kh, "mx", 830, blob, len, &r, &error), -1);
  char where[800];
  snprintf(where, sizeof where, "%s:1:", kh);
  cr_expect(error && strstr(error, where), "%s", error ? error : "");
  free(error);
}

Test(hostkeys, known_hosts_names_and_appends)
{
  char *n = transport_known_hosts_name("MX1.Example", 22);
  cr_expect_str_eq(n, "mx1.example");
  free(n);
  n = transport_known_hosts_name("10.0.0.1", 830);
  cr_expect_str_eq(n, "[10.0.0.1]:830");
  free(n);
  char dir[] = "/tmp/issu-khappend-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char path[128], *error = NULL;
  snprintf(path, sizeof path, "%s/known_hosts", dir);
  cr_assert_eq(transport_known_hosts_append(path, "a ssh-ed25519 AAAA\n", &error), 0, "%s", error);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  cr_expect_eq(st.st_mode & 0777, 0600, "created private");
  write_file(path, "a ssh-ed25519 AAAA"); /* no newline at its end */
  cr_assert_eq(transport_known_hosts_append(path, "b ssh-ed25519 BBBB\n", &error), 0, "%s", error);
  char *text = read_all(path);
  cr_expect_str_eq(text, "a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\n");
  free(text);
  cr_expect_eq(transport_known_hosts_append("/nonexistent/dir/kh", "x\n", &error), -1);
  cr_expect(error && strstr(error, "/nonexistent/dir/kh"), "%s", error ? error : "");
  free(error);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
}

Test(hostkeys, digests_match_their_published_vectors)
{
  unsigned char h[32];
  transport__sha256((const unsigned char *)"abc", 3, h);
  static const unsigned char abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                        0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                        0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  cr_expect_arr_eq(h, abc, 32, "SHA-256(abc), FIPS 180-4");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  transport__sha256((const unsigned char *)two, strlen(two), h);
  static const unsigned char two_want[32] = {0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8,
                                             0xe5, 0xc0, 0x26, 0x93, 0x0c, 0x3e, 0x60, 0x39,
                                             0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff, 0x21, 0x67,
                                             0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1};
  cr_expect_arr_eq(h, two_want, 32, "SHA-256 of 56 bytes (two blocks)");
  unsigned char m[20];
  transport__hmac_sha1((const unsigned char *)"Jefe", 4,
                       (const unsigned char *)"what do ya want for nothing?", 28, m);
  static const unsigned char jefe[20] = {0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f,
                                         0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84,
                                         0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79};
  cr_expect_arr_eq(m, jefe, 20, "HMAC-SHA1, RFC 2202 test case 2");
}

/* ---- issu-fleet known-hosts ---- */

static char *run_cli(const char *args, int *status)
{
  char *cmd = xasprintf("%s known-hosts %s 2>&1", ISSU_BINARY, args);
  FILE *p = popen(cmd, "r");
  free(cmd);
  cr_assert_not_null(p);
  char *out = NULL, buf[4096];
  size_t len = 0, cap = 0;
  while (fgets(buf, sizeof buf, p))
    text_appendf(&out, &len, &cap, "%s", buf);
  int st = pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out ? out : xstrdup("");
}

Test(hostkeys, the_known_hosts_command_reads_both_res_and_writes_only_when_told, .timeout = 90,
     .fini = lab_fini)
{
  lab_init();
  /* RE0 is master: it answers on the master-only address and on its own. */
  int master = sshd_up(0, 0, 0), re0 = sshd_up(1, 0, 0), re1 = sshd_up(2, 1, 0);
  int reserved, nowhere = test_sshd_reserved_port(&reserved); /* refused while the test holds it */
  char inv[700], kh[700], yaml[4096], args[1600];
  snprintf(inv, sizeof inv, "%s/inv.yaml", lab.dir);
  snprintf(kh, sizeof kh, "%s/known_hosts", lab.dir);
  snprintf(yaml, sizeof yaml,
           "all:\n  hosts:\n    mx-ams-1:\n      ansible_host: 127.0.0.1\n      ansible_port: %d\n"
           "      issu_re0_host: 127.0.0.1\n      issu_re0_port: %d\n"
           "      issu_re1_host: 127.0.0.1\n      issu_re1_port: %d\n"
           "      issu_known_hosts: %s\n"
           "    mx-ams-2:\n      ansible_host: 127.0.0.1\n      ansible_port: %d\n"
           "      issu_known_hosts: %s\n",
           master, re0, re1, kh, nowhere, kh);
  write_file(inv, yaml);
  int st;
  snprintf(args, sizeof args, "-i %s", inv);
  char *out = run_cli(args, &st);
  cr_expect_eq(st, 1, "mx-ams-2 answers nowhere: %s", out);
  cr_expect(strstr(out, lab.fingerprint[0]) && strstr(out, lab.fingerprint[1]),
            "both REs' fingerprints, as ssh-keygen -lf prints them: %s", out);
  char want[1400];
  for (int re = 0; re < 2; re++) {
    snprintf(want, sizeof want, "[127.0.0.1]:%d %s\n", master, lab.host_line[re]);
    cr_expect(strstr(out, want), "the line for RE%d under the master-only name: %s", re, out);
  }
  cr_expect(strstr(out, "mx-ams-2 master (127.0.0.1:") && strstr(out, "Connection refused"),
            "the error names the router and the address: %s", out);
  cr_expect(strstr(out, "nothing written"), "%s", out);
  cr_expect_neq(access(kh, F_OK), 0, "nothing was written without --write");
  free(out);

  snprintf(args, sizeof args, "-i %s --limit mx-ams-1 --write", inv);
  out = run_cli(args, &st);
  cr_expect_eq(st, 0, "%s", out);
  free(out);
  char *first = read_all(kh);
  for (int re = 0; re < 2; re++) {
    snprintf(want, sizeof want, "[127.0.0.1]:%d %s\n", master, lab.host_line[re]);
    cr_expect(strstr(first, want), "written: %s", first);
  }
  out = run_cli(args, &st);
  cr_expect_eq(st, 0, "%s", out);
  cr_expect(strstr(out, "already in") && strstr(out, "every key found is already recorded"), "%s",
            out);
  free(out);
  char *second = read_all(kh);
  cr_expect_str_eq(second, first, "a second --write adds nothing");
  free(second);
  free(first);

  /* A key neither RE presents (an RE replaced since): named, with the way to remove it. */
  char stale[1400], idpub[700];
  snprintf(idpub, sizeof idpub, "cut -d' ' -f1,2 %s.pub", lab.client_key);
  char *id = capture(idpub);
  snprintf(stale, sizeof stale, "[127.0.0.1]:%d %s\n", master, id);
  free(id);
  char *append_error = NULL;
  cr_assert_eq(transport_known_hosts_append(kh, stale, &append_error), 0, "%s", append_error);
  snprintf(args, sizeof args, "-i %s --limit mx-ams-1", inv);
  out = run_cli(args, &st);
  cr_expect_eq(st, 0, "%s", out);
  snprintf(want, sizeof want, "line 3 holds for [127.0.0.1]:%d ssh-ed25519", master);
  cr_expect(strstr(out, want) && strstr(out, "which neither RE presents") &&
                strstr(out, "ssh-keygen -R '[127.0.0.1]:"),
            "%s", out);
  free(out);

  /* The written file lets issu-fleet through the switchover. */
  sshd_down(0);
  sshd_up(0, 1, master);
  struct session s;
  struct transport_options o = options(master, kh);
  cr_expect_eq(connect_and_run(&s, &o), 0, "RE1 as master, after known-hosts --write: %s",
               s.message);
  close(reserved);
}

Test(hostkeys, the_known_hosts_command_checks_its_arguments_and_the_per_re_variables)
{
  int st;
  char *out = run_cli("--help", &st);
  cr_expect_eq(st, 0);
  cr_expect(strstr(out, "Usage: issu-fleet known-hosts -i INVENTORY"), "%s", out);
  free(out);
  out = run_cli("", &st);
  cr_expect_eq(st, 2);
  cr_expect(strstr(out, "missing -i INVENTORY"), "%s", out);
  free(out);
  char dir[] = "/tmp/issu-khargs-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char inv[128], args[256];
  snprintf(inv, sizeof inv, "%s/inv.yaml", dir);
  write_file(inv, "all:\n  hosts:\n    mx-1:\n      issu_re1_host: 10.0.0.2\n"
                  "      issu_re1_port: ssh\n");
  snprintf(args, sizeof args, "-i %s", inv);
  out = run_cli(args, &st);
  cr_expect_eq(st, 2, "%s", out);
  char where[200];
  snprintf(where, sizeof where, "%s:5:22: host 'mx-1': issu_re1_port: expected a port number", inv);
  cr_expect(strstr(out, where), "%s", out);
  free(out);
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
}

/* ---- messages are whole ---- */

Test(hostkeys, the_longest_refusal_fits_whole_in_a_command_result_and_longer_options_are_refused,
     .timeout = 300, .fini = lab_fini)
{
  lab_init();
  /* Every option a refusal names, at its longest. */
  char name[TRANSPORT_MAX_NAME + 1], alias[TRANSPORT_MAX_NAME + 1], inv[TRANSPORT_MAX_PATH + 1];
  memset(name, 'n', TRANSPORT_MAX_NAME);
  name[TRANSPORT_MAX_NAME] = '\0';
  memset(alias, 'a', TRANSPORT_MAX_NAME);
  alias[TRANSPORT_MAX_NAME] = '\0';
  memset(inv, 'i', TRANSPORT_MAX_PATH);
  inv[0] = '/';
  inv[TRANSPORT_MAX_PATH] = '\0';
  char kh[TRANSPORT_MAX_PATH + 2], cmd[2400];
  int n = snprintf(kh, sizeof kh, "%s/", lab.dir);
  while (n < TRANSPORT_MAX_PATH - 200) /* directories of 100 bytes until the path is long */
    n += snprintf(kh + n, sizeof kh - (size_t)n, "%0100d/", 0);
  snprintf(cmd, sizeof cmd, "mkdir -p %s", kh);
  cr_assert_eq(sh(cmd), 0);
  while (n < TRANSPORT_MAX_PATH)
    kh[n++] = 'k';
  kh[n] = '\0';
  int port = sshd_up(0, 1, 0);
  char line[1400];
  snprintf(line, sizeof line, "[%s]:830 %s\n", alias, lab.host_line[0]);
  write_file(kh, line);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct transport_options o = options(port, kh);
  o.name = name;
  o.key_host = alias;
  o.key_port = 830;
  o.inventory_file = inv;
  struct transport *t;
  struct transport_result r = {.error = 1};
  cr_assert_eq(transport_new(&loop, &o, &t), 0);
  cr_assert_eq(transport_exec(t, "echo never", NULL, 0, NULL, on_result, &r), 0);
  cr_assert_eq(transport_open(t, NULL, NULL), 0);
  while (r.error == 1 && uv_run(&loop, UV_RUN_ONCE))
    ;
  cr_expect_eq(r.error, TRANSPORT_E_HOSTKEY_CHANGED, "%s", r.message);
  char tail[2400];
  snprintf(tail, sizeof tail, "add this line to %s: [%s]:830 %s", kh, alias, lab.host_line[1]);
  size_t len = strlen(r.message), tlen = strlen(tail);
  cr_expect(len > tlen && strcmp(r.message + len - tlen, tail) == 0,
            "the message ends with the whole fix (%zu bytes)", len);
  cr_expect(strstr(r.message, inv) && strncmp(r.message, name, strlen(name)) == 0);
  transport_close(t, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&loop), 0);

  /* One byte more: refused before anything happens, in words. */
  kh[TRANSPORT_MAX_PATH] = 'k';
  kh[TRANSPORT_MAX_PATH + 1] = '\0';
  o = options(port, kh);
  struct session s;
  cr_expect_eq(connect_and_run(&s, &o), TRANSPORT_E_OPTIONS);
  cr_expect(strstr(s.message, "the known_hosts path is longer than issu-fleet accepts"), "%s",
            s.message);
  cr_expect_str_eq(transport_error_name(TRANSPORT_E_OPTIONS), "bad-options");
}

/* ---- end to end: a junos-sim lab router (per-RE sshd and host keys, master-only address) ---- */

static char sim_dir[64];

static void sim_fini(void)
{
  if (sim_dir[0] != '\0') {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "%s lab down %s/lab >/dev/null 2>&1; rm -rf %s", JUNOS_SIM_BINARY,
             sim_dir, sim_dir);
    sh(cmd);
    sim_dir[0] = '\0';
  }
}

static unsigned inventory_port(const struct inventory *inv, const char *host, const char *var)
{
  size_t h;
  cr_assert(strmap_get(&inv->host_index, host, &h), "%s", host);
  char buf[32];
  const char *v = inventory_value_text(inventory_host_var(inv, h, var), buf, sizeof buf);
  cr_assert_not_null(v, "%s %s", host, var);
  return (unsigned)atoi(v);
}

static struct transport_options sim_options(const char *known_hosts, const char *key, unsigned port)
{
  struct transport_options o = {.name = "mx-ams-1",
                                .kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = port,
                                .user = "root",
                                .key_file = key,
                                .known_hosts = known_hosts};
  return o;
}

Test(hostkeys, a_lab_router_after_a_switchover_is_refused_until_known_hosts_holds_re1,
     .timeout = 120, .fini = sim_fini)
{
  snprintf(sim_dir, sizeof sim_dir, "/tmp/issu-hklab-XXXXXX");
  cr_assert_not_null(mkdtemp(sim_dir));
  char cmd[1200], kh[200], key[200], invpath[200];
  snprintf(cmd, sizeof cmd,
           "%s lab init %s/lab --devices 2 >/dev/null && %s lab up %s/lab >/dev/null",
           JUNOS_SIM_BINARY, sim_dir, JUNOS_SIM_BINARY, sim_dir);
  cr_assert_eq(sh(cmd), 0);
  snprintf(kh, sizeof kh, "%s/lab/known_hosts", sim_dir);
  snprintf(key, sizeof key, "%s/lab/ssh/id_ed25519", sim_dir);
  snprintf(invpath, sizeof invpath, "%s/lab/inventory.yaml", sim_dir);
  struct diag d = {0};
  struct inventory *inv = NULL;
  cr_assert_eq(inventory_load(invpath, &inv, &d), 0);
  diag_free(&d);
  unsigned master = inventory_port(inv, "mx-ams-1", "ansible_port");
  unsigned re1 = inventory_port(inv, "mx-ams-1", "issu_re1_port");
  unsigned other = inventory_port(inv, "mx-ams-2", "ansible_port");
  inventory_free(inv);
  /* RE1's fingerprint as OpenSSH's own tools see it. */
  snprintf(cmd, sizeof cmd,
           "ssh-keyscan -p %u -t ed25519 127.0.0.1 2>/dev/null | ssh-keygen -lf - | "
           "cut -d' ' -f2",
           re1);
  char *re1_fpr = capture(cmd);
  cr_assert(strncmp(re1_fpr, "SHA256:", 7) == 0, "%s", re1_fpr);

  /* RE0 master, its key known (the lab's default known_hosts): switch mastership. */
  struct transport_options o = sim_options(kh, key, master);
  struct session s;
  memset(&s, 0, sizeof s);
  uv_loop_init(&s.loop);
  cr_assert_eq(transport_new(&s.loop, &o, &s.t), 0);
  cr_assert_eq(transport_open(s.t, on_open, &s), 0);
  while (!s.opened && uv_run(&s.loop, UV_RUN_ONCE))
    ;
  cr_assert_eq(s.error, 0, "%s", s.message);
  cr_assert_eq(transport_exec(s.t, "request chassis routing-engine master switch", "yes\n", 0,
                              on_line, on_done, &s),
               0);
  while (!s.done && uv_run(&s.loop, UV_RUN_ONCE))
    ;
  transport_close(s.t, on_closed, &s);
  while (!s.closed && uv_run(&s.loop, UV_RUN_ONCE))
    ;
  uv_run(&s.loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&s.loop), 0);

  /* The master-only address now reaches RE1, whose key was never recorded. */
  int error = connect_and_run(&s, &o);
  cr_expect_eq(error, TRANSPORT_E_HOSTKEY_CHANGED, "%s", s.message);
  cr_expect(strstr(s.message, re1_fpr) && strstr(s.message, kh) &&
                strstr(s.message, "issu-fleet known-hosts -i INVENTORY --limit mx-ams-1 --write"),
            "%s", s.message);

  int st;
  snprintf(cmd, sizeof cmd, "-i %s --write", invpath);
  char *out = run_cli(cmd, &st);
  cr_expect_eq(st, 0, "%s", out);
  cr_expect(strstr(out, re1_fpr), "RE1's fingerprint, as ssh-keygen -lf prints it: %s", out);
  free(out);
  cr_expect_eq(connect_and_run(&s, &o), 0, "RE1 behind the master-only address: %s", s.message);
  cr_expect(strstr(s.out, "{master}") != NULL || s.out[0] != '\0', "the router answered");
  o.port = other;
  o.name = "mx-ams-2";
  cr_expect_eq(connect_and_run(&s, &o), 0, "the other router, RE0 master: %s", s.message);
  free(re1_fpr);
}
