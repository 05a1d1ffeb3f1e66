/*
 * transport: libssh2 on libuv against a throwaway OpenSSH sshd on 127.0.0.1 (started per test),
 * and the local back end against junos-sim. Exact bytes through interleaved streams, exit codes
 * and signals, stdin, every host-key case, authentication refusals, a killed server, a frozen
 * (SIGSTOPped) server, a refused port, many sessions on one loop, SCP upload with checksum,
 * line and output bounds.
 */
#include "transport/transport.h"
#include "common/common.h"
#include "sshd.h"

/* From transport_internal.h: the tests need base64 for a random password. */
void transport__base64(const unsigned char *in, size_t len, char *out, size_t outlen);

static void transport__test_base64(const unsigned char *in, size_t len, char *out, size_t outlen)
{
  transport__base64(in, len, out, outlen);
  for (char *p = out; *p; p++)
    if (*p == '/' || *p == '+')
      *p = 'x'; /* keep it safe for the shell and chpasswd */
}

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sshd {
  char dir[256];
  int port; /* sshd's, or a refused one */
  struct test_sshd d;
  char known_hosts[512], key[512], host_pub[1024];
};

static struct sshd srv;

/* Under valgrind (ISSU_TEST_SMALL) the heavy tests shrink by this factor. */
static int scale(int n)
{
  const char *small = getenv("ISSU_TEST_SMALL");
  return small && *small == '1' ? (n / 10 > 0 ? n / 10 : 1) : n;
}

static int sh(const char *cmd)
{
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

static char *read_all(const char *path)
{
  return test_sshd_read(path);
}

/* A fresh directory with a host key and a client key, an sshd on a free port with the test's
 * `extra` sshd_config lines, and a known_hosts holding its key. */
static void sshd_start(const char *extra)
{
  snprintf(srv.dir, sizeof srv.dir, "/tmp/issu-sshd-XXXXXX");
  cr_assert_not_null(mkdtemp(srv.dir));
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ssh-keygen -q -t ed25519 -N '' -f %s/host && ssh-keygen -q -t ed25519 -N '' -f %s/id "
           "&& cp %s/id.pub %s/authorized_keys",
           srv.dir, srv.dir, srv.dir, srv.dir);
  cr_assert_eq(sh(cmd), 0);
  char lines[4096];
  snprintf(lines, sizeof lines,
           "%sHostKey %s/host\nAuthorizedKeysFile %s/authorized_keys\nMaxStartups 400\n"
           "MaxSessions 100\nLogLevel ERROR\n",
           extra ? extra : "", srv.dir, srv.dir);
  test_sshd_start(&srv.d, srv.dir, "sshd", 0, lines);
  srv.port = srv.d.port;
  char path[600];
  snprintf(path, sizeof path, "%s/host.pub", srv.dir);
  char *pub = read_all(path);
  pub[strcspn(pub, " ")] = ' ';
  size_t type = strcspn(pub, " "), key = strcspn(pub + type + 1, " \n");
  snprintf(srv.host_pub, sizeof srv.host_pub, "%.*s", (int)(type + 1 + key), pub);
  free(pub);
  snprintf(srv.known_hosts, sizeof srv.known_hosts, "%s/known_hosts", srv.dir);
  snprintf(srv.key, sizeof srv.key, "%s/id", srv.dir);
  char line[1200];
  snprintf(line, sizeof line, "[127.0.0.1]:%d %s\n", srv.port, srv.host_pub);
  write_file(srv.known_hosts, line);
}

static void signal_sessions(int sig)
{
  test_sshd_signal_sessions(&srv.d, sig);
}

/* Stops the test's sshd and removes its files; safe to call twice (tests call it, and .fini
 * calls it again so a failed assertion never leaves an sshd behind). */
static void sshd_stop(void)
{
  test_sshd_stop(&srv.d);
  if (srv.dir[0] != '\0') {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", srv.dir);
    sh(cmd);
    srv.dir[0] = '\0';
  }
}

/* ---- driving a transport ---- */

struct run {
  uv_loop_t loop;
  struct transport *t;
  int open_error;
  char open_message[TRANSPORT_MESSAGE_MAX];
  bool opened, done, closed;
  struct transport_result result;
  char *out, *err; /* each line plus \n */
  size_t out_len, out_cap, err_len, err_cap;
  size_t lines, cut_lines;
  void (*on_first_line)(void);
  uint64_t progress_calls;
};

static void on_open(struct transport *t, int error, const char *message, void *data)
{
  (void)t;
  struct run *r = data;
  r->opened = true;
  r->open_error = error;
  snprintf(r->open_message, sizeof r->open_message, "%s", message);
}

static void on_line(struct transport *t, enum transport_stream s, const char *line, size_t len,
                    bool cut, void *data)
{
  (void)t;
  struct run *r = data;
  if (r->lines++ == 0 && r->on_first_line)
    r->on_first_line();
  r->cut_lines += cut;
  if (s == TRANSPORT_STDOUT)
    text_appendf(&r->out, &r->out_len, &r->out_cap, "%.*s\n", (int)len, line);
  else
    text_appendf(&r->err, &r->err_len, &r->err_cap, "%.*s\n", (int)len, line);
}

