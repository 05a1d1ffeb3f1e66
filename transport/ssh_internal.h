/*
 * Private to the SSH back end (ssh_session.c, ssh_exec.c, ssh_scp.c, jump.c): one session's
 * state machine. Every state is one function (a row of the step table in ssh_session.c) that
 * calls its libssh2 function once and says what to do next: go on to the next state, wait for
 * the socket in the directions libssh2 is blocked on, or stop (the step ended the operation or
 * the session, or handed control back to the caller).
 */
#ifndef ISSU_TRANSPORT_SSH_INTERNAL_H
#define ISSU_TRANSPORT_SSH_INTERNAL_H

#include "transport/transport_internal.h"

#include <libssh2.h>
#include <stdio.h>

enum ssh_state {
  S_RESOLVING,
  S_CONNECTING,
  S_JUMP_WAIT, /* behind a jump host: waiting for the hop's session (jump.c) */
  S_FORWARD,   /* behind a jump host: opening the direct-tcpip channel on it (jump.c) */
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
  S_COUNT
};

/* What a state function tells the loop of ssh__run. */
enum step {
  STEP_NEXT, /* the state changed: run the next one now */
  STEP_WAIT, /* libssh2 would block: wait for the socket (or the hop), then run this state again */
  STEP_STOP, /* nothing more to do now (done, dead, or the caller was called back) */
};

struct jump_link;
struct jump_hop;

/* One operation's channel on the session (ssh_exec.c, ssh_scp.c): its own state machine, so
 * several execs run at once on one session. `op` is NULL once the operation has ended without
 * it (timed out, or ended from above): the channel is then only closed and freed. */
struct ssh_chan {
  struct ssh_chan *next;
  struct transport_op *op;
  enum ssh_state state; /* S_CH_OPEN .. S_CH_FREE */
  LIBSSH2_CHANNEL *channel;
  size_t input_sent;
  bool abandoned;    /* its operation timed out: close it as soon as its current call is through */
  unsigned refusals; /* opens refused with no other channel of ours open (see ch_open) */
  uint64_t retry_at; /* loop time before which the open is not asked again (0: now) */
};
/* A channel refused while none of ours is open, on a server known to limit them: asked again on
 * the next ticks (half a second apart), this many times, before it is a failure. 4 (2 s) was
 * too few for sshd to read our close under valgrind on a loaded machine (the MaxSessions 1 test
 * failed there); 20 is 10 s, still far below a command's time limit. */
#define SSH_OPEN_RETRIES 20

struct ssh {
  struct transport *t;
  enum ssh_state state;
  uv_getaddrinfo_t gai;
  bool gai_active;
  int fd; /* the socket; -1 behind a jump host (the bytes go through `link`) */
  uv_poll_t poll;
  bool poll_open;
  uv_timer_t tick;
  bool tick_open;
  int closing; /* handles still closing */
  LIBSSH2_SESSION *session;
  /* The channels of the operations running (once S_READY), in start order. libssh2 1.10 opens
   * one channel at a time (`opening`), and a call that left a packet half sent must be repeated
   * before any other call sends (`tx_chan`, reference §1.2, BAD_USE). */
  struct ssh_chan *chans;
  struct ssh_chan *opening;
  struct ssh_chan *tx_chan;
  bool in_run, run_again; /* ssh__run is on the stack: a nested call only asks for a round more */
  bool progress;          /* a channel read bytes in this round */
  bool chans_changed;     /* channels other than the one stepped were freed: a new round */
  uint64_t rx_count;      /* socket reads that returned bytes (the rounds' progress test) */
  unsigned chans_freed;   /* channels this session has closed and freed (see ch_open) */
  LIBSSH2_AGENT *agent;
  struct libssh2_agent_publickey *identity;
  char *methods; /* what the server offers, whole */
  bool tried_key, tried_agent, tried_password, tried_kbd;
  char *auth_failure;    /* why each method failed, in order, whole; NULL if none did */
  size_t key_next;       /* the next key file of the list to consider */
  const char *key_path;  /* the key file being offered */
  unsigned keys_offered; /* key files the server refused */
  bool key_problem;      /* a key file could not be used (missing, locked, RSA) */
  uint64_t started_ms;
  uint64_t last_rx;
  uint64_t last_tick; /* loop time of the last tick: a longer gap is our loop's stall */
  /* the current operation */
  size_t input_sent;
  FILE *file;
  char *buf;
  size_t buf_len, buf_off;
  uint64_t size, sent, reported;
  /* ProxyJump (jump.c). `link`: the channel this session runs over (NULL when direct). For a
   * jump host's own session: `hop`, its pool entry, and `children`, the channels on it. */
  struct jump_link *link;
  struct jump_link *children;
  struct jump_hop *hop;
  struct jump_link *forwarding; /* the one channel open in progress (libssh2 opens one at once) */
  struct jump_link *tx_blocked; /* a channel whose write is half sent: it goes first */
  struct transport_jump_pool *own_pool; /* no pool given: this router's own */
  uv_timer_t kick; /* runs jump__service soon (the outermost session of a chain) */
  bool kick_open;
  bool in_service, service_again;
};

