/*
 * transport: the only code in issu-fleet that knows about sockets and processes.
 *
 * A transport is one session to one router: SSH (libssh2, non-blocking, driven by uv_poll on
 * one libuv loop) or a local child process (uv_spawn, for labs and replay scripts). On it the
 * caller runs commands one after another (or several at once: transport_set_channels) and
 * uploads files; output arrives line by line on a
 * callback, every line and every command's output bounded, every operation under a timeout. The
 * caller never sees EAGAIN, a socket or a pid. A session that dies under a command (the router
 * switched over, the peer went silent) ends that command with a distinct error, so the caller
 * can reconnect and ask the router where it stands.
 *
 * Errors are negative numbers with stable names (transport_error_name), for events and tests.
 */
#ifndef ISSU_TRANSPORT_H
#define ISSU_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Errors: stable names in the table of transport.c. */
enum transport_error {
  TRANSPORT_OK = 0,
  TRANSPORT_E_RESOLVE = -1001,         /* the host name does not resolve */
  TRANSPORT_E_CONNECT = -1002,         /* connection refused or unreachable */
  TRANSPORT_E_TIMEOUT = -1003,         /* an operation took longer than its limit */
  TRANSPORT_E_HOSTKEY_UNKNOWN = -1004, /* not in known_hosts (and accept-new not given) */
  TRANSPORT_E_HOSTKEY_CHANGED = -1005, /* known_hosts has another key: possible MITM */
  TRANSPORT_E_HOSTKEY = -1006,         /* known_hosts unreadable, or the check failed */
  TRANSPORT_E_AUTH = -1007,            /* every authentication method was refused */
  TRANSPORT_E_KEY = -1008,       /* a key file is unreadable, of an unsupported type, or locked */
  TRANSPORT_E_PROTOCOL = -1009,  /* SSH negotiation or protocol failure */
  TRANSPORT_E_DROPPED = -1010,   /* the session ended under a command (no exit status) */
  TRANSPORT_E_DEAD_PEER = -1011, /* the peer stopped answering */
  TRANSPORT_E_CLOSED = -1012,    /* the transport was closed by the caller */
  TRANSPORT_E_SPAWN = -1013,     /* the local command could not be started */
  TRANSPORT_E_FILE = -1014,      /* a local file for upload cannot be read */
  TRANSPORT_E_REMOTE = -1015,    /* the far side refused an upload */
  TRANSPORT_E_BUSY = -1016,      /* misuse: an operation while not ready */
  TRANSPORT_E_OPTIONS = -1017,   /* an option is too long to be named whole in a message */
  TRANSPORT_E_JUMP_REFUSED = -1018, /* a jump host refused to forward to the next hop */
};

/* Every message a transport writes fits here whole: transport_open refuses options longer than
 * the TRANSPORT_MAX_* bounds (a message names at most a few of them, never cut mid-path). */
#define TRANSPORT_MESSAGE_MAX 8192
#define TRANSPORT_MAX_NAME 255       /* name, host, user, password_env */
#define TRANSPORT_MAX_PATH 1023      /* key_file, known_hosts, inventory_file, upload paths */
#define TRANSPORT_DEFAULT_LINE 4096  /* bytes of an output line delivered whole, by default */
#define TRANSPORT_MAX_PATH_LIST 2047 /* key_files, known_hosts_files: all paths together */

const char *transport_error_name(int error);

enum transport_kind { TRANSPORT_SSH, TRANSPORT_LOCAL };

/* Shared by all transports of a run: caps concurrent SSH handshakes, because routers limit
 * connection rates and 500 simultaneous key exchanges would stampede them and this machine. */
struct transport_limiter {
  unsigned max_handshakes; /* 0 = no cap */
  unsigned active;
  void *waiting_head, *waiting_tail;
  /* The send gate (optional): while hold(hold_data, &ticket) is true, no operation of these
   * transports starts; each waits, queued, until transport_release_held(). The scheduler holds
   * them while a journal line is written but not yet fsync'ed, and releases them after one
   * fsync: the lines of one loop turn share it (group commit), and nothing leaves before its
   * line is durable. `ticket` is the waiting operation's own (0 when it first asks; the gate
   * may set it then, say to the lines written so far, so a later line does not hold it). */
  bool (*hold)(void *hold_data, uint64_t *ticket);
  void *hold_data;
  void *held_head, *held_tail;
};
/* Starts the operations the gate held (each asks the gate again first). */
void transport_release_held(struct transport_limiter *l);

/* One jump host of a ProxyJump chain (ssh_config's ProxyJump, `ssh -J`). Its host key is checked
 * against its own known_hosts (under key_host:key_port when set, as HostKeyAlias) before anything
 * is sent past it. */
