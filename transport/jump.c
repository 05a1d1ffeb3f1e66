/*
 * ProxyJump over libssh2, in-process: the hooks and the pump that carry sessions through a chain.
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
 * The sessions to the hops come from a pool (jump_pool.c): every hop is a transport of its own,
 * checked (host key first) like a router, and shared by the routers behind the same chain.
 */
#include "transport/jump_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffers ---- */

void jump__buf_append(struct buf *b, const void *p, size_t n)
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

size_t jump__buf_pending(const struct buf *b)
{
  return b->len - b->off;
}

void jump__buf_take(struct buf *b, size_t n)
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
void jump__request_service(struct ssh *s)
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
    jump__request_service(s);
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
  size_t room =
      LINK_TX_MAX > jump__buf_pending(&l->tx) ? LINK_TX_MAX - jump__buf_pending(&l->tx) : 0;
  if (room == 0)
    return -EAGAIN;
  size_t n = len < room ? len : room;
  jump__buf_append(&l->tx, buf, n);
  jump__request_service(s);
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
  size_t have = jump__buf_pending(&l->rx);
  if (have == 0)
    return l->eof ? 0 : -EAGAIN;
  size_t n = len < have ? len : have;
  memcpy(buf, l->rx.data + l->rx.off, n);
  jump__buf_take(&l->rx, n);
  s->last_rx = uv_now(s->t->loop);
  s->rx_count++;
  return (ssize_t)n;
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
      jump__remove_child_link(p, l);
      s->link = NULL;
      l->child = NULL;
      l->parent = NULL;
      jump__link_free(l);
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
    jump__request_service(s);
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
    while (jump__buf_pending(&l->tx) > 0) {
      ssize_t w =
          libssh2_channel_write(l->channel, l->tx.data + l->tx.off, jump__buf_pending(&l->tx));
      if (w > 0) {
        jump__buf_take(&l->tx, (size_t)w);
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
    jump__remove_child_link(p, l);
    jump__link_free(l);
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
        jump__buf_append(&l->rx, chunk, (size_t)n);
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
    if (c->link == NULL || c->state == S_DEAD || c->state == S_JUMP_WAIT ||
        (c->state == S_READY && c->chans == NULL))
      continue;
    enum ssh_state was = c->state;
    struct ssh_chan *first = c->chans;
    uint64_t rx = c->rx_count;
    ssh__run(c);
    /* Once ready, its channels moving (or bytes read) is the change. */
    if (c->state != was || c->chans != first || c->rx_count != rx)
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
