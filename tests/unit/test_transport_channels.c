/*
 * transport_set_channels: several execs at once on one transport, over a real OpenSSH sshd
 * (several channels of one session) and the local back end (several children). Overlap is
 * shown without a clock: the commands wait for each other through files (a barrier), so if
 * they ran one after another each would give up waiting and say "alone". Each command keeps its
 * own lines, limits, result and timeout; a channel the server refuses (MaxSessions) waits for
 * another; a close while several run ends each exactly once, and nothing leaks.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "transport/transport.h"
#include "common/common.h"
#include "sshd.h"

#include <criterion/criterion.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_OPS 8 /* commands one test queues at most */

static struct {
  char dir[256];
  struct test_sshd d;
  char known_hosts[512], key[512];
} srv;

static int sh(const char *cmd)
{
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An sshd with the test's `extra` sshd_config lines first (sshd takes a keyword's first value). */
static void sshd_start(const char *extra)
{
  snprintf(srv.dir, sizeof srv.dir, "/tmp/issu-chan-XXXXXX");
  cr_assert_not_null(mkdtemp(srv.dir));
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "ssh-keygen -q -t ed25519 -N '' -f %s/host && ssh-keygen -q -t ed25519 -N '' -f %s/id "
           "&& cp %s/id.pub %s/authorized_keys",
           srv.dir, srv.dir, srv.dir, srv.dir);
  cr_assert_eq(sh(cmd), 0);
  char lines[4096];
  snprintf(lines, sizeof lines,
           "%sHostKey %s/host\nAuthorizedKeysFile %s/authorized_keys\nMaxSessions 100\n"
           "LogLevel ERROR\n",
           extra ? extra : "", srv.dir, srv.dir);
  test_sshd_start(&srv.d, srv.dir, "sshd", 0, lines);
  char path[600];
  snprintf(path, sizeof path, "%s/host.pub", srv.dir);
  char *pub = test_sshd_read(path);
  size_t type = strcspn(pub, " "), key = strcspn(pub + type + 1, " \n");
  snprintf(srv.known_hosts, sizeof srv.known_hosts, "%s/known_hosts", srv.dir);
  snprintf(srv.key, sizeof srv.key, "%s/id", srv.dir);
  FILE *f = fopen(srv.known_hosts, "w");
  cr_assert_not_null(f);
  fprintf(f, "[127.0.0.1]:%d %.*s\n", srv.d.port, (int)(type + 1 + key), pub);
  fclose(f);
  free(pub);
}

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

/* ---- a full socket, on demand ---- */

/* send(2) as libssh2 calls it (this test's own, before libc's): once armed (1), the first send of
 * a large packet (a command's input: every other packet of these tests is small) and every send
 * after it find the socket full (EAGAIN) until released (0), so libssh2 keeps that packet half
 * sent, as a slow link does. */
static volatile int starve_sends;
static volatile unsigned long sends_made; /* sends that reached the socket */

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
  static ssize_t (*real)(int, const void *, size_t, int);
  if (real == NULL)
    real = (ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
  if (starve_sends == 1 && len >= 8192)
    starve_sends = 2;
  if (starve_sends == 2) {
    errno = EAGAIN;
    return -1;
  }
  sends_made++;
  return real(fd, buf, len, flags);
}

/* ---- driving several execs ---- */

struct op {
  struct run *r;
  int dones; /* exactly one expected */
  struct transport_result result;
  char *out;
  size_t out_len, out_cap, lines, cut_lines;
};

struct run {
  uv_loop_t loop;
  struct transport *t;
  bool opened, closed;
  int open_error;
  char open_message[TRANSPORT_MESSAGE_MAX];
  struct op ops[MAX_OPS];
  size_t done_count, lines_total;
  bool done_after_close; /* a callback came after the close callback */
};

static void on_open(struct transport *t, int error, const char *message, void *data)
{
  (void)t;
  struct run *r = data;
  r->opened = true;
  r->open_error = error;
  snprintf(r->open_message, sizeof r->open_message, "%s", message);
}