struct transport_hop {
  const char *host;
  unsigned port; /* 0: 22 */
  const char *user;
  const char *key_file;    /* NULL: the router's key_file */
  const char *known_hosts; /* NULL: the router's known_hosts */
  const char *key_host;    /* NULL: host */
  unsigned key_port;       /* 0: port */
  /* The hop's own `ssh -G HOP` settings (issue 16; additive). A hop never inherits the router's
   * accept-new: it has its own (from its StrictHostKeyChecking, under --accept-new-host-keys). */
  bool own_settings;           /* the fields below decide (false: the router's, as before) */
  bool accept_new_host_keys;   /* with own_settings: unknown keys of this hop are appended */
  unsigned connect_timeout_ms; /* 0: the router's */
  unsigned keepalive_s;        /* ServerAliveInterval; 0: the router's */
  unsigned keepalive_count;    /* ServerAliveCountMax; 0: the router's */
};

/* Bastion sessions shared by the routers of a run (transport/jump*.c): routers behind the same
 * chain share one session to each hop, each router one direct-tcpip channel, at most
 * max_channels per session (more sessions are opened as needed). */
struct transport_jump_pool;
/* max_channels 0: 10, OpenSSH's default MaxSessions. Free it once every transport using it is
 * closed; it goes once its sessions have closed (run the loop). */
struct transport_jump_pool *transport_jump_pool_new(uv_loop_t *loop, unsigned max_channels);
void transport_jump_pool_free(struct transport_jump_pool *pool);
/* Sessions opened to jump hosts so far (every hop, reconnects included). */
unsigned transport_jump_pool_sessions_opened(const struct transport_jump_pool *pool);

struct transport_options {
  const char *name; /* the router, for messages */
  enum transport_kind kind;
  /* ssh */
  const char *host;
  unsigned port;
  const char *user;
  const char *key_file;     /* private key (ed25519 or ECDSA); NULL: none */
  const char *password_env; /* name of the environment variable holding the password */
  const char *known_hosts;  /* required: checked before any credential is sent */
  /* The name and port the host key is recorded under in known_hosts (default: host, port), as
   * OpenSSH's HostKeyAlias: a key scan of one RE's own address reads the preference of the
   * master-only name the key will be checked under. */
  const char *key_host;
  unsigned key_port;
  bool scan_host_key; /* key exchange only: read the host key (transport_host_key), check and
                         send nothing, then fail every command; for `issu-fleet known-hosts` */
  const char *inventory_file; /* named in the fix a refused host key's message gives */
  bool accept_new_host_keys;  /* unknown keys are appended (like OpenSSH's accept-new) */
  bool use_agent;             /* try ssh-agent identities (SSH_AUTH_SOCK) */
  struct transport_limiter *limiter;
  /* ProxyJump: the hops, outermost first (`ssh -J a,b`: a, then b); none: connect directly. */
  const struct transport_hop *jump;
  size_t jump_count;
  struct transport_jump_pool *jump_pool; /* NULL: each router opens its own hop sessions */
  /* local */
  const char *local_command; /* run by /bin/sh -c with SSH_ORIGINAL_COMMAND set */
  /* bounds (0 = default) */
  unsigned connect_timeout_ms; /* resolve + connect + handshake + auth: default 30 s */
  unsigned keepalive_s;        /* keepalive interval: default 10 s */
  unsigned keepalive_count;    /* silence of keepalive_s * count = dead peer: default 3 */
  size_t max_line;             /* longer lines are cut and flagged: TRANSPORT_DEFAULT_LINE */
  size_t max_output;           /* per command, further output is dropped: default 8 MiB */
  /* ssh_config (issue 16; additive): every IdentityFile and UserKnownHostsFile OpenSSH would
   * use, in order (copied by transport_new). Set: authentication tries each key in turn (after
   * the agent), skipping missing, unreadable and locked ones, and the host key is checked
   * against every file (known in any: known; changed in any: refused; accept-new appends to the
   * first). key_file and known_hosts are then ignored. NULL/0: just key_file and known_hosts. */
  const char *const *key_files;
  size_t key_file_count;
  const char *const *known_hosts_files;
  size_t known_hosts_file_count;
  /* ssh_config's StrictHostKeyChecking when it asked for accept-new or no but the run has no
   * --accept-new-host-keys: named when an unknown key is refused (accepting is opt-in). */
  const char *strict_host_key_checking;
};

enum transport_stream { TRANSPORT_STDOUT = 0, TRANSPORT_STDERR = 1 };

