/*
 * ProxyJump in-process (transport/jump.c) against real OpenSSH sshds on 127.0.0.1: a bastion with
 * AllowTcpForwarding yes in front of a "router" sshd, two hops, a bastion that refuses to forward,
 * a hop whose host key is unknown (nothing is sent past it), HostKeyAlias on a hop, many routers
 * sharing one pool (sessions opened = ceil(n / max_channels)), a router's session dropped behind
 * the bastion (the bastion's session stays up), and a bastion that drops (the routers behind it
 * see their sessions dropped, and the next router gets a new bastion session).
 */
#include "transport/transport.h"
#include "common/common.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
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

/* ---- sshds ---- */

#include "sshd.h"

#define MAX_SSHD 4

static char dir[256];
static struct test_sshd sshds[MAX_SSHD];
static char host_pub[MAX_SSHD][1024]; /* "ssh-ed25519 AAAA..." */
static char key[512], known_hosts[512];

static int sh(const char *cmd)
{
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *text, const char *mode)
{
  FILE *f = fopen(path, mode);
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

static void lab_init(void)
{
  snprintf(dir, sizeof dir, "/tmp/issu-jump-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "ssh-keygen -q -t ed25519 -N '' -f %s/id && cp %s/id.pub %s/authorized_keys", dir, dir,
           dir);
  cr_assert_eq(sh(cmd), 0);
  snprintf(key, sizeof key, "%s/id", dir);
  snprintf(known_hosts, sizeof known_hosts, "%s/known_hosts", dir);
  write_file(known_hosts, "", "w");
}

/* Starts sshd `i` (its own host key, the test's client key) with `extra` sshd_config lines; its
 * host key is recorded in known_hosts when `record` is set. LogLevel VERBOSE: the tests read
 * "Connection from" and "Accepted publickey" in the logs. */
static void sshd_up(int i, const char *extra, bool record)
{
  char cmd[1024], lines[2048], name[16];
  snprintf(cmd, sizeof cmd, "ssh-keygen -q -t ed25519 -N '' -f %s/host%d", dir, i);
  cr_assert_eq(sh(cmd), 0);
  snprintf(lines, sizeof lines,
           "%sHostKey %s/host%d\nAuthorizedKeysFile %s/authorized_keys\nMaxStartups 400\n"
           "LogLevel VERBOSE\n",
           extra ? extra : "", dir, i, dir);
  snprintf(name, sizeof name, "sshd%d", i);
  test_sshd_start(&sshds[i], dir, name, 0, lines);
  snprintf(cmd, sizeof cmd, "%s/host%d.pub", dir, i);
  char *pub = test_sshd_read(cmd);
  size_t type = strcspn(pub, " "), k = strcspn(pub + type + 1, " \n");
  snprintf(host_pub[i], sizeof host_pub[i], "%.*s", (int)(type + 1 + k), pub);
  free(pub);
  if (record) {
    char line[1200];
    snprintf(line, sizeof line, "[127.0.0.1]:%d %s\n", sshds[i].port, host_pub[i]);
    write_file(known_hosts, line, "a");
  }
}

/* How many processes run below sshd `i` (its sessions). */
static size_t sessions_of(int i)
{
  size_t n = 0;
  DIR *dp = opendir("/proc");
  struct dirent *e;
  while ((e = readdir(dp)) != NULL) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%.40s/stat", e->d_name);
    FILE *f = e->d_name[0] >= '1' && e->d_name[0] <= '9' ? fopen(path, "r") : NULL;
    if (!f)
      continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *paren = strrchr(buf, ')');
    int ppid = 0;
    if (paren && sscanf(paren + 2, "%*c %d", &ppid) == 1 && ppid == sshds[i].pid)
      n++;
  }
  closedir(dp);
  return n;
}

static void kill_sessions(int i)
{
  test_sshd_signal_sessions(&sshds[i], SIGKILL);
}

static bool log_has(int i, const char *needle)
{
  return test_sshd_log_has(&sshds[i], needle);
}

