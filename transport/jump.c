/*
 * ProxyJump over libssh2, in-process: the sessions of a jump chain and the pool that shares them.
 *
 * A router behind jump hosts A, B (`ssh -J A,B router`) runs its own end-to-end SSH session over
 * a direct-tcpip channel that B's session opened to the router; B's session itself runs over a
 * channel of A's, and only A's session has a socket. A session behind a hop does its I/O through
 * libssh2's SEND/RECV hooks, which never call the hop's libssh2 directly: they copy into and out of
 * the channel's two buffers (struct jump_link). The pump (jump__service) moves those buffers to
 * and from the hop's channels, outermost session first, then runs every session of the chain, and
 * repeats while anything moved. Two libssh2 rules shape it: a packet that was half sent must be
 * sent again before any other on that session (tx_blocked goes first, and nothing else is written
 * meanwhile), and a session opens one channel at a time (forwarding). The outermost socket's
 * uv_poll drives everything; a session behind a hop that waits asks its outermost session to run
 * (a zero timer, `kick`).
 *
 * Every hop is a transport of its own (options derived from the router's and the hop's), so its
 * host key is checked against its own known_hosts under its own name before anything is sent past
 * it, with the same code and words as a router's. Hops live in a pool: routers behind the same
 * chain share one session per hop, at most max_channels channels each; a session is opened when
 * none has room and closed when its last channel is. A hop whose session fails or drops takes the
 * sessions behind it down (TRANSPORT_E_DROPPED: the caller reconnects as after any drop), and the
 * next session to that hop waits transport_backoff_ms first.
 */
#include "transport/ssh_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- buffers ---- */

