/*
 * junos-sim's network: what the routing protocols, the interfaces and the line cards of one
 * simulated router look like at one moment (issue 15). The view is computed, never stored: it is
 * a pure function of the router's name (the seed of every count and address), the simulated time
 * since the last switchover and the router's network faults, so a test can predict it and a
 * resumed run sees the same network.
 *
 * Before any switchover the network is healthy. A switchover (the ISSU's or a manual one) starts
 * a dip: every BGP peer drops to Active/Connect with no prefixes, IGP adjacencies and LDP sessions
 * go missing, and the routes they brought leave the tables. Each item returns at its own moment,
 * the last one `recovery` simulated seconds after the switchover (the lab's --net-recovery,
 * default 60; slow-converge:N makes it N minutes). From then on the view equals the healthy one,
 * except for what the faults keep broken.
 */
#ifndef ISSU_SIM_NET_H
#define ISSU_SIM_NET_H

#include "simulator/sim.h"

/* The lab's network faults (--router HOST=WORD): in effect from the switchover on. */
enum sim_net_fault {
  NET_PEER_LOST = 1u << 0,     /* one BGP peer (the smallest customer) never returns */
  NET_PREFIXES_LOW = 1u << 1,  /* received prefixes and every route count 30% lower */
  NET_FPC_OFFLINE = 1u << 2,   /* one FPC (the last) stays Offline, its ports down */
  NET_SLOW_CONVERGE = 1u << 3, /* recovery takes net_slow_minutes instead of net_recovery */
};

#define SIM_NET_RECOVERY_DEFAULT 60.0
#define SIM_NET_SCALE_MAX 1000

/* Parses a network fault word (peer-lost, prefixes-low, fpc-offline, slow-converge:N) into `r`.
 * 1: it was one; 0: not a network word; -1: a malformed one, `err` says why. */
int sim_net_option_parse(const char *word, struct sim_router *r, char *err, size_t errlen);
/* The router's network faults as "peer-lost,slow-converge:5" (empty when none). */
void sim_net_fault_list(const struct sim_router *r, char *buf, size_t len);

struct net_peer {
  char address[48];
  unsigned as;
  const char *group;
  bool v6;
  bool up;
  const char *state; /* "Established", "Active", "Connect" */
  unsigned received, accepted, active;
  unsigned flaps;
  double elapsed; /* seconds since the last up/down */
  unsigned long in_msgs, out_msgs;
};

struct net_adj {
  char address[48];   /* OSPF: the neighbor's address */
  char interface[32]; /* "xe-0/0/0.0" */
  char id[48];        /* OSPF: the neighbor's router id; IS-IS: its system name */
  int level;          /* IS-IS */
  unsigned hold;      /* seconds left */
};

struct net_ldp {
  char address[48];
  unsigned hold;
};

struct net_ifl {
  char name[32];
  const char *family; /* "inet", "inet6", NULL: none */
  char local[48];     /* "" when none */
  char remote[24];    /* "" when none ("0/0" for lo0's units) */
};

struct net_ifd {
  char name[24];
  bool admin_up, oper_up;
  struct net_ifl unit[3];
  size_t nunits;
};

struct net_proto {
  const char *name;
  unsigned routes, active;
};

struct net_table {
  const char *name;
  unsigned dests, total, active, holddown, hidden;
  struct net_proto proto[6];
  size_t nproto;
};

struct net_pic {
  int slot;
  const char *type;
  bool online;
};

struct card;

struct net_fpc {
  int slot;
  const struct card *card;
  const char *description;
  bool online;
  struct net_pic pic[2];
  size_t npic;
};

struct sim_net {
  unsigned local_as;
  char router_id[24];
  unsigned groups;
  struct net_peer *peers; /* every configured peer, up or down */
  size_t npeers;
  struct net_adj *ospf, *isis; /* only the adjacencies that are up */
  size_t nospf, nisis;
  struct net_ldp *ldp; /* only the sessions that are operational */
  size_t nldp;
  struct net_ifd *ifd;
  size_t nifd;
  struct net_table table[4];
  size_t ntables;
  struct net_fpc fpc[4];
  size_t nfpc;
};

/* Seconds from the switchover until the network is back (slow-converge or --net-recovery). */
double sim_net_recovery(const struct sim_router *r);
/* The network at `now` in one word, for `lab status --json`: "healthy", "converging" (in the dip)
 * or "degraded" (recovered, but a fault other than slow-converge keeps something broken). */
const char *sim_net_state(const struct sim_router *r, double now);
/* The router's network at `now` (free with sim_net_free). */
void sim_net_view(const struct sim_router *r, double now, struct sim_net *n);
void sim_net_free(struct sim_net *n);

/* The commands (sim_show_net.c). */
int sim_show_bgp_summary(struct sim_ctx *c);
int sim_show_ospf_neighbor(struct sim_ctx *c);
int sim_show_isis_adjacency(struct sim_ctx *c);
int sim_show_ldp_session(struct sim_ctx *c);
int sim_show_interfaces_terse(struct sim_ctx *c);
int sim_show_route_summary(struct sim_ctx *c);
int sim_show_fpc_pic_status(struct sim_ctx *c);

#endif