static void lab_fini(void)
{
  for (int i = 0; i < MAX_SSHD; i++)
    test_sshd_stop(&sshds[i]);
  if (dir[0]) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    sh(cmd);
    dir[0] = '\0';
  }
}

/* ---- driving transports ---- */

struct session {
  struct transport *t;
  bool opened, done, closed;
  int open_error;
  char open_message[TRANSPORT_MESSAGE_MAX];
  struct transport_result result;
  char out[4096], err[4096]; /* stdout; stderr (root's login shell may warn there) */
  size_t out_len, err_len;
};

static uv_loop_t loop;

static void on_open(struct transport *t, int error, const char *message, void *data)
{
  (void)t;
  struct session *s = data;
  s->opened = true;
  s->open_error = error;
  snprintf(s->open_message, sizeof s->open_message, "%s", message);
}

static void on_line(struct transport *t, enum transport_stream st, const char *line, size_t len,
                    bool cut, void *data)
{
  (void)t;
  (void)cut;
  struct session *s = data;
  char *buf = st == TRANSPORT_STDERR ? s->err : s->out;
  size_t *used = st == TRANSPORT_STDERR ? &s->err_len : &s->out_len;
  int n = snprintf(buf + *used, sizeof s->out - *used, "%.*s\n", (int)len, line);
  if (n > 0 && (size_t)n < sizeof s->out - *used)
    *used += (size_t)n;
}

static void on_done(struct transport *t, const struct transport_result *r, void *data)
{
  (void)t;
  struct session *s = data;
  s->result = *r;
  s->done = true;
}

static void on_closed(struct transport *t, void *data)
{
  (void)t;
  ((struct session *)data)->closed = true;
}

static void loop_until(bool *flag)
{
  while (!*flag && uv_run(&loop, UV_RUN_ONCE))
    ;
}

static struct transport_options router(int i, const struct transport_hop *jump, size_t n,
                                       struct transport_jump_pool *pool)
{
  struct transport_options o = {.name = "r1",
                                .kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = (unsigned)sshds[i].port,
                                .key_file = key,
                                .known_hosts = known_hosts,
                                .jump = jump,
                                .jump_count = n,
                                .jump_pool = pool,
                                .connect_timeout_ms = 60000};
  return o;
}

static struct transport_hop hop(int i)
{
  struct transport_hop h = {.host = "127.0.0.1", .port = (unsigned)sshds[i].port};
  return h;
}

static void open_session(struct session *s, const struct transport_options *o)
{
  memset(s, 0, sizeof *s);
  cr_assert_eq(transport_new(&loop, o, &s->t), 0);
  cr_assert_eq(transport_open(s->t, on_open, s), 0);
}

static void run_cmd(struct session *s, const char *cmd)
{
  s->done = false;
  s->out_len = s->err_len = 0;
  s->out[0] = s->err[0] = '\0';
  cr_assert_eq(transport_exec(s->t, cmd, NULL, 60000, on_line, on_done, s), 0);
}

static void close_session(struct session *s)
{
  transport_close(s->t, on_closed, s);
  loop_until(&s->closed);
}

static void finish(void)
{
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&loop), 0, "every handle closed");
}

/* ---- tests ----
 * Commands run through root's login shell, which may be slow to start on a loaded machine: the
 * bounds are generous, and no test measures time. */

