/*
 * The SSH back end's session: libssh2 in non-blocking mode on a socket we own, driven by one
 * uv_poll. Resolve, connect, handshake, host key, authentication; then the operations of
 * ssh_exec.c and ssh_scp.c; keepalives, the dead-peer check and the teardown.
 *
 * Every state is one function in the step table below. ssh__run calls the current state's
 * function until one waits or stops; on EAGAIN it arms the poll for exactly the directions
 * libssh2 is blocked on; when the socket is ready the same call is made again (the EAGAIN
 * contract of reference §1.2).
 *
 * The host key is checked against known_hosts before any credential leaves this machine, and
 * the host-key algorithm preference comes from what known_hosts holds for the host (libssh2 1.10
 * would otherwise pick ECDSA where OpenSSH recorded ed25519, §2.1): both in ssh_hostkey.c. A key
 * scan (scan_host_key) stops after the key exchange: nothing is checked or sent. A silent peer is
 * detected from the time of the last inbound byte (a RECV hook), with keepalives asking for replies
 * while a command runs, plus TCP keepalive and TCP_USER_TIMEOUT as backstops (§1.5).
 */
#include "transport/ssh_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TICK_MS 500

/* ---- helpers ---- */
const char *ssh__last_error(struct ssh *s)
{
  char *msg = NULL;
  if (s->session == NULL)
    return "no session";
  libssh2_session_last_error(s->session, &msg, NULL, 0);
  return msg ? msg : "unknown error";
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Waits for the socket in the directions libssh2 is blocked on. */
void ssh__arm(struct ssh *s)
{
  if (s->link != NULL) {
    jump__arm(s); /* behind a jump host: the outermost socket waits for the whole chain */
    return;
  }
  int dirs = s->session ? libssh2_session_block_directions(s->session) : 0;
  int events = 0;
  if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND)
    events |= UV_READABLE;
  if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
    events |= UV_WRITABLE;
  if (events == 0)
    events = UV_READABLE | UV_WRITABLE; /* libssh2 said EAGAIN with no direction: retry soon */
  if (s->poll_open)
    uv_poll_start(&s->poll, events, on_poll);
}

void ssh__poll(struct ssh *s, int events)
{
  if (s->poll_open)
    uv_poll_start(&s->poll, events, on_poll);
}

void ssh__stop_poll(struct ssh *s)
{
  if (s->poll_open)
    uv_poll_stop(&s->poll);
}

/* The session is unusable: end everything with `error`; the message names the router. */
void ssh__dead(struct ssh *s, int error, const char *fmt, ...)
{
  struct transport *t = s->t;
  ssh__stop_poll(s);
  enum ssh_state was = s->state;
  s->state = S_DEAD;
  va_list ap;
  va_start(ap, fmt);
  char *detail = transport__vformat(fmt, ap);
  va_end(ap);
  transport__slot_release(t);
  jump__detach(s, error, detail);
  if (was < S_READY && t->state == T_OPENING)
    transport__opened(t, error, "%s: %s", t->o.name, detail);
  else
    transport__fail(t, error, "%s: %s", t->o.name, detail);
  free(detail);
}

/* Why an authentication method failed, kept whole for the final refusal. */
static void auth_failed(struct ssh *s, const char *fmt, ...) ISSU_PRINTF(2, 3);

static void auth_failed(struct ssh *s, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *why = transport__vformat(fmt, ap);
  va_end(ap);
  /* Every failure is kept, in order: the refusal names each key tried, as `ssh -v` would. */
  if (s->auth_failure != NULL) {
    char *both = xasprintf("%s; %s", s->auth_failure, why);
    free(s->auth_failure);
    free(why);
    why = both;
  }
  s->auth_failure = why;
}

/* A socket-level error code from libssh2 means the session is gone. */
bool ssh__gone(int rc)
{
  return rc == LIBSSH2_ERROR_SOCKET_RECV || rc == LIBSSH2_ERROR_SOCKET_SEND ||
         rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT;
}

static ssize_t recv_hook(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
  struct ssh *s = *abstract;
  ssize_t n = recv(fd, buf, len, flags);
  if (n < 0)
    return -errno;
  if (n > 0 && s != NULL) {
    s->last_rx = uv_now(s->t->loop);
    s->rx_count++;
  }
  return n;
}

