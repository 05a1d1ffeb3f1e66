/*
 * policies: the rollout policy (what to install, how, in which waves, under which limits), its
 * validation, and the planner that turns policy + inventory into waves.
 *
 * The schema is a table (policy_schema.c): a key, its type, its default, and a sentence for
 * --help and the docs. Every value that will reach a router's CLI (version, package path, ISSU
 * options) is checked against a strict character set here, once, so no later code has to.
 */
#ifndef ISSU_POLICIES_H
#define ISSU_POLICIES_H

#include "checks/checks.h"
#include "common/common.h"
#include "inventory/inventory.h"
#include "yamldoc/yamldoc.h"

#include <time.h>

enum policy_amount_kind { AMOUNT_NONE, AMOUNT_COUNT, AMOUNT_PERCENT, AMOUNT_HOSTS };

/* A canary or serial size: "3", "25%", or a list of host names. */
struct policy_amount {
  enum policy_amount_kind kind;
  unsigned value;
  char **hosts;
  unsigned *host_lines, *host_cols;
  size_t nhosts;
  unsigned line, col;
};

enum policy_old_master { OLD_MASTER_REBOOT, OLD_MASTER_LEAVE, OLD_MASTER_SKIP };
enum policy_mode { MODE_WAVES, MODE_ROLLING };
enum policy_order {
  ORDER_INVENTORY,
  ORDER_REVERSE_INVENTORY,
  ORDER_SORTED,
  ORDER_REVERSE_SORTED,
  ORDER_SHUFFLE
};

/* ISSU options the policy may pass to `request system software in-service-upgrade`. */
enum policy_issu_option {
  ISSU_OPT_NO_COPY = 1u << 0,
  ISSU_OPT_UNLINK = 1u << 1,
  ISSU_OPT_NO_VALIDATE = 1u << 2,
  ISSU_OPT_NO_TCP_SYN_CHECK = 1u << 3,
  ISSU_OPT_ENHANCED_MODE = 1u << 4,
};

/* Per-phase timeouts, in the order of the phase table (DESIGN.md §6), then the whole device. */
enum policy_timeout {
  TIMEOUT_CONNECT,
  TIMEOUT_PREFLIGHT,
  TIMEOUT_STAGE,
  TIMEOUT_VALIDATE,
  TIMEOUT_BACKUP_UPGRADE,
  TIMEOUT_BACKUP_REBOOT,
  TIMEOUT_DAEMONS,
  TIMEOUT_FRU_UPGRADE,
  TIMEOUT_SWITCHOVER,
  TIMEOUT_OLD_MASTER_UPGRADE,
  TIMEOUT_OLD_MASTER_REBOOT,
  TIMEOUT_SWITCHBACK,
  TIMEOUT_VERIFY,
  TIMEOUT_DEVICE,
  TIMEOUT_COUNT
};
extern const char *const policy_timeout_names[TIMEOUT_COUNT];

/* A cap on routers in flight per value of a host variable (or per group, var == "group"). */
struct policy_per {
  char *var;
  enum policy_amount_kind kind; /* AMOUNT_COUNT or AMOUNT_PERCENT */
  unsigned value;
  unsigned line, col;
};

struct policy_label {
  char *name;
  unsigned line, col;
};

struct policy_labels {
  struct policy_label *items;
  size_t count;
};

struct policy_serial {
  struct policy_amount *items;
  size_t count;
};

struct policy_pers {
  struct policy_per *items;
  size_t count;
};

/* checks.pre_check: what a pre-check that fails does to its router. */
enum policy_pre_check { PRE_CHECK_FAIL, PRE_CHECK_WARN };

/* checks: issue 15's pre/post health checks (checks/checks.h). The policy keeps what the file
 * says; policy_check_suite() turns it into a suite. */
struct policy_checks {
  bool off[CHECK_BUILTIN_COUNT];          /* builtin: {NAME: off} */
  char *tolerance[CHECK_BUILTIN_COUNT];   /* builtin: {bgp-prefixes: "5%"}; NULL: the default */
  unsigned tol_line[CHECK_BUILTIN_COUNT]; /* where each tolerance is written */
  unsigned tol_col[CHECK_BUILTIN_COUNT];
  struct policy_labels files; /* JSNAPy test files, resolved against the policy's folder */
  uint64_t converge_s, interval_s;
  enum policy_pre_check pre_check;
  unsigned channels; /* commands of a snapshot at once (CHECK_CHANNELS_MIN..MAX) */
};
#define CHECK_CHANNELS_MIN 1
#define CHECK_CHANNELS_MAX 9
#define CHECK_CHANNELS_DEFAULT 5

/* target.vmhost: detected from what the router reports, or forced by the policy. */
enum policy_vmhost { VMHOST_DETECT, VMHOST_YES, VMHOST_NO };