Test(transport_jump, commands_and_an_upload_go_through_a_bastion, .timeout = 180, .init = lab_init,
     .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", true);
  sshd_up(1, NULL, true);
  uv_loop_init(&loop);
  struct transport_hop j = hop(0);
  struct transport_options o = router(1, &j, 1, NULL);
  struct session s;
  open_session(&s, &o);
  loop_until(&s.opened);
  cr_assert_eq(s.open_error, 0, "%s", s.open_message);
  run_cmd(&s, "echo out; echo err >&2; exit 3");
  loop_until(&s.done);
  cr_assert_eq(s.result.error, 0, "%s", s.result.message);
  cr_expect_eq(s.result.exit_status, 3);
  cr_expect(strstr(s.out, "out\n") && strstr(s.err, "err\n"), "%s / %s", s.out, s.err);
  /* 3 MiB: many channel windows, the tx buffer's bound several times over. */
  char src[600], dst[600], cmd[1400];
  snprintf(src, sizeof src, "%s/payload", dir);
  snprintf(dst, sizeof dst, "%s/uploaded", dir);
  snprintf(cmd, sizeof cmd, "head -c 3145728 /dev/urandom > %s", src);
  cr_assert_eq(sh(cmd), 0);
  s.done = false;
  cr_assert_eq(transport_upload(s.t, src, dst, 30000, NULL, on_done, &s), 0);
  loop_until(&s.done);
  cr_assert_eq(s.result.error, 0, "%s", s.result.message);
  snprintf(cmd, sizeof cmd, "cmp -s %s %s", src, dst);
  cr_expect_eq(sh(cmd), 0, "the upload arrived byte for byte");
  /* The router saw the bastion's address, not ours: the session went through it. */
  cr_expect(log_has(0, "Accepted publickey"), "the bastion authenticated us");
  close_session(&s);
  finish();
}

Test(transport_jump, two_hops_are_chained_and_shared, .timeout = 180, .init = lab_init,
     .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", true);
  sshd_up(1, "AllowTcpForwarding yes\n", true);
  sshd_up(2, NULL, true);
  uv_loop_init(&loop);
  struct transport_jump_pool *pool = transport_jump_pool_new(&loop, 10);
  struct transport_hop j[2] = {hop(0), hop(1)};
  j[1].user = "root"; /* the second hop names its user, the first takes the router's */
  struct transport_options o = router(2, j, 2, pool);
  struct session s[2];
  for (int i = 0; i < 2; i++)
    open_session(&s[i], &o);
  for (int i = 0; i < 2; i++) {
    loop_until(&s[i].opened);
    cr_assert_eq(s[i].open_error, 0, "%s", s[i].open_message);
    run_cmd(&s[i], "echo through-two");
    loop_until(&s[i].done);
    cr_assert_eq(s[i].result.error, 0, "%s", s[i].result.message);
    cr_expect_str_eq(s[i].out, "through-two\n");
  }
  cr_expect(log_has(0, "Accepted publickey") && log_has(1, "Accepted publickey"));
  cr_expect_eq(transport_jump_pool_sessions_opened(pool), 2, "one session to each hop, shared");
  for (int i = 0; i < 2; i++)
    close_session(&s[i]);
  transport_jump_pool_free(pool);
  finish();
}

Test(transport_jump, a_bastion_that_refuses_to_forward_is_named_with_the_target, .timeout = 180,
     .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding no\n", true);
  sshd_up(1, NULL, true);
  uv_loop_init(&loop);
  struct transport_hop j = hop(0);
  struct transport_options o = router(1, &j, 1, NULL);
  struct session s;
  open_session(&s, &o);
  loop_until(&s.opened);
  cr_assert_eq(s.open_error, TRANSPORT_E_JUMP_REFUSED, "%s: %s", transport_error_name(s.open_error),
               s.open_message);
  char hop_name[64], target[64];
  snprintf(hop_name, sizeof hop_name, "jump host 127.0.0.1:%d", sshds[0].port);
  snprintf(target, sizeof target, "127.0.0.1:%d", sshds[1].port);
  cr_expect(strstr(s.open_message, hop_name) && strstr(s.open_message, target) &&
                strstr(s.open_message, "prohibited"),
            "%s", s.open_message);
  cr_expect_str_eq(transport_error_name(TRANSPORT_E_JUMP_REFUSED), "jump-refused");
  close_session(&s);
  finish();
}