static void on_done(struct transport *t, const struct transport_result *res, void *data)
{
  (void)t;
  struct run *r = data;
  r->result = *res;
  r->done = true;
}

static void on_progress(struct transport *t, uint64_t sent, uint64_t total, void *data)
{
  (void)t;
  (void)sent;
  (void)total;
  ((struct run *)data)->progress_calls++;
}

static void on_closed(struct transport *t, void *data)
{
  (void)t;
  ((struct run *)data)->closed = true;
}

static struct transport_options ssh_options(void)
{
  struct transport_options o = {.name = "test-router",
                                .kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = (unsigned)srv.port,
                                .user = NULL,
                                .key_file = srv.key,
                                .known_hosts = srv.known_hosts};
  return o;
}

static void loop_until(struct run *r, bool *flag)
{
  while (!*flag && uv_run(&r->loop, UV_RUN_ONCE))
    ;
}

static void start(struct run *r, const struct transport_options *o)
{
  memset(r, 0, sizeof *r);
  uv_loop_init(&r->loop);
  cr_assert_eq(transport_new(&r->loop, o, &r->t), 0);
  cr_assert_eq(transport_open(r->t, on_open, r), 0);
  loop_until(r, &r->opened);
}

static void exec(struct run *r, const char *cmd, const char *input, unsigned timeout_ms)
{
  r->done = false;
  r->lines = 0;
  r->out_len = r->err_len = 0;
  if (r->out)
    r->out[0] = '\0';
  if (r->err)
    r->err[0] = '\0';
  cr_assert_eq(transport_exec(r->t, cmd, input, timeout_ms, on_line, on_done, r), 0);
  loop_until(r, &r->done);
}

static void finish(struct run *r)
{
  transport_close(r->t, on_closed, r);
  loop_until(r, &r->closed);
  uv_run(&r->loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&r->loop), 0, "every handle closed");
  free(r->out);
  free(r->err);
}

/* ---- tests ---- */

Test(transport, exec_returns_exact_bytes_of_interleaved_stdout_and_stderr, .timeout = 60,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  struct run r;
  struct transport_options o = ssh_options();
  start(&r, &o);
  cr_assert_eq(r.open_error, 0, "%s", r.open_message);
  int lines = scale(20000);
  char loop[200];
  snprintf(loop, sizeof loop,
           "i=0; while [ $i -lt %d ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done",
           lines);
  exec(&r, loop, NULL, 0);
  cr_assert_eq(r.result.error, 0, "%s", r.result.message);
  cr_expect_eq(r.result.exit_status, 0);
  char *want_out = NULL, *want_err = NULL;
  size_t ol = 0, oc = 0, el = 0, ec = 0;
  for (int i = 0; i < lines; i++) {
    text_appendf(&want_out, &ol, &oc, "out %d\n", i);
    text_appendf(&want_err, &el, &ec, "err %d\n", i);
  }
  cr_expect_eq(r.out_len, ol);
  cr_expect_eq(r.err_len, el);
  cr_expect(r.out && strcmp(r.out, want_out) == 0, "stdout differs");
  cr_expect(r.err && strcmp(r.err, want_err) == 0, "stderr differs");
  free(want_out);
  free(want_err);
  finish(&r);
}

Test(transport, exit_codes_signals_and_stdin_come_through, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  struct run r;
  struct transport_options o = ssh_options();
  start(&r, &o);
  cr_assert_eq(r.open_error, 0, "%s", r.open_message);
  exec(&r, "exit 3", NULL, 0);
  cr_expect_eq(r.result.error, 0);
  cr_expect_eq(r.result.exit_status, 3);
  exec(&r, "kill -TERM $$", NULL, 0);
  cr_expect(r.result.signaled, "ended by a signal");
  cr_expect_str_eq(r.result.signal_name, "TERM");
  exec(&r, "read answer; echo \"got:$answer\"", "yes\n", 0);
  cr_expect_str_eq(r.out, "got:yes\n");
  exec(&r, "printf 'no newline at the end'", NULL, 0);
  cr_expect_str_eq(r.out, "no newline at the end\n", "the last partial line is delivered");
  finish(&r);
}

Test(transport, an_unknown_host_key_is_refused_with_its_fingerprint, .timeout = 60,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  write_file(srv.known_hosts, "");
  struct run r;
  struct transport_options o = ssh_options();
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_HOSTKEY_UNKNOWN, "%s", r.open_message);
  cr_expect(strstr(r.open_message, "SHA256:") && strstr(r.open_message, "nothing was sent"), "%s",
            r.open_message);
  cr_expect_str_eq(transport_error_name(r.open_error), "hostkey-unknown");
  finish(&r);
}

Test(transport, a_changed_host_key_is_refused_loudly, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ssh-keygen -q -t ed25519 -N '' -f %s/other && (printf '[127.0.0.1]:%d '; cut -d' ' "
           "-f1,2 %s/other.pub) > %s",
           srv.dir, srv.port, srv.dir, srv.known_hosts);
  cr_assert_eq(sh(cmd), 0);
  struct run r;
  struct transport_options o = ssh_options();
  o.accept_new_host_keys = true; /* even then: a changed key is never accepted */
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_HOSTKEY_CHANGED, "%s", r.open_message);
  cr_expect(strstr(r.open_message, "CHANGED"), "%s", r.open_message);
  finish(&r);
}