static void on_closed(struct transport *t, void *data)
{
  (void)t;
  ((struct run *)data)->closed = true;
}

static void on_line(struct transport *t, enum transport_stream s, const char *line, size_t len,
                    bool cut, void *data)
{
  (void)t;
  struct op *op = data;
  struct run *r = op->r;
  if (r->closed)
    r->done_after_close = true;
  /* The only stderr the commands here print is "err-N"; anything else there is the login
   * shell's start-up on this machine (root's .bashrc runs pyenv, whose rehash of parallel
   * sessions races: "pyenv: cannot rehash"), not the command's. */
  if (s == TRANSPORT_STDERR && strncmp(line, "err-", 4) != 0)
    return;
  op->lines++;
  op->cut_lines += cut;
  text_appendf(&op->out, &op->out_len, &op->out_cap, "%.*s\n", (int)len, line);
  r->lines_total++;
}

static void on_done(struct transport *t, const struct transport_result *res, void *data)
{
  (void)t;
  struct op *op = data;
  if (op->r->closed)
    op->r->done_after_close = true;
  op->result = *res;
  op->dones++;
  op->r->done_count++;
}

static void loop_until(struct run *r, const size_t *count, size_t want)
{
  while (*count < want && uv_run(&r->loop, UV_RUN_ONCE))
    ;
}

static void open_run(struct run *r, const struct transport_options *o, unsigned channels)
{
  memset(r, 0, sizeof *r);
  for (size_t i = 0; i < MAX_OPS; i++)
    r->ops[i].r = r;
  uv_loop_init(&r->loop);
  cr_assert_eq(transport_new(&r->loop, o, &r->t), 0);
  transport_set_channels(r->t, channels);
  cr_assert_eq(transport_open(r->t, on_open, r), 0);
  while (!r->opened && uv_run(&r->loop, UV_RUN_ONCE))
    ;
  cr_assert_eq(r->open_error, 0, "%s", r->open_message);
}

static void queue(struct run *r, size_t i, const char *cmd, unsigned timeout_ms)
{
  cr_assert_eq(transport_exec(r->t, cmd, NULL, timeout_ms, on_line, on_done, &r->ops[i]), 0);
}

static void close_run(struct run *r)
{
  if (!r->closed)
    transport_close(r->t, on_closed, r);
  while (!r->closed && uv_run(&r->loop, UV_RUN_ONCE))
    ;
  uv_run(&r->loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&r->loop), 0, "every handle closed");
  cr_expect_not(r->done_after_close, "no callback after the close callback");
  for (size_t i = 0; i < MAX_OPS; i++)
    free(r->ops[i].out);
}

static struct transport_options ssh_options(void)
{
  struct transport_options o = {.name = "mx-chan",
                                .kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = (unsigned)srv.d.port,
                                .key_file = srv.key,
                                .known_hosts = srv.known_hosts};
  return o;
}

static struct transport_options local_options(void)
{
  struct transport_options o = {.name = "mx-chan-local",
                                .kind = TRANSPORT_LOCAL,
                                .local_command = "sh -c \"$SSH_ORIGINAL_COMMAND\""};
  return o;
}

/* A command that marks itself started in `dir`, waits (at most ~20 s) for `want` commands to
 * have started, then says whether it met them, and prints `lines` numbered lines of its own. */
static void barrier_cmd(char *buf, size_t len, const char *dir, size_t i, int want, int lines)
{
  snprintf(buf, len,
           "sh -c 'touch %s/started.%zu; n=0; while [ $(ls %s | grep -c started) -lt %d ] && "
           "[ $n -lt 2000 ]; do sleep 0.01; n=$((n+1)); done; "
           "if [ $n -lt 2000 ]; then echo together-%zu; else echo alone-%zu; fi; "
           "echo err-%zu >&2; seq 1 %d | sed s/^/%zu-/; exit %zu'",
           dir, i, dir, want, i, i, i, lines, i, i);
}