bool ssh__session_init(struct ssh *s)
{
  s->session = libssh2_session_init_ex(NULL, NULL, NULL, s);
  if (s->session == NULL) {
    ssh__dead(s, TRANSPORT_E_PROTOCOL, "cannot create an SSH session");
    return false;
  }
  if (s->link != NULL) {
    /* Behind a jump host: the bytes go through the hop's channel (jump.c). */
    libssh2_session_callback_set(s->session, LIBSSH2_CALLBACK_SEND, (void *)jump__send);
    libssh2_session_callback_set(s->session, LIBSSH2_CALLBACK_RECV, (void *)jump__recv);
  } else
    libssh2_session_callback_set(s->session, LIBSSH2_CALLBACK_RECV, (void *)recv_hook);
  libssh2_session_set_blocking(s->session, 0);
  libssh2_keepalive_config(s->session, 1, s->t->o.keepalive_s);
  char pref[160];
  transport__hostkey_preference(s->t, pref, sizeof pref);
  libssh2_session_method_pref(s->session, LIBSSH2_METHOD_HOSTKEY, pref);
  s->state = S_HANDSHAKE;
  return true;
}

/* ---- host key ---- */
/* Returns 0 when the server's key is a recorded one (or newly accepted), else fails the open:
 * before any credential, or anything else, is sent (ssh_hostkey.c has the rules and words). */
static int check_host_key(struct ssh *s)
{
  size_t len = 0;
  int type = 0;
  const char *key = libssh2_session_hostkey(s->session, &len, &type);
  if (key == NULL) {
    ssh__dead(s, TRANSPORT_E_HOSTKEY, "the server presented no host key; nothing was sent");
    return -1;
  }
  char *message = NULL;
  int error = transport__hostkey_verify(s->t, (const unsigned char *)key, len, &message);
  if (error == 0)
    return 0;
  ssh__dead(s, error, "%s", message);
  free(message);
  return -1;
}

/* A key scan: the key is read, nothing is checked or sent; the session ends here. */
static void scanned(struct ssh *s)
{
  struct transport *t = s->t;
  size_t len = 0;
  int type = 0;
  const char *key = libssh2_session_hostkey(s->session, &len, &type);
  if (key == NULL || !transport__set_host_key(t, (const unsigned char *)key, len))
    return ssh__dead(s, TRANSPORT_E_HOSTKEY, "the server presented no host key that can be read");
  ssh__stop_poll(s);
  transport__slot_release(t);
  s->state = S_DEAD;
  transport__opened(t, 0, "%s: host key %s %s", t->o.name, t->host_key.type,
                    t->host_key.fingerprint);
  if (t->state != T_CLOSING)
    transport__fail(t, TRANSPORT_E_CLOSED, "%s: a host-key scan runs no command", t->o.name);
}

/* ---- authentication ---- */
static const char *password(const struct ssh *s)
{
  return s->t->o.password_env ? getenv(s->t->o.password_env) : NULL;
}

static void kbd_callback(const char *name, int name_len, const char *instruction,
                         int instruction_len, int num_prompts,
                         const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts,
                         LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses, void **abstract)
{
  (void)name;
  (void)name_len;
  (void)instruction;
  (void)instruction_len;
  (void)prompts;
  struct ssh *s = *abstract;
  const char *pw = password(s);
  /* Every prompt gets the password: routers ask one "Password:" question. libssh2 frees the
   * answers (they must be malloc'ed). */
  for (int i = 0; i < num_prompts; i++) {
    responses[i].text = strdup(pw ? pw : "");
    responses[i].length = responses[i].text ? (unsigned)strlen(responses[i].text) : 0;
  }
}

/* Why a key file cannot be used, before trying it: RSA needs RSA-SHA2, which libssh2 1.10 does
 * not have (OpenSSH 8.8+ refuses ssh-rsa signatures). */