Test(transport_jump, an_unknown_hop_key_stops_everything_before_it_is_passed, .timeout = 180,
     .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", false); /* the bastion's key is not recorded */
  sshd_up(1, NULL, true);
  uv_loop_init(&loop);
  struct transport_hop j = hop(0);
  struct transport_options o = router(1, &j, 1, NULL);
  struct session s;
  open_session(&s, &o);
  loop_until(&s.opened);
  cr_assert_eq(s.open_error, TRANSPORT_E_HOSTKEY_UNKNOWN, "%s: %s",
               transport_error_name(s.open_error), s.open_message);
  char hop_name[64];
  snprintf(hop_name, sizeof hop_name, "jump host 127.0.0.1:%d", sshds[0].port);
  cr_expect(strstr(s.open_message, hop_name), "%s", s.open_message);
  close_session(&s);
  finish();
  cr_expect(!log_has(0, "Accepted"), "no credential was sent to the bastion");
  cr_expect(!log_has(1, "Connection from"), "nothing reached the router");
}

Test(transport_jump, a_hop_key_is_checked_under_its_host_key_alias, .timeout = 180,
     .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", false);
  sshd_up(1, NULL, true);
  char line[1200];
  snprintf(line, sizeof line, "bastion.example %s\n", host_pub[0]);
  write_file(known_hosts, line, "a");
  uv_loop_init(&loop);
  struct transport_hop j = hop(0);
  j.key_host = "bastion.example";
  j.key_port = 22;
  struct transport_options o = router(1, &j, 1, NULL);
  struct session s;
  open_session(&s, &o);
  loop_until(&s.opened);
  cr_assert_eq(s.open_error, 0, "%s", s.open_message);
  run_cmd(&s, "echo aliased");
  loop_until(&s.done);
  cr_expect_str_eq(s.out, "aliased\n");
  close_session(&s);
  /* The same hop without the alias is unknown under its address. */
  j.key_host = NULL;
  j.key_port = 0;
  o = router(1, &j, 1, NULL);
  open_session(&s, &o);
  loop_until(&s.opened);
  cr_expect_eq(s.open_error, TRANSPORT_E_HOSTKEY_UNKNOWN, "%s", s.open_message);
  close_session(&s);
  finish();
}

#define MANY 25

/* Under valgrind (ISSU_TEST_SMALL) libssh2's crypto is tens of times slower: fewer routers, the
 * same check (still more than one bastion session's worth). */
static int many(void)
{
  const char *small = getenv("ISSU_TEST_SMALL");
  return small && *small == '1' ? 12 : MANY;
}

Test(transport_jump, many_routers_share_bastion_sessions_up_to_the_channel_cap, .timeout = 240,
     .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", true);
  sshd_up(1, "MaxSessions 100\n", true);
  uv_loop_init(&loop);
  struct transport_jump_pool *pool = transport_jump_pool_new(&loop, 10);
  struct transport_hop j = hop(0);
  struct transport_options o = router(1, &j, 1, pool);
  static struct session s[MANY];
  int n = many();
  for (int i = 0; i < n; i++)
    open_session(&s[i], &o);
  for (int i = 0; i < n; i++) {
    loop_until(&s[i].opened);
    cr_assert_eq(s[i].open_error, 0, "%d: %s", i, s[i].open_message);
  }
  for (int i = 0; i < n; i++) {
    char cmd[64];
    snprintf(cmd, sizeof cmd, "echo router-%d", i);
    run_cmd(&s[i], cmd);
  }
  for (int i = 0; i < n; i++) {
    loop_until(&s[i].done);
    char want[64];
    snprintf(want, sizeof want, "router-%d\n", i);
    cr_expect_eq(s[i].result.error, 0, "%d: %s", i, s[i].result.message);
    cr_expect_str_eq(s[i].out, want, "%d: stdout %s, stderr %s", i, s[i].out, s[i].err);
  }
  cr_expect_eq(transport_jump_pool_sessions_opened(pool), (unsigned)(n + 9) / 10,
               "ceil(%d / 10) bastion sessions, %u opened", n,
               transport_jump_pool_sessions_opened(pool));
  for (int i = 0; i < n; i++)
    close_session(&s[i]);
  transport_jump_pool_free(pool);
  finish();
}