Test(transport, accept_new_appends_the_key_and_a_plain_entry_does_not_match_another_port,
     .timeout = 60)
{
  sshd_start(NULL);
  char line[1200];
  snprintf(line, sizeof line, "127.0.0.1 %s\n", srv.host_pub);
  write_file(srv.known_hosts, line);
  struct run r;
  struct transport_options o = ssh_options();
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_HOSTKEY_UNKNOWN, "port %d is not 22: %s", srv.port,
               r.open_message);
  finish(&r);
  write_file(srv.known_hosts, "");
  o.accept_new_host_keys = true;
  start(&r, &o);
  cr_expect_eq(r.open_error, 0, "%s", r.open_message);
  finish(&r);
  char *kh = read_all(srv.known_hosts);
  snprintf(line, sizeof line, "[127.0.0.1]:%d ssh-ed25519 ", srv.port);
  cr_expect(strstr(kh, line), "appended: %s", kh);
  free(kh);
  o.accept_new_host_keys = false;
  start(&r, &o);
  cr_expect_eq(r.open_error, 0, "the appended key is known now: %s", r.open_message);
  finish(&r);
}

Test(transport, a_key_the_server_does_not_know_and_an_rsa_key_are_refused_clearly, .timeout = 60,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ssh-keygen -q -t ed25519 -N '' -f %s/stranger && ssh-keygen -q -t rsa -b 2048 -N '' -f "
           "%s/rsa",
           srv.dir, srv.dir);
  cr_assert_eq(sh(cmd), 0);
  struct run r;
  struct transport_options o = ssh_options();
  char stranger[600], rsa[600];
  snprintf(stranger, sizeof stranger, "%s/stranger", srv.dir);
  snprintf(rsa, sizeof rsa, "%s/rsa", srv.dir);
  o.key_file = stranger;
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_AUTH, "%s", r.open_message);
  cr_expect(strstr(r.open_message, "refused by the server"), "%s", r.open_message);
  finish(&r);
  o.key_file = rsa;
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_KEY, "%s", r.open_message);
  cr_expect(strstr(r.open_message, "RSA-SHA2"), "%s", r.open_message);
  finish(&r);
}

static void kill_sessions(void)
{
  signal_sessions(SIGKILL);
}

static void stop_sessions(void)
{
  signal_sessions(SIGSTOP);
}

Test(transport, a_server_killed_mid_command_is_a_dropped_session, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  struct run r;
  struct transport_options o = ssh_options();
  start(&r, &o);
  cr_assert_eq(r.open_error, 0, "%s", r.open_message);
  r.on_first_line = kill_sessions;
  exec(&r, "echo started; exec sleep 30", NULL, 0);
  cr_expect_eq(r.result.error, TRANSPORT_E_DROPPED, "%s (%s)", transport_error_name(r.result.error),
               r.result.message);
  r.on_first_line = NULL;
  exec(&r, "echo again", NULL, 0);
  cr_expect_eq(r.result.error, TRANSPORT_E_DROPPED, "a dead session fails later commands at once");
  finish(&r);
}

/* A session to the test sshd that calls the router silent after 2 s without a byte
 * (keepalives every second, two unanswered). */
static void start_with_short_silence(struct run *r)
{
  sshd_start(NULL);
  struct transport_options o = ssh_options();
  o.keepalive_s = 1;
  o.keepalive_count = 2;
  start(r, &o);
  cr_assert_eq(r->open_error, 0, "%s", r->open_message);
}

Test(transport, a_frozen_server_is_detected_as_a_silent_peer, .timeout = 60, .fini = sshd_stop)
{
  struct run r;
  start_with_short_silence(&r);
  r.on_first_line = stop_sessions;
  exec(&r, "echo started; exec sleep 30", NULL, 0);
  cr_expect_eq(r.result.error, TRANSPORT_E_DEAD_PEER, "%s (%s)",
               transport_error_name(r.result.error), r.result.message);
  finish(&r);
}

/* issu-fleet's own loop away for longer than the silence (a long step in a callback: a 10 MiB
 * answer parsed under valgrind took that long): it neither sent keepalives nor read meanwhile, so
 * the stall is not counted against the router, which answers again once asked. */
static void stall_the_loop(void)
{
  struct timespec ts = {3, 0}; /* the silence is 2 s */
  nanosleep(&ts, NULL);
}

Test(transport, a_stalled_loop_does_not_make_an_answering_router_silent, .timeout = 60,
     .fini = sshd_stop)
{
  struct run r;
  start_with_short_silence(&r);
  r.on_first_line = stall_the_loop;
  exec(&r, "echo started; sleep 4; echo still here", NULL, 0);
  cr_expect_eq(r.result.error, 0, "%s (%s)", transport_error_name(r.result.error),
               r.result.message);
  cr_expect_str_eq(r.out ? r.out : "", "started\nstill here\n");
  finish(&r);
}

Test(transport, a_refused_port_and_a_missing_known_hosts_setting_fail_to_open, .timeout = 30)
{
  int reserved;
  srv.port =
      test_sshd_reserved_port(&reserved); /* bound, not listening: refused, and ours meanwhile */
  snprintf(srv.known_hosts, sizeof srv.known_hosts, "/nonexistent/known_hosts");
  struct run r;
  struct transport_options o = ssh_options();
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_CONNECT, "%s", r.open_message);
  cr_expect(strstr(r.open_message, "Connection refused"), "%s", r.open_message);
  finish(&r);
  o.known_hosts = NULL;
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_CONNECT, "%s", r.open_message);
  finish(&r);
  close(reserved);
}