static void fresh_dir(char *dir, size_t len)
{
  snprintf(dir, len, "/tmp/issu-barrier-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  sh(cmd);
}

/* Four commands meet at the barrier; each keeps its own lines, stderr and exit status. */
static void four_together(const struct transport_options *o)
{
  char dir[64], cmd[1024];
  fresh_dir(dir, sizeof dir);
  struct run r;
  open_run(&r, o, 4);
  cr_expect_eq(transport_channels(r.t), 4);
  for (size_t i = 0; i < 4; i++) {
    barrier_cmd(cmd, sizeof cmd, dir, i, 4, 300 * (int)(i + 1));
    queue(&r, i, cmd, 0);
  }
  loop_until(&r, &r.done_count, 4);
  for (size_t i = 0; i < 4; i++) {
    struct op *op = &r.ops[i];
    cr_expect_eq(op->dones, 1);
    cr_expect_eq(op->result.error, 0, "%zu: %s", i, op->result.message);
    cr_expect_eq(op->result.exit_status, (int)i, "each its own exit status");
    char want[64];
    snprintf(want, sizeof want, "together-%zu\n", i);
    cr_expect(op->out && strncmp(op->out, want, strlen(want)) == 0, "%zu met the others: %.40s", i,
              op->out ? op->out : "");
    snprintf(want, sizeof want, "err-%zu\n", i);
    cr_expect(strstr(op->out, want) != NULL, "its own stderr");
    cr_expect_eq(op->lines, 2 + 300 * (i + 1), "%zu: its own lines only (%zu)", i, op->lines);
    snprintf(want, sizeof want, "\n%zu-%zu\n", i, 300 * (i + 1));
    cr_expect(strstr(op->out, want) != NULL, "%zu: its last line", i);
  }
  close_run(&r);
  remove_dir(dir);
}

Test(transport_channels, four_execs_run_at_once_on_one_ssh_session, .timeout = 90,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  struct transport_options o = ssh_options();
  four_together(&o);
}

Test(transport_channels, four_execs_run_at_once_as_local_children, .timeout = 90)
{
  struct transport_options o = local_options();
  four_together(&o);
}

/* One channel (the default): queued execs run one after another, in order, never together. */
Test(transport_channels, with_one_channel_queued_execs_run_one_after_another, .timeout = 120,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  char dir[64], cmd[1024];
  fresh_dir(dir, sizeof dir);
  struct run r;
  struct transport_options o = ssh_options();
  open_run(&r, &o, 1);
  for (size_t i = 0; i < 2; i++) {
    /* Waits (2000 x 10 ms at most) for a second one that cannot have started. */
    barrier_cmd(cmd, sizeof cmd, dir, i, 2, 1);
    queue(&r, i, cmd, 0);
  }
  cr_expect_not(transport_can_exec_now(r.t), "one runs, one is queued");
  loop_until(&r, &r.done_count, 2);
  cr_expect(strncmp(r.ops[0].out, "alone-0\n", 8) == 0, "%s", r.ops[0].out);
  cr_expect(strncmp(r.ops[1].out, "together-1\n", 11) == 0, "the second after the first: %s",
            r.ops[1].out);
  cr_expect(transport_can_exec_now(r.t));
  close_run(&r);
  remove_dir(dir);
}

/* Each command its own bounds: one's long line is cut and its output truncated, the other's
 * lines beside it come whole. */
static void own_limits(struct transport_options *o)
{
  o->max_line = 100;
  o->max_output = 20000;
  struct run r;
  open_run(&r, o, 2);
  queue(&r, 0, "sh -c 'head -c 300 /dev/zero | tr \"\\\\0\" x; echo; seq 1 100000'", 0);
  queue(&r, 1, "sh -c 'seq 1 500'", 0);
  loop_until(&r, &r.done_count, 2);
  cr_expect_eq(r.ops[0].result.error, 0, "%s", r.ops[0].result.message);
  cr_expect(r.ops[0].result.truncated, "past max_output");
  cr_expect_eq(r.ops[0].cut_lines, 1);
  cr_expect_eq(r.ops[1].result.error, 0, "%s", r.ops[1].result.message);
  cr_expect_not(r.ops[1].result.truncated);
  cr_expect_eq(r.ops[1].cut_lines, 0);
  cr_expect_eq(r.ops[1].lines, 500);
  cr_expect(strstr(r.ops[1].out, "\n500\n") != NULL);
  close_run(&r);
}

Test(transport_channels, each_channel_has_its_own_line_and_output_limits, .timeout = 60,
     .fini = sshd_stop)
{
  sshd_start(NULL);
  struct transport_options o = ssh_options();
  own_limits(&o);
  struct transport_options l = local_options();
  own_limits(&l);
}

/* MaxSessions 2: the server refuses a third channel; that command waits for one to end, and
 * from then on the session runs at most as many as it had (never a failure). */
Test(transport_channels, a_refused_channel_waits_for_another_to_end, .timeout = 90,
     .fini = sshd_stop)
{
  sshd_start("MaxSessions 2\n");
  char dir[64], cmd[1024];
  fresh_dir(dir, sizeof dir);
  struct run r;
  struct transport_options o = ssh_options();
  open_run(&r, &o, 5);
  for (size_t i = 0; i < 5; i++) {
    barrier_cmd(cmd, sizeof cmd, dir, i, 2, 10);
    queue(&r, i, cmd, 0);
  }
  loop_until(&r, &r.done_count, 5);
  for (size_t i = 0; i < 5; i++) {
    cr_expect_eq(r.ops[i].dones, 1);
    cr_expect_eq(r.ops[i].result.error, 0, "%zu: %s", i, r.ops[i].result.message);
    cr_expect_eq(r.ops[i].result.exit_status, (int)i);
    cr_expect_eq(r.ops[i].lines, 12, "%zu: %s", i, r.ops[i].out);
  }
  cr_expect(strncmp(r.ops[0].out, "together-0", 10) == 0, "two ran at once: %s", r.ops[0].out);
  unsigned n = transport_channels(r.t);
  cr_expect(n >= 1 && n <= 2, "the refusal lowered the limit to what the server took (%u)", n);
  close_run(&r);
  remove_dir(dir);
}

/* A command past its limit ends alone: the others finish, and the session goes on. */
static void one_times_out(const struct transport_options *o)
{
  struct run r;
  open_run(&r, o, 3);
  queue(&r, 0, "sleep 5", 300);
  queue(&r, 1, "sh -c 'echo a; sleep 1; echo b'", 0);
  queue(&r, 2, "echo c", 0);
  loop_until(&r, &r.done_count, 3);
  cr_expect_eq(r.ops[0].result.error, TRANSPORT_E_TIMEOUT, "%s", r.ops[0].result.message);
  cr_expect_eq(r.ops[1].result.error, 0, "%s", r.ops[1].result.message);
  cr_expect_str_eq(r.ops[1].out, "a\nb\n");
  cr_expect_eq(r.ops[2].result.error, 0, "%s", r.ops[2].result.message);
  queue(&r, 3, "echo after", 0);
  loop_until(&r, &r.done_count, 4);
  cr_expect_eq(r.ops[3].result.error, 0, "the session goes on: %s", r.ops[3].result.message);
  cr_expect_str_eq(r.ops[3].out ? r.ops[3].out : "", "after\n");
  for (size_t i = 0; i < 4; i++)
    cr_expect_eq(r.ops[i].dones, 1);
  close_run(&r);
}

Test(transport_channels, a_timeout_ends_only_its_own_command, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  struct transport_options o = ssh_options();
  one_times_out(&o);
  struct transport_options l = local_options();
  one_times_out(&l);
}

/* Closed (between turns of the loop, as the scheduler closes) while four run: each ends once
 * (closed), nothing after the close callback, every handle and channel freed (ASan, valgrind). */
static void close_while_running(const struct transport_options *o)
{
  char dir[64], cmd[1024];
  fresh_dir(dir, sizeof dir);
  struct run r;
  open_run(&r, o, 4);
  for (size_t i = 0; i < 4; i++) {
    snprintf(cmd, sizeof cmd, "sh -c 'echo started-%zu; sleep 5; echo never'", i);
    queue(&r, i, cmd, 0);
  }
  loop_until(&r, &r.lines_total, 4); /* all four have started (and printed) */
  cr_expect_eq(r.done_count, 0);
  transport_close(r.t, on_closed, &r);
  cr_expect_eq(r.done_count, 4, "each ended by the close itself");
  for (size_t i = 0; i < 4; i++) {
    cr_expect_eq(r.ops[i].dones, 1);
    cr_expect_eq(r.ops[i].result.error, TRANSPORT_E_CLOSED, "%s", r.ops[i].result.message);
    cr_expect(r.ops[i].out == NULL || strstr(r.ops[i].out, "never") == NULL);
  }
  close_run(&r);
  remove_dir(dir);
}

Test(transport_channels, a_close_while_several_run_ends_each_once, .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  struct transport_options o = ssh_options();
  close_while_running(&o);
  struct transport_options l = local_options();
  close_while_running(&l);
}

/* MaxSessions 1: every command after the first is refused at first, and the next open often
 * reaches sshd before it has let go of the last session (it frees it only after reading our
 * close): asked again on the session's next ticks, never a failure. */
Test(transport_channels, a_server_taking_one_channel_runs_them_one_at_a_time, .timeout = 90,
     .fini = sshd_stop)
{
  sshd_start("MaxSessions 1\n");
  struct run r;
  struct transport_options o = ssh_options();
  open_run(&r, &o, 4);
  char cmd[100];
  for (size_t i = 0; i < 6; i++) {
    snprintf(cmd, sizeof cmd, "sh -c 'echo %zu; exit %zu'", i, i);
    queue(&r, i, cmd, 0);
  }
  loop_until(&r, &r.done_count, 6);
  for (size_t i = 0; i < 6; i++) {
    char want[16];
    snprintf(want, sizeof want, "%zu\n", i);
    cr_expect_eq(r.ops[i].result.error, 0, "%zu: %s", i, r.ops[i].result.message);
    cr_expect_eq(r.ops[i].result.exit_status, (int)i);
    cr_expect_str_eq(r.ops[i].out ? r.ops[i].out : "", want);
  }
  cr_expect_eq(transport_channels(r.t), 1);
  close_run(&r);
}

/* MaxSessions 1, one command after another: each next open goes out right after our close of
 * the last channel, which sshd may not have read yet. Refused then with no channel of ours open
 * (the first refusal this session sees), it is asked again, never a failure. The valgrind run of
 * the fresh-machine check failed here: its client was slow enough for the first command to be
 * closed and freed before the second one's open, every time. */
Test(transport_channels, one_command_right_after_another_on_a_one_channel_server_never_fails,
     .timeout = 120, .fini = sshd_stop)
{
  sshd_start("MaxSessions 1\n");
  struct run r;
  struct transport_options o = ssh_options();
  open_run(&r, &o, 4);
  char cmd[100];
  size_t n = MAX_OPS < 24 ? MAX_OPS : 24;
  for (size_t i = 0; i < n; i++) {
    snprintf(cmd, sizeof cmd, "echo %zu", i);
    queue(&r, i, cmd, 0);
    loop_until(&r, &r.done_count, i + 1);
    char want[16];
    snprintf(want, sizeof want, "%zu\n", i);
    cr_expect_eq(r.ops[i].result.error, 0, "%zu: %s", i, r.ops[i].result.message);
    cr_expect_str_eq(r.ops[i].out ? r.ops[i].out : "", want);
  }
  close_run(&r);
}

/* A command timed out while its channel's packet was half sent (a full socket): libssh2 takes no
 * other packet until that one is sent whole (any other call gets EAGAIN), so the abandoned
 * channel must repeat that call before its close, or the session locks: the other command and
 * the next one would never end. */
Test(transport_channels, a_timeout_while_a_packet_is_half_sent_leaves_the_session_usable,
     .timeout = 60, .fini = sshd_stop)
{
  sshd_start(NULL);
  struct run r;
  struct transport_options o = ssh_options();
  open_run(&r, &o, 2);
  queue(&r, 0, "sh -c 'sleep 1; echo a'", 8000);
  size_t len = 64 * 1024;
  char *input = xmalloc(len + 1);
  memset(input, 'x', len);
  input[len] = '\0';
  starve_sends = 1;
  cr_assert_eq(transport_exec(r.t, "sh -c 'cat >/dev/null; echo b'", input, 500, on_line, on_done,
                              &r.ops[1]),
               0);
  free(input);
  while (r.ops[1].dones == 0 && uv_run(&r.loop, UV_RUN_ONCE))
    ;
  int starved = starve_sends;
  starve_sends = 0; /* the socket drains */
  cr_expect_eq(starved, 2, "the input's packet found the socket full");
  cr_expect_eq(r.ops[1].result.error, TRANSPORT_E_TIMEOUT, "%s", r.ops[1].result.message);
  queue(&r, 2, "echo after", 8000);
  loop_until(&r, &r.done_count, 3);
  cr_expect_eq(r.ops[0].result.error, 0, "the other command ends: %s", r.ops[0].result.message);
  cr_expect_str_eq(r.ops[0].out ? r.ops[0].out : "", "a\n");
  cr_expect_eq(r.ops[2].result.error, 0, "the session goes on: %s", r.ops[2].result.message);
  cr_expect_str_eq(r.ops[2].out ? r.ops[2].out : "", "after\n");
  for (size_t i = 0; i < 3; i++)
    cr_expect_eq(r.ops[i].dones, 1);
  close_run(&r);
}

/* A command timed out while its channel was still being opened (the open request stuck in a full
 * socket), on a server that takes one channel: its open, refused while the other command runs, is
 * for no one and is not asked again and again (each refusal used to ask once more, for as long as
 * the other ran), and the session goes on. */
Test(transport_channels, an_abandoned_channel_refused_at_its_open_is_not_asked_again, .timeout = 60,
     .fini = sshd_stop)
{
  sshd_start("MaxSessions 1\n");
  struct run r;
  struct transport_options o = ssh_options();
  open_run(&r, &o, 2);
  queue(&r, 0, "sh -c 'echo started; sleep 2; echo a'", 8000);
  loop_until(&r, &r.lines_total, 1); /* its channel is open */
  starve_sends = 2;
  queue(&r, 1, "echo b", 300);
  while (r.ops[1].dones == 0 && uv_run(&r.loop, UV_RUN_ONCE))
    ;
  starve_sends = 0;
  sends_made = 0;
  cr_expect_eq(r.ops[1].result.error, TRANSPORT_E_TIMEOUT, "%s", r.ops[1].result.message);
  loop_until(&r, &r.done_count, 2);
  unsigned long sends = sends_made;
  cr_expect_eq(r.ops[0].result.error, 0, "%s", r.ops[0].result.message);
  cr_expect_str_eq(r.ops[0].out ? r.ops[0].out : "", "started\na\n");
  cr_expect_lt(sends, 40, "the abandoned open was not asked again while the other ran (%lu sends)",
               sends);
  queue(&r, 2, "echo after", 8000);
  loop_until(&r, &r.done_count, 3);
  cr_expect_eq(r.ops[2].result.error, 0, "the session goes on: %s", r.ops[2].result.message);
  cr_expect_str_eq(r.ops[2].out ? r.ops[2].out : "", "after\n");
  close_run(&r);
}
