/*
 * The pool of jump host sessions (ProxyJump, issue 16): routers behind the same chain share one
 * session per hop, at most max_channels channels each; a session is opened when none has room
 * (after transport_backoff_ms when the last one to that hop failed or dropped), lingers
 * LINGER_MS once idle, and is closed then. Every hop is a transport of its own, with options
 * derived from the router's and the hop's (hop_options), so its host key is checked with the
 * router's rules and words. A hop whose session fails takes the sessions behind it down
 * (TRANSPORT_E_DROPPED), except those still waiting for their channel, which ask again.
 */
#include "transport/jump_internal.h"

#include <stdlib.h>
#include <string.h>

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
void jump__link_free(struct jump_link *l)
{
  struct jump_hop *h = l->hop;
  free(l->rx.data);
  free(l->tx.data);
  free(l);
  if (h != NULL && --h->channels == 0)
    hop_idle(h);
}

void jump__remove_child_link(struct ssh *p, struct jump_link *l)
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
    jump__link_free(l);
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
  ho->accept_new_host_keys = hp->own_settings ? hp->accept_new_host_keys : o->accept_new_host_keys;
  ho->use_agent = o->use_agent;
  ho->limiter = o->limiter;
  ho->jump = o->jump;
  ho->jump_count = i;
  ho->jump_pool = o->jump_pool;
  ho->connect_timeout_ms = hp->connect_timeout_ms ? hp->connect_timeout_ms : o->connect_timeout_ms;
  ho->keepalive_s = hp->keepalive_s ? hp->keepalive_s : o->keepalive_s;
  ho->keepalive_count = hp->keepalive_count ? hp->keepalive_count : o->keepalive_count;
}

/* The chain up to hop `i`, with every setting that makes a session to it another one. */
static char *chain_key(const struct transport_options *o, size_t i)
{
  char *key = xstrdup("");
  for (size_t j = 0; j <= i; j++) {
    struct transport_options ho;
    hop_options(o, j, &ho);
    char *next =
        xasprintf("%s%s@%s:%u|%s:%u|%s|%s|%s|%d%d|%u|%u/%u;", key, ho.user ? ho.user : "", ho.host,
                  ho.port, ho.key_host ? ho.key_host : ho.host, ho.key_port ? ho.key_port : ho.port,
                  ho.key_file ? ho.key_file : "", ho.known_hosts ? ho.known_hosts : "",
                  ho.password_env ? ho.password_env : "", ho.accept_new_host_keys, ho.use_agent,
                  ho.connect_timeout_ms, ho.keepalive_s, ho.keepalive_count);
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
    before[i].own_settings = true; /* not the settings of the hop this session goes to */
    before[i].accept_new_host_keys = bo.accept_new_host_keys;
    before[i].connect_timeout_ms = bo.connect_timeout_ms;
    before[i].keepalive_s = bo.keepalive_s;
    before[i].keepalive_count = bo.keepalive_count;
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
    jump__link_free(l);
    ssh__dead(s, error, "%s", why);
    free(why);
  } else {
    l->next = h->waiting;
    h->waiting = l;
  }
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
      jump__remove_child_link(s, l);
      struct ssh *c = l->child;
      l->child = NULL;
      if (c != NULL)
        c->link = NULL;
      jump__link_free(l);
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
    jump__link_free(l);
  } else if (l->parent->state == S_DEAD || l->parent->session == NULL) {
    jump__remove_child_link(l->parent, l);
    jump__link_free(l);
  } else
    jump__request_service(l->parent); /* the pump frees the channel (a libssh2 call on the hop) */
}