static const char *key_file_problem(const char *path)
{
  /* "e": O_CLOEXEC, as every descriptor of ours: local children are spawned on the threadpool
   * while the loop runs, and would inherit it. */
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return "it cannot be opened";
  char line[128] = "";
  bool ok = fgets(line, sizeof line, f) != NULL;
  fclose(f);
  if (ok && strstr(line, "BEGIN RSA PRIVATE KEY"))
    return "it is an RSA key: RSA needs RSA-SHA2 signatures, which this libssh2 (1.10) lacks; "
           "use an ed25519 or ECDSA key";
  char *pub = xasprintf("%s.pub", path);
  f = fopen(pub, "re");
  free(pub);
  if (f != NULL) {
    ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    if (ok && strncmp(line, "ssh-rsa ", 8) == 0)
      return "it is an RSA key: RSA needs RSA-SHA2 signatures, which this libssh2 (1.10) lacks; "
             "use an ed25519 or ECDSA key";
  }
  return NULL;
}

/* The key files to offer, in order: ssh_config's IdentityFile list, else the one key_file. */
static const char *key_at(const struct transport_options *o, size_t i)
{
  if (o->key_file_count > 0)
    return i < o->key_file_count ? o->key_files[i] : NULL;
  return i == 0 ? o->key_file : NULL;
}

/* The next key file worth offering, from s->key_next on; the ones that cannot be used are noted
 * and skipped (as OpenSSH does), a missing one of ssh_config's list silently (OpenSSH's lists
 * name files that need not exist). */
static const char *next_key_file(struct ssh *s)
{
  const struct transport_options *o = &s->t->o;
  for (const char *path; (path = key_at(o, s->key_next)) != NULL;) {
    s->key_next++;
    if (path[0] == '\0')
      continue;
    if (o->key_file_count > 0 && access(path, F_OK) != 0 && errno == ENOENT)
      continue;
    const char *problem = key_file_problem(path);
    if (problem == NULL)
      return path;
    auth_failed(s, "key %s: %s (skipped)", path, problem);
    s->key_problem = true;
  }
  return NULL;
}

/* Picks the next authentication method to try, in order (OpenSSH's): the agent's identities,
 * each key file, password, keyboard-interactive. */
static enum ssh_state next_auth(struct ssh *s)
{
  const struct transport_options *o = &s->t->o;
  bool publickey = strstr(s->methods, "publickey") != NULL;
  if (!s->tried_agent && o->use_agent && getenv("SSH_AUTH_SOCK") && publickey) {
    s->tried_agent = true;
    s->agent = libssh2_agent_init(s->session);
    if (s->agent && libssh2_agent_connect(s->agent) == 0 &&
        libssh2_agent_list_identities(s->agent) == 0 &&
        libssh2_agent_get_identity(s->agent, &s->identity, NULL) == 0)
      return S_AUTH_AGENT;
  }
  if (!s->tried_key && publickey) {
    s->key_path = next_key_file(s);
    if (s->key_path != NULL)
      return S_AUTH_KEY;
    s->tried_key = true;
  }
  if (!s->tried_password && password(s) && strstr(s->methods, "password")) {
    s->tried_password = true;
    return S_AUTH_PASSWORD;
  }
  if (!s->tried_kbd && password(s) && strstr(s->methods, "keyboard-interactive")) {
    s->tried_kbd = true;
    return S_AUTH_KBD;
  }
  return S_DEAD;
}

static void authenticated(struct ssh *s)
{
  struct transport *t = s->t;
  if (s->agent) {
    libssh2_agent_disconnect(s->agent);
    libssh2_agent_free(s->agent);
    s->agent = NULL;
  }
  transport__slot_release(t);
  s->state = S_READY;
  transport__opened(t, 0, "%s: connected", t->o.name);
}

/* ---- the states of the session ---- */

enum step ssh__op_failed(struct ssh *s, int rc, const char *what)
{
  if (ssh__gone(rc) || rc == LIBSSH2_ERROR_CHANNEL_CLOSED)
    ssh__dead(s, TRANSPORT_E_DROPPED, "the session dropped (%s): %s", what, ssh__last_error(s));
  else
    ssh__dead(s, TRANSPORT_E_PROTOCOL, "SSH error (%s): %s", what, ssh__last_error(s));
  return STEP_STOP;
}

