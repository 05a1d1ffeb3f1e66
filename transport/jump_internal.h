/*
 * Private to the ProxyJump chain (jump.c: the hooks and the pump; jump_pool.c: the pool of jump
 * host sessions): a channel on a hop's session (struct jump_link), a pooled session to a hop
 * (struct jump_hop), and the pool.
 */
#ifndef ISSU_TRANSPORT_JUMP_INTERNAL_H
#define ISSU_TRANSPORT_JUMP_INTERNAL_H

#include "transport/ssh_internal.h"

#define LINK_TX_MAX (1u << 20) /* bytes a session behind a hop may have in flight to it */
#define READ_CHUNK 32768
#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS 30000
/* An idle bastion session is kept this long: a router that reconnects after its switchover finds
 * it still there (and a rollout's routers come and go through it). */
#define LINGER_MS 15000

struct buf {
  char *data;
  size_t len, off, cap;
};

/* One direct-tcpip channel on a hop's session, carrying one session behind it. */
struct jump_link {
  struct jump_hop *hop;
  struct ssh *parent; /* the hop's session, once it is ready (NULL while waiting) */
  struct ssh *child;  /* NULL once that session is gone: the channel is being freed */
  LIBSSH2_CHANNEL *channel;
  const char *target_host; /* the child's host and port, what the hop forwards to */
  unsigned target_port;
  struct buf rx, tx;
  bool eof; /* the channel ended: the child's reads see the connection closed */
  struct jump_link *next;
};

enum hop_state { HOP_DELAYED, HOP_OPENING, HOP_READY, HOP_DEAD };

/* One session to one jump host, in a pool. */
struct jump_hop {
  struct transport_jump_pool *pool;
  char *key;   /* the chain up to this hop, with every setting that makes it another session */
  char *label; /* "jump host NAME", for messages */
  struct transport *t;
  struct ssh *s; /* t's session, once opened */
  enum hop_state state;
  uint64_t open_at;    /* HOP_DELAYED: when to open (backoff) */
  uint64_t idle_until; /* no channels: when to close (0: in use) */
  unsigned channels;   /* links on it (waiting, open, or being freed) */
  struct jump_link *waiting;
  bool closing;
  struct jump_hop *next;
};

struct backoff {
  char *key;
  unsigned attempts;
  struct backoff *next;
};

struct transport_jump_pool {
  uv_loop_t *loop;
  unsigned max_channels;
  struct jump_hop *hops;
  struct backoff *failures;
  unsigned opened;  /* sessions opened to jump hosts, all hops */
  unsigned live;    /* hop transports not yet closed */
  uv_timer_t timer; /* opens delayed hops */
  bool freeing, timer_closed;
};

/* jump.c */
void jump__buf_append(struct buf *b, const void *p, size_t n);
size_t jump__buf_pending(const struct buf *b);
void jump__buf_take(struct buf *b, size_t n);
/* Runs the chain of `s` soon (now if it is already running: its loop goes round again). */
void jump__request_service(struct ssh *s);

/* jump_pool.c */
/* A link is done with: its hop has one channel less. */
void jump__link_free(struct jump_link *l);
void jump__remove_child_link(struct ssh *p, struct jump_link *l);

#endif