static void buf_append(struct buf *b, const void *p, size_t n)
{
  if (b->off > 0 && b->off == b->len)
    b->off = b->len = 0;
  if (b->len + n > b->cap) {
    if (b->off > 0) {
      memmove(b->data, b->data + b->off, b->len - b->off);
      b->len -= b->off;
      b->off = 0;
    }
    if (b->len + n > b->cap) {
      size_t cap = b->cap ? b->cap : 4096;
      while (cap < b->len + n)
        cap *= 2;
      b->data = xrealloc(b->data, cap);
      b->cap = cap;
    }
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static size_t buf_pending(const struct buf *b)
{
  return b->len - b->off;
}

static void buf_take(struct buf *b, size_t n)
{
  b->off += n;
  if (b->off == b->len)
    b->off = b->len = 0;
}

/* ---- the chain's outermost session ---- */

static struct ssh *root_of(struct ssh *s)
{
  while (s != NULL && s->link != NULL)
    s = s->link->parent;
  return s;
}

int jump__socket(const struct ssh *s)
{
  while (s != NULL && s->link != NULL)
    s = s->link->parent;
  return s ? s->fd : -1;
}

static void on_kick(uv_timer_t *timer)
{
  jump__service(timer->data);
}

/* Runs the chain of `s` soon (now if it is already running: its loop goes round again). */
static void request_service(struct ssh *s)
{
  struct ssh *root = root_of(s);
  if (root == NULL || root->state == S_DEAD || !root->kick_open)
    return;
  if (root->in_service) {
    root->service_again = true;
    return;
  }
  if (!uv_is_active((uv_handle_t *)&root->kick))
    uv_timer_start(&root->kick, on_kick, 0, 0);
}

void jump__arm(struct ssh *s)
{
  struct ssh *root = root_of(s);
  /* Inside the service loop a waiting session is run again when anything moves. */
  if (root != NULL && !root->in_service)
    request_service(s);
}

/* ---- the hooks ---- */

ssize_t jump__send(libssh2_socket_t fd, const void *buf, size_t len, int flags, void **abstract)
{
  (void)fd;
  (void)flags;
  struct ssh *s = *abstract;
  struct jump_link *l = s->link;
  if (l == NULL || l->eof || l->parent == NULL || l->parent->state == S_DEAD)
    return -EPIPE;
  size_t room = LINK_TX_MAX > buf_pending(&l->tx) ? LINK_TX_MAX - buf_pending(&l->tx) : 0;
  if (room == 0)
    return -EAGAIN;
  size_t n = len < room ? len : room;
  buf_append(&l->tx, buf, n);
  request_service(s);
  return (ssize_t)n;
}

ssize_t jump__recv(libssh2_socket_t fd, void *buf, size_t len, int flags, void **abstract)
{
  (void)fd;
  (void)flags;
  struct ssh *s = *abstract;
  struct jump_link *l = s->link;
  if (l == NULL)
    return 0; /* the channel is gone: the connection is closed */
  size_t have = buf_pending(&l->rx);
  if (have == 0)
    return l->eof ? 0 : -EAGAIN;
  size_t n = len < have ? len : have;
  memcpy(buf, l->rx.data + l->rx.off, n);
  buf_take(&l->rx, n);
  s->last_rx = uv_now(s->t->loop);
  return (ssize_t)n;
}

/* ---- the pool ---- */

struct transport_jump_pool *transport_jump_pool_new(uv_loop_t *loop, unsigned max_channels)
{
  struct transport_jump_pool *p = xcalloc(1, sizeof *p);
  p->loop = loop;
  p->max_channels = max_channels ? max_channels : 10;
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  return p;
}

unsigned transport_jump_pool_sessions_opened(const struct transport_jump_pool *p)
{
  return p ? p->opened : 0;
}

static void pool_maybe_free(struct transport_jump_pool *p)
{
  if (!p->freeing || p->live > 0 || !p->timer_closed)
    return;
  while (p->failures) {
    struct backoff *b = p->failures;
    p->failures = b->next;
    free(b->key);
    free(b);
  }
  free(p);
}

static void on_pool_timer_closed(uv_handle_t *h)
{
  struct transport_jump_pool *p = h->data;
  p->timer_closed = true;
  pool_maybe_free(p);
}

static struct backoff *failure_of(struct transport_jump_pool *p, const char *key, bool make)
{
  for (struct backoff *b = p->failures; b; b = b->next)
    if (strcmp(b->key, key) == 0)
      return b;
  if (!make)
    return NULL;
  struct backoff *b = xcalloc(1, sizeof *b);
  b->key = xstrdup(key);
  b->next = p->failures;
  p->failures = b;
  return b;
}

static void hop_close(struct jump_hop *h);

static void unlink_hop(struct jump_hop *h)
{
  for (struct jump_hop **pp = &h->pool->hops; *pp; pp = &(*pp)->next)
    if (*pp == h) {
      *pp = h->next;
      return;
    }
}

static void on_pool_timer(uv_timer_t *timer);

/* A hop without channels: a ready one lingers a while (LINGER_MS), any other one closes. */
static void hop_idle(struct jump_hop *h)
{
  if (h->state != HOP_READY || h->pool->freeing) {
    hop_close(h);
    return;
  }
  h->idle_until = uv_now(h->pool->loop) + LINGER_MS;
  on_pool_timer(&h->pool->timer);
}

/* A link is done with: its hop has one channel less. */
static void link_free(struct jump_link *l)
{
  struct jump_hop *h = l->hop;
  free(l->rx.data);
  free(l->tx.data);
  free(l);
  if (h != NULL && --h->channels == 0)
    hop_idle(h);
}

static void remove_child_link(struct ssh *p, struct jump_link *l)
{
  for (struct jump_link **pp = &p->children; *pp; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      break;
    }
  if (p->tx_blocked == l)
    p->tx_blocked = NULL;
  if (p->forwarding == l)
    p->forwarding = NULL;
}

static void on_hop_closed(struct transport *t, void *data)
{
  (void)t;
  struct jump_hop *h = data;
  struct transport_jump_pool *p = h->pool;
  free(h->key);
  free(h->label);
  free(h);
  p->live--;
  pool_maybe_free(p);
}

static void hop_close(struct jump_hop *h)
{
  if (h->closing)
    return;
  h->closing = true;
  unlink_hop(h);
  transport_close(h->t, on_hop_closed, h);
}

static void forward_go(struct transport *t)
{
  struct ssh *s = t->backend;
  s->state = S_FORWARD;
  s->started_ms = uv_now(t->loop);
  ssh__run(s);
}

/* The hop's session is ready: the link goes onto it, and its session asks for the channel once it
 * holds a handshake slot. */
static void attach(struct jump_link *l)
{
  struct jump_hop *h = l->hop;
  if (h->s->children == NULL)
    h->s->last_rx = uv_now(h->pool->loop); /* its silence counts from when it is used again */
  l->parent = h->s;
  l->next = h->s->children;
  h->s->children = l;
  transport__slot_acquire(l->child->t, forward_go);
}

static void on_hop_opened(struct transport *t, int error, const char *message, void *data)
{
  (void)t;
  struct jump_hop *h = data;
  struct backoff *b = failure_of(h->pool, h->key, error != 0);
  if (error == 0) {
    h->state = HOP_READY;
    h->s = h->t->backend;
    if (b != NULL)
      b->attempts = 0;
    while (h->waiting) {
      struct jump_link *l = h->waiting;
      h->waiting = l->next;
      attach(l);
    }
    return;
  }
  h->state = HOP_DEAD;
  if (!h->closing)
    b->attempts++; /* closed while opening (no router wanted it any more): no failure */
  /* Every router waiting for this hop fails with the hop's own error and words. */
  h->channels++; /* held while the waiters go, so the hop is closed once, below */
  while (h->waiting) {
    struct jump_link *l = h->waiting;
    h->waiting = l->next;
    struct ssh *c = l->child;
    c->link = NULL;
    l->child = NULL;
    link_free(l);
    ssh__dead(c, error, "%s", message);
  }
  if (--h->channels == 0)
    hop_close(h);
  else
    unlink_hop(h); /* no new router is given a dead hop */
}

static void open_hop(struct jump_hop *h)
{
  h->state = HOP_OPENING;
  h->pool->opened++;
  transport_open(h->t, on_hop_opened, h);
  if (h->t->backend != NULL && h->state != HOP_DEAD)
    ((struct ssh *)h->t->backend)->hop = h;
}

static void on_pool_timer(uv_timer_t *timer)
{
  struct transport_jump_pool *p = timer->data;
  uint64_t now = uv_now(p->loop), next = 0;
  for (struct jump_hop *h = p->hops, *n; h; h = n) {
    n = h->next;
    if (h->closing)
      continue;
    uint64_t at = 0;
    if (h->state == HOP_DELAYED)
      at = h->open_at;
    else if (h->channels == 0 && h->state == HOP_READY)
      at = h->idle_until;
    if (at == 0)
      continue;
    if (at > now) {
      if (next == 0 || at < next)
        next = at;
    } else if (h->state == HOP_DELAYED)
      open_hop(h);
    else
      hop_close(h);
  }
  if (next != 0 && !p->freeing)
    uv_timer_start(&p->timer, on_pool_timer, next - now, 0);
}

/* The options of hop `i` of the chain of `o`: its own settings, else the router's. */
static void hop_options(const struct transport_options *o, size_t i, struct transport_options *ho)
{
  const struct transport_hop *hp = &o->jump[i];
  memset(ho, 0, sizeof *ho);
  ho->kind = TRANSPORT_SSH;
  ho->host = hp->host;
  ho->port = hp->port ? hp->port : 22;
  ho->user = hp->user ? hp->user : o->user;
  ho->key_file = hp->key_file ? hp->key_file : o->key_file;
  ho->known_hosts = hp->known_hosts ? hp->known_hosts : o->known_hosts;
  ho->key_host = hp->key_host;
  ho->key_port = hp->key_port;
  ho->password_env = o->password_env;
  ho->inventory_file = o->inventory_file;
  ho->accept_new_host_keys = o->accept_new_host_keys;
  ho->use_agent = o->use_agent;
  ho->limiter = o->limiter;
  ho->jump = o->jump;
  ho->jump_count = i;
  ho->jump_pool = o->jump_pool;
  ho->connect_timeout_ms = o->connect_timeout_ms;
  ho->keepalive_s = o->keepalive_s;
  ho->keepalive_count = o->keepalive_count;
}

/* The chain up to hop `i`, with every setting that makes a session to it another one. */
static char *chain_key(const struct transport_options *o, size_t i)
{
  char *key = xstrdup("");
  for (size_t j = 0; j <= i; j++) {
    struct transport_options ho;
    hop_options(o, j, &ho);
    char *next =
        xasprintf("%s%s@%s:%u|%s:%u|%s|%s|%s|%d%d;", key, ho.user ? ho.user : "", ho.host, ho.port,
                  ho.key_host ? ho.key_host : ho.host, ho.key_port ? ho.key_port : ho.port,
                  ho.key_file ? ho.key_file : "", ho.known_hosts ? ho.known_hosts : "",
                  ho.password_env ? ho.password_env : "", ho.accept_new_host_keys, ho.use_agent);
    free(key);
    key = next;
  }
  return key;
}

/* A hop session with room for one more channel, opened (or delayed by backoff) if none has. */
static struct jump_hop *acquire(struct transport_jump_pool *p, const struct transport_options *o)
{
  size_t last = o->jump_count - 1;
  char *key = chain_key(o, last);
  for (struct jump_hop *h = p->hops; h; h = h->next)
    if (!h->closing && h->state != HOP_DEAD && h->channels < p->max_channels &&
        strcmp(h->key, key) == 0) {
      free(key);
      h->channels++;
      h->idle_until = 0;
      return h;
    }
  struct jump_hop *h = xcalloc(1, sizeof *h);
  h->pool = p;
  h->key = key;
  struct transport_options ho;
  hop_options(o, last, &ho);
  ho.jump_pool = p;
  /* The hops before this one as the router resolved them (user, key, known_hosts), so this hop's
   * session asks the pool for the very sessions the router's key named. */
  struct transport_hop *before = xcalloc(last > 0 ? last : 1, sizeof *before);
  for (size_t i = 0; i < last; i++) {
    struct transport_options bo;
    hop_options(o, i, &bo);
    before[i] = o->jump[i];
    before[i].user = bo.user;
    before[i].key_file = bo.key_file;
    before[i].known_hosts = bo.known_hosts;
  }
  ho.jump = last > 0 ? before : NULL;
  ho.jump_count = last;
  h->label = ho.port == 22 ? xasprintf("jump host %s", ho.host)
                           : xasprintf("jump host %s:%u", ho.host, ho.port);
  ho.name = h->label;
  transport_new(p->loop, &ho, &h->t); /* copies the hops */
  free(before);
  h->channels = 1;
  h->next = p->hops;
  p->hops = h;
  p->live++;
  struct backoff *b = failure_of(p, key, false);
  if (b != NULL && b->attempts > 0) {
    unsigned delay = transport_backoff_ms(b->attempts - 1, BACKOFF_BASE_MS, BACKOFF_MAX_MS,
                                          (uint64_t)(uintptr_t)h);
    h->state = HOP_DELAYED;
    h->open_at = uv_now(p->loop) + delay;
    on_pool_timer(&p->timer);
  } else
    open_hop(h);
  return h;
}

void transport_jump_pool_free(struct transport_jump_pool *p)
{
  if (p == NULL)
    return;
  p->freeing = true;
  for (struct jump_hop *h = p->hops, *n; h; h = n) {
    n = h->next;
    if (h->channels == 0)
      hop_close(h);
  }
  uv_close((uv_handle_t *)&p->timer, on_pool_timer_closed);
}

void jump__release_own_pool(struct ssh *s)
{
  if (s->own_pool != NULL)
    transport_jump_pool_free(s->own_pool);
  s->own_pool = NULL;
}

/* ---- a session behind a hop ---- */

void jump__begin(struct ssh *s)
{
  struct transport *t = s->t;
  struct transport_jump_pool *p = t->o.jump_pool ? t->o.jump_pool : s->own_pool;
  if (p == NULL)
    p = s->own_pool = transport_jump_pool_new(t->loop, 1);
  s->state = S_JUMP_WAIT;
  s->started_ms = uv_now(t->loop);
  struct transport_options o = t->o;
  o.jump_pool = p;
  struct jump_link *l = xcalloc(1, sizeof *l);
  l->child = s;
  l->target_host = t->o.host;
  l->target_port = t->o.port;
  s->link = l;
  struct jump_hop *h = acquire(p, &o);
  l->hop = h;
  if (h->state == HOP_READY)
    attach(l);
  else if (h->state == HOP_DEAD) {
    /* The hop failed at once (acquire opened it): say so as it did. */
    s->link = NULL;
    l->child = NULL;
    int error = h->t->failure ? h->t->failure : TRANSPORT_E_CONNECT;
    char *why = xstrdup(h->t->failure_message ? h->t->failure_message : h->label);
    link_free(l);
    ssh__dead(s, error, "%s", why);
    free(why);
  } else {
    l->next = h->waiting;
    h->waiting = l;
  }
}

/* S_FORWARD: the hop opens a direct-tcpip channel to this session's host. */
enum step jump__forward(struct ssh *s)
{
  struct jump_link *l = s->link;
  struct ssh *p = l->parent;
  if (p->state == S_DEAD)
    return STEP_STOP; /* its death ends this session too (jump__detach) */
  /* libssh2 opens one channel of a session at a time, and a half-sent packet goes first. */
  if ((p->forwarding != NULL && p->forwarding != l) || p->tx_blocked != NULL)
    return STEP_WAIT;
  p->forwarding = l;
  l->channel = libssh2_channel_direct_tcpip_ex(p->session, l->target_host, (int)l->target_port,
                                               "127.0.0.1", 22);
  if (l->channel == NULL) {
    int rc = libssh2_session_last_errno(p->session);
    if (rc == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    p->forwarding = NULL;
    if (ssh__gone(rc)) {
      /* The hop's session went away while idle (nothing watched it): this session asks for
       * another one (after backoff), the others on it see their sessions dropped. */
      remove_child_link(p, l);
      s->link = NULL;
      l->child = NULL;
      l->parent = NULL;
      link_free(l);
      transport__slot_release(s->t);
      ssh__dead(p, TRANSPORT_E_DROPPED, "the session dropped (opening a forward): %s",
                ssh__last_error(p));
      jump__begin(s);
      return STEP_STOP;
    }
    ssh__dead(s, TRANSPORT_E_JUMP_REFUSED,
              "%s refused to forward to %s:%u: %s (check AllowTcpForwarding and PermitOpen in "
              "its sshd_config, and that it can reach the router)",
              l->hop->label, l->target_host, l->target_port, ssh__last_error(p));
    return STEP_STOP;
  }
  p->forwarding = NULL;
  if (!ssh__session_init(s))
    return STEP_STOP;
  return STEP_NEXT;
}

/* ---- detaching ---- */

void jump__detach(struct ssh *s, int error, const char *why)
{
  (void)error;
  /* A hop's session ends: every session behind it ends too, as a dropped session. */
  if (s->hop != NULL) {
    struct jump_hop *h = s->hop;
    if (h->state == HOP_READY) {
      h->state = HOP_DEAD;
      if (!h->closing) /* it dropped (a close of an idle session is no failure) */
        failure_of(h->pool, h->key, true)->attempts++;
      unlink_hop(h);
    }
    h->channels++; /* held while the links go, so the hop is closed once, below */
    while (s->children) {
      struct jump_link *l = s->children;
      remove_child_link(s, l);
      struct ssh *c = l->child;
      l->child = NULL;
      if (c != NULL)
        c->link = NULL;
      link_free(l);
      if (c == NULL || c->state == S_DEAD)
        continue;
      if (c->state == S_FORWARD && c->session == NULL) {
        /* Nothing was sent for it yet: it asks for another session to the hop (after backoff)
         * rather than failing. */
        transport__slot_release(c->t);
        jump__begin(c);
        continue;
      }
      ssh__dead(c, TRANSPORT_E_DROPPED, "the session through %s ended: %s", h->label, why);
    }
    if (--h->channels == 0 && h->state == HOP_DEAD)
      hop_close(h);
  }
  /* This session's own channel on its hop is given back. */
  struct jump_link *l = s->link;
  if (l == NULL)
    return;
  s->link = NULL;
  l->child = NULL;
  struct jump_hop *h = l->hop;
  if (l->parent == NULL) {
    for (struct jump_link **pp = &h->waiting; *pp; pp = &(*pp)->next)
      if (*pp == l) {
        *pp = l->next;
        break;
      }
    link_free(l);
  } else if (l->parent->state == S_DEAD || l->parent->session == NULL) {
    remove_child_link(l->parent, l);
    link_free(l);
  } else
    request_service(l->parent); /* the pump frees the channel (a libssh2 call on the hop) */
}

/* ---- keepalives ---- */

void jump__tick(struct ssh *s, uint64_t now)
{
  if (s->children == NULL) {
    s->last_rx = now; /* idle: nothing reads its socket, and nothing needs it */
    return;
  }
  /* Never behind a half-sent packet: libssh2 would refuse (or garble) the next one. */
  if (s->tx_blocked == NULL &&
      !(libssh2_session_block_directions(s->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
    int next;
    libssh2_keepalive_send(s->session, &next);
    request_service(s);
  }
  const struct transport_options *o = &s->t->o;
  uint64_t silence = (uint64_t)o->keepalive_s * o->keepalive_count * 1000;
  if (now - s->last_rx > silence)
    ssh__dead(s, TRANSPORT_E_DEAD_PEER,
              "the jump host has not answered for %llu s (keepalives unanswered)",
              (unsigned long long)(silence / 1000));
}

/* ---- the pump ---- */

/* The hop's session failed under its channels. */
static void hop_failed(struct ssh *p)
{
  ssh__dead(p, TRANSPORT_E_DROPPED, "the session dropped: %s", ssh__last_error(p));
}

/* Writes what the sessions behind `p` sent; false if `p` died. */
static bool pump_writes(struct ssh *p, bool *moved)
{
  for (struct jump_link *l = p->tx_blocked ? p->tx_blocked : p->children, *n; l; l = n) {
    n = l == p->tx_blocked ? p->children : l->next;
    if (l == p->tx_blocked && n == l)
      n = l->next;
    if (l->channel == NULL || l->child == NULL || l->eof)
      continue;
    while (buf_pending(&l->tx) > 0) {
      ssize_t w = libssh2_channel_write(l->channel, l->tx.data + l->tx.off, buf_pending(&l->tx));
      if (w > 0) {
        buf_take(&l->tx, (size_t)w);
        *moved = true;
        if (p->tx_blocked == l)
          p->tx_blocked = NULL;
        continue;
      }
      if (w == LIBSSH2_ERROR_EAGAIN) {
        if (libssh2_session_block_directions(p->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) {
          p->tx_blocked = l; /* half sent: it goes first, and alone */
          return true;
        }
        break; /* the channel's window is full: the others may go on */
      }
      if (ssh__gone((int)w)) {
        hop_failed(p);
        return false;
      }
      l->eof = true; /* this channel failed: its session sees the connection closed */
      *moved = true;
      break;
    }
  }
  return true;
}

/* Frees the channels of sessions that are gone; false if `p` died. */
static bool pump_frees(struct ssh *p, bool *moved)
{
  for (struct jump_link *l = p->children, *n; l; l = n) {
    n = l->next;
    if (l->child != NULL)
      continue;
    if (p->tx_blocked != NULL && p->tx_blocked != l)
      return true;
    if (l->channel == NULL && p->forwarding == l) {
      /* The open in progress must be finished (libssh2 keeps its state in the session). */
      l->channel = libssh2_channel_direct_tcpip_ex(p->session, l->target_host, (int)l->target_port,
                                                   "127.0.0.1", 22);
      if (l->channel == NULL && libssh2_session_last_errno(p->session) == LIBSSH2_ERROR_EAGAIN)
        continue;
      p->forwarding = NULL;
    }
    if (l->channel != NULL) {
      int rc = libssh2_channel_free(l->channel);
      if (rc == LIBSSH2_ERROR_EAGAIN) {
        if (libssh2_session_block_directions(p->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) {
          p->tx_blocked = l;
          return true;
        }
        continue;
      }
      if (ssh__gone(rc)) {
        hop_failed(p);
        return false;
      }
    }
    *moved = true;
    remove_child_link(p, l);
    link_free(l);
  }
  return true;
}

/* Reads what came for the sessions behind `p`; false if `p` died. */
static bool pump_reads(struct ssh *p, bool *moved)
{
  if (p->tx_blocked != NULL)
    return true; /* reading may send (window adjustments): the half-sent packet goes first */
  char chunk[READ_CHUNK];
  for (struct jump_link *l = p->children; l; l = l->next) {
    /* A channel that ended is still read once: libssh2 reads the socket for every channel on
     * each read, and a readable socket nobody reads would wake the loop forever. */
    if (l->channel == NULL || l->child == NULL)
      continue;
    for (;;) {
      ssize_t n = libssh2_channel_read(l->channel, chunk, sizeof chunk);
      if (n > 0) {
        buf_append(&l->rx, chunk, (size_t)n);
        *moved = true;
        continue;
      }
      if (n == LIBSSH2_ERROR_EAGAIN)
        break;
      if (n < 0 && ssh__gone((int)n)) {
        hop_failed(p);
        return false;
      }
      if (!l->eof && (n < 0 || libssh2_channel_eof(l->channel))) {
        l->eof = true; /* the router closed the connection (a switchover): a dropped session */
        *moved = true;
      }
      break;
    }
  }
  return true;
}

/* Pumps `p` and, below it, every hop session on its channels. */
static bool pump_tree(struct ssh *p)
{
  bool moved = false;
  if (p->state == S_DEAD || p->session == NULL || p->children == NULL)
    return false;
  if (!pump_writes(p, &moved) || !pump_frees(p, &moved) || !pump_reads(p, &moved))
    return true;
  for (struct jump_link *l = p->children; l; l = l->next)
    if (l->child != NULL && l->child->children != NULL && pump_tree(l->child))
      moved = true;
  return moved;
}

/* Every session behind `p`, hops before the sessions behind them. */
static void collect(struct ssh *p, struct ssh ***list, size_t *n, size_t *cap)
{
  for (struct jump_link *l = p->children; l; l = l->next) {
    if (l->child == NULL)
      continue;
    if (*n == *cap) {
      *cap = *cap ? *cap * 2 : 16;
      *list = xrealloc(*list, *cap * sizeof **list);
    }
    (*list)[(*n)++] = l->child;
    collect(l->child, list, n, cap);
  }
}

/* Runs every session behind `root`; true if any changed state. */
static bool run_tree(struct ssh *root)
{
  struct ssh **list = NULL;
  size_t n = 0, cap = 0;
  collect(root, &list, &n, &cap);
  bool changed = false;
  for (size_t i = 0; i < n; i++) {
    struct ssh *c = list[i];
    /* A session that died or closed earlier in this round is skipped (its memory is freed only
     * once its handles close, on a later turn of the loop). */
    if (c->link == NULL || c->state == S_DEAD || c->state == S_JUMP_WAIT || c->state == S_READY)
      continue;
    enum ssh_state was = c->state;
    ssh__run(c);
    if (c->state != was)
      changed = true;
  }
  free(list);
  return changed;
}

/* Arms the outermost socket: readable while channels are open (the channels' data and window
 * adjustments come that way), writable while a packet is half sent. */
static void arm_root(struct ssh *root)
{
  if (!root->poll_open || root->state == S_DEAD)
    return;
  if (root->state < S_READY) {
    ssh__arm(root);
    return;
  }
  if (root->children == NULL) {
    ssh__stop_poll(root);
    return;
  }
  int events = UV_READABLE;
  if (libssh2_session_block_directions(root->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND)
    events |= UV_WRITABLE;
  ssh__poll(root, events);
}

void jump__service(struct ssh *root)
{
  if (root->in_service) {
    root->service_again = true;
    return;
  }
  root->in_service = true;
  if (root->state != S_READY)
    ssh__run(root);
  bool ran = false, changed = false;
  for (;;) {
    root->service_again = false;
    bool moved = pump_tree(root);
    if (ran && !moved && !changed && !root->service_again)
      break;
    if (root->state == S_DEAD)
      break;
    changed = run_tree(root);
    ran = true;
  }
  root->in_service = false;
  arm_root(root);
}
