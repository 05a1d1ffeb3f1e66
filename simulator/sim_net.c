/*
 * The network view of one router (sim_net.h): built from the router's name with a seeded
 * generator, then disturbed by the time since the switchover and the network faults.
 *
 * Two generator streams: one draws the network (counts, addresses, prefixes), the other each
 * item's return moment in a dip, so a change to one never shifts the other.
 */
#include "simulator/sim_net.h"

#include <stdlib.h>
#include <string.h>

/* ---- the faults ---- */

static const struct {
  const char *name;
  unsigned bit;
} net_fault_names[] = {
    {"peer-lost", NET_PEER_LOST},
    {"prefixes-low", NET_PREFIXES_LOW},
    {"fpc-offline", NET_FPC_OFFLINE},
};

int sim_net_option_parse(const char *word, struct sim_router *r, char *err, size_t errlen)
{
  for (size_t i = 0; i < ARRAY_LEN(net_fault_names); i++)
    if (strcmp(word, net_fault_names[i].name) == 0) {
      r->net_faults |= net_fault_names[i].bit;
      return 1;
    }
  if (strncmp(word, "slow-converge:", 14) != 0)
    return 0;
  char *end;
  double minutes = strtod(word + 14, &end);
  if (end == word + 14 || *end != '\0' || !(minutes > 0 && minutes <= 1440)) {
    snprintf(err, errlen, "'%s': the minutes must be a number above 0 and at most 1440", word);
    return -1;
  }
  r->net_faults |= NET_SLOW_CONVERGE;
  r->net_slow_minutes = minutes;
  return 1;
}

void sim_net_fault_list(const struct sim_router *r, char *buf, size_t len)
{
  buf[0] = '\0';
  for (size_t i = 0; i < ARRAY_LEN(net_fault_names); i++)
    if (r->net_faults & net_fault_names[i].bit)
      snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "",
               net_fault_names[i].name);
  if (r->net_faults & NET_SLOW_CONVERGE)
    snprintf(buf + strlen(buf), len - strlen(buf), "%sslow-converge:%g", buf[0] ? "," : "",
             r->net_slow_minutes);
}

double sim_net_recovery(const struct sim_router *r)
{
  if (r->net_faults & NET_SLOW_CONVERGE)
    return r->net_slow_minutes * 60;
  return r->net_recovery > 0 ? r->net_recovery : SIM_NET_RECOVERY_DEFAULT;
}

const char *sim_net_state(const struct sim_router *r, double now)
{
  double t_sw = r->mastership_changed;
  if (!(t_sw > 0 && now >= t_sw))
    return "healthy";
  if (now - t_sw < sim_net_recovery(r))
    return "converging";
  return (r->net_faults & ~NET_SLOW_CONVERGE) ? "degraded" : "healthy";
}

/* ---- the generator ---- */

static uint64_t next(uint64_t *s) /* splitmix64 */
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static unsigned pick(uint64_t *s, unsigned lo, unsigned hi)
{
  return lo + (unsigned)(next(s) % (uint64_t)(hi - lo + 1));
}

static double unit(uint64_t *s)
{
  return (double)(next(s) >> 11) / 9007199254740992.0;
}

