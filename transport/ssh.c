/*
 * The SSH back end: libssh2 in non-blocking mode on a socket we own, driven by one uv_poll.
 *
 * Every step is a state of one machine (connect, handshake, host key, authentication, channel
 * open, exec, input, read, close, wait-closed, free; SCP upload; disconnect). run() calls the
 * step's libssh2 function; on EAGAIN it arms the poll for exactly the directions libssh2 is
 * blocked on and returns; when the socket is ready the same call is made again (the EAGAIN
 * contract of reference §1.2). Reads drain stdout and stderr until both would block before
 * re-arming, because libssh2 may already hold the other stream's packets (§1.4).
 *
 * The host key is checked against known_hosts before any credential leaves this machine, and
 * the host-key algorithm preference comes from what known_hosts holds for the host (libssh2 1.10
 * would otherwise pick ECDSA where OpenSSH recorded ed25519, §2.1): both in ssh_hostkey.c. A key
 * scan (scan_host_key) stops after the key exchange: nothing is checked or sent. A silent peer is
 * detected from the time of the last inbound byte (a RECV hook), with keepalives asking for replies
 * while a command runs, plus TCP keepalive and TCP_USER_TIMEOUT as backstops (§1.5).
 */
#include "transport/transport_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPLOAD_CHUNK (1u << 20)
#define TICK_MS 500

enum ssh_state {
  S_RESOLVING,
  S_CONNECTING,
  S_HANDSHAKE,
  S_HOSTKEY,
  S_AUTH_LIST,
  S_AUTH_NEXT,
  S_AUTH_KEY,
  S_AUTH_AGENT,
  S_AUTH_PASSWORD,
  S_AUTH_KBD,
  S_READY,
  S_CH_OPEN,
  S_CH_EXEC,
  S_CH_INPUT,
  S_CH_EOF,
  S_CH_READ,
  S_SCP_OPEN,
  S_SCP_WRITE,
  S_SCP_EOF,
  S_SCP_WAIT_EOF,
  S_CH_CLOSE,
  S_CH_WAIT_CLOSED,
  S_CH_FREE,
  S_DEAD,
};

struct ssh {
  struct transport *t;
  enum ssh_state state;
  uv_getaddrinfo_t gai;
  bool gai_active;
  int fd;
  uv_poll_t poll;
  bool poll_open;
  uv_timer_t tick;
  bool tick_open;
  int closing; /* handles still closing */
  LIBSSH2_SESSION *session;
  LIBSSH2_CHANNEL *channel;
  LIBSSH2_AGENT *agent;
  struct libssh2_agent_publickey *identity;
  char *methods; /* what the server offers, whole */
  bool tried_key, tried_agent, tried_password, tried_kbd;
  char *auth_failure; /* why the last method failed, whole; NULL if none did */
  int auth_error;
  uint64_t started_ms;
  uint64_t last_rx;
  /* the current operation */
  size_t input_sent;
  FILE *file;
  char *buf;
  size_t buf_len, buf_off;
  uint64_t size, sent, reported;
};

static void run(struct ssh *s);

/* ---- helpers ---- */