struct transport_result {
  int error;       /* TRANSPORT_OK, or why the command did not complete */
  int exit_status; /* valid when error == TRANSPORT_OK and !signaled */
  bool signaled;   /* the remote command ended by a signal */
  char signal_name[32];
  uint64_t bytes;                      /* output bytes received */
  bool truncated;                      /* output beyond max_output was dropped */
  char message[TRANSPORT_MESSAGE_MAX]; /* what went wrong, in words (names the router and the
                                          step): always whole, never cut */
};

struct transport;

typedef void (*transport_open_cb)(struct transport *t, int error, const char *message, void *data);
typedef void (*transport_line_cb)(struct transport *t, enum transport_stream stream,
                                  const char *line, size_t len, bool cut, void *data);
typedef void (*transport_done_cb)(struct transport *t, const struct transport_result *r,
                                  void *data);
typedef void (*transport_progress_cb)(struct transport *t, uint64_t sent, uint64_t total,
                                      void *data);
typedef void (*transport_close_cb)(struct transport *t, void *data);

/* Creates a transport (nothing happens yet); the options are copied. */
int transport_new(uv_loop_t *loop, const struct transport_options *o, struct transport **out);
/* Connects and authenticates (ssh), or just checks the command is set (local). */
int transport_open(struct transport *t, transport_open_cb cb, void *data);
/* Runs one command; `input` (may be NULL) is written to its stdin, then EOF. Commands queue and
 * run one after another. `timeout_ms` 0 means no limit beyond the dead-peer detection. */
int transport_exec(struct transport *t, const char *command, const char *input, unsigned timeout_ms,
                   transport_line_cb on_line, transport_done_cb on_done, void *data);
/* Lets up to `n` execs of this transport run at once (SSH: one channel each on the one session;
 * local: one child each); 0 or 1: one after another, as by default. A timed-out exec then ends
 * alone (its channel is abandoned) instead of ending the session. An upload always runs alone.
 * A server that refuses a channel (OpenSSH's MaxSessions) is no failure: the exec waits for
 * another to end, and the transport runs one fewer at once from then on. */
void transport_set_channels(struct transport *t, unsigned n);
/* How many execs may run at once now (after any refusal). */
unsigned transport_channels(const struct transport *t);
/* Whether an exec queued now would start at once (connected, a channel free, nothing queued). */
bool transport_can_exec_now(const struct transport *t);
/* Uploads a local file to `remote_path` (SCP). The caller verifies the checksum afterwards. */
int transport_upload(struct transport *t, const char *local_path, const char *remote_path,
                     unsigned timeout_ms, transport_progress_cb on_progress,
                     transport_done_cb on_done, void *data);
/* Ends the session; queued operations end with TRANSPORT_E_CLOSED; `cb` runs once every handle
 * is closed, after which the transport is freed. */
void transport_close(struct transport *t, transport_close_cb cb, void *data);
const char *transport_name(const struct transport *t);

/* ---- host keys (ssh_hostkey.c) ---- */

/* The host key the server presented in the key exchange (NULL before it, and for local). */
struct transport_host_key {
  char type[32];        /* "ssh-ed25519", "ecdsa-sha2-nistp256", ... */
  char fingerprint[64]; /* "SHA256:" + unpadded base64, as `ssh-keygen -lf` prints it */
  char *base64;         /* the key as a known_hosts line holds it */
  unsigned char *blob;  /* the key in its wire form */
  size_t blob_len;
};
const struct transport_host_key *transport_host_key(const struct transport *t);

/* What known_hosts says about one key for one name. */
enum transport_hostkey_status {
  TRANSPORT_HOSTKEY_KNOWN,   /* a line for the name holds this key */
  TRANSPORT_HOSTKEY_UNKNOWN, /* no line for the name holds a key of this type */
  TRANSPORT_HOSTKEY_CHANGED, /* lines for the name hold other keys of this type, not this one */
  TRANSPORT_HOSTKEY_REVOKED, /* an @revoked line names this key */
};
struct transport_hostkey_lookup {
  enum transport_hostkey_status status;
  unsigned line;     /* the line that holds (or revokes) the key; 0 if none */
  unsigned others;   /* lines for the name with another key of the same type */
  char *recorded;    /* their fingerprints and lines, "SHA256:... (line 3)"; NULL if none */
  unsigned ca_lines; /* @cert-authority lines: libssh2 cannot use host certificates */
};
/* The name known_hosts records host:port under: "host", or "[host]:port" when port is not 22
 * (OpenSSH's rule; the caller frees it). */
char *transport_known_hosts_name(const char *host, unsigned port);
/* Looks the key `blob` (the wire form) up for host:port in the OpenSSH known_hosts file: plain
 * and hashed (|1|) names, patterns (* ? !), [host]:port, @revoked. A missing file is empty.
 * 0, or -1 with *error set (caller frees) when the file cannot be read or a line that might
 * revoke keys cannot be parsed. The caller frees out->recorded. */