/* States driven from outside the machine (the resolver, the connect, the caller): nothing to
 * call here. */
static enum step step_idle(struct ssh *s)
{
  (void)s;
  return STEP_STOP;
}

static enum step step_handshake(struct ssh *s)
{
  int rc = libssh2_session_handshake(s->session, jump__socket(s));
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0) {
    ssh__dead(s, rc == LIBSSH2_ERROR_KEX_FAILURE ? TRANSPORT_E_PROTOCOL : TRANSPORT_E_CONNECT,
              "SSH handshake failed: %s", ssh__last_error(s));
    return STEP_STOP;
  }
  s->state = S_HOSTKEY;
  return STEP_NEXT;
}

static enum step step_hostkey(struct ssh *s)
{
  if (s->t->o.scan_host_key) {
    scanned(s);
    return STEP_STOP;
  }
  if (check_host_key(s) != 0)
    return STEP_STOP;
  s->state = S_AUTH_LIST;
  return STEP_NEXT;
}

static const char *user_of(const struct ssh *s)
{
  return s->t->o.user ? s->t->o.user : "root";
}

static enum step step_auth_list(struct ssh *s)
{
  const char *user = user_of(s);
  char *list = libssh2_userauth_list(s->session, user, (unsigned)strlen(user));
  if (list == NULL) {
    if (libssh2_userauth_authenticated(s->session)) {
      authenticated(s);
      return STEP_STOP;
    }
    if (libssh2_session_last_errno(s->session) == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    ssh__dead(s, TRANSPORT_E_AUTH, "cannot list authentication methods: %s", ssh__last_error(s));
    return STEP_STOP;
  }
  free(s->methods);
  s->methods = xstrdup(list);
  s->state = S_AUTH_NEXT;
  return STEP_NEXT;
}

static enum step step_auth_next(struct ssh *s)
{
  s->state = next_auth(s);
  if (s->state != S_DEAD)
    return STEP_NEXT;
  s->state = S_AUTH_NEXT;
  /* A key that could not be used is the cause only when no key was even offered. */
  int error = s->key_problem && s->keys_offered == 0 ? TRANSPORT_E_KEY : TRANSPORT_E_AUTH;
  ssh__dead(s, error, "authentication as %s refused (server offers %s)%s%s", user_of(s), s->methods,
            s->auth_failure ? "; " : "", s->auth_failure ? s->auth_failure : "");
  return STEP_STOP;
}

static enum step step_auth_key(struct ssh *s)
{
  const char *key_file = s->key_path;
  int rc = libssh2_userauth_publickey_fromfile(s->session, user_of(s), NULL, key_file, NULL);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc == 0) {
    authenticated(s);
    return STEP_STOP;
  }
  if (rc == LIBSSH2_ERROR_FILE) {
    /* Locked (a passphrase: issu-fleet asks none) or unreadable: skipped, the next one tried. */
    auth_failed(s,
                "key %s: unreadable, protected by a passphrase, or of an unsupported format "
                "(skipped)",
                key_file);
    s->key_problem = true;
  } else {
    auth_failed(s, "key %s: refused by the server", key_file);
    s->keys_offered++;
  }
  s->state = S_AUTH_NEXT;
  return STEP_NEXT;
}

static enum step step_auth_agent(struct ssh *s)
{
  int rc = libssh2_agent_userauth(s->agent, user_of(s), s->identity);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc == 0) {
    authenticated(s);
    return STEP_STOP;
  }
  if (libssh2_agent_get_identity(s->agent, &s->identity, s->identity) != 0)
    s->state = S_AUTH_NEXT;
  return STEP_NEXT;
}

static enum step step_auth_password(struct ssh *s)
{
  int rc = libssh2_userauth_password(s->session, user_of(s), password(s));
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc == 0) {
    authenticated(s);
    return STEP_STOP;
  }
  auth_failed(s, "the password from $%s was refused", s->t->o.password_env);
  s->state = S_AUTH_NEXT;
  return STEP_NEXT;
}

