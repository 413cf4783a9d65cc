/*
 * master.c: the privileged parent ("portwingd: master").
 *
 * Reads the configuration and key material, opens the listening sockets,
 * starts and supervises authd, the proxy and the worker pool, wires their
 * channels together, and is the only process that connects to the Docker
 * Engine (handing connected descriptors to the proxy).  It never accepts a
 * client connection and never reads a byte of network input: its only
 * inputs are signals and typed messages from its own children, none of
 * which may carry a descriptor.
 */
#include "pwbuild.h"

#include <sys/fsuid.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <pwd.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "child.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "proc.h"
#include "util.h"
#include "authd/authd.h"
#include "banner.h"
#include "edge/edge.h"
#include "keyfile.h"
#include "mtlsl.h"
#include "pmsg.h"
#include "sdnotify.h"
#include "stats.h"
#include "worker.h"

/* client_certificate_profiles select only on the mTLS listener. */
#define NO_MTLS_WARNING	"clients.client_certificate_profiles: LISTEN_MTLS " \
	"is not set, so no client presents a certificate and they select " \
	"nothing"

#define MASTER_MAX_WORKERS	64
#define RESPAWN_MAX_MS		10000
#define STABLE_MS		10000	/* a child living this long resets backoff */
#define SHUTDOWN_GRACE_S	10
#define LOG_BURST		200	/* lines a child may log at once */
#define LOG_RATE		100	/* lines per second after a burst */
#define STATUS_EVERY_S		5	/* systemd STATUS= refresh, when changed */
#define RELOAD_CONFIRM_S	5	/* children confirm a reload within this */

struct child {
	enum proc_role	 role;
	unsigned	 slot;
	pid_t		 pid;
	struct ipc_chan	*chan;
	int		 ready;
	uint64_t	 started_ms;
	int		 fails;
	uint32_t	 gen;
	struct event	*respawn;
	unsigned	 restarts;
	uint64_t	 log_ms[2];	/* last refill of log_credit */
	uint32_t	 log_credit[2];	/* lines it may still log now: [0] errors
				   and warnings, [1] info and debug */
	uint32_t	 log_dropped;	/* over the rate, not yet reported */
	uint32_t	 log_lost;	/* lost in the child (channel full) */
	struct event	*log_timer;	/* reports log_dropped */
	/* Liveness probes (IPC_M_PING), for the watchdog and reloads. */
	uint32_t	 probe_out;	/* the probe it owes, 0: none */
	uint64_t	 probe_ms;	/* when that probe was sent */
	uint32_t	 await;		/* the reload's probe, 0: none owed */
	int		 answered;	/* since the last watchdog tick */
	int		 bad_ticks;	/* ticks without an answer, across
					   restarts, until it answers */
	int		 killed;	/* killed for not answering */
	int		 listening;	/* a worker that has the listener */
};

struct dconn {
	struct event	*ev;
	int		 fd;
	uint32_t	 id;
};

static struct {
	struct event_base	*base;
	struct pw_config	 cfg;
	const char		*conffile;
	int			 conf_required;
	struct privdrop		 pd;
	int			 listen_fd;
	int			 filter_fd;	/* LISTEN_SOCKET, -1: none */
	int			 mtls_fd;	/* LISTEN_MTLS, -1: none */
	char			*mtls_ca;	/* MTLS_CLIENT_CA PEM */
	size_t			 mtls_calen;
	char			*tls_cert;
	size_t			 tls_cert_len;
	char			*tls_key;
	size_t			 tls_key_len;
	struct child		 workers[MASTER_MAX_WORKERS];
	struct child		 authd;
	struct child		 proxy;
	struct child		 keyd;		/* with TLS only */
	struct child		 policyd;	/* with a policy only */
	struct child		 edge;		/* in edge mode only */
	struct child		 filed;		/* with HOST_FILES_ROOT only */
	struct child		 composer;	/* with STACKS_DIR only */
	int			 stacks_fd;	/* STACKS_DIR, -1: none */
	int			 compose_fd;	/* compose's socket, -1: none */
	char			 compose_dir[64];	/* holding it */
	uid_t			 compose_uid;
	gid_t			 compose_gid;
	int			 files_root;	/* HOST_FILES_ROOT, -1: none */
	uid_t			 files_uid;	/* filed runs as its owner */
	gid_t			 files_gid;
	struct policy_spec	 pspec;		/* the policy in force */
	struct policy		*pol;		/* NULL: none configured */
	uint32_t		 pol_gen;
	uint32_t		 tls_gen;	/* pairs a certificate with its key */
	uint32_t		 tls_key_probe;	/* keyd's probe after a new key: the
						   workers get the certificate once it
						   is answered, 0: none owed */
	uint32_t		 gen;
	int			 stopping;
	int			 announced;
	/* systemd (agent/sdnotify.c) */
	char			 listen_desc[80];	/* address served */
	int			 activated;	/* socket from systemd */
	int			 docker;	/* -1 unchecked, 0 down, 1 up */
	uint32_t		 probe_seq;
	int			 reloading;	/* waiting for confirmations */
	struct event		*reload_timer;
	char			 reload_note[300];	/* last reload refused */
	struct event		*status_timer;
	struct event		*wd_timer;
	uint64_t		 wd_tick_ms;
	int			 wd_held;	/* pings withheld */
	struct event		*stop_timer;
	char			*keys_text;	/* validated authorized_keys */
	size_t			 keys_len;
	struct keyset		 keys;
	int			 stats_fd;	/* the shared counters (memfd) */
	int			 obs_fd[OBS_FILE_COUNT];	/* for the proxy */
	int			 audit_fd;	/* AUDIT_LOG, -1: none */
	int			 audit_is_file;
	struct audit_pipe {		/* AUDIT_LOG=stdout|stderr */
		int		 fd;	/* read end, -1: none */
		struct event	*ev;
		char		*buf;
		size_t		 len;
		int		 skip;	/* discarding an over-long line */
		uint64_t	 warned_ms;
	}			 apipe;
} m;

static const struct ipc_perm perms_worker[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_C_RELOADED, 4, 4, 0 },
	{ IPC_C_LOG, 12, 12 + LOG_MSG_MAX, 0 },
	{ IPC_C_PONG, 0, 0, 0 },
};

static const struct ipc_perm perms_authd[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_C_RELOADED, 4, 4, 0 },
	{ IPC_A_ENROLL_ADD, 8, 512, 0 },
	{ IPC_C_LOG, 12, 12 + LOG_MSG_MAX, 0 },
	{ IPC_C_PONG, 0, 0, 0 },
};

static const struct ipc_perm perms_keyd[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_C_LOG, 12, 12 + LOG_MSG_MAX, 0 },
	{ IPC_C_PONG, 0, 0, 0 },
};

static const struct ipc_perm perms_policyd[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_C_LOG, 12, 12 + LOG_MSG_MAX, 0 },
	{ IPC_C_PONG, 0, 0, 0 },
};

static const struct ipc_perm perms_edge[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_E_DIAL, 0, 0, 0 },
	{ IPC_C_LOG, 12, 12 + LOG_MSG_MAX, 0 },
	{ IPC_C_PONG, 0, 0, 0 },
};

static const struct ipc_perm perms_filed[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_C_LOG, 12, 12 + LOG_MSG_MAX, 0 },
	{ IPC_C_PONG, 0, 0, 0 },
};

static const struct ipc_perm perms_composer[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_C_LOG, 12, 12 + LOG_MSG_MAX, 0 },
	{ IPC_C_PONG, 0, 0, 0 },
};

static const struct ipc_perm perms_proxy[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_P_DOCKER_REQ, 0, 0, 0 },
	{ IPC_P_DOCKER_STATE, 4, 4, 0 },
	{ IPC_C_LOG, 12, 12 + LOG_MSG_MAX, 0 },
	{ IPC_C_PONG, 0, 0, 0 },
};

static void	master_spawn(struct child *);
static void	master_child_msg(struct ipc_chan *, struct ipc_msg *, void *);
static void	master_child_closed(struct ipc_chan *, void *);
static void	master_check_stopped(void);
static void	master_send_keys(void);
static void	master_status_update(void);
static void	master_reload_check(void);
static void	master_dialled(const struct edge_dial *, uint32_t, void *);

static const char *
child_name(struct child *c, char *buf, size_t sz)
{
	if (c->role == PROC_WORKER)
		snprintf(buf, sz, "worker %u", c->slot);
	else
		snprintf(buf, sz, "%s", proc_role_name(c->role));
	return buf;
}

/*
 * IPC_C_LOG: a child's event, written by the master under the name and
 * pid the master knows the child by; the text is made visible
 * (log_relay), so a child cannot end its line and start one that reads
 * as another process's.  Each child gets LOG_BURST lines at once and
 * LOG_RATE a second after that, counted apart for errors and warnings and
 * for info and debug lines, so a flood of routine lines (one per refused
 * request) cannot crowd out a warning.  The rest are counted and reported
 * once a second, so a child that floods its channel costs the master a
 * bounded amount of work per read (the channel reads at most 64 records
 * per wake-up).
 */
/* The name a child's log lines carry: worker[N], authd, proxy. */
static const char *
child_logname(struct child *c, char *buf, size_t sz)
{
	if (c->role == PROC_WORKER)
		snprintf(buf, sz, "worker[%u]", c->slot);
	else
		pw_strlcpy(buf, proc_role_name(c->role), sz);
	return buf;
}

static void
log_dropped_report(struct child *c)
{
	char	name[32];

	if (c->log_dropped == 0 && c->log_lost == 0)
		return;
	log_warnx("%s (pid %ld): %u log line(s) dropped (%u over the rate "
	    "limit, %u with its channel full)", child_logname(c, name,
	    sizeof(name)), (long)c->pid, c->log_dropped + c->log_lost,
	    c->log_dropped, c->log_lost);
	c->log_dropped = c->log_lost = 0;
}

static void
log_dropped_cb(evutil_socket_t fd, short ev, void *arg)
{
	log_dropped_report(arg);
}

static void
master_child_log(struct child *c, struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	const char	*text;
	char		 name[32];
	uint32_t	 level, lost;
	uint64_t	 now = pw_now_ms(), add;
	size_t		 n;
	int		 b;

	ipc_rd_init(&rd, msg);
	level = ipc_rd_u32(&rd);
	lost = ipc_rd_u32(&rd);
	text = ipc_rd_strp(&rd, &n, LOG_MSG_MAX);
	child_logname(c, name, sizeof(name));
	if (text == NULL || ipc_rd_end(&rd) == -1 || level > LOG_LVL_DEBUG) {
		log_warnx("%s (pid %ld) sent a malformed log record; killing it",
		    name, (long)c->pid);
		kill(c->pid, SIGKILL);
		return;
	}
	b = level <= LOG_LVL_WARN ? 0 : 1;
	if (c->log_ms[b] == 0) {
		c->log_ms[b] = now;
		c->log_credit[b] = LOG_BURST;
	}
	add = (now - c->log_ms[b]) * LOG_RATE / 1000;
	if (add >= LOG_BURST || c->log_credit[b] + add >= LOG_BURST) {
		c->log_credit[b] = LOG_BURST;
		c->log_ms[b] = now;
	} else if (add > 0) {
		c->log_credit[b] += (uint32_t)add;
		c->log_ms[b] += add * 1000 / LOG_RATE;
	}
	if (c->log_credit[b] == 0)
		c->log_dropped++;
	c->log_lost += lost;
	if ((c->log_dropped > 0 || c->log_lost > 0) &&
	    (c->log_timer == NULL || !evtimer_pending(c->log_timer, NULL))) {
		/* One report a second at most, whatever the flood. */
		struct timeval tv = { 1, 0 };
		if (c->log_timer == NULL)
			c->log_timer = evtimer_new(m.base, log_dropped_cb, c);
		evtimer_add(c->log_timer, &tv);
	}
	if (c->log_credit[b] == 0)
		return;
	c->log_credit[b]--;
	log_relay(name, (long)c->pid, (int)level, text, n);
}

