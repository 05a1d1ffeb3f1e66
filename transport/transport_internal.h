/*
 * Private to transport/: the common object, the operation queue, and the back-end table
 * (ssh_session.c and its parts, local.c). Not part of the module's interface (that is transport.h).
 */
#ifndef ISSU_TRANSPORT_INTERNAL_H
#define ISSU_TRANSPORT_INTERNAL_H

#include "common/common.h"
#include "transport/transport.h"

#include <stdarg.h>

enum op_kind { OP_EXEC, OP_UPLOAD };

/* Splits a byte stream into bounded lines. */
struct line_buf {
  char *buf;
  size_t len, cap; /* grown to the longest line so far (at most max_line + 1) */
  bool skipping;   /* a line was cut: drop bytes up to its end */
};

struct transport_op {
  enum op_kind kind;
  char *command;
  char *input;
  size_t input_len;
  char *local_path, *remote_path;
  unsigned timeout_ms;
  transport_line_cb on_line;
  transport_done_cb on_done;
  transport_progress_cb on_progress;
  void *data;
  /* The result but its error and message (TRANSPORT_MESSAGE_MAX, 8 KB): those are known only
   * when the operation ends, and finish() puts the whole result together on the stack then, so
   * an operation in flight costs a few hundred bytes, not 8 KB (B8: memory per router). */
  struct transport_op_result {
    int exit_status;
    bool signaled;
    char signal_name[32];
    uint64_t bytes;
    bool truncated;
  } result;
  struct line_buf lines[2];
  uint64_t deadline_ms;      /* loop time the operation must end by; 0: none */
  bool timed_out;            /* the back end was told; it ends the operation */
  void *lane;                /* the back end's state of a running operation (channel, child) */
  struct transport_op *next; /* in the queue, or in the running list */
};

enum transport_state {
  T_NEW,
  T_OPENING,
  T_READY,
  T_BUSY,
  T_FAILED, /* the session is gone: every later operation fails at once */
  T_CLOSING,
};

struct transport;

struct transport_ops {
  /* Starts connecting; calls transport__opened() when done (at once for local). */
  void (*open)(struct transport *t);
  /* Starts `op` (now in the running list); calls transport__op_done() when it ends. Several
   * execs may run at once (transport_set_channels); an upload always runs alone. */
  void (*start)(struct transport *t, struct transport_op *op);
  /* The operation's deadline passed: end it (and, for ssh with one channel, the session). */
  void (*timeout)(struct transport *t, struct transport_op *op);
  /* A running operation is being ended from above (failure, close): its lane must forget it
   * (no output or result may reach it any more). */
  void (*detach)(struct transport *t, struct transport_op *op);
  /* Closes everything; calls transport__closed() once every handle is closed. */
  void (*close)(struct transport *t);
};

extern const struct transport_ops transport__ssh_ops;
extern const struct transport_ops transport__local_ops;

struct transport {
  uv_loop_t *loop;
  struct transport_options o; /* its strings point into owned[] */
  char *owned[12];
  size_t nowned;
  struct transport_hop *jump_copy; /* o.jump points here */
  char **jump_strings;
  size_t njump_strings;
  char ***lists; /* o.key_files and o.known_hosts_files point here */
  size_t *list_lens;
  size_t nlists;
  const struct transport_ops *ops;
  enum transport_state state;
  int failure;                        /* why T_FAILED */
  char *failure_message;              /* its words, whole */
  struct transport_host_key host_key; /* what the key exchange presented; base64 NULL before */
  bool has_host_key;
  transport_open_cb open_cb;
  void *open_data;
  struct transport_op *head, *tail;
  struct transport_op *running; /* the operations started and not yet ended, in start order */
  unsigned nrunning;
  unsigned max_channels; /* transport_set_channels: execs at once (1: one after another) */
  unsigned channel_cap;  /* the server refused a channel: at most this many (0: no cap) */
  uv_timer_t op_timer;
  bool op_timer_closed;
  transport_close_cb close_cb;
  void *close_data;
  void *backend;
  struct transport *next_waiting;       /* in the limiter's queue */
  void (*slot_go)(struct transport *t); /* what to do once a handshake slot is ours */
  bool holds_slot;
  bool waiting_slot;
  struct transport *next_held; /* in the send gate's queue (transport_limiter.hold) */
  bool held;
  uint64_t gate_ticket; /* the send gate's ticket of the operation at the head (0: none yet) */
};

/* Back ends report through these. */
void transport__opened(struct transport *t, int error, const char *fmt, ...) ISSU_PRINTF(3, 4);
void transport__output(struct transport *t, struct transport_op *op, enum transport_stream s,
                       const char *buf, size_t len);
void transport__op_done(struct transport *t, struct transport_op *op, int error, const char *fmt,
                        ...) ISSU_PRINTF(4, 5);
/* The server refused the channel `op` was to run on while others ran: `op` goes back to the head
 * of the queue, and from now on this transport runs at most `cap` at once (the channels the
 * server took). */
void transport__channel_refused(struct transport *t, struct transport_op *op, unsigned cap);
/* A channel no operation was waiting on has gone: a refused operation may start now. */
void transport__kick(struct transport *t);
/* The session is gone: fail the current and queued operations, refuse new ones. */
void transport__fail(struct transport *t, int error, const char *fmt, ...) ISSU_PRINTF(3, 4);
void transport__closed(struct transport *t);

/* Handshake slots (limiter): acquire calls `go` now or when a slot frees. */
void transport__slot_acquire(struct transport *t, void (*go)(struct transport *t));
void transport__slot_release(struct transport *t);

/* Base64 of `len` bytes, for key fingerprints. */
void transport__base64(const unsigned char *in, size_t len, char *out, size_t outlen);
/* A printf into a new string, whole (caller frees). */
char *transport__vformat(const char *fmt, va_list ap) ISSU_PRINTF(1, 0);

/* digest.c */
void transport__sha256(const unsigned char *in, size_t len, unsigned char out[32]);
void transport__hmac_sha1(const unsigned char *key, size_t klen, const unsigned char *msg,
                          size_t mlen, unsigned char out[20]);
/* "SHA256:" and the unpadded base64 of the blob's SHA-256, as `ssh-keygen -lf` prints it. */
void transport__fingerprint(const unsigned char *blob, size_t len, char *out, size_t outlen);
long transport__base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen);

/* ssh_hostkey.c, for ssh_session.c */
/* Records the key the server presented (transport_host_key); false if its blob is malformed. */
bool transport__set_host_key(struct transport *t, const unsigned char *blob, size_t len);
/* The host-key algorithms to offer, those known_hosts holds for the key's name first (libssh2
 * 1.10 would otherwise pick ECDSA where OpenSSH recorded ed25519, and call the host unknown). */
void transport__hostkey_preference(const struct transport *t, char *pref, size_t len);
/* Checks the recorded host key against known_hosts (appending it when unknown and
 * accept_new_host_keys is set). 0, or a TRANSPORT_E_HOSTKEY* error with *message set (caller
 * frees): the address, the key, the file and the fix, whole. */
int transport__hostkey_verify(struct transport *t, const unsigned char *blob, size_t len,
                              char **message);

#endif