static const char *last_error(struct ssh *s)
{
  char *msg = NULL;
  if (s->session == NULL)
    return "no session";
  libssh2_session_last_error(s->session, &msg, NULL, 0);
  return msg ? msg : "unknown error";
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Waits for the socket in the directions libssh2 is blocked on. */
static void arm(struct ssh *s)
{
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

static void stop_poll(struct ssh *s)
{
  if (s->poll_open)
    uv_poll_stop(&s->poll);
}

static void dead(struct ssh *s, int error, const char *fmt, ...) ISSU_PRINTF(3, 4);

/* The session is unusable: end everything with `error`; the message names the router. */
static void dead(struct ssh *s, int error, const char *fmt, ...)
{
  struct transport *t = s->t;
  stop_poll(s);
  enum ssh_state was = s->state;
  s->state = S_DEAD;
  va_list ap;
  va_start(ap, fmt);
  char *detail = transport__vformat(fmt, ap);
  va_end(ap);
  transport__slot_release(t);
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
  free(s->auth_failure);
  s->auth_failure = transport__vformat(fmt, ap);
  va_end(ap);
}

/* A socket-level error code from libssh2 means the session is gone. */
static bool gone(int rc)
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
  if (n > 0 && s != NULL)
    s->last_rx = uv_now(s->t->loop);
  return n;
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
    dead(s, TRANSPORT_E_HOSTKEY, "the server presented no host key; nothing was sent");
    return -1;
  }
  char *message = NULL;
  int error = transport__hostkey_verify(s->t, (const unsigned char *)key, len, &message);
  if (error == 0)
    return 0;
  dead(s, error, "%s", message);
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
    return dead(s, TRANSPORT_E_HOSTKEY, "the server presented no host key that can be read");
  stop_poll(s);
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
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return "it cannot be opened";
  char line[128] = "";
  bool ok = fgets(line, sizeof line, f) != NULL;
  fclose(f);
  if (ok && strstr(line, "BEGIN RSA PRIVATE KEY"))
    return "it is an RSA key: RSA needs RSA-SHA2 signatures, which this libssh2 (1.10) lacks; "
           "use an ed25519 or ECDSA key";
  char *pub = xasprintf("%s.pub", path);
  f = fopen(pub, "r");
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

/* Picks the next authentication method to try, in order: key file, agent, password,
 * keyboard-interactive. */
static enum ssh_state next_auth(struct ssh *s)
{
  const struct transport_options *o = &s->t->o;
  if (!s->tried_key && o->key_file && strstr(s->methods, "publickey")) {
    s->tried_key = true;
    const char *problem = key_file_problem(o->key_file);
    if (problem == NULL)
      return S_AUTH_KEY;
    auth_failed(s, "key %s: %s", o->key_file, problem);
    s->auth_error = TRANSPORT_E_KEY;
  }
  if (!s->tried_agent && o->use_agent && getenv("SSH_AUTH_SOCK") &&
      strstr(s->methods, "publickey")) {
    s->tried_agent = true;
    s->agent = libssh2_agent_init(s->session);
    if (s->agent && libssh2_agent_connect(s->agent) == 0 &&
        libssh2_agent_list_identities(s->agent) == 0 &&
        libssh2_agent_get_identity(s->agent, &s->identity, NULL) == 0)
      return S_AUTH_AGENT;
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

/* ---- the state machine ---- */

/* A command or upload failed at `what`: the session dropped, or SSH itself failed. */
static void op_failed(struct ssh *s, int rc, const char *what)
{
  if (gone(rc) || rc == LIBSSH2_ERROR_CHANNEL_CLOSED)
    dead(s, TRANSPORT_E_DROPPED, "the session dropped (%s): %s", what, last_error(s));
  else
    dead(s, TRANSPORT_E_PROTOCOL, "SSH error (%s): %s", what, last_error(s));
}

static void exec_done(struct ssh *s)
{
  struct transport_op *op = s->t->current;
  char *sig = NULL;
  size_t sig_len = 0;
  op->result.exit_status = libssh2_channel_get_exit_status(s->channel);
  if (libssh2_channel_get_exit_signal(s->channel, &sig, &sig_len, NULL, NULL, NULL, NULL) == 0 &&
      sig != NULL) {
    op->result.signaled = true;
    snprintf(op->result.signal_name, sizeof op->result.signal_name, "%.*s", (int)sig_len, sig);
    libssh2_free(s->session, sig);
  }
}

static void run(struct ssh *s)
{
  struct transport *t = s->t;
  struct transport_op *op = t->current;
  char buf[32768];
  for (;;) {
    int rc = 0;
    switch (s->state) {
    case S_RESOLVING:
    case S_CONNECTING:
    case S_READY:
    case S_DEAD:
      return;
    case S_HANDSHAKE:
      rc = libssh2_session_handshake(s->session, s->fd);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc != 0)
        return dead(s, rc == LIBSSH2_ERROR_KEX_FAILURE ? TRANSPORT_E_PROTOCOL : TRANSPORT_E_CONNECT,
                    "SSH handshake failed: %s", last_error(s));
      s->state = S_HOSTKEY;
      break;
    case S_HOSTKEY:
      if (t->o.scan_host_key)
        return scanned(s);
      if (check_host_key(s) != 0)
        return;
      s->state = S_AUTH_LIST;
      break;
    case S_AUTH_LIST: {
      const char *user = t->o.user ? t->o.user : "root";
      char *list = libssh2_userauth_list(s->session, user, (unsigned)strlen(user));
      if (list == NULL) {
        if (libssh2_userauth_authenticated(s->session))
          return authenticated(s);
        if (libssh2_session_last_errno(s->session) == LIBSSH2_ERROR_EAGAIN)
          return arm(s);
        return dead(s, TRANSPORT_E_AUTH, "cannot list authentication methods: %s", last_error(s));
      }
      free(s->methods);
      s->methods = xstrdup(list);
      s->state = S_AUTH_NEXT;
      break;
    }
    case S_AUTH_NEXT:
      s->state = next_auth(s);
      if (s->state == S_DEAD) {
        s->state = S_AUTH_NEXT;
        return dead(s, s->auth_error ? s->auth_error : TRANSPORT_E_AUTH,
                    "authentication as %s refused (server offers %s)%s%s",
                    t->o.user ? t->o.user : "root", s->methods, s->auth_failure ? "; " : "",
                    s->auth_failure ? s->auth_failure : "");
      }
      break;
    case S_AUTH_KEY:
      rc = libssh2_userauth_publickey_fromfile(s->session, t->o.user ? t->o.user : "root", NULL,
                                               t->o.key_file, NULL);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc == 0)
        return authenticated(s);
      auth_failed(s, "key %s: %s", t->o.key_file,
                  rc == LIBSSH2_ERROR_FILE ? "unreadable, protected by a passphrase, or of an "
                                             "unsupported format"
                                           : "refused by the server");
      if (rc == LIBSSH2_ERROR_FILE)
        s->auth_error = TRANSPORT_E_KEY;
      s->state = S_AUTH_NEXT;
      break;
    case S_AUTH_AGENT:
      rc = libssh2_agent_userauth(s->agent, t->o.user ? t->o.user : "root", s->identity);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc == 0)
        return authenticated(s);
      if (libssh2_agent_get_identity(s->agent, &s->identity, s->identity) != 0)
        s->state = S_AUTH_NEXT;
      break;
    case S_AUTH_PASSWORD:
      rc = libssh2_userauth_password(s->session, t->o.user ? t->o.user : "root", password(s));
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc == 0)
        return authenticated(s);
      auth_failed(s, "the password from $%s was refused", t->o.password_env);
      s->state = S_AUTH_NEXT;
      break;
    case S_AUTH_KBD: {
      const char *user = t->o.user ? t->o.user : "root";
      rc = libssh2_userauth_keyboard_interactive_ex(s->session, user, (unsigned)strlen(user),
                                                    kbd_callback);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc == 0)
        return authenticated(s);
      auth_failed(s, "keyboard-interactive with the password from $%s was refused",
                  t->o.password_env);
      s->state = S_AUTH_NEXT;
      break;
    }
    case S_CH_OPEN:
      s->channel = libssh2_channel_open_session(s->session);
      if (s->channel == NULL) {
        rc = libssh2_session_last_errno(s->session);
        if (rc == LIBSSH2_ERROR_EAGAIN)
          return arm(s);
        return op_failed(s, rc, "opening a channel");
      }
      s->state = op->kind == OP_EXEC ? S_CH_EXEC : S_SCP_OPEN;
      break;
    case S_CH_EXEC:
      rc = libssh2_channel_exec(s->channel, op->command);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc != 0)
        return op_failed(s, rc, "running the command");
      s->input_sent = 0;
      s->state = S_CH_INPUT;
      break;
    case S_CH_INPUT:
      while (s->input_sent < op->input_len) {
        ssize_t n = libssh2_channel_write(s->channel, op->input + s->input_sent,
                                          op->input_len - s->input_sent);
        if (n == LIBSSH2_ERROR_EAGAIN)
          return arm(s);
        if (n < 0)
          return op_failed(s, (int)n, "writing the command's input");
        s->input_sent += (size_t)n;
      }
      s->state = S_CH_EOF;
      break;
    case S_CH_EOF:
      rc = libssh2_channel_send_eof(s->channel);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc != 0 && gone(rc))
        return op_failed(s, rc, "ending the input");
      s->last_rx = uv_now(t->loop);
      s->state = S_CH_READ;
      break;
    case S_CH_READ: {
      /* Drain both streams until both would block: libssh2 may already hold packets of one
       * while we read the other. */
      bool progress = true;
      while (progress) {
        progress = false;
        for (int stream = 0; stream < 2; stream++) {
          ssize_t n = libssh2_channel_read_ex(s->channel, stream, buf, sizeof buf);
          if (n > 0) {
            transport__output(t, (enum transport_stream)stream, buf, (size_t)n);
            progress = true;
          } else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
            return op_failed(s, (int)n, "reading the output");
        }
      }
      if (!libssh2_channel_eof(s->channel))
        return arm(s);
      s->state = S_CH_CLOSE;
      break;
    }
    case S_SCP_OPEN: {
      if (s->file == NULL) {
        struct stat st;
        s->file = fopen(op->local_path, "rb");
        if (s->file == NULL || fstat(fileno(s->file), &st) != 0) {
          int e = errno;
          if (s->file)
            fclose(s->file);
          s->file = NULL;
          s->state = S_READY;
          libssh2_channel_free(s->channel); /* an unused channel: no I/O pending */
          s->channel = NULL;
          transport__op_done(t, TRANSPORT_E_FILE, "%s: cannot read %s: %s", t->o.name,
                             op->local_path, strerror(e));
          return;
        }
        s->size = (uint64_t)st.st_size;
        s->sent = s->reported = 0;
        s->buf_len = s->buf_off = 0;
        if (s->buf == NULL)
          s->buf = xmalloc(UPLOAD_CHUNK);
        /* The channel opened by S_CH_OPEN is not needed: scp_send opens its own. */
        libssh2_channel_free(s->channel);
        s->channel = NULL;
      }
      s->channel =
          libssh2_scp_send64(s->session, op->remote_path, 0644, (libssh2_int64_t)s->size, 0, 0);
      if (s->channel == NULL) {
        rc = libssh2_session_last_errno(s->session);
        if (rc == LIBSSH2_ERROR_EAGAIN)
          return arm(s);
        if (gone(rc))
          return op_failed(s, rc, "ending the input");
        fclose(s->file);
        s->file = NULL;
        s->state = S_READY;
        transport__op_done(t, TRANSPORT_E_REMOTE, "%s: the router refused the upload of %s: %s",
                           t->o.name, op->remote_path, last_error(s));
        return;
      }
      s->state = S_SCP_WRITE;
      break;
    }
    case S_SCP_WRITE:
      while (s->sent < s->size) {
        if (s->buf_off == s->buf_len) {
          s->buf_len = fread(s->buf, 1, UPLOAD_CHUNK, s->file);
          s->buf_off = 0;
          if (s->buf_len == 0)
            return dead(s, TRANSPORT_E_FILE, "%s shrank while being uploaded", op->local_path);
        }
        ssize_t n = libssh2_channel_write(s->channel, s->buf + s->buf_off, s->buf_len - s->buf_off);
        if (n == LIBSSH2_ERROR_EAGAIN)
          return arm(s);
        if (n < 0)
          return op_failed(s, (int)n, "uploading");
        s->buf_off += (size_t)n;
        s->sent += (uint64_t)n;
        s->last_rx = uv_now(t->loop); /* the peer is taking data: it is alive */
        if (op->on_progress && (s->sent - s->reported >= UPLOAD_CHUNK || s->sent == s->size)) {
          s->reported = s->sent;
          op->on_progress(t, s->sent, s->size, op->data);
        }
      }
      fclose(s->file);
      s->file = NULL;
      s->state = S_SCP_EOF;
      break;
    case S_SCP_EOF:
      rc = libssh2_channel_send_eof(s->channel);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      s->state = S_SCP_WAIT_EOF;
      break;
    case S_SCP_WAIT_EOF:
      rc = libssh2_channel_wait_eof(s->channel);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      s->state = S_CH_CLOSE;
      break;
    case S_CH_CLOSE:
      rc = libssh2_channel_close(s->channel);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc != 0 && gone(rc))
        return op_failed(s, rc, "ending the input");
      s->state = S_CH_WAIT_CLOSED;
      break;
    case S_CH_WAIT_CLOSED:
      rc = libssh2_channel_wait_closed(s->channel);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      if (rc != 0 && gone(rc))
        return op_failed(s, rc, "ending the input");
      if (op->kind == OP_EXEC)
        exec_done(s); /* the exit status is reliable only now (reference §1.3) */
      s->state = S_CH_FREE;
      break;
    case S_CH_FREE:
      rc = libssh2_channel_free(s->channel);
      if (rc == LIBSSH2_ERROR_EAGAIN)
        return arm(s);
      s->channel = NULL;
      s->state = S_READY;
      stop_poll(s);
      transport__op_done(t, 0, "%s", "");
      return; /* op_done may already have started the next operation */
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
    return dead(s, TRANSPORT_E_DROPPED, "the connection was lost: %s",
                err ? strerror(err) : uv_strerror(status));
  }
  if (s->state == S_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || status < 0)
      return dead(s, TRANSPORT_E_CONNECT, "cannot connect: %s", strerror(err ? err : ECONNREFUSED));
    s->session = libssh2_session_init_ex(NULL, NULL, NULL, s);
    if (s->session == NULL)
      return dead(s, TRANSPORT_E_PROTOCOL, "cannot create an SSH session");
    libssh2_session_callback_set(s->session, LIBSSH2_CALLBACK_RECV, (void *)recv_hook);
    libssh2_session_set_blocking(s->session, 0);
    libssh2_keepalive_config(s->session, 1, s->t->o.keepalive_s);
    char pref[160];
    transport__hostkey_preference(s->t, pref, sizeof pref);
    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_HOSTKEY, pref);
    s->state = S_HANDSHAKE;
  }
  run(s);
}

