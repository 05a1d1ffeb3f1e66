/*
 * ProxyJump end to end: a junos-sim router behind its lab's OpenSSH, reached only through a
 * bastion (a real sshd with AllowTcpForwarding yes, its host key in its own known_hosts file).
 * Commands come back as they do directly; a switchover drops the router's session behind the
 * bastion exactly as it does directly (TRANSPORT_E_DROPPED), the bastion's session stays up, and
 * the reconnect through it finds RE1 master.
 */
#include "transport/transport.h"
#include "common/common.h"

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <sys/stat.h>

/* sshd.h first: its parameter names would shadow lab.h's globals. */
#include "sshd.h"

#include "lab.h"

static struct test_sshd bastion;
static char bastion_dir[300];

/* A bastion sshd on 127.0.0.1 that accepts the lab's key and forwards; its host key goes into
 * BASTION_DIR/known_hosts, apart from the routers'. */
static void bastion_up(void)
{
  snprintf(bastion_dir, sizeof bastion_dir, "%s/bastion", dir);
  cr_assert_eq(mkdir(bastion_dir, 0755), 0);
  cr_assert_eq(sh(NULL, "ssh-keygen -q -t ed25519 -N '' -f %s/host", bastion_dir), 0);
  char lines[1024];
  snprintf(lines, sizeof lines,
           "AllowTcpForwarding yes\nHostKey %s/host\nAuthorizedKeysFile %s/ssh/authorized_keys\n"
           "LogLevel VERBOSE\n",
           bastion_dir, dir);
  test_sshd_start(&bastion, bastion_dir, "sshd", 0, lines);
  cr_assert_eq(sh(NULL,
                  "printf '[127.0.0.1]:%d %%s\\n' \"$(cut -d' ' -f1,2 %s/host.pub)\" > "
                  "%s/known_hosts",
                  bastion.port, bastion_dir, bastion_dir),
               0);
}

static void fini(void)
{
  test_sshd_stop(&bastion);
  lab_stop();
}

struct session {
  struct transport *t;
  bool opened, done, closed;
  int open_error;
  char open_message[TRANSPORT_MESSAGE_MAX];
  struct transport_result result;
  char out[8192];
  size_t out_len;
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
  (void)st;
  (void)cut;
  struct session *s = data;
  int n = snprintf(s->out + s->out_len, sizeof s->out - s->out_len, "%.*s\n", (int)len, line);
  if (n > 0 && (size_t)n < sizeof s->out - s->out_len)
    s->out_len += (size_t)n;
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

static void run_cmd(struct session *s, const char *cmd)
{
  s->done = false;
  s->out_len = 0;
  s->out[0] = '\0';
  cr_assert_eq(transport_exec(s->t, cmd, NULL, 120000, on_line, on_done, s), 0);
  loop_until(&s->done);
}

static void open_and_close(struct session *s, const struct transport_options *o)
{
  memset(s, 0, sizeof *s);
  cr_assert_eq(transport_new(&loop, o, &s->t), 0);
  cr_assert_eq(transport_open(s->t, on_open, s), 0);
  loop_until(&s->opened);
}

static void close_session(struct session *s)
{
  transport_close(s->t, on_closed, s);
  loop_until(&s->closed);
}

Test(transport_jump_lab, a_switchover_behind_a_bastion_drops_the_session_as_it_does_directly,
     .timeout = 300, .fini = fini)
{
  lab_start(1, 1, "--known-hosts both");
  bastion_up();
  cJSON *st = status_of("mx-ams-1");
  int port = cJSON_GetObjectItem(st, "port")->valueint;
  cJSON_Delete(st);
  char key[400], kh[400], bastion_kh[400];
  snprintf(key, sizeof key, "%s/ssh/id_ed25519", dir);
  snprintf(kh, sizeof kh, "%s/known_hosts", dir);
  snprintf(bastion_kh, sizeof bastion_kh, "%s/known_hosts", bastion_dir);
  uv_loop_init(&loop);
  struct transport_jump_pool *pool = transport_jump_pool_new(&loop, 10);
  struct transport_hop hop = {.host = "127.0.0.1",
                              .port = (unsigned)bastion.port,
                              .user = "root",
                              .known_hosts = bastion_kh};
  struct transport_options o = {.name = "mx-ams-1",
                                .kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = (unsigned)port,
                                .user = "root",
                                .key_file = key,
                                .known_hosts = kh,
                                .jump = &hop,
                                .jump_count = 1,
                                .jump_pool = pool,
                                .connect_timeout_ms = 60000};
  struct session s;
  open_and_close(&s, &o);
  cr_assert_eq(s.open_error, 0, "%s", s.open_message);
  run_cmd(&s, "show version | match Junos:");
  cr_assert_eq(s.result.error, 0, "%s", s.result.message);
  cr_expect(strstr(s.out, "Junos: 21.4R3-S5.4"), "%s", s.out);
  /* The switchover: the router cuts the session, the bastion forwards the cut. */
  run_cmd(&s, "request chassis routing-engine master switch no-confirm");
  cr_expect_eq(s.result.error, TRANSPORT_E_DROPPED, "%s: %s", transport_error_name(s.result.error),
               s.result.message);
  close_session(&s);
  /* The caller reconnects as after any drop, through the same bastion session. */
  bool re1 = false;
  for (int i = 0; i < 100 && !re1; i++) {
    open_and_close(&s, &o);
    if (s.open_error == 0) {
      run_cmd(&s, "show chassis routing-engine");
      re1 = s.result.error == 0 &&
            strstr(s.out, "  Slot 1:\n    Current state                  Master") != NULL;
    }
    close_session(&s);
    if (!re1)
      pause_ms(100);
  }
  cr_expect(re1, "after the switchover the reconnect through the bastion finds RE1 master");
  cr_expect_eq(transport_jump_pool_sessions_opened(pool), 1, "the bastion's session stayed up");
  transport_jump_pool_free(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(uv_loop_close(&loop), 0, "every handle closed");
}
