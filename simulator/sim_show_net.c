/*
 * What the network commands print, text and `| display xml`, from the router's network view
 * (sim_net.c): `show bgp summary`, `show ospf neighbor`, `show isis adjacency`, `show ldp
 * session`, `show interfaces terse`, `show route summary` and `show chassis fpc pic-status`.
 * The shapes are those of the captures in ../shared/captures, named where used; what no capture
 * shows is marked UNVERIFIED (and listed in docs/simulator.md).
 */
#include "simulator/sim_net.h"

#include <string.h>

/* The view of the moment, for the session's command. */
static void view(const struct sim_ctx *c, struct sim_net *n)
{
  sim_net_view(c->r, c->now, n);
}

/* <NAME xmlns="http://xml.juniper.net/junos/RELEASE/SCHEMA" [junos:style="STYLE"]>: the
 * default namespace every capture of these replies carries (route-summary pyez-factory, the
 * junos-upgrader JSON "attributes"). */
static void open_info(struct sim_ctx *c, const char *name, const char *schema, const char *style)
{
  char release[64], attr[64] = "";
  sim_re_release(c->r, c->re, release, sizeof release);
  if (style)
    snprintf(attr, sizeof attr, " junos:style=\"%s\"", style);
  sim_xml_open(c);
  sim_line(c->out, "    <%s xmlns=\"http://xml.juniper.net/junos/%s/%s\"%s>", name, release, schema,
           attr);
}

static void close_info(struct sim_ctx *c, const char *name)
{
  sim_line(c->out, "    </%s>", name);
  sim_xml_close(c);
}

/* ---- show bgp summary ---- */

/* "Last Up/Dwn" as Junos spells it: seconds, M:SS, H:MM:SS, Nd H:MM:SS, NwNd H:MM:SS (captures
 * genieparser-v4-v6 "9", ntc-templates "9w2d 5:23:37"). */
static void up_down(double seconds, char *buf, size_t len)
{
  unsigned long s = (unsigned long)sim_clock_secs(seconds); /* a clock far off: clamped */
  unsigned long w = s / 604800, d = s % 604800 / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
  if (s < 60)
    snprintf(buf, len, "%lu", s);
  else if (s < 3600)
    snprintf(buf, len, "%lu:%02lu", m, s % 60);
  else if (s < 86400)
    snprintf(buf, len, "%lu:%02lu:%02lu", h, m, s % 60);
  else if (w == 0)
    snprintf(buf, len, "%lud %lu:%02lu:%02lu", d, h, m, s % 60);
  else
    snprintf(buf, len, "%luw%lud %lu:%02lu:%02lu", w, d, h, m, s % 60);
}

/* One address family's BGP figures (the summary's bgp-rib rows). */
struct rib_sum {
  const char *name;
  unsigned total, active, internal, internal_active, external, external_active;
};

static void rib_sums(const struct sim_net *n, struct rib_sum sums[2])
{
  memset(sums, 0, 2 * sizeof *sums);
  sums[0].name = "inet.0";
  sums[1].name = "inet6.0";
  for (size_t i = 0; i < n->npeers; i++) {
    const struct net_peer *p = &n->peers[i];
    struct rib_sum *r = &sums[p->v6];
    bool internal = p->as == n->local_as;
    r->total += p->received;
    r->active += p->active;
    *(internal ? &r->internal : &r->external) += p->received;
    *(internal ? &r->internal_active : &r->external_active) += p->active;
  }
}

static size_t down_peers(const struct sim_net *n)
{
  size_t down = 0;
  for (size_t i = 0; i < n->npeers; i++)
    down += !n->peers[i].up;
  return down;
}

static const char bgp_heading[] = "Peer                     AS      InPkt     OutPkt    OutQ   "
                                  "Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped...";