struct many {
  int opened, done, ok;
  char first_failure[TRANSPORT_MESSAGE_MAX];
};

static void many_done(struct transport *t, const struct transport_result *res, void *data)
{
  (void)t;
  struct many *m = data;
  m->done++;
  m->ok += res->error == 0 && res->exit_status == 0;
  if (res->error != 0 && m->first_failure[0] == '\0')
    snprintf(m->first_failure, sizeof m->first_failure, "%s", res->message);
}

static void many_open(struct transport *t, int error, const char *message, void *data)
{
  (void)message;
  struct many *m = data;
  m->opened++;
  if (error != 0) {
    if (m->first_failure[0] == '\0')
      snprintf(m->first_failure, sizeof m->first_failure, "open: %s", message);
    m->done++;
    return;
  }
  char cmd[64];
  snprintf(cmd, sizeof cmd, "echo %s", transport_name(t));
  transport_exec(t, cmd, NULL, 0, NULL, many_done, m);
}

Test(transport, many_sessions_run_at_once_on_one_loop, .timeout = 120, .fini = sshd_stop)
{
  sshd_start(NULL);
  const int N = scale(200);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct transport_limiter limiter = {.max_handshakes = 20};
  struct transport *ts[200];
  struct many m = {0};
  for (int i = 0; i < N; i++) {
    struct transport_options o = ssh_options();
    char name[32];
    snprintf(name, sizeof name, "r%03d", i);
    o.name = name;
    o.limiter = &limiter;
    transport_new(&loop, &o, &ts[i]);
    transport_open(ts[i], many_open, &m);
  }
  while (m.done < N && uv_run(&loop, UV_RUN_ONCE))
    ;
  cr_expect_eq(m.opened, N);
  cr_expect_eq(m.ok, N, "every session ran its command (%d did); first failure: %s", m.ok,
               m.first_failure);
  cr_expect_eq(limiter.active, 0u, "every handshake slot was given back");
  for (int i = 0; i < N; i++)
    transport_close(ts[i], NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&loop), 0);
  sshd_stop();
}

Test(transport, an_scp_upload_arrives_byte_for_byte, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  char cmd[4096], src[600], dst[600];
  snprintf(src, sizeof src, "%s/image.tgz", srv.dir);
  snprintf(dst, sizeof dst, "%s/uploaded.tgz", srv.dir);
  snprintf(cmd, sizeof cmd, "head -c %d /dev/urandom > %s", scale(5000000), src);
  cr_assert_eq(sh(cmd), 0);
  struct run r;
  struct transport_options o = ssh_options();
  start(&r, &o);
  cr_assert_eq(r.open_error, 0, "%s", r.open_message);
  r.done = false;
  cr_assert_eq(transport_upload(r.t, src, dst, 0, on_progress, on_done, &r), 0);
  loop_until(&r, &r.done);
  cr_expect_eq(r.result.error, 0, "%s", r.result.message);
  cr_expect_geq(r.progress_calls, 1, "progress was reported");
  snprintf(cmd, sizeof cmd, "cmp -s %s %s", src, dst);
  cr_expect_eq(sh(cmd), 0, "the copy is identical");
  /* The session is still usable afterwards. */
  exec(&r, "echo after", NULL, 0);
  cr_expect_str_eq(r.out, "after\n");
  r.done = false;
  cr_assert_eq(transport_upload(r.t, "/nonexistent/file", dst, 0, NULL, on_done, &r), 0);
  loop_until(&r, &r.done);
  cr_expect_eq(r.result.error, TRANSPORT_E_FILE, "%s", r.result.message);
  finish(&r);
}

/* The local transport spawns on the threadpool while the loop goes on opening files (an upload's
 * package, a key at a connect): a command started meanwhile must not inherit them. Here a local
 * command lists its descriptors while an scp upload on the same loop holds its file open. The
 * upload's target is a FIFO that nothing reads yet, so the server's scp waits to open it and the
 * upload is surely under way (its package open) however fast or slow the machine; a reader is
 * started once the command has listed its descriptors. */