Test(transport_jump, a_router_dropped_behind_the_bastion_is_a_dropped_session_and_the_bastion_stays,
     .timeout = 180, .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", true);
  sshd_up(1, NULL, true);
  uv_loop_init(&loop);
  struct transport_jump_pool *pool = transport_jump_pool_new(&loop, 10);
  struct transport_hop j = hop(0);
  struct transport_options o = router(1, &j, 1, pool);
  struct session a, b;
  open_session(&a, &o);
  open_session(&b, &o);
  loop_until(&a.opened);
  loop_until(&b.opened);
  cr_assert_eq(a.open_error, 0, "%s", a.open_message);
  cr_assert_eq(b.open_error, 0, "%s", b.open_message);
  run_cmd(&a, "sleep 30");
  /* A switchover: the router's sshd sessions die under the command. */
  for (int i = 0; i < 50; i++) {
    uv_run(&loop, UV_RUN_NOWAIT);
    if (sessions_of(1) >= 2)
      break;
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
  }
  kill_sessions(1);
  loop_until(&a.done);
  cr_expect_eq(a.result.error, TRANSPORT_E_DROPPED, "%s: %s", transport_error_name(a.result.error),
               a.result.message);
  close_session(&a);
  /* The bastion's session is still up: a new router session goes through it. */
  struct session c;
  open_session(&c, &o);
  loop_until(&c.opened);
  cr_assert_eq(c.open_error, 0, "%s", c.open_message);
  run_cmd(&c, "echo again");
  loop_until(&c.done);
  cr_expect_str_eq(c.out, "again\n");
  cr_expect_eq(transport_jump_pool_sessions_opened(pool), 1);
  close_session(&b);
  close_session(&c);
  transport_jump_pool_free(pool);
  finish();
}