static uint64_t name_hash(const char *name)
{
  uint64_t h = 1469598103934665603ULL;
  for (const char *p = name; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  return h;
}

/* ---- the line cards (UNVERIFIED: Juniper's MPC and MIC names; the captures show only
 * "DPCE 2x 10GE R" and "LC2103") ---- */

struct card {
  const char *description;
  const char *pic_type[2];
  const char *port[2]; /* the interface prefix of each PIC's ports */
};

static const struct card cards[] = {
    {"MPC7E 3D MRATE-12xQSFPP-XGE-XLGE-CGE",
     {"MRATE-6xQSFPP-XGE-XLGE-CGE", "MRATE-6xQSFPP-XGE-XLGE-CGE"},
     {"et", "et"}},
    {"MPC5E 3D 24XGE+6XLGE", {"12X10GE SFPP OTN", "3X40GE QSFPP"}, {"xe", "et"}},
    {"MPCE Type 2 3D", {"10x 1GE(LAN) SFP", "2x 10GE  XFP"}, {"ge", "xe"}},
    {"DPCE 2x 10GE R", {"1x 10GE(LAN/WAN)", "1x 10GE(LAN/WAN)"}, {"xe", "xe"}},
};

/* The pseudo-interfaces of capture pyez-display-json (show interfaces terse), in its order, with
 * fxp0 (capture genieparser-vmx) in its alphabetical place. mtun is admin down there. */
static const char *const pseudo[] = {"cbp0", "demux0", "dsc", "esi",  "fxp0", "gre",
                                     "ipip", "irb",    "lo0", "lsi",  "mtun", "pimd",
                                     "pime", "pip0",   "pp0", "rbeb", "tap",  "vtep"};

/* ---- the moment ---- */

struct moment {
  bool switched;   /* a switchover happened and `now` is after it */
  double since;    /* seconds since it */
  double recovery; /* seconds from it until the network is back */
  bool recovered;  /* no switchover, or `recovery` has passed */
  unsigned faults; /* the network faults, in effect once switched */
};

/* An item that returns at fraction `f` of the recovery is up now. */
static bool returned(const struct moment *m, double f)
{
  return !m->switched || m->since >= f * m->recovery;
}

static unsigned low(const struct moment *m, unsigned v)
{
  return (m->faults & NET_PREFIXES_LOW) ? v * 7 / 10 : v;
}

/* ---- the pieces ---- */

static void build_fpcs(struct sim_net *n, uint64_t *s, const struct moment *m)
{
  n->nfpc = pick(s, 2, 4);
  for (size_t f = 0; f < n->nfpc; f++) {
    const struct card *cd = &cards[pick(s, 0, ARRAY_LEN(cards) - 1)];
    struct net_fpc *fpc = &n->fpc[f];
    fpc->slot = (int)f;
    fpc->card = cd;
    fpc->description = cd->description;
    fpc->online = !((m->faults & NET_FPC_OFFLINE) && f == n->nfpc - 1);
    fpc->npic = fpc->online ? 2 : 0; /* an offline FPC lists no PICs (UNVERIFIED) */
    for (size_t p = 0; p < fpc->npic; p++)
      fpc->pic[p] = (struct net_pic){(int)p, cd->pic_type[p], true};
  }
}

static struct net_ifd *add_ifd(struct sim_net *n, size_t *cap, const char *name)
{
  if (n->nifd == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    n->ifd = xrealloc(n->ifd, *cap * sizeof *n->ifd);
  }
  struct net_ifd *d = &n->ifd[n->nifd++];
  memset(d, 0, sizeof *d);
  snprintf(d->name, sizeof d->name, "%s", name);
  d->admin_up = d->oper_up = true;
  return d;
}

static void add_unit(struct net_ifd *d, unsigned unit_no, const char *family, const char *local,
                     const char *remote)
{
  struct net_ifl *l = &d->unit[d->nunits++];
  char ifd[sizeof d->name];
  memcpy(ifd, d->name, sizeof ifd);
  snprintf(l->name, sizeof l->name, "%s.%u", ifd, unit_no);
  l->family = family;
  snprintf(l->local, sizeof l->local, "%s", local ? local : "");
  snprintf(l->remote, sizeof l->remote, "%s", remote ? remote : "");
}

/* A port that carries an IGP adjacency: its link number and its interface. */
struct link {
  unsigned no;
  size_t ifd;
};

/* The "10.B.x.y" of link `no`'s end `end` (1: ours, 2: the neighbor's). */
static void link_address(unsigned b, unsigned no, unsigned end, char *buf, size_t len)
{
  snprintf(buf, len, "10.%u.%u.%u", b, (no >> 6) & 255, (no & 63) * 4 + end);
}

/* The physical ports of every online FPC (an offline FPC's ports are not listed: UNVERIFIED),
 * each up port with a /30 in 10.B.x.y, then the pseudo-interfaces. The up ports that are not on
 * the last FPC (where the IGP adjacencies run) go to `links`; returns how many. */
static size_t build_interfaces(struct sim_net *n, uint64_t *s, unsigned scale, unsigned *block,
                               struct link *links, size_t max_links, unsigned *up_ports)
{
  size_t cap = 0, nlinks = 0;
  unsigned b = 16 + pick(s, 0, 199), no = 0;
  *block = b;
  *up_ports = 0;
  char name[64], addr[48];
  for (size_t f = 0; f < n->nfpc; f++) {
    unsigned ports = pick(s, 2, 3) * scale;
    bool spare = pick(s, 0, 1); /* the last port of PIC 1 has no cable */
    if (!n->fpc[f].online)
      continue;
    const struct card *cd = n->fpc[f].card;
    for (size_t p = 0; p < 2; p++)
      for (unsigned port = 0; port < ports; port++) {
        snprintf(name, sizeof name, "%s-%zu/%zu/%u", cd->port[p], f, p, port);
        struct net_ifd *d = add_ifd(n, &cap, name);
        if (spare && p == 1 && port == ports - 1) {
          d->oper_up = false;
          continue;
        }
        link_address(b, no, 1, addr, sizeof addr);
        snprintf(addr + strlen(addr), sizeof addr - strlen(addr), "/30");
        add_unit(d, 0, "inet", addr, NULL);
        (*up_ports)++;
        if (f + 1 < n->nfpc && nlinks < max_links)
          links[nlinks++] = (struct link){no, n->nifd - 1};
        no++;
      }
  }
  for (size_t i = 0; i < ARRAY_LEN(pseudo); i++) {
    struct net_ifd *d = add_ifd(n, &cap, pseudo[i]);
    if (strcmp(pseudo[i], "mtun") == 0)
      d->admin_up = false;
    if (strcmp(pseudo[i], "fxp0") == 0) {
      snprintf(addr, sizeof addr, "172.25.%u.%u/24", b, pick(s, 10, 250));
      add_unit(d, 0, "inet", addr, NULL);
    } else if (strcmp(pseudo[i], "lo0") == 0) {
      add_unit(d, 0, "inet", n->router_id, "0/0");
      add_unit(d, 16384, "inet", "127.0.0.1", "0/0");
    }
  }
  return nlinks;
}

static const char *peer_group(size_t i, size_t np)
{
  return i + 1 == np ? "CUSTOMERS" : i < np / 3 ? "IBGP" : "TRANSIT";
}

static void build_peers(struct sim_net *n, uint64_t *s, uint64_t *ts, const struct moment *m,
                        unsigned scale, double now)
{
  n->npeers = pick(s, 4, 12) * scale;
  n->groups = 3;
  n->peers = xcalloc(n->npeers, sizeof *n->peers);
  unsigned lo_b = pick(s, 0, 255), v6_block = pick(s, 1, 0xfff);
  double *ret = xcalloc(n->npeers, sizeof *ret);
  size_t last = 0;
  for (size_t i = 0; i < n->npeers; i++) {
    ret[i] = 0.4 + 0.6 * unit(ts);
    if (ret[i] > ret[last])
      last = i;
  }
  ret[last] = 1.0; /* the last peer returns exactly at the recovery */
  for (size_t i = 0; i < n->npeers; i++) {
    struct net_peer *p = &n->peers[i];
    p->group = peer_group(i, n->npeers);
    size_t t = i - n->npeers / 3; /* index among the transit peers */
    p->v6 = p->group[0] == 'T' && t % 2 == 1;
    if (p->group[0] == 'I') {
      snprintf(p->address, sizeof p->address, "10.255.%u.%zu", (lo_b + (unsigned)i / 250) % 256,
               i % 250 + 1);
      p->as = n->local_as;
      p->received = pick(s, 200, 3000);
      p->active = p->received * 40 / 100;
    } else {
      unsigned x = (unsigned)i * 4 + 2;
      if (p->v6)
        snprintf(p->address, sizeof p->address, "2001:db8:%x::%x", v6_block, x);
      else
        snprintf(p->address, sizeof p->address, "172.%u.%u.%u", 16 + (x >> 16) % 16, (x >> 8) & 255,
                 x & 255);
      p->as = 64512 + (unsigned)i % 1000;
      bool customer = p->group[0] == 'C';
      p->received = customer ? pick(s, 5, 50) : pick(s, 4000, 20000);
      p->active = customer ? p->received : p->received * (t == 0 ? 60 : 15) / 100;
    }
    p->accepted = p->received;
    p->flaps = pick(s, 0, 3);
    double up_for = 86400.0 * pick(s, 3, 300) + pick(s, 0, 86399);
    p->in_msgs = (unsigned long)(up_for / 30) + pick(s, 100, 9999);
    p->out_msgs = (unsigned long)(up_for / 30) + pick(s, 100, 9999);
    bool lost = (m->faults & NET_PEER_LOST) && p->group[0] == 'C';
    p->up = returned(m, ret[i]) && !(m->switched && lost);
    if (!m->switched) {
      p->state = "Established";
      p->elapsed = up_for + (double)((uint64_t)sim_clock_secs(now) % 86400);
      continue;
    }
    p->flaps++;
    if (p->up) {
      p->state = "Established";
      p->elapsed = m->since - ret[i] * m->recovery;
      p->received = low(m, p->received);
      p->accepted = low(m, p->accepted);
      p->active = low(m, p->active);
    } else {
      /* A peer that is down retries: Connect while its TCP connection is tried, Active between
       * tries (the wording of the Junos peer states). */
      p->state = ((uint64_t)sim_clock_secs(m->since) / 5 + i) % 3 == 0 ? "Connect" : "Active";
      p->elapsed = m->since;
      p->received = p->accepted = p->active = 0;
    }
  }
  free(ret);
}

static void build_adjacencies(struct sim_net *n, uint64_t *s, uint64_t *ts, const struct moment *m,
                              unsigned scale, const struct link *links, size_t nlinks, unsigned b,
                              double now)
{
  size_t want_ospf = pick(s, 1, 3) * scale, want_isis = pick(s, 1, 3) * scale;
  unsigned id_b = pick(s, 0, 255);
  n->ospf = xcalloc(want_ospf, sizeof *n->ospf);
  n->isis = xcalloc(want_isis, sizeof *n->isis);
  for (size_t i = 0; i < want_ospf + want_isis; i++) {
    bool ospf = i < want_ospf;
    size_t k = ospf ? i : i - want_ospf;
    double ret = 0.1 + 0.6 * unit(ts);
    unsigned level = pick(s, 1, 2);
    if (!returned(m, ret))
      continue;
    struct net_adj *a = ospf ? &n->ospf[n->nospf++] : &n->isis[n->nisis++];
    /* Adjacencies share the ports when there are more of them than ports (several IS-IS
     * neighbors on one LAN, capture ntc-templates show isis adjacency). */
    const struct link *l = nlinks ? &links[i % nlinks] : NULL;
    snprintf(a->interface, sizeof a->interface, "%s", l ? n->ifd[l->ifd].unit[0].name : "ae0.0");
    if (ospf) {
      /* The neighbor's end of the port's link; past the ports (a scaled-up lab), an address of
       * its own, so every neighbor-address stays unique. */
      if (l && i < nlinks)
        link_address(b, l->no, 2, a->address, sizeof a->address);
      else
        snprintf(a->address, sizeof a->address, "172.31.%zu.%zu", (k >> 8) & 255, k & 255);
      snprintf(a->id, sizeof a->id, "10.255.%zu.%zu", (id_b + k / 250) % 256, k % 250 + 1);
      a->hold = 30 + (unsigned)(((uint64_t)sim_clock_secs(now) + k * 7) % 10);
    } else {
      snprintf(a->id, sizeof a->id, "core%02zu", k + 1);
      a->level = (int)level;
      a->hold = 19 + (unsigned)(((uint64_t)sim_clock_secs(now) + k * 5) % 9);
    }
  }
}

static void build_ldp(struct sim_net *n, uint64_t *s, uint64_t *ts, const struct moment *m,
                      unsigned scale, double now)
{
  size_t want = pick(s, 2, 4) * scale;
  unsigned id_b = pick(s, 0, 255);
  n->ldp = xcalloc(want, sizeof *n->ldp);
  for (size_t i = 0; i < want; i++) {
    double ret = 0.2 + 0.6 * unit(ts);
    if (!returned(m, ret))
      continue;
    struct net_ldp *l = &n->ldp[n->nldp++];
    snprintf(l->address, sizeof l->address, "10.254.%zu.%zu", (id_b + i / 250) % 256, i % 250 + 1);
    l->hold = 20 + (unsigned)(((uint64_t)sim_clock_secs(now) + i * 3) % 10);
  }
}

static void add_proto(struct net_table *t, const char *name, unsigned routes, unsigned active)
{
  t->proto[t->nproto++] = (struct net_proto){name, routes, active};
  t->total += routes;
  t->active += active;
  t->dests += active; /* a destination learned from several peers is one destination */
}

/* The route tables, from what is up: BGP from the up peers, the IGPs from their adjacencies, LDP
 * from its sessions. With prefixes-low, once recovered, the learned routes are 30% fewer. */
static void build_tables(struct sim_net *n, uint64_t *s, const struct moment *m, unsigned up_ports)
{
  unsigned igp_per_adj = pick(s, 5, 20);
  unsigned bgp4 = 0, bgp4_active = 0, bgp6 = 0, bgp6_active = 0;
  for (size_t i = 0; i < n->npeers; i++) {
    const struct net_peer *p = &n->peers[i];
    *(p->v6 ? &bgp6 : &bgp4) += p->received;
    *(p->v6 ? &bgp6_active : &bgp4_active) += p->active;
  }
  const struct moment none = {0};
  const struct moment *learned = m->recovered ? m : &none; /* prefixes-low after recovery */
  unsigned ospf = low(learned, (unsigned)n->nospf * igp_per_adj);
  unsigned isis = low(learned, (unsigned)n->nisis * igp_per_adj);
  unsigned ldp = low(learned, (unsigned)n->nldp);
  n->ntables = 4;
  struct net_table *t = &n->table[0];
  memset(n->table, 0, sizeof n->table);
  t[0].name = "inet.0";
  add_proto(&t[0], "Direct", up_ports + 2, up_ports + 2);
  add_proto(&t[0], "Local", up_ports + 2, up_ports + 2);
  if (n->nospf || ospf)
    add_proto(&t[0], "OSPF", ospf, ospf);
  if (n->nisis || isis)
    add_proto(&t[0], "IS-IS", isis, isis);
  add_proto(&t[0], "Static", 2, 2);
  add_proto(&t[0], "BGP", bgp4, bgp4_active);
  t[1].name = "inet.3";
  add_proto(&t[1], "LDP", ldp, ldp);
  t[2].name = "inet6.0";
  add_proto(&t[2], "Direct", 2, 2);
  add_proto(&t[2], "Local", 2, 2);
  add_proto(&t[2], "BGP", bgp6, bgp6_active);
  add_proto(&t[2], "INET6", 1, 1);
  t[3].name = "mpls.0";
  add_proto(&t[3], "MPLS", 3, 3);
  add_proto(&t[3], "LDP", 2 * ldp, 2 * ldp);
}

void sim_net_view(const struct sim_router *r, double now, struct sim_net *n)
{
  memset(n, 0, sizeof *n);
  struct moment m = {0};
  double t_sw = r->mastership_changed;
  m.switched = t_sw > 0 && now >= t_sw;
  m.since = m.switched ? now - t_sw : 0;
  m.recovery = sim_net_recovery(r);
  m.recovered = !m.switched || m.since >= m.recovery;
  m.faults = m.switched ? r->net_faults : 0;
  unsigned scale = r->net_scale >= 1 && r->net_scale <= SIM_NET_SCALE_MAX ? r->net_scale : 1;
  uint64_t h = name_hash(r->hostname), s = h, ts = h ^ 0x7469636b73ULL;
  n->local_as = 64496 + pick(&s, 0, 15);
  /* The router id of `show configuration routing-options` (sim_show.c). */
  snprintf(n->router_id, sizeof n->router_id, "192.0.2.%llu",
           (unsigned long long)(r->seed % 250 + 1));
  build_fpcs(n, &s, &m);
  struct link links[256];
  unsigned up_ports, b;
  size_t nlinks = build_interfaces(n, &s, scale, &b, links, ARRAY_LEN(links), &up_ports);
  build_peers(n, &s, &ts, &m, scale, now);
  build_adjacencies(n, &s, &ts, &m, scale, links, nlinks, b, now);
  build_ldp(n, &s, &ts, &m, scale, now);
  build_tables(n, &s, &m, up_ports);
}

void sim_net_free(struct sim_net *n)
{
  free(n->peers);
  free(n->ospf);
  free(n->isis);
  free(n->ldp);
  free(n->ifd);
  memset(n, 0, sizeof *n);
}