/* Every half second: the connect deadline while opening; keepalives and the dead-peer check
 * while a command runs (only then: keepalive replies are read by the channel's reads). */
static void on_tick(uv_timer_t *timer)
{
  struct ssh *s = timer->data;
  struct transport *t = s->t;
  uint64_t now = uv_now(t->loop);
  if (s->state < S_READY && s->state != S_DEAD) {
    /* The deadline runs from when the attempt got its handshake slot, not while it queued. */
    if (s->started_ms != 0 && now - s->started_ms > t->o.connect_timeout_ms)
      dead(s, TRANSPORT_E_TIMEOUT,
           "no SSH session within %u s (connect, handshake, authentication)",
           t->o.connect_timeout_ms / 1000);
    return;
  }
  if (s->state < S_CH_OPEN || s->state == S_DEAD)
    return;
  if (s->state == S_CH_READ) {
    int next;
    libssh2_keepalive_send(s->session, &next); /* EAGAIN and BAD_USE: skip this tick */
  }
  uint64_t silence = (uint64_t)t->o.keepalive_s * t->o.keepalive_count * 1000;
  if (now - s->last_rx > silence) {
    char what[64];
    snprintf(what, sizeof what, "%llu s", (unsigned long long)(silence / 1000));
    dead(s, TRANSPORT_E_DEAD_PEER, "the router has not answered for %s (keepalives unanswered)",
         what);
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
  unsigned user_timeout = o->keepalive_s * o->keepalive_count * 1000;
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
    return dead(s, TRANSPORT_E_RESOLVE, "cannot resolve the address: %s", uv_strerror(status));
  }
  s->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) {
    uv_freeaddrinfo(res);
    return dead(s, TRANSPORT_E_CONNECT, "cannot create a socket: %s", strerror(errno));
  }
  set_socket_options(s->fd, &t->o);
  int rc = connect(s->fd, res->ai_addr, res->ai_addrlen);
  uv_freeaddrinfo(res);
  if (rc != 0 && errno != EINPROGRESS)
    return dead(s, TRANSPORT_E_CONNECT, "cannot connect: %s", strerror(errno));
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
    dead(s, TRANSPORT_E_RESOLVE, "cannot resolve the address: %s", uv_strerror(rc));
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
  uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
  transport__slot_acquire(t, begin);
}

static void ssh_start(struct transport *t)
{
  struct ssh *s = t->backend;
  s->state = S_CH_OPEN;
  s->last_rx = uv_now(t->loop);
  run(s);
}

static void ssh_timeout(struct transport *t)
{
  struct ssh *s = t->backend;
  dead(s, TRANSPORT_E_TIMEOUT, "the command did not finish within its time limit");
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
  stop_poll(s);
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
    if (s->channel)
      libssh2_channel_free(s->channel);
    libssh2_session_free(s->session);
    s->session = NULL;
    s->channel = NULL;
  }
  s->state = S_DEAD;
  s->closing = (s->poll_open ? 1 : 0) + (s->tick_open ? 1 : 0);
  if (s->poll_open) {
    s->poll_open = false;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
  }
  if (s->tick_open) {
    s->tick_open = false;
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
  }
  if (s->closing == 0)
    finalize(s);
}

const struct transport_ops transport__ssh_ops = {ssh_open, ssh_start, ssh_timeout, ssh_close};