static void bgp_text(struct sim_ctx *c, const struct sim_net *n)
{
  struct rib_sum sums[2];
  rib_sums(n, sums);
  /* Captures ntc-templates (Threading mode), genieparser-v4-v6 (the table rows split over two
   * lines) and textfsm-example (the column widths). */
  sim_line(c->out, "Threading mode: BGP I/O");
  sim_line(c->out, "Groups: %u Peers: %zu Down peers: %zu", n->groups, n->npeers, down_peers(n));
  sim_line(c->out,
           "Table          Tot Paths  Act Paths Suppressed    History Damp State    Pending");
  for (size_t t = 0; t < 2; t++) {
    sim_line(c->out, "%-21s", sums[t].name);
    sim_line(c->out, "%24u%11u%11u%11u%11u%11u", sums[t].total, sums[t].active, 0, 0, 0, 0);
  }
  sim_line(c->out, "%s", bgp_heading);
  for (size_t i = 0; i < n->npeers; i++) {
    const struct net_peer *p = &n->peers[i];
    char when[40];
    up_down(p->elapsed, when, sizeof when);
    /* A down peer's row ends in its state word, with no table line: UNVERIFIED (the captures
     * show only established peers). */
    sim_line(c->out, "%-15s%12u%11lu%11lu%8u%8u %12s %s", p->address, p->as, p->in_msgs,
             p->out_msgs, 0, p->flaps, when, p->up ? "Establ" : p->state);
    if (p->up)
      sim_line(c->out, "  %s: %u/%u/%u/0", p->v6 ? "inet6.0" : "inet.0", p->active, p->received,
               p->accepted);
  }
}

static void bgp_rib_summary_xml(struct sim_ctx *c, const struct rib_sum *r)
{
  /* Capture junos-upgrader-display-json (22.4R0): these elements in this order. */
  sim_line(c->out, "        <bgp-rib junos:style=\"brief\">");
  sim_xml_elem(c, 12, "name", "%s", r->name);
  const struct {
    const char *name;
    unsigned v;
  } rows[] = {
      {"total-prefix-count", r->total},
      {"received-prefix-count", r->total},
      {"accepted-prefix-count", r->total},
      {"active-prefix-count", r->active},
      {"suppressed-prefix-count", 0},
      {"history-prefix-count", 0},
      {"damped-prefix-count", 0},
      {"total-external-prefix-count", r->external},
      {"active-external-prefix-count", r->external_active},
      {"accepted-external-prefix-count", r->external},
      {"suppressed-external-prefix-count", 0},
      {"total-internal-prefix-count", r->internal},
      {"active-internal-prefix-count", r->internal_active},
      {"accepted-internal-prefix-count", r->internal},
      {"suppressed-internal-prefix-count", 0},
      {"pending-prefix-count", 0},
  };
  for (size_t i = 0; i < ARRAY_LEN(rows); i++)
    sim_xml_elem(c, 12, rows[i].name, "%u", rows[i].v);
  sim_xml_elem(c, 12, "bgp-rib-state", "BGP restart is complete");
  sim_line(c->out, "        </bgp-rib>");
}

/* UNVERIFIED as a whole: the capture's peers are cut out, so <bgp-peer> follows Juniper's
 * documented tags (peer-address, peer-as, ..., peer-state, a terse bgp-rib per table). A peer
 * that is down keeps a bgp-rib with zero counts, as the issue 15 contract asks; a real router
 * may print no bgp-rib for it. */
static void bgp_peer_xml(struct sim_ctx *c, const struct net_peer *p)
{
  char when[40];
  up_down(p->elapsed, when, sizeof when);
  sim_line(c->out, "        <bgp-peer junos:style=\"terse\" heading=\"%s\">", bgp_heading);
  sim_xml_elem(c, 12, "peer-address", "%s", p->address);
  sim_xml_elem(c, 12, "peer-as", "%u", p->as);
  sim_xml_elem(c, 12, "input-messages", "%lu", p->in_msgs);
  sim_xml_elem(c, 12, "output-messages", "%lu", p->out_msgs);
  sim_xml_elem(c, 12, "route-queue-count", "0");
  sim_xml_elem(c, 12, "flap-count", "%u", p->flaps);
  sim_line(c->out, "            <elapsed-time junos:seconds=\"%.0f\">%s</elapsed-time>",
           p->elapsed > 0 ? p->elapsed : 0, when);
  if (p->up)
    sim_line(c->out, "            <peer-state junos:format=\"Establ\">%s</peer-state>", p->state);
  else
    sim_xml_elem(c, 12, "peer-state", "%s", p->state);
  sim_line(c->out, "            <bgp-rib junos:style=\"terse\">");
  sim_xml_elem(c, 16, "name", "%s", p->v6 ? "inet6.0" : "inet.0");
  sim_xml_elem(c, 16, "active-prefix-count", "%u", p->active);
  sim_xml_elem(c, 16, "received-prefix-count", "%u", p->received);
  sim_xml_elem(c, 16, "accepted-prefix-count", "%u", p->accepted);
  sim_xml_elem(c, 16, "suppressed-prefix-count", "0");
  sim_line(c->out, "            </bgp-rib>");
  sim_line(c->out, "        </bgp-peer>");
}