typedef enum step (*ssh_step_fn)(struct ssh *s);

/* ssh_session.c */
void ssh__run(struct ssh *s);
void ssh__arm(struct ssh *s);
void ssh__stop_poll(struct ssh *s);
/* Waits for the socket in exactly `events` (UV_READABLE, UV_WRITABLE). */
void ssh__poll(struct ssh *s, int events);
void ssh__dead(struct ssh *s, int error, const char *fmt, ...) ISSU_PRINTF(3, 4);
const char *ssh__last_error(struct ssh *s);
bool ssh__gone(int rc);
/* A command or upload failed at `what`: the session dropped, or SSH itself failed. */
enum step ssh__op_failed(struct ssh *s, int rc, const char *what);
/* Creates the libssh2 session (non-blocking, keepalive, host-key preference, I/O hooks). */
bool ssh__session_init(struct ssh *s);

/* ssh_exec.c: the channels' machine (exec states, and the close shared with SCP). */
typedef enum step (*ssh_chan_fn)(struct ssh *s, struct ssh_chan *c);
/* Runs every channel until none can move; then waits for the socket, or stops polling. */
void ssh__run_chans(struct ssh *s);
/* A channel for `op`, appended (state S_CH_OPEN). */
struct ssh_chan *ssh__chan_new(struct ssh *s, struct transport_op *op);
/* Frees every channel (the session is being freed; blocking mode, bounded). */
void ssh__chans_free(struct ssh *s);
/* Whether a channel waits to ask for its open again (the session's tick runs the channels). */
bool ssh__chans_retrying(const struct ssh *s);
/* The operation of `c` timed out: it ends now; its channel is closed in the background. */
void ssh__chan_abandon(struct ssh *s, struct ssh_chan *c);
/* The state after S_CH_OPEN for an upload. */
enum step ssh__scp_open(struct ssh *s, struct ssh_chan *c);
enum step ssh__scp_write(struct ssh *s, struct ssh_chan *c);
enum step ssh__scp_eof(struct ssh *s, struct ssh_chan *c);
enum step ssh__scp_wait_eof(struct ssh *s, struct ssh_chan *c);
/* An operation ended at `what` without ending the session (its channel is freed here). */
void ssh__chan_done(struct ssh *s, struct ssh_chan *c, int error, const char *fmt, ...)
    ISSU_PRINTF(4, 5);

/* jump.c, jump_pool.c: the ProxyJump chain. */
/* Starts a session behind its jump hosts (instead of resolving and connecting). */
void jump__begin(struct ssh *s);
enum step jump__forward(struct ssh *s);
/* The socket a session's libssh2 calls are made with: its own, or the outermost one of its chain
 * (libssh2 only checks its blocking mode: the bytes go through the hooks). */
int jump__socket(const struct ssh *s);
/* Waits for the chain: a session behind jump hosts asks its outermost session to run again. */
void jump__arm(struct ssh *s);
/* The session is dead or closing: its channel on the hop is released, and if it is a jump host's
 * session, the sessions behind it end with TRANSPORT_E_DROPPED. */
void jump__detach(struct ssh *s, int error, const char *why);
/* The outermost socket is ready: pump every channel of the chain, run every session on it. */
void jump__service(struct ssh *s);
/* Every tick of a jump host's ready session: a keepalive while sessions run behind it, and the
 * dead-peer check (a frozen bastion's kernel still acknowledges, so TCP alone never notices). */
void jump__tick(struct ssh *s, uint64_t now);
/* Closes the router's own pool (no pool given) once the session is gone. */
void jump__release_own_pool(struct ssh *s);
/* I/O hooks of a session behind a jump host: its bytes go through the hop's channel. */
ssize_t jump__send(libssh2_socket_t fd, const void *buf, size_t len, int flags, void **abstract);
ssize_t jump__recv(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract);

#endif