static enum step step_auth_kbd(struct ssh *s)
{
  const char *user = user_of(s);
  int rc = libssh2_userauth_keyboard_interactive_ex(s->session, user, (unsigned)strlen(user),
                                                    kbd_callback);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc == 0) {
    authenticated(s);
    return STEP_STOP;
  }
  auth_failed(s, "keyboard-interactive with the password from $%s was refused",
              s->t->o.password_env);
  s->state = S_AUTH_NEXT;
  return STEP_NEXT;
}

/* One row per state: the function that advances it. */
static const ssh_step_fn steps[S_COUNT] = {
    [S_RESOLVING] = step_idle,
    [S_CONNECTING] = step_idle,
    [S_JUMP_WAIT] = step_idle,
    [S_FORWARD] = jump__forward,
    [S_HANDSHAKE] = step_handshake,
    [S_HOSTKEY] = step_hostkey,
    [S_AUTH_LIST] = step_auth_list,
    [S_AUTH_NEXT] = step_auth_next,
    [S_AUTH_KEY] = step_auth_key,
    [S_AUTH_AGENT] = step_auth_agent,
    [S_AUTH_PASSWORD] = step_auth_password,
    [S_AUTH_KBD] = step_auth_kbd,
    [S_READY] = step_idle, /* ready: the channels' own machines run (ssh_exec.c) */
    [S_DEAD] = step_idle,
};

void ssh__run(struct ssh *s)
{
  if (s->state == S_READY) {
    ssh__run_chans(s);
    return;
  }
  for (;;) {
    switch (steps[s->state](s)) {
    case STEP_NEXT:
      break;
    case STEP_WAIT:
      ssh__arm(s);
      return;
    case STEP_STOP:
      return;
    }
  }
}

/* ---- libuv plumbing ---- */

static void on_poll(uv_poll_t *h, int status, int events)
{
  (void)events;
  struct ssh *s = h->data;
  if (status < 0 && s->state != S_CONNECTING) {
    /* libuv reports POLLERR as UV_EBADF: the fd is fine, the connection is not (§0.4). */
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return ssh__dead(s, TRANSPORT_E_DROPPED, "the connection was lost: %s",
                     err ? strerror(err) : uv_strerror(status));
  }
  if (s->state == S_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || status < 0)
      return ssh__dead(s, TRANSPORT_E_CONNECT, "cannot connect: %s",
                       strerror(err ? err : ECONNREFUSED));
    if (!ssh__session_init(s))
      return;
  }
  if (s->hop != NULL)
    jump__service(s); /* a jump host's session: the sessions behind it run too */
  else
    ssh__run(s);
}

/* Every half second: the connect deadline while opening; keepalives and the dead-peer check
 * while a command runs (only then: keepalive replies are read by the channel's reads). */
/* Silence is the router's only while our loop was listening: a loop away for longer than a
 * tick (a long step in a callback: a 10 MiB answer parsed under valgrind took 30 s) neither sent
 * keepalives nor read what came, so that time is not counted against the router. */
static void discount_our_stall(struct ssh *s, uint64_t now)
{
  if (s->last_tick != 0 && now - s->last_tick > 2 * TICK_MS) {
    s->last_rx += now - s->last_tick - TICK_MS;
    if (s->last_rx > now) /* a byte read during the stall: silence starts there, never later */
      s->last_rx = now;
  }
  s->last_tick = now;
}