static void bgp_xml(struct sim_ctx *c, const struct sim_net *n)
{
  struct rib_sum sums[2];
  rib_sums(n, sums);
  open_info(c, "bgp-information", "junos-routing", NULL);
  sim_xml_elem(c, 8, "bgp-thread-mode", "BGP I/O");
  sim_line(c->out, "        <thread-state></thread-state>");
  sim_xml_elem(c, 8, "default-ebgp-advertise-mode", "accept");
  sim_xml_elem(c, 8, "default-ebgp-receive-mode", "accept");
  sim_xml_elem(c, 8, "group-count", "%u", n->groups);
  sim_xml_elem(c, 8, "peer-count", "%zu", n->npeers);
  sim_xml_elem(c, 8, "down-peer-count", "%zu", down_peers(n));
  for (size_t t = 0; t < 2; t++)
    bgp_rib_summary_xml(c, &sums[t]);
  for (size_t i = 0; i < n->npeers; i++)
    bgp_peer_xml(c, &n->peers[i]);
  close_info(c, "bgp-information");
}

int sim_show_bgp_summary(struct sim_ctx *c)
{
  struct sim_net n;
  view(c, &n);
  if (c->out->xml)
    bgp_xml(c, &n);
  else
    bgp_text(c, &n);
  sim_net_free(&n);
  return 0;
}

/* ---- show ospf neighbor ---- */

int sim_show_ospf_neighbor(struct sim_ctx *c)
{
  struct sim_net n;
  view(c, &n);
  if (c->out->xml) {
    /* UNVERIFIED: no capture shows the XML; Juniper's documented tags. */
    open_info(c, "ospf-neighbor-information", "junos-routing", NULL);
    for (size_t i = 0; i < n.nospf; i++) {
      const struct net_adj *a = &n.ospf[i];
      sim_line(c->out, "        <ospf-neighbor>");
      sim_xml_elem(c, 12, "neighbor-address", "%s", a->address);
      sim_xml_elem(c, 12, "interface-name", "%s", a->interface);
      sim_xml_elem(c, 12, "ospf-neighbor-state", "Full");
      sim_xml_elem(c, 12, "neighbor-id", "%s", a->id);
      sim_xml_elem(c, 12, "neighbor-priority", "128");
      sim_xml_elem(c, 12, "activity-timer", "%u", a->hold);
      sim_line(c->out, "        </ospf-neighbor>");
    }
    close_info(c, "ospf-neighbor-information");
  } else {
    /* Captures genieparser-instance and ntc-templates. */
    sim_line(c->out,
             "Address          Interface              State     ID               Pri  Dead");
    for (size_t i = 0; i < n.nospf; i++)
      sim_line(c->out, "%-16s %-22s %-9s %-16s %3u %5u", n.ospf[i].address, n.ospf[i].interface,
               "Full", n.ospf[i].id, 128, n.ospf[i].hold);
  }
  sim_net_free(&n);
  return 0;
}

/* ---- show isis adjacency ---- */

int sim_show_isis_adjacency(struct sim_ctx *c)
{
  struct sim_net n;
  view(c, &n);
  if (c->out->xml) {
    /* Capture junos-upgrader-display-json (22.4R0): these elements in this order. */
    open_info(c, "isis-adjacency-information", "junos-routing", "brief");
    for (size_t i = 0; i < n.nisis; i++) {
      const struct net_adj *a = &n.isis[i];
      sim_line(c->out, "        <isis-adjacency>");
      sim_xml_elem(c, 12, "interface-name", "%s", a->interface);
      sim_xml_elem(c, 12, "system-name", "%s", a->id);
      sim_xml_elem(c, 12, "level", "%d", a->level);
      sim_xml_elem(c, 12, "adjacency-state", "Up");
      sim_xml_elem(c, 12, "holdtime", "%u", a->hold);
      sim_line(c->out, "        </isis-adjacency>");
    }
    close_info(c, "isis-adjacency-information");
  } else {
    /* Capture ntc-templates (point-to-point adjacencies print no SNPA). */
    sim_line(c->out, "Interface             System         L State        Hold (secs) SNPA");
    for (size_t i = 0; i < n.nisis; i++)
      sim_line(c->out, "%-22s%-15s%d  %-12s%11u", n.isis[i].interface, n.isis[i].id,
               n.isis[i].level, "Up", n.isis[i].hold);
  }
  sim_net_free(&n);
  return 0;
}

/* ---- show ldp session ---- */

/* UNVERIFIED as a whole: the only capture is `show ldp neighbor` (text). The text columns and
 * the XML tags follow Juniper's documentation. */