Test(transport_jump, a_bastion_that_drops_drops_the_routers_behind_it_and_is_reopened,
     .timeout = 180, .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", true);
  sshd_up(1, NULL, true);
  uv_loop_init(&loop);
  struct transport_jump_pool *pool = transport_jump_pool_new(&loop, 10);
  struct transport_hop j = hop(0);
  struct transport_options o = router(1, &j, 1, pool);
  struct session a;
  open_session(&a, &o);
  loop_until(&a.opened);
  cr_assert_eq(a.open_error, 0, "%s", a.open_message);
  run_cmd(&a, "sleep 30");
  for (int i = 0; i < 20; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  kill_sessions(0); /* the bastion's own session */
  loop_until(&a.done);
  cr_expect_eq(a.result.error, TRANSPORT_E_DROPPED, "%s: %s", transport_error_name(a.result.error),
               a.result.message);
  close_session(&a);
  struct session b;
  open_session(&b, &o);
  loop_until(&b.opened);
  cr_assert_eq(b.open_error, 0, "%s", b.open_message);
  run_cmd(&b, "echo reopened");
  loop_until(&b.done);
  cr_expect_str_eq(b.out, "reopened\n");
  cr_expect_eq(transport_jump_pool_sessions_opened(pool), 2);
  close_session(&b);
  transport_jump_pool_free(pool);
  finish();
}

Test(transport_jump, a_frozen_bastion_is_found_silent_and_replaced, .timeout = 120,
     .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", true);
  sshd_up(1, NULL, true);
  uv_loop_init(&loop);
  struct transport_jump_pool *pool = transport_jump_pool_new(&loop, 10);
  struct transport_hop j = hop(0);
  struct transport_options o = router(1, &j, 1, pool);
  o.keepalive_s = 1; /* silence of 2 s is a dead peer, the bastion's and the router's */
  o.keepalive_count = 2;
  struct session a;
  open_session(&a, &o);
  loop_until(&a.opened);
  cr_assert_eq(a.open_error, 0, "%s", a.open_message);
  run_cmd(&a, "sleep 30");
  for (int i = 0; i < 20; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  /* The bastion's session freezes: its kernel still acknowledges, so TCP notices nothing. */
  test_sshd_signal_sessions(&sshds[0], SIGSTOP);
  loop_until(&a.done);
  cr_expect(a.result.error == TRANSPORT_E_DEAD_PEER || a.result.error == TRANSPORT_E_DROPPED,
            "%s: %s", transport_error_name(a.result.error), a.result.message);
  close_session(&a);
  /* The next router is not handed the frozen session: a new one is opened. */
  struct session b;
  open_session(&b, &o);
  loop_until(&b.opened);
  cr_assert_eq(b.open_error, 0, "%s", b.open_message);
  run_cmd(&b, "echo after");
  loop_until(&b.done);
  cr_expect_str_eq(b.out, "after\n");
  cr_expect_eq(transport_jump_pool_sessions_opened(pool), 2);
  close_session(&b);
  transport_jump_pool_free(pool);
  test_sshd_signal_sessions(&sshds[0], SIGCONT);
  finish();
}

Test(transport_jump, a_host_key_scan_reaches_a_router_behind_a_bastion, .timeout = 120,
     .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", true);
  sshd_up(1, NULL, false); /* the router's key is what the scan is for */
  uv_loop_init(&loop);
  struct transport_hop j = hop(0);
  j.known_hosts = known_hosts; /* the bastion is checked; the router is only scanned */
  struct transport_options o = router(1, &j, 1, NULL);
  o.known_hosts = NULL;
  o.scan_host_key = true;
  struct session s;
  open_session(&s, &o);
  loop_until(&s.opened);
  cr_assert_eq(s.open_error, 0, "%s", s.open_message);
  const struct transport_host_key *k = transport_host_key(s.t);
  cr_assert_not_null(k);
  char want[1024];
  snprintf(want, sizeof want, "%s %s", k->type, k->base64);
  cr_expect_str_eq(want, host_pub[1], "the router's key, read through the bastion");
  cr_expect(!log_has(1, "Accepted"), "nothing was sent to the router");
  close_session(&s);
  finish();
}

/* i16-keys: a hop has its own settings (its own `ssh -G HOP`), and never inherits the router's
 * accept-new. */
Test(transport_jump, a_hop_has_its_own_accept_new_and_connect_timeout, .timeout = 180,
     .init = lab_init, .fini = lab_fini)
{
  sshd_up(0, "AllowTcpForwarding yes\n", false); /* the bastion's key is not recorded */
  sshd_up(1, NULL, true);
  uv_loop_init(&loop);
  struct transport_hop j = hop(0);
  j.own_settings = true;
  j.accept_new_host_keys = false;
  struct transport_options o = router(1, &j, 1, NULL);
  o.accept_new_host_keys = true; /* the router's: not the hop's */
  struct session s;
  open_session(&s, &o);
  loop_until(&s.opened);
  cr_expect_eq(s.open_error, TRANSPORT_E_HOSTKEY_UNKNOWN, "%s: %s",
               transport_error_name(s.open_error), s.open_message);
  close_session(&s);
  char *kh = test_sshd_read(known_hosts);
  char line[64];
  snprintf(line, sizeof line, "[127.0.0.1]:%d ", sshds[0].port);
  cr_expect_null(strstr(kh, line), "the bastion's key was not recorded: %s", kh);
  free(kh);
  /* The hop's own accept-new, the router's refusing: the bastion's key is recorded. */
  j.accept_new_host_keys = true;
  o.accept_new_host_keys = false;
  open_session(&s, &o);
  loop_until(&s.opened);
  cr_expect_eq(s.open_error, 0, "%s", s.open_message);
  close_session(&s);
  kh = test_sshd_read(known_hosts);
  cr_expect(strstr(kh, line), "the bastion's key was recorded: %s", kh);
  free(kh);
  /* A bastion that accepts TCP but never speaks: the hop's 1 s, not the router's 60 s. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(fd, 4), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  struct transport_hop mute = {.host = "127.0.0.1",
                               .port = ntohs(a.sin_port),
                               .own_settings = true,
                               .connect_timeout_ms = 1000};
  struct transport_options m = router(1, &mute, 1, NULL);
  open_session(&s, &m);
  loop_until(&s.opened);
  cr_expect_neq(s.open_error, 0, "%s", s.open_message);
  cr_expect(strstr(s.open_message, "within 1 s"), "the hop's own timeout: %s", s.open_message);
  close_session(&s);
  close(fd);
  finish();
}