Test(transport, a_local_command_inherits_no_file_the_loop_has_open, .timeout = 120,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  char cmd[4096], src[600], dst[600];
  snprintf(src, sizeof src, "%s/image.tgz", srv.dir);
  snprintf(dst, sizeof dst, "%s/uploaded.fifo", srv.dir);
  snprintf(cmd, sizeof cmd, "head -c %d /dev/zero > %s && mkfifo %s", scale(4000000), src, dst);
  cr_assert_eq(sh(cmd), 0);
  struct run r, lr;
  struct transport_options o = ssh_options();
  start(&r, &o);
  cr_assert_eq(r.open_error, 0, "%s", r.open_message);
  memset(&lr, 0, sizeof lr);
  struct transport_options lo = {.name = "mx-script",
                                 .kind = TRANSPORT_LOCAL,
                                 .local_command = "sh -c \"$SSH_ORIGINAL_COMMAND\""};
  cr_assert_eq(transport_new(&r.loop, &lo, &lr.t), 0);
  cr_assert_eq(transport_open(lr.t, on_open, &lr), 0);
  while (!lr.opened && uv_run(&r.loop, UV_RUN_ONCE))
    ;
  r.done = false;
  cr_assert_eq(transport_upload(r.t, src, dst, 0, on_progress, on_done, &r), 0);
  cr_assert_eq(transport_exec(lr.t, "ls -l /proc/$$/fd", NULL, 0, on_line, on_done, &lr), 0);
  while (!lr.done && uv_run(&r.loop, UV_RUN_ONCE))
    ;
  cr_expect_not(r.done, "the upload waits for its FIFO's reader: %s", r.result.message);
  cr_expect_eq(lr.result.error, 0, "%s", lr.result.message);
  cr_expect(lr.out && strstr(lr.out, "/dev/null"), "the listing is there:\n%s",
            lr.out ? lr.out : "");
  cr_expect_not(lr.out && strstr(lr.out, "image.tgz"), "the package is not inherited:\n%s",
                lr.out ? lr.out : "");
  snprintf(cmd, sizeof cmd, "cat %s > /dev/null &", dst);
  cr_assert_eq(sh(cmd), 0);
  loop_until(&r, &r.done);
  cr_expect_eq(r.result.error, 0, "%s", r.result.message);
  transport_close(lr.t, on_closed, &lr);
  while (!lr.closed && uv_run(&r.loop, UV_RUN_ONCE))
    ;
  free(lr.out);
  free(lr.err);
  finish(&r);
}

Test(transport, long_lines_are_cut_and_output_is_bounded, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  struct run r;
  struct transport_options o = ssh_options();
  o.max_line = 100;
  o.max_output = 10000;
  start(&r, &o);
  cr_assert_eq(r.open_error, 0, "%s", r.open_message);
  exec(&r, "head -c 250 /dev/zero | tr '\\0' x; echo; echo short", NULL, 0);
  cr_expect_eq(r.cut_lines, 1);
  cr_expect(strstr(r.out, "\nshort\n") != NULL, "the next line is whole: %s", r.out);
  exec(&r, "seq 1 100000", NULL, 0);
  cr_expect(r.result.truncated);
  /* 10000 bytes delivered, plus the newline this test adds to the cut-off last line. */
  cr_expect_leq(r.out_len, 10001, "delivered %zu bytes", r.out_len);
  cr_expect_gt(r.result.bytes, 500000, "every byte was counted");
  finish(&r);
}

static struct transport_options local_options(const char *state)
{
  static char cmd[700];
  snprintf(cmd, sizeof cmd, "%s device --state %s", JUNOS_SIM_BINARY, state);
  struct transport_options o = {.name = "mx-local", .kind = TRANSPORT_LOCAL, .local_command = cmd};
  return o;
}

/* A local transport whose commands are shell scripts: the command is the script. */
static void start_script(struct run *r)
{
  struct transport_options o = {.name = "mx-script",
                                .kind = TRANSPORT_LOCAL,
                                .local_command = "sh -c \"$SSH_ORIGINAL_COMMAND\""};
  start(r, &o);
  cr_assert_eq(r->open_error, 0, "%s", r->open_message);
}

Test(transport, the_local_transport_runs_junos_sim_like_sshd_would, .timeout = 60)
{
  char dir[] = "/tmp/issu-local-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char cmd[4096], state[600];
  /* Time scale 1: the reboot below lasts 6 real minutes, so the ISSU is refused however slowly
   * this test runs (under valgrind, say). */
  snprintf(cmd, sizeof cmd, "%s lab init %s/lab --devices 1 --time-scale 1 >/dev/null",
           JUNOS_SIM_BINARY, dir);
  cr_assert_eq(sh(cmd), 0);
  snprintf(state, sizeof state, "%s/lab/routers/mx-ams-1.json", dir);
  struct run r;
  struct transport_options o = local_options(state);
  start(&r, &o);
  cr_assert_eq(r.open_error, 0, "%s", r.open_message);
  exec(&r, "show version | match Junos:", NULL, 0);
  cr_expect_eq(r.result.exit_status, 0);
  cr_expect(strstr(r.out, "Junos: 21.4R3-S5.4"), "%s", r.out);
  exec(&r, "show nonsense", NULL, 0);
  cr_expect_eq(r.result.exit_status, 1);
  exec(&r, "request system reboot other-routing-engine", "yes\n", 0);
  cr_expect(strstr(r.out, "Rebooting re1"), "the prompt was answered from stdin: %s", r.out);
  exec(
      &r,
      "request system software in-service-upgrade /var/tmp/junos-install-mx-x86-64-23.4R2-S3.7.tgz",
      NULL, 0);
  cr_expect(strstr(r.out, "Could not connect to re1") && r.result.exit_status == 1,
            "refused while re1 reboots: %s", r.out);
  finish(&r);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
}