int sim_show_ldp_session(struct sim_ctx *c)
{
  struct sim_net n;
  view(c, &n);
  if (c->out->xml) {
    open_info(c, "ldp-session-information", "junos-routing", NULL);
    for (size_t i = 0; i < n.nldp; i++) {
      sim_line(c->out, "        <ldp-session>");
      sim_xml_elem(c, 12, "ldp-neighbor-address", "%s", n.ldp[i].address);
      sim_xml_elem(c, 12, "ldp-session-state", "Operational");
      sim_xml_elem(c, 12, "ldp-connection-state", "Open");
      sim_xml_elem(c, 12, "ldp-remaining-time", "%u", n.ldp[i].hold);
      sim_xml_elem(c, 12, "ldp-session-adv-mode", "DU");
      sim_line(c->out, "        </ldp-session>");
    }
    close_info(c, "ldp-session-information");
  } else {
    sim_line(c->out, "  Address                           State       Connection  Hold time  Adv. "
                     "Mode");
    for (size_t i = 0; i < n.nldp; i++)
      sim_line(c->out, "%-36s%-12s%-14s%-11u%s", n.ldp[i].address, "Operational", "Open",
               n.ldp[i].hold, "DU");
  }
  sim_net_free(&n);
  return 0;
}

/* ---- show interfaces terse ---- */

static const char *up(bool b)
{
  return b ? "up" : "down";
}

static void ifl_xml(struct sim_ctx *c, const struct net_ifd *d, const struct net_ifl *l)
{
  sim_line(c->out, "            <logical-interface>");
  sim_xml_elem(c, 16, "name", "%s", l->name);
  sim_xml_elem(c, 16, "admin-status", "up");
  sim_xml_elem(c, 16, "oper-status", "%s", up(d->oper_up));
  sim_line(c->out, "                <filter-information>");
  sim_line(c->out, "                </filter-information>");
  if (l->family) {
    sim_line(c->out, "                <address-family>");
    sim_xml_elem(c, 20, "address-family-name", "%s", l->family);
    if (l->local[0]) {
      sim_line(c->out, "                    <interface-address>");
      /* Capture pyez-display-json: junos:emit on the local address when there is no
       * destination, on the destination when there is one (lo0). */
      if (l->remote[0]) {
        sim_xml_elem(c, 24, "ifa-local", "%s", l->local);
        sim_line(c->out,
                 "                        <ifa-destination junos:emit=\"emit\">%s"
                 "</ifa-destination>",
                 l->remote);
      } else
        sim_line(c->out, "                        <ifa-local junos:emit=\"emit\">%s</ifa-local>",
                 l->local);
      sim_line(c->out, "                    </interface-address>");
    }
    sim_line(c->out, "                </address-family>");
  }
  sim_line(c->out, "            </logical-interface>");
}

int sim_show_interfaces_terse(struct sim_ctx *c)
{
  struct sim_net n;
  view(c, &n);
  /* `show interfaces terse NAME` lists NAME and its units. */
  const char *only = c->nargs > 0 ? c->args[0] : NULL;
  if (c->out->xml)
    open_info(c, "interface-information", "junos-interface", "terse");
  else /* capture genieparser-vmx */
    sim_line(c->out, "Interface               Admin Link Proto    Local                 Remote");
  for (size_t i = 0; i < n.nifd; i++) {
    const struct net_ifd *d = &n.ifd[i];
    if (only && strcmp(only, d->name) != 0)
      continue;
    if (c->out->xml) {
      /* Capture pyez-display-json: name, admin-status, oper-status, logical-interface. */
      sim_line(c->out, "        <physical-interface>");
      sim_xml_elem(c, 12, "name", "%s", d->name);
      sim_xml_elem(c, 12, "admin-status", "%s", up(d->admin_up));
      sim_xml_elem(c, 12, "oper-status", "%s", up(d->oper_up));
      for (size_t u = 0; u < d->nunits; u++)
        ifl_xml(c, d, &d->unit[u]);
      sim_line(c->out, "        </physical-interface>");
      continue;
    }
    sim_line(c->out, "%-23s %-5s %s", d->name, up(d->admin_up), up(d->oper_up));
    for (size_t u = 0; u < d->nunits; u++) {
      const struct net_ifl *l = &d->unit[u];
      if (l->remote[0])
        sim_line(c->out, "%-23s %-5s %-4s %-8s %-20s--> %s", l->name, "up", up(d->oper_up),
                 l->family, l->local, l->remote);
      else
        sim_line(c->out, "%-23s %-5s %-4s %-8s %s", l->name, "up", up(d->oper_up), l->family,
                 l->local);
    }
  }
  if (c->out->xml)
    close_info(c, "interface-information");
  sim_net_free(&n);
  return 0;
}