/* ---- wiring ---- */

/* Give a ready worker a fresh channel to a ready authd, proxy or keyd. */
static void
master_link(struct child *w, struct child *peer)
{
	int	sv[2];

	if (!w->ready || !peer->ready || w->chan == NULL || peer->chan == NULL)
		return;
	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return;
	}
	/* An authd channel names that authd's spawn generation (hdr.id). */
	ipc_send(w->chan, peer->role == PROC_AUTHD ? IPC_M_AUTHD_CHAN :
	    peer->role == PROC_KEYD ? IPC_M_KEYD_CHAN : IPC_M_PROXY_CHAN, 0,
	    peer->role == PROC_AUTHD ? peer->gen : 0, NULL, 0, sv[0]);
	ipc_send(peer->chan, IPC_M_WORKER_CHAN, w->slot, 0, NULL, 0, sv[1]);
}

/*
 * TOKEN_POLICY must name a profile of the policy (and needs one): a
 * misspelt name would refuse every token request at run time.
 */
static int
master_policy_names(const struct pw_config *c, const struct policy *p,
    char *err, size_t errsz)
{
	const char	*t = c->val[CK_TOKEN_POLICY];
	int		 unresolved = 0;

	if (t == NULL)
		return 0;
	if (p == NULL) {
		snprintf(err, errsz, "TOKEN_POLICY=%s needs a policy (POLICY "
		    "or POLICY_FILE)", t);
		return -1;
	}
	(void)policy_select(p, t, NULL, 0, 0, 0, &unresolved);
	if (unresolved) {
		snprintf(err, errsz, "TOKEN_POLICY=%s: the policy %s has no "
		    "profile of that name", t, p->source);
		return -1;
	}
	return 0;
}

/*
 * The policy goes to the proxy (rules) and policyd (bodies); the two get
 * a channel of their own when both are ready.
 */
static void
master_send_policy(struct child *c)
{
	if (m.pol != NULL && c->ready && c->chan != NULL)
		policy_msg_send(c->chan, m.pol_gen, &m.pspec);
}

/*
 * LISTEN_MTLS: authd verifies every client chain again, so it gets the
 * client CAs and the policy (for client_certificate_profiles) too.
 */
static void
master_send_mtls_authd(void)
{
	struct ipc_wr	wr;

	if (m.mtls_ca == NULL || m.authd.chan == NULL)
		return;
	ipc_wr_init(&wr);
	ipc_wr_strn(&wr, m.mtls_ca, m.mtls_calen);
	ipc_send(m.authd.chan, IPC_M_MTLS_AUTHD, 0, 0, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
	if (m.pol != NULL)
		policy_msg_send(m.authd.chan, m.pol_gen, &m.pspec);
}

/*
 * A channel between the proxy and one of its helpers (policyd, edge,
 * filed, composer), once both are ready: type goes to each with its end.
 */
static void
master_link_proxy(struct child *c, int wanted, uint16_t type)
{
	int	sv[2];

	if (!wanted || !c->ready || !m.proxy.ready || c->chan == NULL ||
	    m.proxy.chan == NULL)
		return;
	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return;
	}
	ipc_send(m.proxy.chan, type, 0, 0, NULL, 0, sv[0]);
	ipc_send(c->chan, type, 0, 0, NULL, 0, sv[1]);
}

/* A policy: the proxy asks policyd about request bodies. */
static void
master_link_policy(void)
{
	master_link_proxy(&m.policyd, m.pol != NULL, IPC_M_POLICY_CHAN);
}

/* HOST_FILES_ROOT: the proxy asks filed to write what a worker checked. */
static void
master_link_filed(void)
{
	master_link_proxy(&m.filed, m.cfg.files, IPC_M_FILED_CHAN);
}

/* STACKS_DIR: the proxy hands compose requests to the composer. */
static void
master_link_composer(void)
{
	master_link_proxy(&m.composer, m.cfg.compose, IPC_M_COMPOSE_CHAN);
}

/*
 * The master's file system identity (setfsuid, setfsgid): the compose
 * user's while it makes and opens what that user is to own, root's
 * again after.  Nothing when not running as root.
 */
static void
fs_as(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return;
	(void)setfsgid(gid);
	(void)setfsuid(uid);
	if ((uid_t)setfsuid((uid_t)-1) != uid)
		fatalx("setfsuid %u did not take", (unsigned)uid);
}

/*
 * COMPOSE_USER: a name or a uid, never root (compose would then reach
 * Docker's socket, and everything else, around the agent).
 */
static int
master_compose_user(char *err, size_t errsz)
{
	const char	*u = m.cfg.val[CK_COMPOSE_USER];
	struct passwd	*pw;
	long long	 n;

	if (geteuid() != 0) {
		m.compose_uid = geteuid();
		m.compose_gid = getegid();
		return 0;
	}
	if (u == NULL)
		u = PW_USER;
	if (pw_strtonum(u, 0, 0x7fffffff, &n) == 0)
		pw = getpwuid((uid_t)n);
	else
		pw = getpwnam(u);
	if (pw == NULL) {
		snprintf(err, errsz, "COMPOSE_USER \"%s\" (%s): no such user",
		    u, m.cfg.src[CK_COMPOSE_USER][0] ? m.cfg.src[CK_COMPOSE_USER] :
		    "default");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errsz, "COMPOSE_USER \"%s\": root may not run "
		    "compose (it could reach Docker's socket around the agent); "
		    "name an unprivileged user", u);
		return -1;
	}
	m.compose_uid = pw->pw_uid;
	m.compose_gid = pw->pw_gid;
	return 0;
}

/*
 * STACKS_DIR (made 0750 for COMPOSE_USER when missing, else it must be a
 * directory of that user's), and with run set, the private directory
 * holding the socket compose reaches Docker by (0700, the user's) and
 * the runner's credential.
 */