Test(transport, a_local_session_that_ends_by_a_signal_is_a_dropped_session_and_timeouts_stop_it,
     .timeout = 60)
{
  struct run r;
  start_script(&r);
  exec(&r, "echo before; kill -KILL $$", NULL, 0);
  cr_expect_eq(r.result.error, TRANSPORT_E_DROPPED, "%s", r.result.message);
  cr_expect_str_eq(r.out, "before\n");
  exec(&r, "sleep 30", NULL, 200);
  cr_expect_eq(r.result.error, TRANSPORT_E_TIMEOUT, "%s", r.result.message);
  exec(&r, "exit 4", NULL, 0);
  cr_expect_eq(r.result.error, 0, "a local transport carries on after a dropped command");
  cr_expect_eq(r.result.exit_status, 4);
  finish(&r);
}

/* The local transport spawns on the threadpool: a command ended before its spawn is back (a
 * close in the same tick, a timeout shorter than the spawn) is killed as soon as it exists and
 * reaped; were it not, these loops would wait the 100 s of its sleep and the test time out. */
Test(transport, a_local_command_ended_while_it_is_spawned_is_killed_and_reaped, .timeout = 30)
{
  struct run r;
  start_script(&r);
  exec(&r, "sleep 100", "some input\n", 1);
  cr_expect_eq(r.result.error, TRANSPORT_E_TIMEOUT, "%s", r.result.message);
  cr_assert_eq(transport_exec(r.t, "sleep 100", NULL, 0, on_line, on_done, &r), 0);
  transport_close(r.t, on_closed, &r); /* the spawn is still on the threadpool */
  loop_until(&r, &r.closed);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&r.loop), 0, "every handle closed, the child reaped");
  free(r.out);
  free(r.err);
}

/* A command whose first process has exited but left a child of its own holding the output pipes
 * (`sleep 100 &`): its stop kills the rest of its process group, not only a pid already reaped;
 * were it not, the timeout would wait the 100 s of the sleep and the test time out. */
Test(transport, a_local_command_stopped_after_its_shell_exited_kills_what_it_left_running,
     .timeout = 30)
{
  struct run r;
  struct transport_options o = {.name = "mx-script",
                                .kind = TRANSPORT_LOCAL,
                                .local_command = "sh -c \"$SSH_ORIGINAL_COMMAND\""};
  start(&r, &o);
  cr_assert_eq(r.open_error, 0, "%s", r.open_message);
  /* (No count of its lines: under valgrind the shell may not have printed within the time.) */
  exec(&r, "sleep 100 & echo left", NULL, 2000);
  cr_expect_eq(r.result.error, TRANSPORT_E_TIMEOUT, "%s", r.result.message);
  finish(&r);
}

/* A child that cannot be started (no descriptor left for its pipes, on the threadpool) fails the
 * transport with the reason, once, and leaves nothing behind. */
Test(transport, a_local_command_that_cannot_be_started_fails_the_transport_with_the_reason,
     .timeout = 30)
{
  struct run r;
  start_script(&r);
  exec(&r, "true", NULL, 0); /* /dev/null and the threadpool are there before the limit */
  struct rlimit old;
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
  int lowest = dup(0);
  cr_assert_geq(lowest, 0);
  close(lowest);
  struct rlimit low = {.rlim_cur = (rlim_t)lowest + 1, .rlim_max = old.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &low) != 0) /* valgrind keeps the limit for itself */
    cr_skip_test("the descriptor limit cannot be lowered here");
  r.done = false;
  cr_assert_eq(transport_exec(r.t, "echo never", NULL, 0, on_line, on_done, &r), 0);
  loop_until(&r, &r.done);
  setrlimit(RLIMIT_NOFILE, &old);
  cr_expect_eq(r.result.error, TRANSPORT_E_SPAWN, "%s", r.result.message);
  cr_expect(strstr(r.result.message, "cannot start /bin/sh: Too many open files"), "%s",
            r.result.message);
  cr_expect_eq(r.lines, 0);
  finish(&r);
}

Test(transport, backoff_doubles_up_to_its_bound_with_bounded_jitter)
{
  cr_expect_eq(transport_backoff_ms(0, 1000, 60000, 0), 1000);
  unsigned prev = 0;
  for (unsigned a = 0; a < 10; a++) {
    unsigned d = transport_backoff_ms(a, 1000, 60000, 7);
    cr_expect_leq(d, 60000u);
    cr_expect_geq(d, a < 6 ? (1000u << a) * 3 / 4 : 45000u);
    cr_expect_geq(d + 1, prev / 2, "never collapses");
    prev = d;
  }
  cr_expect_str_eq(transport_error_name(TRANSPORT_E_DROPPED), "session-dropped");
}

Test(transport, ssh_agent_identities_are_used, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  char sock[600], cmd[4096];
  snprintf(sock, sizeof sock, "%s/agent.sock", srv.dir);
  snprintf(cmd, sizeof cmd, "ssh-agent -s -a %s > %s/agent.env && SSH_AUTH_SOCK=%s ssh-add -q %s",
           sock, srv.dir, sock, srv.key);
  cr_assert_eq(sh(cmd), 0);
  setenv("SSH_AUTH_SOCK", sock, 1);
  struct run r;
  struct transport_options o = ssh_options();
  o.key_file = NULL;
  o.use_agent = true;
  start(&r, &o);
  cr_expect_eq(r.open_error, 0, "%s", r.open_message);
  exec(&r, "echo via-agent", NULL, 0);
  cr_expect_str_eq(r.out, "via-agent\n");
  finish(&r);
  snprintf(cmd, sizeof cmd, ". %s/agent.env >/dev/null && ssh-agent -k >/dev/null", srv.dir);
  cr_expect_eq(sh(cmd), 0, "the test's agent is stopped");
  unsetenv("SSH_AUTH_SOCK");
  sshd_stop();
}