/* ---- show route summary ---- */

int sim_show_route_summary(struct sim_ctx *c)
{
  struct sim_net n;
  view(c, &n);
  if (c->out->xml) {
    /* Capture pyez-factory (12.1X46): these elements in this order. */
    open_info(c, "route-summary-information", "junos-routing", NULL);
    sim_xml_elem(c, 8, "router-id", "%s", n.router_id);
    for (size_t t = 0; t < n.ntables; t++) {
      const struct net_table *tb = &n.table[t];
      sim_line(c->out, "        <route-table>");
      sim_xml_elem(c, 12, "table-name", "%s", tb->name);
      sim_xml_elem(c, 12, "destination-count", "%u", tb->dests);
      sim_xml_elem(c, 12, "total-route-count", "%u", tb->total);
      sim_xml_elem(c, 12, "active-route-count", "%u", tb->active);
      sim_xml_elem(c, 12, "holddown-route-count", "%u", tb->holddown);
      sim_xml_elem(c, 12, "hidden-route-count", "%u", tb->hidden);
      for (size_t p = 0; p < tb->nproto; p++) {
        sim_line(c->out, "            <protocols>");
        sim_xml_elem(c, 16, "protocol-name", "%s", tb->proto[p].name);
        sim_xml_elem(c, 16, "protocol-route-count", "%u", tb->proto[p].routes);
        sim_xml_elem(c, 16, "active-route-count", "%u", tb->proto[p].active);
        sim_line(c->out, "            </protocols>");
      }
      sim_line(c->out, "        </route-table>");
    }
    close_info(c, "route-summary-information");
    sim_net_free(&n);
    return 0;
  }
  /* Capture ntc-templates-highwater (without its Highwater Mark block, which older releases do
   * not print). */
  sim_line(c->out, "Autonomous system number: %u", n.local_as);
  sim_line(c->out, "Router ID: %s", n.router_id);
  for (size_t t = 0; t < n.ntables; t++) {
    const struct net_table *tb = &n.table[t];
    sim_line(c->out, "%s", "");
    sim_line(c->out, "%s: %u destinations, %u routes (%u active, %u holddown, %u hidden)", tb->name,
             tb->dests, tb->total, tb->active, tb->holddown, tb->hidden);
    for (size_t p = 0; p < tb->nproto; p++)
      sim_line(c->out, "%20s: %6u routes, %6u active", tb->proto[p].name, tb->proto[p].routes,
               tb->proto[p].active);
  }
  sim_net_free(&n);
  return 0;
}

/* ---- show chassis fpc pic-status ---- */

int sim_show_fpc_pic_status(struct sim_ctx *c)
{
  struct sim_net n;
  view(c, &n);
  if (c->out->xml) {
    /* Capture junos-upgrader-display-json (22.4R0): fpc slot/state/description, pic
     * pic-slot/pic-state/pic-type. */
    open_info(c, "fpc-information", "junos-chassis", "pic-style");
    for (size_t f = 0; f < n.nfpc; f++) {
      const struct net_fpc *fp = &n.fpc[f];
      sim_line(c->out, "        <fpc>");
      sim_xml_elem(c, 12, "slot", "%d", fp->slot);
      sim_xml_elem(c, 12, "state", "%s", fp->online ? "Online" : "Offline");
      sim_xml_elem(c, 12, "description", "%s", fp->description);
      for (size_t p = 0; p < fp->npic; p++) {
        sim_line(c->out, "            <pic>");
        sim_xml_elem(c, 16, "pic-slot", "%d", fp->pic[p].slot);
        sim_xml_elem(c, 16, "pic-state", "%s", fp->pic[p].online ? "Online" : "Offline");
        sim_xml_elem(c, 16, "pic-type", "%s", fp->pic[p].type);
        sim_line(c->out, "            </pic>");
      }
      sim_line(c->out, "        </fpc>");
    }
    close_info(c, "fpc-information");
  } else {
    /* Capture genieparser-dpce. */
    for (size_t f = 0; f < n.nfpc; f++) {
      const struct net_fpc *fp = &n.fpc[f];
      sim_line(c->out, "Slot %-4d%-13s%s", fp->slot, fp->online ? "Online" : "Offline",
               fp->description);
      for (size_t p = 0; p < fp->npic; p++)
        sim_line(c->out, "  PIC %-3d%-13s%s", fp->pic[p].slot,
                 fp->pic[p].online ? "Online" : "Offline", fp->pic[p].type);
    }
  }
  sim_net_free(&n);
  return 0;
}