static void on_tick(uv_timer_t *timer)
{
  struct ssh *s = timer->data;
  struct transport *t = s->t;
  uint64_t now = uv_now(t->loop);
  discount_our_stall(s, now);
  if (s->state < S_READY && s->state != S_DEAD) {
    /* The deadline runs from when the attempt got its handshake slot, not while it queued. */
    if (s->started_ms != 0 && now - s->started_ms > t->o.connect_timeout_ms)
      ssh__dead(s, TRANSPORT_E_TIMEOUT,
                "no SSH session within %u s (connect, handshake, authentication)",
                t->o.connect_timeout_ms / 1000);
    return;
  }
  if (s->hop != NULL && s->state == S_READY) {
    jump__tick(s, now); /* a jump host's session: keepalives while routers use it */
    return;
  }
  if (s->state != S_READY || s->chans == NULL)
    return;
  if (ssh__chans_retrying(s)) {
    ssh__run(s); /* a refused open asked again (ssh_exec.c) */
    if (s->state != S_READY || s->chans == NULL)
      return;
  }
  /* A keepalive only while every channel waits on reads: nothing half sent (reference §1.5). */
  bool reading = s->tx_chan == NULL;
  for (struct ssh_chan *c = s->chans; c && reading; c = c->next)
    reading = c->state == S_CH_READ;
  if (reading) {
    int next;
    libssh2_keepalive_send(s->session, &next); /* EAGAIN and BAD_USE: skip this tick */
  }
  uint64_t silence = (uint64_t)t->o.keepalive_s * t->o.keepalive_count * 1000;
  if (now - s->last_rx > silence) {
    /* Timers run before the loop reads its sockets: what the router sent may wait unread. */
    ssh__run(s);
    if (s->state != S_READY || now - s->last_rx <= silence)
      return;
    char what[64];
    snprintf(what, sizeof what, "%llu s", (unsigned long long)(silence / 1000));
    ssh__dead(s, TRANSPORT_E_DEAD_PEER,
              "the router has not answered for %s (keepalives unanswered)", what);
  }
}

static void set_socket_options(int fd, const struct transport_options *o)
{
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  int idle = (int)o->keepalive_s, intvl = (int)o->keepalive_s, cnt = (int)o->keepalive_count;
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
  /* Unacknowledged data fails the socket instead of being retried for a quarter of an hour. */
  /* ServerAliveInterval (up to a year) times ServerAliveCountMax (up to a million) in ms does
   * not fit 32 bits: saturated, never wrapped into a short timeout (Linux takes up to INT_MAX). */
  uint64_t silence_ms = (uint64_t)o->keepalive_s * o->keepalive_count * 1000;
  unsigned user_timeout = silence_ms > INT_MAX ? INT_MAX : (unsigned)silence_ms;
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
  struct ssh *s = req->data;
  s->gai_active = false;
  struct transport *t = s->t;
  if (status == UV_ECANCELED || t->state == T_CLOSING) {
    uv_freeaddrinfo(res);
    if (t->state == T_CLOSING)
      t->ops->close(t); /* finish the close that was waiting for the resolver */
    return;
  }
  if (status < 0 || res == NULL) {
    uv_freeaddrinfo(res);
    return ssh__dead(s, TRANSPORT_E_RESOLVE, "cannot resolve the address: %s", uv_strerror(status));
  }
  s->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) {
    uv_freeaddrinfo(res);
    return ssh__dead(s, TRANSPORT_E_CONNECT, "cannot create a socket: %s", strerror(errno));
  }
  set_socket_options(s->fd, &t->o);
  int rc = connect(s->fd, res->ai_addr, res->ai_addrlen);
  uv_freeaddrinfo(res);
  if (rc != 0 && errno != EINPROGRESS)
    return ssh__dead(s, TRANSPORT_E_CONNECT, "cannot connect: %s", strerror(errno));
  uv_poll_init_socket(t->loop, &s->poll, s->fd);
  s->poll.data = s;
  s->poll_open = true;
  s->state = S_CONNECTING;
  uv_poll_start(&s->poll, UV_WRITABLE, on_poll);
}