/* A throwaway account with a random password, for this test run only (root only). */
static bool make_user(char *user, size_t ulen, char *password, size_t plen)
{
  if (geteuid() != 0 || access("/usr/sbin/useradd", X_OK) != 0)
    return false;
  snprintf(user, ulen, "issutest%ld", (long)getpid() % 100000);
  FILE *r = fopen("/dev/urandom", "r");
  unsigned char raw[12];
  if (r == NULL || fread(raw, 1, sizeof raw, r) != sizeof raw) {
    if (r)
      fclose(r);
    return false;
  }
  fclose(r);
  transport__test_base64(raw, sizeof raw, password, plen);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "useradd -M -s /bin/sh %s && echo '%s:%s' | chpasswd", user, user,
           password);
  return sh(cmd) == 0;
}

static char test_user[32];

static void remove_user(const char *user)
{
  char cmd[256];
  snprintf(cmd, sizeof cmd, "userdel %s 2>/dev/null", user);
  sh(cmd);
}

/* After the password test, even a failed one: no sshd and no account left behind. */
static void password_fini(void)
{
  sshd_stop();
  if (test_user[0])
    remove_user(test_user);
}

Test(transport, password_and_keyboard_interactive_logins_work_and_the_password_stays_secret,
     .timeout = 60, .fini = password_fini)
{
  char user[32], password[64];
  if (!make_user(user, sizeof user, password, sizeof password))
    cr_skip_test("needs root and useradd to create a throwaway account");
  snprintf(test_user, sizeof test_user, "%s", user);
  setenv("ISSU_TEST_PASSWORD", password, 1);
  struct transport_options o;
  struct run r;
  sshd_start("PasswordAuthentication yes\n");
  o = ssh_options();
  o.user = user;
  o.key_file = NULL;
  o.password_env = "ISSU_TEST_PASSWORD";
  start(&r, &o);
  cr_expect_eq(r.open_error, 0, "password: %s", r.open_message);
  exec(&r, "id -un", NULL, 0);
  cr_expect(r.out && strncmp(r.out, user, strlen(user)) == 0, "%s", r.out ? r.out : "");
  finish(&r);
  setenv("ISSU_TEST_PASSWORD", "wrong-password", 1);
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_AUTH, "%s", r.open_message);
  cr_expect(strstr(r.open_message, "$ISSU_TEST_PASSWORD was refused"), "%s", r.open_message);
  cr_expect(strstr(r.open_message, "wrong-password") == NULL, "the password is never shown");
  finish(&r);
  sshd_stop();
  /* keyboard-interactive: OpenSSH offers it through PAM. */
  setenv("ISSU_TEST_PASSWORD", password, 1);
  sshd_start("UsePAM yes\nKbdInteractiveAuthentication yes\n");
  o = ssh_options();
  o.user = user;
  o.key_file = NULL;
  o.password_env = "ISSU_TEST_PASSWORD";
  start(&r, &o);
  cr_expect_eq(r.open_error, 0, "keyboard-interactive: %s", r.open_message);
  finish(&r);
  sshd_stop();
  remove_user(user);
}

Test(transport, ecdsa_keys_and_hashed_known_hosts_entries_work, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  char cmd[4096], key[600];
  snprintf(key, sizeof key, "%s/ecdsa", srv.dir);
  snprintf(cmd, sizeof cmd,
           "ssh-keygen -q -t ecdsa -b 256 -N '' -f %s && cat %s.pub >> %s/authorized_keys && "
           "ssh-keygen -q -H -f %s 2>/dev/null && rm -f %s.old",
           key, key, srv.dir, srv.known_hosts, srv.known_hosts);
  cr_assert_eq(sh(cmd), 0);
  char *kh = read_all(srv.known_hosts);
  cr_assert(strncmp(kh, "|1|", 3) == 0, "known_hosts is hashed: %s", kh);
  free(kh);
  struct run r;
  struct transport_options o = ssh_options();
  o.key_file = key;
  start(&r, &o);
  cr_expect_eq(r.open_error, 0, "%s", r.open_message);
  exec(&r, "echo ecdsa", NULL, 0);
  cr_expect_str_eq(r.out, "ecdsa\n");
  finish(&r);
}

/* ---- i16-keys: ssh_config's lists (every IdentityFile, every UserKnownHostsFile) ---- */

/* The options' lists are copied: the caller's strings are scribbled over before the open. */
static void start_scribbled(struct run *r, const struct transport_options *o, char (*paths)[600],
                            size_t n)
{
  memset(r, 0, sizeof *r);
  uv_loop_init(&r->loop);
  cr_assert_eq(transport_new(&r->loop, o, &r->t), 0);
  for (size_t i = 0; i < n; i++)
    memset(paths[i], 'x', 20);
  cr_assert_eq(transport_open(r->t, on_open, r), 0);
  loop_until(r, &r->opened);
}