static int
master_compose_setup(int run, char *err, size_t errsz)
{
	const char		*d = m.cfg.val[CK_STACKS_DIR];
	struct sockaddr_un	 sun;
	struct stat		 st;
	char			 path[sizeof(sun.sun_path)], hex[65];
	uint8_t			 key[32];
	mode_t			 old;
	int			 made = 0, e;

	m.stacks_fd = m.compose_fd = -1;
	if (!m.cfg.compose || d == NULL)
		return 0;
	if (master_compose_user(err, errsz) == -1)
		return -1;
	if (!run) {
		if (stat(d, &st) == 0 && !S_ISDIR(st.st_mode)) {
			snprintf(err, errsz, "STACKS_DIR %s (%s): not a "
			    "directory", d, m.cfg.src[CK_STACKS_DIR]);
			return -1;
		}
		return 0;
	}
	/*
	 * A missing STACKS_DIR is made by root and given to the compose user
	 * (chown needs CAP_CHOWN, which the shipped unit does not grant:
	 * there the packages make /var/lib/portwing-stacks instead).
	 */
	if (mkdir(d, 0750) == 0) {
		made = 1;
		if (geteuid() == 0 && chown(d, m.compose_uid, m.compose_gid) ==
		    -1) {
			e = errno;
			snprintf(err, errsz, "STACKS_DIR %s (%s) did not exist and "
			    "cannot be given to COMPOSE_USER (%s); make it: install "
			    "-d -m 0750 -o %u -g %u %s", d, m.cfg.src[CK_STACKS_DIR],
			    strerror(e), (unsigned)m.compose_uid,
			    (unsigned)m.compose_gid, d);
			(void)rmdir(d);
			return -1;
		}
	} else if (errno != EEXIST) {
		snprintf(err, errsz, "STACKS_DIR %s (%s): %s", d,
		    m.cfg.src[CK_STACKS_DIR], strerror(errno));
		return -1;
	}
	/*
	 * The rest as the compose user (its file system identity): what it
	 * opens is what that user may open, what it makes is that user's,
	 * and no CAP_DAC_OVERRIDE or CAP_CHOWN is needed.
	 */
	fs_as(m.compose_uid, m.compose_gid);
	m.stacks_fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	e = errno;
	fs_as(0, 0);
	if (m.stacks_fd == -1 || fstat(m.stacks_fd, &st) == -1) {
		snprintf(err, errsz, "STACKS_DIR %s (%s): %s", d,
		    m.cfg.src[CK_STACKS_DIR], e == ENOTDIR || e == ELOOP ?
		    "not a directory (a link is not followed)" : e == EACCES ?
		    "COMPOSE_USER cannot open it" : strerror(e));
		return -1;
	}
	if (!made && st.st_uid != m.compose_uid) {
		snprintf(err, errsz, "STACKS_DIR %s (%s) belongs to uid %u, but "
		    "compose runs as uid %u (COMPOSE_USER): chown it to that "
		    "user", d, m.cfg.src[CK_STACKS_DIR], (unsigned)st.st_uid,
		    (unsigned)m.compose_uid);
		return -1;
	}
	pw_strlcpy(m.compose_dir, "/tmp/portwing-compose.XXXXXX",
	    sizeof(m.compose_dir));
	snprintf(path, sizeof(path), "%s/docker.sock", m.compose_dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	fs_as(m.compose_uid, m.compose_gid);
	old = umask(077);
	if (mkdtemp(m.compose_dir) == NULL) {
		e = errno;
		umask(old);
		fs_as(0, 0);
		m.compose_dir[0] = '\0';
		snprintf(err, errsz, "a private directory for compose: %s",
		    strerror(e));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/docker.sock", m.compose_dir);
	pw_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	(void)umask(0177);	/* the socket: 0600 */
	if ((m.compose_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || bind(m.compose_fd, (struct sockaddr *)&sun, sizeof(sun)) ==
	    -1 || listen(m.compose_fd, 128) == -1) {
		e = errno;
		umask(old);
		fs_as(0, 0);
		snprintf(err, errsz, "the compose socket %s: %s", path,
		    strerror(e));
		return -1;
	}
	umask(old);
	fs_as(0, 0);
	pw_random_bytes(key, sizeof(key));
	pw_hex_encode(key, sizeof(key), hex, sizeof(hex));
	OPENSSL_cleanse(key, sizeof(key));
	freezero_str(m.cfg.val[CK__COMPOSE_TOKEN]);
	m.cfg.val[CK__COMPOSE_TOKEN] = xstrdup(hex);
	OPENSSL_cleanse(hex, sizeof(hex));
	free(m.cfg.val[CK__COMPOSE_SOCKET]);
	m.cfg.val[CK__COMPOSE_SOCKET] = xstrdup(path);
	return 0;
}

/* At stop: the socket and its directory go (runs are the runner's). */
static void
master_compose_cleanup(void)
{
	char	path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (m.compose_dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/docker.sock", m.compose_dir);
	fs_as(m.compose_uid, m.compose_gid);	/* its directory: 0700 */
	(void)unlink(path);
	(void)rmdir(m.compose_dir);
	fs_as(0, 0);
	m.compose_dir[0] = '\0';
}

/*
 * HOST_FILES_ROOT, opened once at start: filed holds this descriptor
 * and no other path, and runs as the directory's owner (root's: uid 0
 * without any capability).
 */
static int
master_open_files_root(char *err, size_t errsz)
{
	struct stat	st;
	const char	*root = m.cfg.val[CK_HOST_FILES_ROOT];

	m.files_root = -1;
	if (!m.cfg.files)
		return 0;
	if ((m.files_root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || fstat(m.files_root, &st) == -1) {
		snprintf(err, errsz, "HOST_FILES_ROOT %s (%s): %s", root,
		    m.cfg.src[CK_HOST_FILES_ROOT], errno == ENOTDIR ?
		    "not a directory" : strerror(errno));
		if (m.files_root != -1)
			close(m.files_root);
		m.files_root = -1;
		return -1;
	}
	m.files_uid = st.st_uid;
	m.files_gid = st.st_gid;
	return 0;
}

/* Edge mode: the proxy gives the edge process what the session carries. */
static void
master_link_edge(void)
{
	master_link_proxy(&m.edge, m.cfg.edge, IPC_M_EDGE_CHAN);
}

/* authd's audit records go straight to the proxy, on their own channel. */
static void
master_link_audit(void)
{
	int	sv[2];

	if (!m.authd.ready || !m.proxy.ready || m.authd.chan == NULL ||
	    m.proxy.chan == NULL)
		return;
	if (ipc_socketpair(sv) == -1) {
		log_warn("socketpair");
		return;
	}
	ipc_send(m.authd.chan, IPC_M_AUDIT_CHAN, 0, 0, NULL, 0, sv[0]);
	ipc_send(m.proxy.chan, IPC_M_AUDIT_CHAN, 0, m.authd.gen, NULL, 0,
	    sv[1]);
}

static void
master_send_file(uint32_t kind, int fd, const char *name)
{
	struct ipc_wr	wr;
	int		dfd;

	if (fd == -1 || m.proxy.chan == NULL)
		return;
	if ((dfd = dup(fd)) == -1) {
		log_warn("dup");
		return;
	}
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, kind);
	ipc_wr_str(&wr, name);
	ipc_send(m.proxy.chan, IPC_M_FILE, 0, 0, wr.buf, wr.len, dfd);
	ipc_wr_free(&wr);
}

/*
 * AUDIT_LOG=stdout|stderr.  The proxy writes audit lines into a pipe and
 * the master copies them to its own stdout or stderr, so no sandboxed
 * process holds a descriptor to the daemon's output.  Only whole lines
 * that are audit records (a JSON object with seq, prev and hash, and no
 * "proc" member, which every JSON log line has) are copied, so the proxy
 * cannot write a line that reads as a log line of another process.
 */
#define APIPE_LINE_MAX	(256 * 1024)

static void
apipe_close(void)
{
	if (m.apipe.ev != NULL)
		event_free(m.apipe.ev);
	if (m.apipe.fd != -1)
		close(m.apipe.fd);
	free(m.apipe.buf);
	memset(&m.apipe, 0, sizeof(m.apipe));
	m.apipe.fd = -1;
}

static int
apipe_is_record(const char *p, size_t n)
{
	json_t		*o, *hash;
	json_error_t	 je;
	int		 ok;

	if (n < 2 || p[0] != '{' || p[n - 1] != '}' ||
	    (o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je)) == NULL)
		return 0;
	hash = json_object_get(o, "hash");
	ok = json_is_object(o) && json_is_integer(json_object_get(o, "seq")) &&
	    json_is_string(json_object_get(o, "prev")) &&
	    json_is_string(hash) && json_string_length(hash) == 64 &&
	    json_object_get(o, "proc") == NULL;
	json_decref(o);
	return ok;
}

static void
apipe_bad(const char *why)
{
	uint64_t	now = pw_now_ms();

	if (now - m.apipe.warned_ms < 1000)
		return;
	m.apipe.warned_ms = now;
	log_warnx("proxy: %s on the audit stream; dropped", why);
}

static void
apipe_line(const char *p, size_t n)
{
	size_t	off = 0;
	ssize_t	w;

	if (!apipe_is_record(p, n)) {
		apipe_bad("a line that is not an audit record");
		return;
	}
	/* p[n] is the line's newline. */
	while (off < n + 1) {
		w = write(m.audit_fd, p + off, n + 1 - off);
		if (w > 0)
			off += (size_t)w;
		else if (w == -1 && errno == EINTR)
			continue;
		else {
			log_warn("writing the audit stream");
			return;
		}
	}
}

static void
apipe_read(evutil_socket_t fd, short ev, void *arg)
{
	char	*nl;
	ssize_t	 r;
	size_t	 done, n;

	r = read(fd, m.apipe.buf + m.apipe.len, APIPE_LINE_MAX - m.apipe.len);
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {			/* the proxy is gone */
		apipe_close();
		return;
	}
	m.apipe.len += (size_t)r;
	done = 0;
	while ((nl = memchr(m.apipe.buf + done, '\n', m.apipe.len - done))
	    != NULL) {
		n = (size_t)(nl - (m.apipe.buf + done));
		if (!m.apipe.skip)
			apipe_line(m.apipe.buf + done, n);
		m.apipe.skip = 0;
		done += n + 1;
	}
	memmove(m.apipe.buf, m.apipe.buf + done, m.apipe.len - done);
	m.apipe.len -= done;
	if (m.apipe.len == APIPE_LINE_MAX) {
		apipe_bad("an over-long line");
		m.apipe.len = 0;
		m.apipe.skip = 1;
	}
}

/* A new pipe for each proxy; returns the write end for it, or -1. */
static int
apipe_open(void)
{
	int	p[2];

	apipe_close();
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("pipe for the audit stream");
		return -1;
	}
	if (pw_set_nonblock(p[0]) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	m.apipe.fd = p[0];
	m.apipe.buf = xmalloc(APIPE_LINE_MAX);
	m.apipe.ev = event_new(m.base, p[0], EV_READ | EV_PERSIST, apipe_read,
	    NULL);
	event_add(m.apipe.ev, NULL);
	return p[1];
}

/* The proxy's files: /proc figures, the Docker data root, the sink. */
static void
master_send_files(void)
{
	static const char *const names[OBS_FILE_COUNT] = {
		"/proc/stat", "/proc/meminfo", "/proc/net/dev", "docker root",
	};
	int	i, fd;

	for (i = 0; i < OBS_FILE_COUNT; i++)
		master_send_file((uint32_t)i, m.obs_fd[i], names[i]);
	if (m.audit_is_file)
		master_send_file(OBS_AUDIT_FILE, m.audit_fd,
		    m.cfg.val[CK_AUDIT_LOG]);
	else if (m.audit_fd != -1 && (fd = apipe_open()) != -1) {
		master_send_file(OBS_AUDIT_STREAM, fd, m.cfg.val[CK_AUDIT_LOG]);
		close(fd);
	}
}

/* AUDIT_LOG: stdout, stderr, or a file opened for appending, mode 0600. */
static int
audit_open(const char *v, int *is_file, char *err, size_t errsz)
{
	int	fd;

	*is_file = 0;
	if (strcmp(v, "stdout") == 0)
		return dup(STDOUT_FILENO);
	if (strcmp(v, "stderr") == 0)
		return dup(STDERR_FILENO);
	*is_file = 1;
	if ((fd = open(v, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0600)) == -1) {
		snprintf(err, errsz, "AUDIT_LOG: cannot open %s: %s", v,
		    strerror(errno));
		return -1;
	}
	return fd;
}

static void
master_send_tls(struct child *w)
{
	struct ipc_wr	wr;

	if (!m.cfg.tls || w->chan == NULL)
		return;
	if (m.mtls_ca != NULL) {
		/* LISTEN_MTLS: the client CAs first, then the certificate. */
		ipc_wr_init(&wr);
		ipc_wr_strn(&wr, m.mtls_ca, m.mtls_calen);
		ipc_send(w->chan, IPC_M_MTLS_CA, 0, 0, wr.buf, wr.len, -1);
		ipc_wr_free(&wr);
	}
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, m.tls_gen);
	ipc_wr_strn(&wr, m.tls_cert, m.tls_cert_len);
	ipc_send(w->chan, IPC_M_TLS, 0, 0, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

/* The key goes to keyd only, tagged with the certificate's generation. */
static void
master_send_tls_key(void)
{
	struct ipc_wr	wr;

	if (!m.cfg.tls || m.keyd.chan == NULL)
		return;
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, m.tls_gen);
	ipc_wr_strn(&wr, m.tls_key, m.tls_key_len);
	ipc_send(m.keyd.chan, IPC_M_TLS_KEY, 0, 0, wr.buf, wr.len, -1);
	OPENSSL_cleanse(wr.buf, wr.len);
	ipc_wr_free(&wr);
}

static uint32_t master_probe(struct child *, uint32_t);

/* The certificate of the current generation to every ready worker. */
static void
master_send_tls_workers(void)
{
	int	i;

	m.tls_key_probe = 0;
	for (i = 0; i < m.cfg.workers; i++)
		if (m.workers[i].ready)
			master_send_tls(&m.workers[i]);
}

/*
 * A new TLS generation on SIGHUP.  keyd reads its channel from the master
 * and those from the workers in no fixed order, so a worker given the new
 * certificate at once could ask for a signature of that generation before
 * keyd has read the key, and the handshake would fail.  The key goes first
 * with a probe behind it on the same channel; keyd's answer to the probe
 * says it has the key, and only then do the workers get the certificate.
 * Until then they serve the previous one, whose key keyd keeps.
 */
static void
master_new_tls_key(void)
{
	master_send_tls_key();
	if (m.keyd.chan == NULL || (m.tls_key_probe = master_probe(&m.keyd,
	    ++m.probe_seq)) == 0)
		master_send_tls_workers();	/* keyd is down: it gets the
						   key before any worker */
}

#ifdef PW_TEST_HOOKS
static void
test_new_tls_key_cb(evutil_socket_t fd, short ev, void *arg)
{
	event_free(arg);
	master_new_tls_key();
}
#endif

/* ---- systemd: status, liveness probes, watchdog ---- */

/*
 * The i-th child (authd, proxy, keyd, policyd, edge, then the workers), or
 * NULL.
 */
static struct child *
child_at(int i)
{
	if (i == 0)
		return &m.authd;
	if (i == 1)
		return &m.proxy;
	if (i == 2)
		return m.cfg.tls ? &m.keyd : NULL;
	if (i == 3)
		return m.pol != NULL ? &m.policyd : NULL;
	if (i == 4)
		return m.cfg.edge ? &m.edge : NULL;
	if (i == 5)
		return m.cfg.files ? &m.filed : NULL;
	if (i == 6)
		return m.cfg.compose ? &m.composer : NULL;
	if (i - 7 < m.cfg.workers)
		return &m.workers[i - 7];
	return NULL;
}
#define NCHILDREN	(7 + m.cfg.workers)

/* One line for `systemctl status`: workers, Docker, requests served. */
static void
master_status_line(char *buf, size_t sz)
{
	unsigned long long	served = 0;
	int			i, ready = 0;

	for (i = 0; i < m.cfg.workers; i++) {
		served += ST_GET(pw_stats->worker[i].count);
		ready += m.workers[i].ready;
	}
	snprintf(buf, sz, "%d/%d workers, Docker %s, %llu requests served%s%s",
	    ready, m.cfg.workers, m.docker == 1 ? "reachable" : m.docker == 0 ?
	    "unreachable" : "not checked yet", served, *m.reload_note ? "; " :
	    "", m.reload_note);
}

static void
master_status_update(void)
{
	char	status[512];

	if (!sdn_enabled() || m.stopping)
		return;
	master_status_line(status, sizeof(status));
	sdn_status(status);
}

static void
status_cb(evutil_socket_t fd, short ev, void *arg)
{
	master_status_update();
}

/* Ask a child to answer from its event loop (IPC_C_PONG). */
static uint32_t
master_probe(struct child *c, uint32_t seq)
{
	if (c->chan == NULL || !c->ready || c->killed)
		return 0;
	ipc_send(c->chan, IPC_M_PING, 0, seq, NULL, 0, -1);
	if (c->probe_out == 0) {
		c->probe_out = seq;
		c->probe_ms = pw_now_ms();
	}
	return seq;
}

static void
master_pong(struct child *c, struct ipc_msg *msg)
{
	uint32_t	id = msg->hdr.id;

	if (id == 0 || id > m.probe_seq) {
		char name[32];
		log_warnx("%s: answer to a probe never sent; killing it",
		    child_name(c, name, sizeof(name)));
		kill(c->pid, SIGKILL);
		return;
	}
	c->answered = 1;
	if (c->probe_out != 0 && id >= c->probe_out)
		c->probe_out = 0;
	if (c == &m.keyd && m.tls_key_probe != 0 && id >= m.tls_key_probe)
		master_send_tls_workers();
	if (c->await != 0 && id >= c->await) {
		c->await = 0;
		master_reload_check();
	}
}

/*
 * The watchdog, every half WATCHDOG_USEC.  A child that answered a probe
 * since the last tick is well.  One that still owes the probe sent at
 * the last tick is wedged: the master kills it, and the respawn is the
 * recovery.  A child gets one tick to recover (killed, restarted, not yet
 * asked); a second tick without an answer from that slot, whatever its
 * incarnation, withholds WATCHDOG=1, so systemd acts when the master
 * cannot bring a child back.  Dead children waiting for their back-off
 * and children that never said READY count as not answering.
 */
static void
watchdog_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct child	*c, *worst = NULL;
	uint64_t	 now = pw_now_ms();
	char		 name[32];
	int		 i;

	if (m.stopping) {
		sdn_watchdog();		/* draining, bounded by stop_timer */
		return;
	}
	m.probe_seq++;
	for (i = 0; i < NCHILDREN; i++) {
		if ((c = child_at(i)) == NULL)
			continue;
		if (c->answered)
			c->bad_ticks = 0;
		else if (c->probe_out != 0 && !c->killed &&
		    now - c->probe_ms >= m.wd_tick_ms / 2) {
			c->bad_ticks++;
			child_name(c, name, sizeof(name));
#ifdef PW_TEST_HOOKS
			if (getenv("PW_TEST_NO_RECOVER") != NULL) {
				log_warnx("%s (pid %ld) has not answered a "
				    "liveness probe for %llu ms (test build: "
				    "not killing it)", name, (long)c->pid,
				    (unsigned long long)(now - c->probe_ms));
				goto judged;
			}
#endif
			log_warnx("%s (pid %ld) has not answered a liveness "
			    "probe for %llu ms; killing it", name, (long)c->pid,
			    (unsigned long long)(now - c->probe_ms));
			c->killed = 1;
			kill(c->pid, SIGKILL);
		} else if (c->probe_out != 0 || (!c->ready && (c->pid <= 0 ||
		    now - c->started_ms >= m.wd_tick_ms)))
			c->bad_ticks++;
#ifdef PW_TEST_HOOKS
 judged:
#endif
		c->answered = 0;
		(void)master_probe(c, m.probe_seq);
		if (c->bad_ticks > 1 && (worst == NULL ||
		    c->bad_ticks > worst->bad_ticks))
			worst = c;
	}
	if (worst == NULL) {
		if (m.wd_held)
			log_info("watchdog: every child answers again; "
			    "pinging systemd");
		m.wd_held = 0;
		sdn_watchdog();
		return;
	}
	if (!m.wd_held)
		log_warnx("watchdog: %s has not answered for %d ticks of %llu "
		    "ms; no longer pinging systemd", child_name(worst, name,
		    sizeof(name)), worst->bad_ticks,
		    (unsigned long long)m.wd_tick_ms);
	m.wd_held = 1;
}

/* ---- systemd: reload ---- */

static void
master_reload_done(const char *late)
{
	char	status[512];

	if (!m.reloading)
		return;
	m.reloading = 0;
	if (m.reload_timer != NULL)
		evtimer_del(m.reload_timer);
	if (late != NULL)
		log_warnx("reload: %s", late);
	if (m.stopping)
		return;		/* STOPPING=1 was sent: no READY=1 after it */
	master_status_line(status, sizeof(status));
	sdn_ready(status);
}

/* Every child that got the reload's probe has answered it (or died). */
static void
master_reload_check(void)
{
	struct child	*c;
	int		 i;

	if (!m.reloading)
		return;
	for (i = 0; i < NCHILDREN; i++)
		if ((c = child_at(i)) != NULL && c->await != 0)
			return;
	master_reload_done(NULL);
}

static void
reload_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	char	why[128];

	snprintf(why, sizeof(why), "a child did not confirm it within %d s; "
	    "telling systemd it is done", RELOAD_CONFIRM_S);
	master_reload_done(why);
}

/*
 * SIGHUP began: RELOADING=1 (only once READY=1 was sent: before that the
 * reload is part of the start).  It ends with master_reload_end.
 */
static void
master_reload_begin(void)
{
	if (!m.announced)
		return;
	m.reloading = 1;
	sdn_reloading();
}

/*
 * The reload was applied or refused; note (or NULL) is what STATUS= says
 * of it until the next reload.  Applied: probe every ready child after
 * the messages that carry the reload; a channel keeps its order, so the
 * answers say the children have the new settings, and READY=1 follows
 * them.  Refused: READY=1 now, with the reason in STATUS=.
 */
static void
master_reload_end(int applied, const char *note)
{
	struct timeval	 tv = { RELOAD_CONFIRM_S, 0 };
	struct child	*c;
	int		 i;

	if (note != NULL)
		pw_strlcpy(m.reload_note, note, sizeof(m.reload_note));
	else
		m.reload_note[0] = '\0';
	if (!m.reloading) {
		master_status_update();
		return;
	}
	if (!applied) {
		master_reload_done(NULL);
		return;
	}
	m.probe_seq++;
	for (i = 0; i < NCHILDREN; i++)
		if ((c = child_at(i)) != NULL)
			c->await = master_probe(c, m.probe_seq);
	if (m.reload_timer == NULL)
		m.reload_timer = evtimer_new(m.base, reload_timeout_cb, NULL);
	evtimer_add(m.reload_timer, &tv);
	master_reload_check();
}

static void
master_announce(void)
{
	int	i;

	char	status[512];

	/*
	 * Ready means serving: the listener is open (before any child was
	 * started), every child said READY, and the proxy has made its
	 * first Docker call, so the status says whether Docker answers.
	 */
	if (m.announced || m.stopping || !m.authd.ready || !m.proxy.ready ||
	    (m.cfg.tls && !m.keyd.ready) || (m.pol != NULL &&
	    !m.policyd.ready) || (m.cfg.files && !m.filed.ready) ||
	    (m.cfg.compose && !m.composer.ready) || m.docker == -1)
		return;
	for (i = 0; i < m.cfg.workers; i++)
		if (!m.workers[i].ready)
			return;
	m.announced = 1;
	log_info("ready: listening on %s (%s%s), %d worker(s), docker %s",
	    m.listen_desc, m.cfg.tls ? "HTTPS" : "HTTP",
	    m.activated ? ", socket activation" : "", m.cfg.workers,
	    m.cfg.val[CK__DOCKER]);
	master_status_line(status, sizeof(status));
	sdn_ready(status);
}

/*
 * At start the listener goes to the workers only once authd, the proxy
 * and keyd (with TLS) are ready and wired to them, so the first
 * connection (one that socket activation queued before the daemon
 * started, say) is answered, not refused with 503 or a failed handshake.
 * After that a worker gets it as soon as it is ready, as before: one
 * restarted while authd is down fails closed like the others.
 */
static void
master_give_listener(struct child *w)
{
	static int	peers_were_up;
	uint32_t	tls = m.cfg.tls;
	int		fd;

	if (!peers_were_up) {
		if (!m.authd.ready || !m.proxy.ready ||
		    (m.cfg.tls && !m.keyd.ready) ||
		    (m.pol != NULL && !m.policyd.ready))
			return;
		peers_were_up = 1;
	}
	if (w->listening || !w->ready || w->chan == NULL || m.listen_fd == -1)
		return;
	if ((fd = dup(m.listen_fd)) == -1)
		fatal("dup listener");
	ipc_send(w->chan, IPC_M_LISTENER, 0, 0, &tls, sizeof(tls), fd);
	if (m.filter_fd != -1) {
		uint32_t kind = 2;	/* the filter's unix socket */
		if ((fd = dup(m.filter_fd)) == -1)
			fatal("dup listener");
		ipc_send(w->chan, IPC_M_LISTENER, 0, 0, &kind, sizeof(kind),
		    fd);
	}
	if (m.compose_fd != -1) {
		uint32_t kind = 4;	/* compose's own way to Docker */
		if ((fd = dup(m.compose_fd)) == -1)
			fatal("dup listener");
		ipc_send(w->chan, IPC_M_LISTENER, 0, 0, &kind, sizeof(kind),
		    fd);
	}
	if (m.mtls_fd != -1) {
		uint32_t kind = 3;	/* LISTEN_MTLS */
		if ((fd = dup(m.mtls_fd)) == -1)
			fatal("dup listener");
		ipc_send(w->chan, IPC_M_LISTENER, 0, 0, &kind, sizeof(kind),
		    fd);
	}
	w->listening = 1;
}

static void
master_child_ready(struct child *c, struct ipc_msg *msg)
{
	struct ipc_rd	rd;
	uint32_t	v;
	int		i;
	char		name[32];

	ipc_rd_init(&rd, msg);
	v = ipc_rd_u32(&rd);
	if (ipc_rd_end(&rd) == -1 || v != IPC_PROTOCOL_VERSION || c->ready) {
		log_warnx("%s: bad READY (protocol %u, want %u); killing it",
		    child_name(c, name, sizeof(name)), v,
		    IPC_PROTOCOL_VERSION);
		kill(c->pid, SIGKILL);
		return;
	}
	c->ready = 1;
	log_debug("%s ready (pid %ld)", child_name(c, name, sizeof(name)),
	    (long)c->pid);
	switch (c->role) {
	case PROC_WORKER:
		/* Channels first: the worker accepts as soon as it listens. */
		master_link(c, &m.authd);
		master_link(c, &m.proxy);
		if (m.cfg.tls)
			master_link(c, &m.keyd);
		if (m.tls_key_probe == 0)
			master_send_tls(c);	/* else once keyd has the key */
		master_give_listener(c);
		break;
	case PROC_KEYD:
		master_send_tls_key();
		for (i = 0; i < m.cfg.workers; i++)
			master_link(&m.workers[i], c);
		/* The workers' new channels follow the key on keyd's. */
		if (m.tls_key_probe != 0)
			master_send_tls_workers();
		break;
	case PROC_POLICYD:
		master_send_policy(c);
		master_link_policy();
		break;
	case PROC_FILED:
		master_link_filed();
		break;
	case PROC_COMPOSER:
		master_link_composer();
		break;
	case PROC_EDGE:
		/* The controller's requests: asked and served as a worker's. */
		master_link(c, &m.authd);
		master_link(c, &m.proxy);
		master_link_edge();
		break;
	case PROC_AUTHD:
		master_send_keys();
		master_send_mtls_authd();
		/* FALLTHROUGH */
	case PROC_PROXY:
		if (c->role == PROC_PROXY) {
			/* The policy first: the proxy judges every request. */
			master_send_policy(c);
			master_link_policy();
		}
		for (i = 0; i < m.cfg.workers; i++)
			master_link(&m.workers[i], c);
		master_link_audit();
		if (m.cfg.edge)
			master_link(&m.edge, c);
		if (c->role == PROC_PROXY) {
			master_link_edge();
			master_link_filed();
			master_link_composer();
		}
		break;
	default:
		break;
	}
	if (c->role != PROC_WORKER)
		for (i = 0; i < m.cfg.workers; i++)
			master_give_listener(&m.workers[i]);
	master_announce();
	master_status_update();
}

/* ---- authorized keys and enrollment ---- */

static void
master_send_keys(void)
{
	struct ipc_wr	wr;

	if (!m.cfg.keys || m.authd.chan == NULL)
		return;
	ipc_wr_init(&wr);
	ipc_wr_strn(&wr, m.keys_text, m.keys_len);
	ipc_send(m.authd.chan, IPC_M_KEYS, 0, 0, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

static void
log_key_changes(const struct keyset *old, const struct keyset *new)
{
	int	i;

	for (i = 0; i < new->n; i++)
		if (keys_find(old, new->keys[i].id) == NULL)
			log_info("key %s added (%s)", new->keys[i].id,
			    new->keys[i].comment);
	for (i = 0; i < old->n; i++)
		if (keys_find(new, old->keys[i].id) == NULL)
			log_info("key %s removed (%s)", old->keys[i].id,
			    old->keys[i].comment);
}

/* Read authorized_keys again; on any error keep the running set. */
static int
master_reload_keys(char *why, size_t whysz)
{
	struct keyset	 ks;
	char		*text, err[512];
	size_t		 len;

	if (!m.cfg.keys)
		return 0;
	if (keyfile_load(m.cfg.keys_path, &text, &len, &ks, err,
	    sizeof(err)) == -1) {
		log_warnx("keeping the running authorized keys: %s", err);
		if (why != NULL)
			snprintf(why, whysz, "last reload kept the previous "
			    "authorized keys (%.200s)", err);
		return -1;
	}
	log_key_changes(&m.keys, &ks);
	keys_free(&m.keys);
	m.keys = ks;
	free(m.keys_text);
	m.keys_text = text;
	m.keys_len = len;
	log_info("%d authorized key(s) in force", ks.n);
	master_send_keys();
	return 0;
}

/*
 * IPC_A_ENROLL_ADD from authd: a key line authd built from a verified
 * enrollment.  Checked again here (exactly one valid key), appended
 * atomically, the token's use recorded, the new set pushed to authd.
 */
static void
master_enroll(struct child *c, struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	struct keyset	 ks;
	char		 line[256], keyid[32], err[256];
	uint32_t	 e = 0;

	ipc_rd_init(&rd, msg);
	ipc_rd_str(&rd, line, sizeof(line));
	ipc_rd_str(&rd, keyid, sizeof(keyid));
	if (ipc_rd_end(&rd) == -1 || !m.cfg.keys || m.cfg.enroll_token == NULL ||
	    keys_parse(line, strlen(line), &ks, err, sizeof(err)) == -1 ||
	    ks.n != 1 || strcmp(ks.keys[0].id, keyid) != 0) {
		log_warnx("authd sent a bad enrollment; killing it");
		kill(c->pid, SIGKILL);
		return;
	}
	keys_free(&ks);
	if ((e = (uint32_t)keyfile_append(m.cfg.keys_path, line)) != 0) {
		log_warnx("enrollment of key %s: cannot write %s: %s", keyid,
		    m.cfg.keys_path, strerror((int)e));
	} else {
		int be = burn_record(m.cfg.state_dir, m.cfg.enroll_token);
		if (be != 0)
			log_error("enrollment token used, but it could not be "
			    "recorded in %s (%s): it would work again after a "
			    "restart; remove ENROLLMENT_TOKEN from the "
			    "configuration", m.cfg.state_dir, strerror(be));
		log_info("enrolled key %s into %s", keyid, m.cfg.keys_path);
		config_clear(&m.cfg, CK_ENROLLMENT_TOKEN);
		(void)master_reload_keys(NULL, 0);
	}
	ipc_send(c->chan, IPC_M_ENROLL_DONE, 0, msg->hdr.id, &e, sizeof(e), -1);
}

/* ---- Docker connections for the proxy ---- */

static void
docker_answer(uint32_t id, int err, int fd)
{
	uint32_t	e = (uint32_t)err;

	if (m.proxy.chan == NULL) {
		if (fd != -1)
			close(fd);
		return;
	}
	ipc_send(m.proxy.chan, IPC_M_DOCKER_ANS, 0, id, &e, sizeof(e),
	    err == 0 ? fd : -1);
	if (err != 0 && fd != -1)
		close(fd);
}

static void
docker_connected(evutil_socket_t fd, short ev, void *arg)
{
	struct dconn	*d = arg;
	int		 err = 0;
	socklen_t	 len = sizeof(err);

	if (ev & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	docker_answer(d->id, err, d->fd);
	event_free(d->ev);
	free(d);
}

/*
 * Connect to the Docker Engine without blocking the master and answer the
 * proxy with the descriptor (or the errno).  No byte is read or written.
 */
static void
docker_connect(uint32_t id)
{
	struct sockaddr_storage	 ss;
	struct addrinfo		 hints, *ai = NULL;
	struct dconn		*d;
	struct timeval		 tv = { m.cfg.request_timeout, 0 };
	socklen_t		 sl;
	int			 fd, rc;

	memset(&ss, 0, sizeof(ss));
	if (!m.cfg.docker_tcp) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
		sun->sun_family = AF_UNIX;
		pw_strlcpy(sun->sun_path, m.cfg.docker_path,
		    sizeof(sun->sun_path));
		sl = sizeof(*sun);
	} else {
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		if ((rc = getaddrinfo(m.cfg.docker_host, m.cfg.docker_port,
		    &hints, &ai)) != 0) {
			log_warnx("Docker host %s: %s", m.cfg.docker_host,
			    gai_strerror(rc));
			docker_answer(id, EHOSTUNREACH, -1);
			return;
		}
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		sl = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		docker_answer(id, errno, -1);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
		docker_answer(id, 0, fd);
		return;
	}
	if (errno != EINPROGRESS && errno != EAGAIN) {
		docker_answer(id, errno, fd);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->fd = fd;
	d->id = id;
	d->ev = event_new(m.base, fd, EV_WRITE, docker_connected, d);
	event_add(d->ev, &tv);
}

/* ---- children ---- */

static void
master_child_msg(struct ipc_chan *ch, struct ipc_msg *msg, void *arg)
{
	struct child	*c = arg;
	char		 name[32];

	switch (msg->hdr.type) {
	case IPC_C_READY:
		master_child_ready(c, msg);
		break;
	case IPC_C_LOG:
		master_child_log(c, msg);
		break;
	case IPC_C_RELOADED: {
		struct ipc_rd	rd;
		uint32_t	rc;

		ipc_rd_init(&rd, msg);
		rc = ipc_rd_u32(&rd);
		if (ipc_rd_end(&rd) == -1)
			rc = 1;
		if (rc != 0) {
			/* authd keeps the credentials it had. */
			log_warnx("%s refused the reload",
			    child_name(c, name, sizeof(name)));
			pw_strlcpy(m.reload_note, "last reload refused by "
			    "authd, previous credentials kept (see the log)",
			    sizeof(m.reload_note));
		} else
			log_debug("%s applied the reload",
			    child_name(c, name, sizeof(name)));
		break;
	}
	case IPC_C_PONG:
		master_pong(c, msg);
		break;
	case IPC_P_DOCKER_STATE: {
		struct ipc_rd	rd;
		uint32_t	up;

		ipc_rd_init(&rd, msg);
		up = ipc_rd_u32(&rd);
		if (c->role != PROC_PROXY || ipc_rd_end(&rd) == -1 || up > 1) {
			kill(c->pid, SIGKILL);
			break;
		}
		if (m.docker != -1 && m.docker != (int)up)
			log_info("Docker %s", up ? "answers again" :
			    "cannot be reached");
		m.docker = (int)up;
		master_announce();
		master_status_update();
		break;
	}
	case IPC_A_ENROLL_ADD:
		master_enroll(c, msg);
		break;
	case IPC_E_DIAL:
		if (c->role != PROC_EDGE || !c->ready) {
			kill(c->pid, SIGKILL);
			break;
		}
		medge_dial(&m.cfg, msg->hdr.id, master_dialled, c);
		break;
	case IPC_P_DOCKER_REQ:
		if (c->role != PROC_PROXY || !c->ready) {
			kill(c->pid, SIGKILL);
			break;
		}
		docker_connect(msg->hdr.id);
		break;
	default:
		/* The permission table already refused anything else. */
		break;
	}
}

/* A dial for the edge process: where to connect, and the signed hello. */
static void
master_dialled(const struct edge_dial *d, uint32_t id, void *arg)
{
	struct child	*c = arg;
	struct ipc_wr	 wr;

	if (c->chan == NULL || !c->ready)
		return;
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, d->status);
	ipc_wr_str(&wr, d->addr);
	ipc_wr_str(&wr, d->keyid);
	ipc_wr_u64(&wr, d->ts);
	ipc_wr_str(&wr, d->nonce);
	ipc_wr_str(&wr, d->sig);
	ipc_wr_str(&wr, d->err);
	ipc_send(c->chan, IPC_M_DIAL, 0, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

static void
master_child_closed(struct ipc_chan *ch, void *arg)
{
	struct child	*c = arg;

	if (c->chan == ch)
		c->chan = NULL;
	ipc_chan_free(ch);
	/* The process itself is reaped in the SIGCHLD handler. */
}

static void
respawn_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct child	*c = arg;

	if (!m.stopping)
		master_spawn(c);
}

static void
master_send_config(struct child *c)
{
	struct ipc_wr	 wr;
	unsigned	 role = c->role == PROC_WORKER ? ROLE_WORKER :
			    c->role == PROC_AUTHD ? ROLE_AUTHD :
			    c->role == PROC_KEYD ? ROLE_KEYD :
			    c->role == PROC_POLICYD ? ROLE_POLICYD :
			    c->role == PROC_EDGE ? ROLE_EDGE :
			    c->role == PROC_FILED ? ROLE_FILED :
			    c->role == PROC_COMPOSER ? ROLE_COMPOSER : ROLE_PROXY;
	char		*kv;

	kv = config_to_kv(&m.cfg, role);
	ipc_wr_init(&wr);
	ipc_wr_str(&wr, kv);
	ipc_wr_u32(&wr, c->gen);
	ipc_wr_u32(&wr, c->slot);
	ipc_wr_u32(&wr, (uint32_t)(c->role == PROC_FILED && geteuid() == 0 ?
	    m.files_uid : c->role == PROC_COMPOSER ? m.compose_uid : m.pd.uid));
	ipc_wr_u32(&wr, (uint32_t)(c->role == PROC_FILED && geteuid() == 0 ?
	    m.files_gid : c->role == PROC_COMPOSER ? m.compose_gid : m.pd.gid));
	/* The composer runs compose, which needs the system: no chroot. */
	ipc_wr_str(&wr, c->role == PROC_COMPOSER ? "/" : m.pd.chroot);
	ipc_send(c->chan, IPC_M_CONFIG, 0, 0, wr.buf, wr.len,
	    dup(m.stats_fd));
	ipc_wr_free(&wr);
	freezero_str(kv);
}

/*
 * A restarted authd or proxy starts a new approval key generation: the
 * new child gets the key with its configuration and the one that lives
 * on gets it as IPC_M_APPROVAL_KEY.  No approval minted before the
 * restart verifies after it, so the proxy's replay window (memory only)
 * need not survive it.
 */
static void
master_new_approval_key(struct child *other)
{
	uint8_t	key[32];
	char	hex[2 * sizeof(key) + 1];

	pw_random_bytes(key, sizeof(key));
	pw_hex_encode(key, sizeof(key), hex, sizeof(hex));
	freezero_str(m.cfg.val[CK__APPROVAL_KEY]);
	m.cfg.val[CK__APPROVAL_KEY] = xstrdup(hex);
	OPENSSL_cleanse(hex, sizeof(hex));
	if (other->chan != NULL)
		ipc_send(other->chan, IPC_M_APPROVAL_KEY, 0, 0, key,
		    sizeof(key), -1);
	OPENSSL_cleanse(key, sizeof(key));
}

static void
master_spawn(struct child *c)
{
	const struct ipc_perm	*perms;
	size_t			 nperms;
	int			 sv[2];
	char			 name[32];

	if (ipc_socketpair(sv) == -1)
		fatal("socketpair");
	c->gen = ++m.gen;
	c->ready = 0;
	c->probe_out = c->await = 0;
	c->answered = c->killed = c->listening = 0;
	c->log_ms[0] = c->log_ms[1] = 0;
	c->log_dropped = c->log_lost = 0;
	c->started_ms = pw_now_ms();
	if ((c->pid = proc_spawn(c->role, sv[1], c->slot)) == -1)
		fatal("fork");
	close(sv[1]);
	switch (c->role) {
	case PROC_WORKER:
		perms = perms_worker;
		nperms = nitems(perms_worker);
		break;
	case PROC_AUTHD:
		perms = perms_authd;
		nperms = nitems(perms_authd);
		break;
	case PROC_KEYD:
		perms = perms_keyd;
		nperms = nitems(perms_keyd);
		break;
	case PROC_POLICYD:
		perms = perms_policyd;
		nperms = nitems(perms_policyd);
		break;
	case PROC_EDGE:
		perms = perms_edge;
		nperms = nitems(perms_edge);
		break;
	case PROC_FILED:
		perms = perms_filed;
		nperms = nitems(perms_filed);
		break;
	case PROC_COMPOSER:
		perms = perms_composer;
		nperms = nitems(perms_composer);
		break;
	default:
		perms = perms_proxy;
		nperms = nitems(perms_proxy);
		break;
	}
	c->chan = ipc_chan_new(m.base, sv[0], child_name(c, name, sizeof(name)),
	    perms, nperms, master_child_msg, master_child_closed, c);
	if (c->restarts > 0 &&
	    (c->role == PROC_AUTHD || c->role == PROC_PROXY))
		master_new_approval_key(c->role == PROC_AUTHD ? &m.proxy :
		    &m.authd);
	master_send_config(c);
	if (c->role == PROC_PROXY)
		master_send_files();
	if (c->role == PROC_FILED) {
		int fd = dup(m.files_root);
		if (fd == -1)
			fatal("dup HOST_FILES_ROOT");
		ipc_send(c->chan, IPC_M_FILED_ROOT, 0, 0, NULL, 0, fd);
	}
	if (c->role == PROC_COMPOSER) {
		int fd = dup(m.stacks_fd);
		if (fd == -1)
			fatal("dup STACKS_DIR");
		ipc_send(c->chan, IPC_M_COMPOSE_ROOT, 0, 0, NULL, 0, fd);
	}
	log_debug("started %s (pid %ld)", name, (long)c->pid);
}

static struct child *
child_by_pid(pid_t pid)
{
	int	i;

	if (m.authd.pid == pid)
		return &m.authd;
	if (m.proxy.pid == pid)
		return &m.proxy;
	if (m.keyd.pid == pid)
		return &m.keyd;
	if (m.policyd.pid == pid)
		return &m.policyd;
	if (m.edge.pid == pid)
		return &m.edge;
	if (m.filed.pid == pid)
		return &m.filed;
	if (m.composer.pid == pid)
		return &m.composer;
	for (i = 0; i < m.cfg.workers; i++)
		if (m.workers[i].pid == pid)
			return &m.workers[i];
	return NULL;
}

static void
master_reaped(struct child *c, int status)
{
	struct timeval	 tv;
	uint64_t	 lived = pw_now_ms() - c->started_ms, delay;
	char		 name[32], how[64];

	child_name(c, name, sizeof(name));
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	c->pid = 0;
	c->ready = 0;
	c->probe_out = 0;
	if (c->chan != NULL) {
		ipc_chan_free(c->chan);
		c->chan = NULL;
	}
	if (c->await != 0) {
		c->await = 0;		/* the new one gets the new settings */
		master_reload_check();
	}
	master_status_update();
	if (m.stopping) {
		log_debug("%s %s", name, how);
		master_check_stopped();
		return;
	}
	c->fails = lived < STABLE_MS ? c->fails + 1 : 1;
	delay = 100;
	for (int i = 1; i < c->fails && delay < RESPAWN_MAX_MS; i++)
		delay *= 2;
	if (c->fails <= 1)
		delay = 0;
	if (delay > RESPAWN_MAX_MS)
		delay = RESPAWN_MAX_MS;
#ifdef PW_TEST_HOOKS
	/* Test builds: hold authd down long enough to observe fail-closed. */
	if (c->role == PROC_AUTHD && getenv("PW_TEST_AUTHD_RESPAWN_MS"))
		delay = strtoull(getenv("PW_TEST_AUTHD_RESPAWN_MS"), NULL, 10);
	if (c->role == PROC_KEYD && getenv("PW_TEST_KEYD_RESPAWN_MS"))
		delay = strtoull(getenv("PW_TEST_KEYD_RESPAWN_MS"), NULL, 10);
#endif
	c->restarts++;
	if (c->role == PROC_WORKER)
		ST_SET(pw_stats->master.restarts_worker[c->slot], c->restarts);
	else if (c->role == PROC_AUTHD)
		ST_SET(pw_stats->master.restarts_authd, c->restarts);
	else if (c->role == PROC_PROXY)
		ST_SET(pw_stats->master.restarts_proxy, c->restarts);
	log_warnx("%s %s; restarting it%s (restart %u)", name, how,
	    delay ? " after a back-off" : "", c->restarts);
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)((delay % 1000) * 1000);
	if (c->respawn == NULL)
		c->respawn = evtimer_new(m.base, respawn_cb, c);
	evtimer_add(c->respawn, &tv);
}

static void
master_sigchld(evutil_socket_t sig, short ev, void *arg)
{
	struct child	*c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((c = child_by_pid(pid)) != NULL)
			master_reaped(c, status);
	}
}

/* ---- shutdown ---- */

/* Workers, and the edge process, still running. */
static int
workers_alive(void)
{
	int	i, n = m.edge.pid > 0;

	for (i = 0; i < m.cfg.workers; i++)
		if (m.workers[i].pid > 0)
			n++;
	return n;
}

static void
master_check_stopped(void)
{
	if (workers_alive() > 0)
		return;
	/*
	 * Workers (and the edge process) are gone: nothing can reach authd
	 * or the proxy now.
	 */
	if (m.authd.pid > 0)
		kill(m.authd.pid, SIGTERM);
	if (m.proxy.pid > 0)
		kill(m.proxy.pid, SIGTERM);
	if (m.keyd.pid > 0)
		kill(m.keyd.pid, SIGTERM);
	if (m.policyd.pid > 0)
		kill(m.policyd.pid, SIGTERM);
	if (m.filed.pid > 0)
		kill(m.filed.pid, SIGTERM);
	if (m.composer.pid > 0)
		kill(m.composer.pid, SIGTERM);
	if (m.authd.pid <= 0 && m.proxy.pid <= 0 && m.keyd.pid <= 0 &&
	    m.policyd.pid <= 0 && m.filed.pid <= 0 && m.composer.pid <= 0) {
		master_compose_cleanup();
		if (m.filter_fd != -1)
			(void)unlink(m.cfg.val[CK_LISTEN_SOCKET]);
		log_info("stopped");
		event_base_loopexit(m.base, NULL);
	}
}

static void
master_stop_timeout(evutil_socket_t fd, short ev, void *arg)
{
	int	i;

	log_warnx("children did not stop in time; killing them");
	for (i = 0; i < m.cfg.workers; i++)
		if (m.workers[i].pid > 0)
			kill(m.workers[i].pid, SIGKILL);
	if (m.authd.pid > 0)
		kill(m.authd.pid, SIGKILL);
	if (m.proxy.pid > 0)
		kill(m.proxy.pid, SIGKILL);
	if (m.keyd.pid > 0)
		kill(m.keyd.pid, SIGKILL);
	if (m.policyd.pid > 0)
		kill(m.policyd.pid, SIGKILL);
	if (m.edge.pid > 0)
		kill(m.edge.pid, SIGKILL);
	if (m.filed.pid > 0)
		kill(m.filed.pid, SIGKILL);
	if (m.composer.pid > 0)
		kill(m.composer.pid, SIGKILL);
	master_compose_cleanup();
	event_base_loopexit(m.base, NULL);
}

static void
master_sigterm(evutil_socket_t sig, short ev, void *arg)
{
	struct timeval	tv = { SHUTDOWN_GRACE_S + 2, 0 };
	int		i;

	if (m.stopping)
		return;
	m.stopping = 1;
	log_info("received signal %d: finishing in-flight requests (up to "
	    "%d s)", (int)sig, SHUTDOWN_GRACE_S);
	{
		char status[128];
		snprintf(status, sizeof(status), "stopping: finishing in-flight "
		    "requests (up to %d s)", SHUTDOWN_GRACE_S);
		sdn_stopping(status);
	}
	close(m.listen_fd);
	m.listen_fd = -1;
	if (m.filter_fd != -1)
		close(m.filter_fd);	/* the path goes when the last child has */
	if (m.mtls_fd != -1) {
		close(m.mtls_fd);
		m.mtls_fd = -1;
	}
	for (i = 0; i < m.cfg.workers; i++) {
		struct child *c = &m.workers[i];
		if (c->respawn != NULL)
			evtimer_del(c->respawn);
		if (c->chan != NULL)
			ipc_send(c->chan, IPC_M_SHUTDOWN, 0, 0, NULL, 0, -1);
		else if (c->pid > 0)
			kill(c->pid, SIGTERM);
	}
	if (m.edge.respawn != NULL)
		evtimer_del(m.edge.respawn);
	if (m.edge.chan != NULL)
		ipc_send(m.edge.chan, IPC_M_SHUTDOWN, 0, 0, NULL, 0, -1);
	else if (m.edge.pid > 0)
		kill(m.edge.pid, SIGTERM);
	/* The proxy ends its event streams at once (DESIGN: Drydock). */
	if (m.proxy.chan != NULL)
		ipc_send(m.proxy.chan, IPC_M_SHUTDOWN, 0, 0, NULL, 0, -1);
	if (m.authd.respawn != NULL)
		evtimer_del(m.authd.respawn);
	if (m.proxy.respawn != NULL)
		evtimer_del(m.proxy.respawn);
	if (m.keyd.respawn != NULL)
		evtimer_del(m.keyd.respawn);
	if (m.policyd.respawn != NULL)
		evtimer_del(m.policyd.respawn);
	if (m.filed.respawn != NULL)
		evtimer_del(m.filed.respawn);
	if (m.composer.respawn != NULL)
		evtimer_del(m.composer.respawn);
	if (m.compose_fd != -1) {
		close(m.compose_fd);
		m.compose_fd = -1;
	}
	m.stop_timer = evtimer_new(m.base, master_stop_timeout, NULL);
	evtimer_add(m.stop_timer, &tv);
	master_check_stopped();
}

/* ---- reload ---- */

static void
master_reload_refused(const char *err)
{
	char	note[sizeof(m.reload_note)];

	snprintf(note, sizeof(note), "last reload refused, previous "
	    "configuration kept (%.220s)", err);
	master_reload_end(0, note);
}

static void
master_sighup(evutil_socket_t sig, short ev, void *arg)
{
	struct pw_config	 next;
	char			 err[512], *cert, *key, *kv, kerr[300];
	char			*ca = NULL;
	int			 mtls;
	size_t			 calen = 0;
	size_t			 certlen = 0, keylen = 0;

	if (m.stopping)
		return;
	master_reload_begin();
	log_info("SIGHUP: re-reading credential, key and TLS files");
	if (m.audit_is_file) {
		int fd, f;
		if ((fd = audit_open(m.cfg.val[CK_AUDIT_LOG], &f, err,
		    sizeof(err))) == -1)
			log_warnx("%s; the proxy keeps writing the old file",
			    err);
		else {
			close(m.audit_fd);
			m.audit_fd = fd;
			master_send_file(OBS_AUDIT_FILE, fd,
			    m.cfg.val[CK_AUDIT_LOG]);
			log_info("audit log %s reopened",
			    m.cfg.val[CK_AUDIT_LOG]);
		}
	}
	kerr[0] = '\0';
	(void)master_reload_keys(kerr, sizeof(kerr));
	if (config_reload_secrets(&m.cfg, &next, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		master_reload_refused(err);
		return;
	}
	if (tls_load_files(&next, &cert, &certlen, &key, &keylen, err,
	    sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		config_free(&next);
		master_reload_refused(err);
		return;
	}
	/* LISTEN_MTLS itself needs a restart; its CA file is read again. */
	if (m.cfg.mtls && next.mtls && mtls_load_ca(&next, &ca, &calen, err,
	    sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		config_free(&next);
		if (cert != NULL) {
			free(cert);
			freezero(key, keylen);
		}
		master_reload_refused(err);
		return;
	}
	if (m.pol != NULL) {
		/* The policy file is read again; a bad one changes nothing. */
		struct policy_spec	 ns;
		struct policy		*np;
		if (policy_spec_resolve(&next, &ns, &np, err,
		    sizeof(err)) != 1 || master_policy_names(&next, np, err,
		    sizeof(err)) == -1) {
			if (np != NULL) {
				policy_spec_free(&ns);
				policy_free(np);
			}
			log_warnx("reload failed, keeping the running "
			    "configuration and policy: policy: %s", err);
			config_free(&next);
			free(ca);
			if (cert != NULL) {
				free(cert);
				freezero(key, keylen);
			}
			master_reload_refused(err);
			return;
		}
		policy_spec_free(&m.pspec);
		policy_free(m.pol);
		m.pspec = ns;
		m.pol = np;
		m.pol_gen++;
		master_send_policy(&m.proxy);
		master_send_policy(&m.policyd);
		if (m.cfg.mtls)
			master_send_policy(&m.authd);
		log_info("policy %s loaded (generation %u)", m.pol->source,
		    m.pol_gen);
	}
	/* Both parts are good: switch over. */
	mtls = m.cfg.mtls;
	config_free(&m.cfg);
	m.cfg = next;
	m.cfg.mtls = mtls;	/* the listener stays as it was opened */
	if (ca != NULL) {
		free(m.mtls_ca);
		m.mtls_ca = ca;
		m.mtls_calen = calen;
		master_send_mtls_authd();
	}
	if (cert != NULL) {
		free(m.tls_cert);
		freezero(m.tls_key, m.tls_key_len);
		m.tls_cert = cert;
		m.tls_cert_len = certlen;
		m.tls_key = key;
		m.tls_key_len = keylen;
		/*
		 * A new generation: keyd gets the key first and keeps the
		 * previous one, so every worker's certificate has its key.
		 */
		m.tls_gen++;
#ifdef PW_TEST_HOOKS
		/* PW_TEST_KEYD_KEY_MS: the key reaches keyd that much later. */
		if (getenv("PW_TEST_KEYD_KEY_MS") != NULL) {
			struct timeval tv = { 0, 0 };
			struct event *kev = evtimer_new(m.base,
			    test_new_tls_key_cb, event_self_cbarg());

			tv.tv_usec = 1000 * strtol(getenv("PW_TEST_KEYD_KEY_MS"),
			    NULL, 10);
			evtimer_add(kev, &tv);
		} else
#endif
		master_new_tls_key();
	}
	if (m.authd.chan != NULL) {
		struct ipc_wr wr;
		kv = config_to_kv(&m.cfg, ROLE_AUTHD);
		ipc_wr_init(&wr);
		ipc_wr_str(&wr, kv);
		ipc_send(m.authd.chan, IPC_M_RELOAD, 0, 0, wr.buf, wr.len, -1);
		ipc_wr_free(&wr);
		freezero_str(kv);
	}
	log_info("configuration reloaded");
	master_reload_end(1, kerr[0] != '\0' ? kerr : NULL);
}

/* ---- start-up ---- */

static int
open_listener(char *err, size_t errsz)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	int			fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (strchr(m.cfg.bind, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)m.cfg.port);
		inet_pton(AF_INET6, m.cfg.bind, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)m.cfg.port);
		inet_pton(AF_INET, m.cfg.bind, &s4->sin_addr);
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 ||
	    listen(fd, 1024) == -1) {
		snprintf(err, errsz, "cannot listen on %s port %d: %s",
		    m.cfg.bind, m.cfg.port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * LISTEN_SOCKET: the filter's unix socket, created with its final mode
 * (under a umask, so there is no moment with wider permissions), then
 * given its owner.  An existing path is replaced only when it is a socket
 * nobody listens on (connect refused), and only if it is still the same
 * inode when it is removed; anything else refuses to start.
 */
static int
open_filter_socket(char *err, size_t errsz)
{
	const char		*path = m.cfg.val[CK_LISTEN_SOCKET];
	const char		*ms = m.cfg.val[CK_LISTEN_SOCKET_MODE];
	struct sockaddr_un	 sun;
	struct stat		 st, st2;
	mode_t			 mode = ms != NULL && strcmp(ms, "0660") == 0 ?
				    0660 : 0600, old;
	long long		 uid = 0, gid = 0;
	int			 fd, probe, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	pw_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (m.cfg.val[CK_LISTEN_SOCKET_UID] != NULL)
		(void)pw_strtonum(m.cfg.val[CK_LISTEN_SOCKET_UID], 0,
		    0x7fffffff, &uid);
	if (m.cfg.val[CK_LISTEN_SOCKET_GID] != NULL)
		(void)pw_strtonum(m.cfg.val[CK_LISTEN_SOCKET_GID], 0,
		    0x7fffffff, &gid);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errsz, "LISTEN_SOCKET %s exists and is "
			    "not a socket; refusing to remove it", path);
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = probe == -1 ? -1 : connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun));
		if (rc == 0 || errno != ECONNREFUSED) {
			snprintf(err, errsz, "LISTEN_SOCKET %s: %s; refusing to "
			    "take it over", path, rc == 0 ? "another process "
			    "is listening on it" : strerror(errno));
			if (probe != -1)
				close(probe);
			return -1;
		}
		close(probe);
		if (lstat(path, &st2) == -1 || st2.st_ino != st.st_ino ||
		    st2.st_dev != st.st_dev || unlink(path) == -1) {
			snprintf(err, errsz, "LISTEN_SOCKET %s changed while it "
			    "was checked; refusing to remove it", path);
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	old = umask(~mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1 || chown(path, (uid_t)uid, (gid_t)gid) == -1 ||
	    chmod(path, mode) == -1 || listen(fd, 1024) == -1) {
		snprintf(err, errsz, "LISTEN_SOCKET %s: %s", path,
		    strerror(errno));
		if (rc == 0)
			(void)unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* "ADDR:PORT" of the socket served, for the ready line. */
static void
listen_describe(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			host[INET6_ADDRSTRLEN];
	int			port = 0;

	memset(&ss, 0, sizeof(ss));
	host[0] = '\0';
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
			port = ntohs(s6->sin6_port);
		} else if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
			port = ntohs(s4->sin_port);
		}
	}
	snprintf(m.listen_desc, sizeof(m.listen_desc), "%s%s%s:%d",
	    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	    port);
	if (m.activated && port != m.cfg.port)
		log_warnx("the socket from systemd is on port %d, not PORT "
		    "%d: serving on the socket systemd passed", port,
		    m.cfg.port);
}

static void
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: portwingd [-nv] [-f file]\n");
	exit(2);
}

int
master_run(int argc, char **argv)
{
	struct event	*ev_chld, *ev_term, *ev_int, *ev_hup;
	uint8_t		 key[32];
	char		 err[512], hex[65];
	int		 ch, check_only = 0, verbose = 0, i;

	while ((ch = getopt(argc, argv, "f:nv")) != -1) {
		switch (ch) {
		case 'f':
			m.conffile = optarg;
			m.conf_required = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (verbose && !check_only))
		usage();
	log_init("master", LOG_LVL_INFO, 0);
	if (config_load(&m.cfg, m.conffile, m.conf_required, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "portwingd: %s\n", err);
		return 1;
	}
	log_init("master", m.cfg.log_level, m.cfg.log_json);
	tls_global_init();
	if (tls_load_files(&m.cfg, &m.tls_cert, &m.tls_cert_len, &m.tls_key,
	    &m.tls_key_len, err, sizeof(err)) == -1) {
		fprintf(stderr, "portwingd: %s\n", err);
		return 1;
	}
	if (m.cfg.keys && keyfile_load(m.cfg.keys_path, &m.keys_text,
	    &m.keys_len, &m.keys, err, sizeof(err)) == -1) {
		fprintf(stderr, "portwingd: %s\n", err);
		return 1;
	}
	if (policy_spec_resolve(&m.cfg, &m.pspec, &m.pol, err,
	    sizeof(err)) == -1 || master_policy_names(&m.cfg, m.pol, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "portwingd: policy: %s\n", err);
		return 1;
	}
	m.pol_gen = 1;
	if (master_open_files_root(err, sizeof(err)) == -1 ||
	    master_compose_setup(!check_only, err, sizeof(err)) == -1) {
		fprintf(stderr, "portwingd: %s\n", err);
		return 1;
	}
	if (check_only) {
		if (verbose)
			config_dump(&m.cfg, stdout);
		if (m.pol != NULL) {
			size_t w;
			for (w = 0; m.pol->warnings != NULL &&
			    m.pol->warnings[w] != NULL; w++)
				printf("policy %s: warning: %s\n", m.pol->source,
				    m.pol->warnings[w]);
			printf("policy %s: %zu root rule(s), %zu profile(s)\n",
			    m.pol->source, m.pol->rules.n, m.pol->nprofiles);
			if (m.pol->ncert > 0 && !m.cfg.mtls)
				printf("policy %s: warning: %s\n",
				    m.pol->source, NO_MTLS_WARNING);
		}
		printf("configuration OK\n");
		return 0;
	}
	if (geteuid() == 0) {
		if (privdrop_lookup(PW_USER, PW_CHROOT_DIR, &m.pd, err,
		    sizeof(err)) == -1 ||
		    privdrop_prepare_chroot(PW_CHROOT_DIR, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "portwingd: %s\n", err);
			return 1;
		}
	} else {
		m.pd.uid = geteuid();
		m.pd.gid = getegid();
		pw_strlcpy(m.pd.chroot, "/", sizeof(m.pd.chroot));
		log_warnx("not running as root: children keep uid %u and are "
		    "not chrooted (seccomp still applies)", (unsigned)m.pd.uid);
	}
	if (m.cfg.keys)
		log_info("%d authorized key(s) loaded from %s", m.keys.n,
		    m.cfg.keys_path);
	if (m.cfg.enroll_token != NULL &&
	    burn_check(m.cfg.state_dir, m.cfg.enroll_token)) {
		log_warnx("ENROLLMENT_TOKEN was used before (recorded in %s): "
		    "enrollment answers \"already used\"", m.cfg.state_dir);
		config_clear(&m.cfg, CK_ENROLLMENT_TOKEN);
	}
	if (m.cfg.token == NULL && m.cfg.token_hash == NULL && !m.cfg.keys &&
	    m.cfg.edge)
		log_info("edge mode without TOKEN: /metrics and the audit "
		    "export on %s:%d answer without authentication", m.cfg.bind,
		    m.cfg.port);
	else if (m.cfg.token == NULL && m.cfg.token_hash == NULL &&
	    !m.cfg.keys)
		log_warnx("ALLOW_UNAUTHENTICATED is set: anyone who can reach "
		    "%s:%d controls this host's Docker Engine", m.cfg.bind,
		    m.cfg.port);
	pw_random_bytes(key, sizeof(key));
	pw_hex_encode(key, sizeof(key), hex, sizeof(hex));
	OPENSSL_cleanse(key, sizeof(key));
	free(m.cfg.val[CK__APPROVAL_KEY]);
	m.cfg.val[CK__APPROVAL_KEY] = xstrdup(hex);
	OPENSSL_cleanse(hex, sizeof(hex));

	raise_nofile();
	m.audit_fd = -1;
	m.apipe.fd = -1;
	if (m.cfg.val[CK_AUDIT_LOG] != NULL && *m.cfg.val[CK_AUDIT_LOG] != '\0' &&
	    (m.audit_fd = audit_open(m.cfg.val[CK_AUDIT_LOG], &m.audit_is_file,
	    err, sizeof(err))) == -1) {
		fprintf(stderr, "portwingd: %s\n", err);
		return 1;
	}
	{
		static const char *const proc[3] = { "/proc/stat",
		    "/proc/meminfo", "/proc/net/dev" };
		const char *root = m.cfg.val[CK_DOCKER_ROOT] ?
		    m.cfg.val[CK_DOCKER_ROOT] : "/var/lib/docker";
		for (i = 0; i < 3; i++)
			if ((m.obs_fd[i] = open(proc[i], O_RDONLY | O_CLOEXEC))
			    == -1)
				log_warn("%s (host metrics will be 0)", proc[i]);
		if ((m.obs_fd[OBS_DOCKER_ROOT] = open(root, O_PATH |
		    O_DIRECTORY | O_CLOEXEC)) == -1 && !m.cfg.skip_df)
			log_warn("DOCKER_ROOT %s (disk metrics will be 0)", root);
	}
	if ((m.stats_fd = stats_create()) == -1 || stats_map(dup(m.stats_fd))
	    == -1) {
		fprintf(stderr, "portwingd: shared counters: %s\n",
		    strerror(errno));
		return 1;
	}
	ST_SET(pw_stats->master.workers, (uint64_t)m.cfg.workers);
	sdn_init();
	m.docker = -1;
	/* A socket from systemd (socket activation) replaces the bind. */
	switch (sdn_listen_fd(&m.listen_fd, err, sizeof(err))) {
	case -1:
		fprintf(stderr, "portwingd: %s\n", err);
		return 1;
	case 1:
		m.activated = 1;
		break;
	default:
		if ((m.listen_fd = open_listener(err, sizeof(err))) == -1) {
			fprintf(stderr, "portwingd: %s\n", err);
			return 1;
		}
		break;
	}
	listen_describe(m.listen_fd);
	m.filter_fd = -1;
	if (m.cfg.val[CK_LISTEN_SOCKET] != NULL &&
	    (m.filter_fd = open_filter_socket(err, sizeof(err))) == -1) {
		fprintf(stderr, "portwingd: %s\n", err);
		return 1;
	}
	m.mtls_fd = -1;
	if (m.cfg.mtls && (mtls_load_ca(&m.cfg, &m.mtls_ca, &m.mtls_calen,
	    err, sizeof(err)) == -1 || (m.mtls_fd = mtls_open_listener(&m.cfg,
	    err, sizeof(err))) == -1)) {
		fprintf(stderr, "portwingd: %s\n", err);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	proc_title("portwingd: master");
	m.base = pw_event_base();
	ev_chld = evsignal_new(m.base, SIGCHLD, master_sigchld, NULL);
	ev_term = evsignal_new(m.base, SIGTERM, master_sigterm, NULL);
	ev_int = evsignal_new(m.base, SIGINT, master_sigterm, NULL);
	ev_hup = evsignal_new(m.base, SIGHUP, master_sighup, NULL);
	evsignal_add(ev_chld, NULL);
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	if (sdn_enabled()) {
		struct timeval tv = { STATUS_EVERY_S, 0 };
		m.status_timer = event_new(m.base, -1, EV_PERSIST, status_cb,
		    NULL);
		evtimer_add(m.status_timer, &tv);
	}
	if (sdn_watchdog_usec() > 0) {
		/* Half the interval, as sd_watchdog_enabled(3) advises. */
		uint64_t half = sdn_watchdog_usec() / 2;
		struct timeval tv = { (time_t)(half / 1000000),
		    (suseconds_t)(half % 1000000) };
		m.wd_tick_ms = half / 1000 ? half / 1000 : 1;
		m.wd_timer = event_new(m.base, -1, EV_PERSIST, watchdog_cb,
		    NULL);
		evtimer_add(m.wd_timer, &tv);
		log_info("systemd watchdog: pinging every %llu ms while every "
		    "child answers", (unsigned long long)m.wd_tick_ms);
	}

	banner(m.cfg.edge ? "edge" : "standard", m.cfg.val[CK_ADAPTER] ? m.cfg.val[CK_ADAPTER] :
	    "drydock", m.cfg.workers, m.cfg.val[CK__DOCKER]);
	m.authd.role = PROC_AUTHD;
	m.proxy.role = PROC_PROXY;
	m.keyd.role = PROC_KEYD;
	m.policyd.role = PROC_POLICYD;
	m.edge.role = PROC_EDGE;
	m.filed.role = PROC_FILED;
	m.composer.role = PROC_COMPOSER;
#ifdef PW_TEST_HOOKS
	/* Test build: the edge process's read deadline, from the test. */
	if (getenv("PW_TEST_EDGE_DEADLINE_MS") != NULL)
		m.cfg.val[CK__TEST_EDGE_DEADLINE] =
		    xstrdup(getenv("PW_TEST_EDGE_DEADLINE_MS"));
#endif
	m.edge.slot = IPC_EDGE_SLOT;
	m.tls_gen = 1;
	if (m.pol != NULL) {
		size_t w;
		for (w = 0; m.pol->warnings != NULL && m.pol->warnings[w] != NULL;
		    w++)
			log_warnx("policy %s: %s", m.pol->source,
			    m.pol->warnings[w]);
		log_info("policy %s: %zu root rule(s), %zu profile(s)",
		    m.pol->source, m.pol->rules.n, m.pol->nprofiles);
		if (m.pol->ncert > 0 && !m.cfg.mtls)
			log_warnx("policy %s: %s", m.pol->source,
			    NO_MTLS_WARNING);
	}
	master_spawn(&m.authd);
	master_spawn(&m.proxy);
	if (m.cfg.tls)
		master_spawn(&m.keyd);
	if (m.pol != NULL)
		master_spawn(&m.policyd);
	if (m.cfg.edge) {
		medge_init(m.base);
		master_spawn(&m.edge);
	}
	if (m.cfg.files) {
		log_info("host file writes: POST /api/v1/files writes beneath "
		    "%s (filed runs as uid %u)", m.cfg.val[CK_HOST_FILES_ROOT],
		    (unsigned)(geteuid() == 0 ? m.files_uid : m.pd.uid));
		master_spawn(&m.filed);
	}
	if (m.cfg.compose) {
		log_info("compose: stacks in %s, run as uid %u, reaching Docker "
		    "through %s", m.cfg.val[CK_STACKS_DIR],
		    (unsigned)m.compose_uid, m.cfg.val[CK__COMPOSE_SOCKET]);
		master_spawn(&m.composer);
	}
	for (i = 0; i < m.cfg.workers; i++) {
		m.workers[i].role = PROC_WORKER;
		m.workers[i].slot = (unsigned)i;
		master_spawn(&m.workers[i]);
	}
	event_base_dispatch(m.base);
	return 0;
}