static void begin(struct transport *t)
{
  struct ssh *s = t->backend;
  char port[16];
  snprintf(port, sizeof port, "%u", t->o.port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  s->gai.data = s;
  s->gai_active = true;
  s->started_ms = uv_now(t->loop);
  int rc = uv_getaddrinfo(t->loop, &s->gai, on_resolved, t->o.host, port, &hints);
  if (rc < 0) {
    s->gai_active = false;
    ssh__dead(s, TRANSPORT_E_RESOLVE, "cannot resolve the address: %s", uv_strerror(rc));
  }
}

static void ssh_open(struct transport *t)
{
  struct ssh *s = xcalloc(1, sizeof *s);
  s->t = t;
  s->fd = -1;
  s->state = S_RESOLVING;
  t->backend = s;
  if (t->o.host == NULL || (t->o.known_hosts == NULL && !t->o.scan_host_key)) {
    s->state = S_DEAD;
    transport__opened(t, TRANSPORT_E_CONNECT, "%s: no %s to connect with", t->o.name,
                      t->o.host == NULL ? "host" : "known_hosts file");
    return;
  }
  uv_timer_init(t->loop, &s->tick);
  s->tick.data = s;
  s->tick_open = true;
  s->last_tick = uv_now(t->loop); /* a stall before the first tick counts as one too */
  uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
  uv_timer_init(t->loop, &s->kick);
  s->kick.data = s;
  s->kick_open = true;
  if (t->o.jump_count > 0)
    jump__begin(s); /* the handshake slot is taken once the hop's channel can be asked for */
  else
    transport__slot_acquire(t, begin);
}

static void ssh_start(struct transport *t, struct transport_op *op)
{
  struct ssh *s = t->backend;
  if (s->chans == NULL)
    s->last_rx = uv_now(t->loop); /* silence counts from now: the session was idle */
  ssh__chan_new(s, op);
  ssh__run(s);
}

/* With one channel (the default) a command past its limit ends the session, as it always did;
 * with several, only its channel is abandoned and the others go on. */
static void ssh_timeout(struct transport *t, struct transport_op *op)
{
  struct ssh *s = t->backend;
  if (t->max_channels <= 1 || op->kind != OP_EXEC || op->lane == NULL) {
    ssh__dead(s, TRANSPORT_E_TIMEOUT, "the command did not finish within its time limit");
    return;
  }
  ssh__chan_abandon(s, op->lane);
  if (s->state == S_READY)
    ssh__run(s); /* the abandoned channel closes now, not when the router next speaks */
}

static void ssh_detach(struct transport *t, struct transport_op *op)
{
  (void)t;
  struct ssh_chan *c = op->lane;
  if (c != NULL) {
    c->op = NULL;
    c->abandoned = true;
  }
}

/* ---- teardown ---- */

/* Last step of a close: the socket, the memory, and the transport's own handles. */
static void finalize(struct ssh *s)
{
  struct transport *t = s->t;
  if (s->fd >= 0)
    close(s->fd);
  free(s->buf);
  free(s->methods);
  free(s->auth_failure);
  free(s);
  t->backend = NULL;
  transport__closed(t);
}

static void on_handle_closed(uv_handle_t *h)
{
  struct ssh *s = h->data;
  if (--s->closing == 0)
    finalize(s);
}

static void ssh_close(struct transport *t)
{
  struct ssh *s = t->backend;
  if (s == NULL) {
    transport__closed(t);
    return;
  }
  transport__slot_release(t);
  if (s->gai_active) {
    /* The resolver's callback comes back here once the request is cancelled. */
    uv_cancel((uv_req_t *)&s->gai);
    return;
  }
  ssh__stop_poll(s);
  jump__detach(s, TRANSPORT_E_CLOSED, "the transport was closed");
  jump__release_own_pool(s);
  if (s->file)
    fclose(s->file);
  s->file = NULL;
  if (s->agent) {
    libssh2_agent_disconnect(s->agent);
    libssh2_agent_free(s->agent);
    s->agent = NULL;
  }
  if (s->session) {
    /* One polite try, then shut the socket so nothing below can wait on the peer. */
    if (s->state == S_READY)
      libssh2_session_disconnect(s->session, "issu-fleet done");
    if (s->fd >= 0)
      shutdown(s->fd, SHUT_RDWR);
    libssh2_session_set_blocking(s->session, 1);
    libssh2_session_set_timeout(s->session, 100);
    ssh__chans_free(s);
    libssh2_session_free(s->session);
    s->session = NULL;
  }
  s->state = S_DEAD;
  s->closing = (s->poll_open ? 1 : 0) + (s->tick_open ? 1 : 0) + (s->kick_open ? 1 : 0);
  if (s->poll_open) {
    s->poll_open = false;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  }
  if (s->tick_open) {
    s->tick_open = false;
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
  }
  if (s->kick_open) {
    s->kick_open = false;
    uv_close((uv_handle_t *)&s->kick, on_handle_closed);
  }
  if (s->closing == 0)
    finalize(s);
}

const struct transport_ops transport__ssh_ops = {ssh_open, ssh_start, ssh_timeout, ssh_detach,
                                                 ssh_close};