int transport_known_hosts_check(const char *file, const char *host, unsigned port,
                                const unsigned char *blob, size_t len,
                                struct transport_hostkey_lookup *out, char **error);
/* Every key recorded for host:port (plain lines; not @revoked or @cert-authority ones), in file
 * order. 0, or -1 with *error set. The caller frees *keys. */
struct transport_known_key {
  unsigned line;
  char type[32];
  char fingerprint[64];
};
int transport_known_hosts_keys(const char *file, const char *host, unsigned port,
                               struct transport_known_key **keys, size_t *n, char **error);
/* Appends `lines` (whole lines) to the file, created 0600, and fsyncs it. 0, or -1 with
 * *error set (caller frees). */
int transport_known_hosts_append(const char *file, const char *lines, char **error);

/* Reconnect backoff: base * 2^attempt, capped, with up to 25% jitter from `seed`. */
unsigned transport_backoff_ms(unsigned attempt, unsigned base_ms, unsigned max_ms, uint64_t seed);

/* ---- ssh_config through `ssh -G` (ssh_config.c), issue 16 ---- */

/* The longest ProxyJump chain issu-fleet follows. */
#define TRANSPORT_MAX_HOPS 8

/* What `ssh -G HOST` decided, for the settings issu-fleet uses. Paths are as OpenSSH printed them
 * (IdentityFile keeps its "~/"). */
struct transport_ssh_config {
  char *hostname;
  char *user;
  unsigned port;
  char **identity_files; /* IdentityFile, in order */
  size_t identity_count;
  char **known_hosts_files; /* UserKnownHostsFile, in order */
  size_t known_hosts_count;
  char *proxy_jump;                 /* NULL: none */
  char *proxy_command;              /* NULL: none (issu-fleet refuses one: it cannot run it) */
  char *host_key_alias;             /* NULL: none */
  char *strict_host_key_checking;   /* "yes", "ask", "accept-new", "no", ... */
  unsigned connect_timeout_s;       /* 0: none set */
  unsigned server_alive_interval_s; /* 0: off */
  unsigned server_alive_count_max;
};
/* Parses `ssh -G` output. 0, or -1 with *error set (caller frees). */
int transport_ssh_config_parse(const char *text, size_t len, struct transport_ssh_config *out,
                               char **error);
void transport_ssh_config_free(struct transport_ssh_config *c);

/* One entry of a ProxyJump value: [ssh://][user@]host[:port]. */
struct transport_jump_spec {
  char *user; /* NULL: the hop's own ssh_config decides */
  char *host;
  unsigned port; /* 0: the hop's own ssh_config decides */
};
/* Splits a ProxyJump value ("a,u@b:2222"; "none": no hop). 0, or -1 with *error set. */
int transport_ssh_proxyjump_parse(const char *value, struct transport_jump_spec **out, size_t *n,
                                  char **error);
void transport_jump_specs_free(struct transport_jump_spec *j, size_t n);
/* A name that may be put on ssh's command line: [A-Za-z0-9._-] not starting with '-', or an
 * IPv6 address ([0-9A-Fa-f:.] with two ':' or more). */
bool transport_ssh_host_ok(const char *host);
/* OpenSSH's stderr made fit for a message (printable ASCII, lines joined by "; "); caller frees. */
char *transport_ssh_sanitise(const char *s, size_t len);

/* One question to OpenSSH: `ssh -G [-F config_file] -- host`. */
struct transport_ssh_query {
  const char *host;        /* asked as is; refused unless transport_ssh_host_ok */
  const char *config_file; /* NULL: OpenSSH's own (~/.ssh/config, then /etc/ssh/ssh_config) */
  struct transport_ssh_config config; /* the answer, when error is 0 */
  int error;     /* 0, TRANSPORT_E_SPAWN, _TIMEOUT, _OPTIONS (ssh refused the config), _PROTOCOL */
  char *message; /* why, naming the host and, where OpenSSH gave one, "FILE line N: ..." */
};
/* Asks every query on a loop of its own, at most `parallel` ssh processes at once (0: 8), each
 * within timeout_ms (0: 10 s); returns when all have answered: 0, or -1 if any failed (see each
 * query). The program is "ssh" on PATH, or $ISSU_SSH. Free with transport_ssh_query_free. */
int transport_ssh_config_run(struct transport_ssh_query *q, size_t n, unsigned parallel,
                             unsigned timeout_ms);
void transport_ssh_query_free(struct transport_ssh_query *q, size_t n);
/* Whether ssh (or $ISSU_SSH) can be run: ssh_config is read only then. */
bool transport_ssh_available(void);

#endif