Test(transport, each_identity_file_is_tried_in_turn_and_a_refusal_names_every_key, .timeout = 60,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ssh-keygen -q -t ed25519 -N '' -f %s/stranger && ssh-keygen -q -t ed25519 -N secret "
           "-f %s/locked",
           srv.dir, srv.dir);
  cr_assert_eq(sh(cmd), 0);
  char paths[4][600];
  snprintf(paths[0], sizeof paths[0], "%s/missing", srv.dir);
  snprintf(paths[1], sizeof paths[1], "%s/stranger", srv.dir);
  snprintf(paths[2], sizeof paths[2], "%s/locked", srv.dir);
  snprintf(paths[3], sizeof paths[3], "%s", srv.key);
  const char *list[4] = {paths[0], paths[1], paths[2], paths[3]};
  struct transport_options o = ssh_options();
  o.key_file = paths[1]; /* ignored: the list decides */
  o.key_files = list;
  o.key_file_count = 4;
  struct run r;
  start_scribbled(&r, &o, paths, 0);
  cr_expect_eq(r.open_error, 0, "the authorized key is the fourth: %s", r.open_message);
  exec(&r, "echo hi", NULL, 10000);
  cr_expect_eq(r.result.error, 0, "%s", r.result.message);
  finish(&r);
  /* Without the authorized key: refused, naming each key tried and the locked one skipped. */
  char names[3][600];
  for (int i = 0; i < 3; i++)
    memcpy(names[i], paths[i], sizeof names[i]);
  o.key_file_count = 3;
  start_scribbled(&r, &o, paths, 4);
  cr_expect_eq(r.open_error, TRANSPORT_E_AUTH, "%s", r.open_message);
  char want[1400];
  snprintf(want, sizeof want, "key %s: refused by the server", names[1]);
  cr_expect(strstr(r.open_message, want), "%s", r.open_message);
  snprintf(want, sizeof want, "key %s: unreadable, protected by a passphrase", names[2]);
  cr_expect(strstr(r.open_message, want), "%s", r.open_message);
  cr_expect_null(strstr(r.open_message, names[0]), "a missing file is skipped: %s", r.open_message);
  finish(&r);
}

Test(transport, every_known_hosts_file_is_read_and_new_keys_go_to_the_first, .timeout = 60,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  char first[600], second[600], line[1200];
  snprintf(first, sizeof first, "%s/kh1", srv.dir);
  snprintf(second, sizeof second, "%s/kh2", srv.dir);
  char copies[2][600]; /* the list the options name: scribbled over once copied */
  memcpy(copies[0], first, sizeof copies[0]);
  memcpy(copies[1], second, sizeof copies[1]);
  const char *list[2] = {copies[0], copies[1]};
  struct transport_options o = ssh_options();
  o.known_hosts = first;
  o.known_hosts_files = list;
  o.known_hosts_file_count = 2;
  /* The key in the second file only: known. */
  write_file(first, "# nothing here\n");
  snprintf(line, sizeof line, "# comment\n[127.0.0.1]:%d %s\n", srv.port, srv.host_pub);
  write_file(second, line);
  struct run r;
  start_scribbled(&r, &o, copies, 2);
  cr_expect_eq(r.open_error, 0, "the key is in the second file: %s", r.open_message);
  finish(&r);
  memcpy(copies[0], first, sizeof copies[0]);
  memcpy(copies[1], second, sizeof copies[1]);
  /* Another key of the type in the second file: refused, naming that file and line. */
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ssh-keygen -q -t ed25519 -N '' -f %s/other && (echo '# comment'; printf "
           "'[127.0.0.1]:%d '; cut -d' ' -f1,2 %s/other.pub) > %s",
           srv.dir, srv.port, srv.dir, second);
  cr_assert_eq(sh(cmd), 0);
  o.accept_new_host_keys = true;
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_HOSTKEY_CHANGED, "%s", r.open_message);
  char want[1400];
  snprintf(want, sizeof want, "%s holds", second);
  cr_expect(strstr(r.open_message, want) && strstr(r.open_message, "(line 2)"), "%s",
            r.open_message);
  finish(&r);
  /* Unknown in both: accept-new writes to the first file, and then it is known. */
  write_file(second, "");
  start(&r, &o);
  cr_expect_eq(r.open_error, 0, "%s", r.open_message);
  finish(&r);
  char *kh1 = read_all(first), *kh2 = read_all(second);
  snprintf(line, sizeof line, "[127.0.0.1]:%d ssh-ed25519 ", srv.port);
  cr_expect(strstr(kh1, line), "appended to the first: %s", kh1);
  cr_expect_str_eq(kh2, "");
  free(kh1);
  free(kh2);
  /* Unknown, no accept-new: the refusal names both files. */
  write_file(first, "");
  o.accept_new_host_keys = false;
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_HOSTKEY_UNKNOWN, "%s", r.open_message);
  snprintf(want, sizeof want, "any of %s, %s", first, second);
  cr_expect(strstr(r.open_message, want), "%s", r.open_message);
  finish(&r);
  /* ssh_config asked for accept-new without the flag: still refused, and the setting named. */
  o.strict_host_key_checking = "accept-new";
  start(&r, &o);
  cr_expect_eq(r.open_error, TRANSPORT_E_HOSTKEY_UNKNOWN, "%s", r.open_message);
  cr_expect(strstr(r.open_message, "StrictHostKeyChecking accept-new does not accept new keys"),
            "%s", r.open_message);
  finish(&r);
}