struct policy {
  char *file;
  struct {
    char *version, *package, *sha256, *source;
    enum policy_vmhost vmhost;
  } target;
  struct {
    struct policy_labels accept_alarms; /* active major alarms that do not stop a router */
  } preflight;
  struct {
    unsigned options;
    enum policy_old_master old_master;
    bool switchback;
    uint64_t timeouts_s[TIMEOUT_COUNT];
  } issu;
  struct {
    struct policy_amount canary;
    struct policy_serial serial;
    enum policy_mode mode;
    uint64_t soak_s;
    struct policy_labels approve;
    enum policy_order order;
    uint64_t seed;
    bool pack; /* false: Ansible's batches as they are, limits only enforced at run time */
  } waves;
  struct {
    unsigned max_parallel;  /* 0 = no cap */
    unsigned jump_channels; /* routers per session to a jump host; 0 = 10 */
    struct policy_pers per;
    struct policy_labels exclusive;
  } limits;
  struct {
    unsigned max_failed;
    unsigned max_fail_percentage;
  } failures;
  struct {
    bool set;
    unsigned days; /* bit 0 = Monday */
    unsigned start_min, end_min;
    char *tz;
  } window;
  uint64_t estimate_s;
  struct policy_checks checks;
};

int policy_load(const char *path, struct policy **out, struct diag *d);
int policy_load_buffer(const char *name, const char *buf, size_t len, struct policy **out,
                       struct diag *d);
void policy_free(struct policy *p);
/* Checks what needs the inventory too: host names exist, limit variables are defined somewhere. */
int policy_check_inventory(const struct policy *p, const struct inventory *inv, struct diag *d);

/* The health-check suite the policy asks for: the built-in checks it keeps (with its
 * tolerances) and its JSNAPy files. `allow_backup_re_active`: the run leaves RE1 master (no
 * switchback), so `Backup RE Active` is expected after. NULL with `d` filled on error (a bad
 * tolerance at its file:line:col, a test file's unsupported key at the test file's). A suite with
 * no commands means the checks are all off. */
/* Whether the checks run any command (a built-in check on, or a test file). */
bool policy_checks_on(const struct policy *p);
struct check_suite *policy_check_suite(const struct policy *p, bool allow_backup_re_active,
                                       struct diag *d);

/* Parses "90s", "15m", "2h", "1h30m", "1d"; "0" alone is zero. Returns 0 or -1. */
int policy_parse_duration(const char *text, uint64_t *seconds);
/* Text that may reach a router's CLI: letters, digits and ._-/+ only (a path also needs a leading
 * '/'). Returns NULL when acceptable, else why not. */
const char *policy_cli_unsafe(const char *text, bool path);

/* Writes the schema reference (every key, type, default, meaning) as Markdown. */
void policy_schema_markdown(FILE *out);

/* ---- The plan ---- */

struct plan_deferral {
  size_t host;
  size_t from_wave; /* the wave Ansible's batching (without limits) would have put it in */
  char *reason;
};

struct plan_wave {
  char *name; /* "canary", "wave-1", ... */
  size_t *hosts;
  size_t nhosts;
  uint64_t start_s, end_s; /* expected offsets from the start of the run */
  bool approve;            /* waits for `issu-fleet ctl approve` before it starts */
  unsigned rounds; /* the wave takes this many router durations: 1 when packed; unpacked, the
                      limits make its routers wait for each other */
};

struct plan {
  struct plan_wave *waves;
  size_t nwaves;
  struct plan_deferral *deferred;
  size_t ndeferred;
  size_t nhosts;
  uint64_t makespan_s;
  uint64_t lower_bound_s;
  char *bound_reason; /* which limit sets the lower bound, in words */
  char **warnings;
  size_t nwarnings;
};

/* Builds the waves for the selected hosts (all when `selected` is NULL). */
int plan_build(const struct policy *p, const struct inventory *inv, const bool *selected,
               struct plan *out, struct diag *d);
void plan_free(struct plan *plan);
/* The fewest waves any plan can have for the same hosts, limits and canary as `plan` (made by
 * plan_build with the same arguments), by exhaustive search: the oracle for small fleets (tests,
 * bench/plan). -ERANGE when more than 20 routers follow the canary. */
int plan_exact_waves(const struct policy *p, const struct inventory *inv, const bool *selected,
                     const struct plan *plan, size_t *waves, struct diag *d);
cJSON *plan_to_json(const struct plan *plan, const struct inventory *inv);

/* ---- The maintenance window ---- */

/* Whether `t` (seconds since the epoch) is inside the policy's window (always, without one). */
bool policy_window_open(const struct policy *p, time_t t);
/* The next time after `t` at which the window opens or closes; -1 if never within 8 days. */
time_t policy_window_next_change(const struct policy *p, time_t t);

/* ---- At run time: the limits against the routers in flight, and the failure budget ---- */

struct run_limits;
/* `hosts`: inventory indices of the run, by position; later calls take positions. */
int run_limits_new(const struct policy *p, const struct inventory *inv, const size_t *hosts,
                   size_t nhosts, struct run_limits **out, struct diag *d);
void run_limits_free(struct run_limits *l);
/* Whether the router at `pos` must wait; if so `why` names the limit and who holds it. */
bool run_limits_blocked(const struct run_limits *l, size_t pos, char *why, size_t len);
void run_limits_take(struct run_limits *l, size_t pos);
void run_limits_release(struct run_limits *l, size_t pos);
size_t run_limits_in_flight(const struct run_limits *l);

struct budget_state {
  size_t failed;        /* over the run */
  size_t canary_failed; /* routers of the canary wave that failed */
  size_t wave_failed;   /* of the wave being judged */
  size_t wave_size;
};
/* Whether the run must halt; `why` says which budget, in words. */
bool policy_budget_exceeded(const struct policy *p, const struct budget_state *b, char *why,
                            size_t len);

#endif
