/*
 * config.c: loading and validating portwing's settings.  Used by the master
 * (everything), by `portwing check-config`, and by each child to re-check
 * the role-filtered table the master sends it.
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <limits.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cidr.h"
#include "config.h"
#include "dagent.h"
#include "log.h"
#include "pwcrypto.h"
#include "util.h"

const struct cfg_info cfg_table[CK_COUNT] = {
	[CK_PORT] = { "PORT", ROLE_WORKER, 0, 0,
	    "TCP port to listen on (default 3000)" },
	[CK_BIND_ADDRESS] = { "BIND_ADDRESS", ROLE_WORKER, 0, 0,
	    "address to listen on (default 0.0.0.0)" },
	[CK_TLS_CERT] = { "TLS_CERT", 0, 0, 0,
	    "PEM certificate chain; with TLS_KEY enables HTTPS" },
	[CK_TLS_KEY] = { "TLS_KEY", 0, 0, 0,
	    "PEM private key for TLS_CERT" },
	[CK_DOCKER_SOCKET] = { "DOCKER_SOCKET", 0, 0, 0,
	    "Docker Engine unix socket (auto-detected)" },
	[CK_DOCKER_HOST] = { "DOCKER_HOST", 0, 0, 0,
	    "unix:///path or tcp://host:port, when DOCKER_SOCKET is unset" },
	[CK_LOG_LEVEL] = { "LOG_LEVEL", ROLE_ALL, 0, 0,
	    "error, warn, info or debug (default info)" },
	[CK_LOG_FORMAT] = { "LOG_FORMAT", ROLE_ALL, 0, 0,
	    "text or json (default text)" },
	[CK_AGENT_ID] = { "AGENT_ID", ROLE_WORKER | ROLE_PROXY | ROLE_EDGE, 0, 0,
	    "agent identifier (default: random UUID per start)" },
	[CK_AGENT_NAME] = { "AGENT_NAME", ROLE_WORKER | ROLE_PROXY | ROLE_EDGE, 0, 0,
	    "agent name (default: host name)" },
	[CK_REQUEST_TIMEOUT] = { "REQUEST_TIMEOUT",
	    ROLE_PROXY | ROLE_WORKER | ROLE_EDGE, 0, 0,
	    "seconds for Docker dial and ordinary Docker calls (default 30)" },
	[CK_TOKEN] = { "TOKEN", ROLE_AUTHD, 1, 0,
	    "shared bearer token" },
	[CK_TOKEN_FILE] = { "TOKEN_FILE", 0, 0, 0,
	    "file holding the token (trimmed); overrides TOKEN" },
	[CK_DD_AGENT_SECRET] = { "DD_AGENT_SECRET", 0, 1, 0,
	    "alias of TOKEN" },
	[CK_DD_AGENT_SECRET_FILE] = { "DD_AGENT_SECRET_FILE", 0, 0, 0,
	    "alias of TOKEN_FILE" },
	[CK_ALLOW_UNAUTHENTICATED] = { "ALLOW_UNAUTHENTICATED", ROLE_AUTHD, 0, 0,
	    "start without any credential (loopback bind only)" },
	[CK_ALLOW_UNAUTHENTICATED_REMOTE] = { "ALLOW_UNAUTHENTICATED_REMOTE", 0, 0, 0,
	    "also allow that on a non-loopback bind" },
	[CK_WORKERS] = { "WORKERS", ROLE_ALL, 0, 0,
	    "worker processes (default: number of CPUs)" },
	[CK_MAX_CONNECTIONS] = { "MAX_CONNECTIONS", ROLE_WORKER, 0, 0,
	    "client connections per worker (default 1024)" },
	[CK_MAX_CONNECTIONS_PER_ADDRESS] = { "MAX_CONNECTIONS_PER_ADDRESS",
	    ROLE_WORKER, 0, 0,
	    "client connections one address may hold, all workers together "
	    "(default 64, 0: no limit)" },
	[CK_HEADER_TIMEOUT] = { "HEADER_TIMEOUT", ROLE_WORKER, 0, 0,
	    "seconds to receive a request head (default 10)" },
	[CK_IDLE_TIMEOUT] = { "IDLE_TIMEOUT", ROLE_WORKER, 0, 0,
	    "seconds a keep-alive connection may idle (default 120)" },
	[CK_MAX_HIJACKED] = { "MAX_HIJACKED", ROLE_PROXY, 0, 0,
	    "concurrent hijacked exec/attach sessions (default 100)" },
	[CK_UPSTREAM_IDLE_TIMEOUT] = { "UPSTREAM_IDLE_TIMEOUT", ROLE_PROXY, 0, 0,
	    "seconds an idle Docker connection stays pooled (default 60)" },
	[CK_API_KEY] = { "API_KEY", 0, 1, 0,
	    "alias of TOKEN (dockeragent's name)" },
	[CK_TOKEN_HASH] = { "TOKEN_HASH", ROLE_AUTHD, 1, 0,
	    "Argon2id PHC hash of the token (from portwing hash-token)" },
	[CK_TOKEN_HASH_FILE] = { "TOKEN_HASH_FILE", 0, 0, 0,
	    "file holding TOKEN_HASH (trimmed); overrides it" },
	[CK_AUTHORIZED_KEYS] = { "AUTHORIZED_KEYS", 0, 0, 0,
	    "authorized_keys file of Ed25519 client keys" },
	[CK_AUTHORIZED_KEYS_FILE] = { "AUTHORIZED_KEYS_FILE", 0, 0, 0,
	    "alias of AUTHORIZED_KEYS" },
	[CK_MAX_CLOCK_SKEW_SECONDS] = { "MAX_CLOCK_SKEW_SECONDS", ROLE_AUTHD, 0, 0,
	    "accepted signature timestamp skew in seconds (default 60)" },
	[CK_NONCE_LRU_SIZE] = { "NONCE_LRU_SIZE", ROLE_AUTHD, 0, 0,
	    "signature nonces remembered (default 10000)" },
	[CK_SIGNED_BODY_LIMIT] = { "SIGNED_BODY_LIMIT", ROLE_WORKER | ROLE_PROXY, 0, 0,
	    "largest body of a signed request, bytes (default 64 MiB)" },
	[CK_ENROLLMENT_TOKEN] = { "ENROLLMENT_TOKEN", ROLE_AUTHD, 1, 0,
	    "single-use token for POST /api/portwing/enroll" },
	[CK_ENROLLMENT_TOKEN_FILE] = { "ENROLLMENT_TOKEN_FILE", 0, 0, 0,
	    "file holding ENROLLMENT_TOKEN (used when it is unset)" },
	[CK_TRUSTED_PROXIES] = { "TRUSTED_PROXIES", ROLE_AUTHD | ROLE_WORKER, 0, 0,
	    "CIDRs whose X-Forwarded-For / X-Real-IP name the client" },
	[CK_STATE_DIR] = { "STATE_DIR", 0, 0, 0,
	    "where portwing keeps state such as burned enrollment tokens "
	    "(default /var/lib/portwing)" },
	[CK_DD_POLL_INTERVAL] = { "DD_POLL_INTERVAL", ROLE_PROXY | ROLE_EDGE, 0, 0,
	    "seconds between full container inventory refreshes (default 300)" },
	[CK_DD_WATCHBYDEFAULT] = { "DD_WATCHER_DOCKER_WATCHBYDEFAULT",
	    ROLE_PROXY, 0, 0, "list containers without a dd.watch label "
	    "(default true, as Drydock's docker watcher)" },
	[CK_DD_WATCHALL] = { "DD_WATCHER_DOCKER_WATCHALL", ROLE_PROXY, 0, 0,
	    "list stopped and created containers too, not only running ones "
	    "(default false, as Drydock's docker watcher)" },
	[CK_ADAPTER] = { "ADAPTER",
	    ROLE_WORKER | ROLE_PROXY | ROLE_AUTHD | ROLE_FILED, 0, 0,
	    "controller adapter: drydock (the default), generic or "
	    "dockeragent" },
	[CK_LISTEN_ADDR] = { "LISTEN_ADDR", 0, 0, 0,
	    "HOST:PORT to listen on (dockeragent's name; instead of "
	    "BIND_ADDRESS and PORT)" },
	[CK_DOCKER_API_VERSION] = { "DOCKER_API_VERSION", ROLE_PROXY, 0, 0,
	    "Docker API version of the agent's own calls for the dockeragent "
	    "adapter, e.g. 1.44 (default: the Engine's own)" },
	[CK_SSE_QUEUE_LIMIT] = { "SSE_QUEUE_LIMIT", ROLE_PROXY, 0, 0,
	    "bytes of unsent events after which an SSE client is dropped "
	    "(default 4194304)" },
	[CK_AUDIT_LOG] = { "AUDIT_LOG", ROLE_PROXY, 0, 0,
	    "audit sink: stdout, stderr or a file path (unset: no sink)" },
	[CK_AUDIT_BUFFER_SIZE] = { "AUDIT_BUFFER_SIZE", ROLE_PROXY, 0, 0,
	    "audit records kept in memory for /_portwing/audit (default 256, "
	    "0 disables)" },
	[CK_SKIP_DF_COLLECTION] = { "SKIP_DF_COLLECTION", ROLE_PROXY, 0, 0,
	    "report disk metrics as 0 instead of reading the file system" },
	[CK_METRICS_INTERVAL] = { "METRICS_INTERVAL", ROLE_PROXY, 0, 0,
	    "seconds per-container stats are cached between scrapes "
	    "(default 15)" },
	[CK_DOCKER_ROOT] = { "DOCKER_ROOT", 0, 0, 0,
	    "the Docker data root, for disk metrics (default /var/lib/docker)" },
	[CK_POLICY] = { "POLICY", ROLE_PROXY | ROLE_AUTHD, 0, 0,
	    "request policy: a bundled preset's name (portwing, readonly, ...) "
	    "or a sockguard-style YAML file (unset: no policy)" },
	[CK_POLICY_FILE] = { "POLICY_FILE", ROLE_PROXY | ROLE_AUTHD, 0, 0,
	    "a sockguard-style YAML policy file (alternative to POLICY)" },
	[CK_TOKEN_POLICY] = { "TOKEN_POLICY", ROLE_AUTHD, 0, 0,
	    "the policy profile requests authenticated by the token get" },
	[CK_LISTEN_SOCKET] = { "LISTEN_SOCKET", ROLE_AUTHD, 0, 0,
	    "filter mode: also serve this unix socket, where clients need no "
	    "token and the policy decides by their peer credentials" },
	[CK_LISTEN_SOCKET_MODE] = { "LISTEN_SOCKET_MODE", 0, 0, 0,
	    "permissions of LISTEN_SOCKET: 0600 (default) or 0660 (then "
	    "LISTEN_SOCKET_GID is required)" },
	[CK_LISTEN_SOCKET_UID] = { "LISTEN_SOCKET_UID", 0, 0, 0,
	    "owner of LISTEN_SOCKET (default: root)" },
	[CK_LISTEN_SOCKET_GID] = { "LISTEN_SOCKET_GID", 0, 0, 0,
	    "group of LISTEN_SOCKET (default: root)" },
	[CK_LISTEN_MTLS] = { "LISTEN_MTLS", ROLE_AUTHD | ROLE_WORKER, 0, 0,
	    "filter mode over TCP: serve ADDRESS:PORT with mutual TLS 1.3 "
	    "(TLS_CERT, TLS_KEY, MTLS_CLIENT_CA); clients need no token, "
	    "their verified certificate selects the policy profile" },
	[CK_MTLS_CLIENT_CA] = { "MTLS_CLIENT_CA", 0, 0, 0,
	    "PEM file of the CA certificates that issue LISTEN_MTLS client "
	    "certificates" },
	[CK_DRYDOCK_URL] = { "DRYDOCK_URL", ROLE_WORKER | ROLE_PROXY | ROLE_EDGE,
	    0, 0, "edge mode: the Drydock controller the agent dials, "
	    "http(s)://host[:port][/prefix] (unset: serve an inbound port)" },
	[CK_PRIVATE_KEY_FILE] = { "PRIVATE_KEY_FILE", 0, 0, 0,
	    "edge mode: PEM PKCS#8 Ed25519 private key that signs the hello "
	    "(required with DRYDOCK_URL)" },
	[CK_CA_CERT] = { "CA_CERT", ROLE_EDGE, 0, 0,
	    "edge mode: PEM CA certificates that verify the controller, "
	    "instead of the system's" },
	[CK_TLS_SKIP_VERIFY] = { "TLS_SKIP_VERIFY", ROLE_EDGE, 0, 0,
	    "edge mode: do not verify the controller's certificate "
	    "(default false)" },
	[CK_HEARTBEAT_INTERVAL] = { "HEARTBEAT_INTERVAL", ROLE_EDGE, 0, 0,
	    "edge mode: seconds between metrics and pings (default 30)" },
	[CK_WELCOME_TIMEOUT] = { "WELCOME_TIMEOUT", ROLE_EDGE, 0, 0,
	    "edge mode: seconds to wait for the welcome (default 30)" },
	[CK_RECONNECT_DELAY] = { "RECONNECT_DELAY", ROLE_EDGE, 0, 0,
	    "edge mode: first reconnection delay, seconds (default 1)" },
	[CK_MAX_RECONNECT_DELAY] = { "MAX_RECONNECT_DELAY", ROLE_EDGE, 0, 0,
	    "edge mode: longest reconnection delay, seconds (default 60)" },
	[CK_HOST_FILES_ROOT] = { "HOST_FILES_ROOT",
	    ROLE_WORKER | ROLE_PROXY | ROLE_FILED, 0, 0,
	    "dockeragent adapter: the directory POST /api/v1/files writes "
	    "beneath (unset: host file writes are off)" },
	[CK_HOST_FILES_ALLOW] = { "HOST_FILES_ALLOW", ROLE_WORKER | ROLE_FILED,
	    0, 0, "with HOST_FILES_ROOT: comma-separated paths under it that "
	    "may be written (unset: all of it)" },
	[CK_STACKS_DIR] = { "STACKS_DIR",
	    ROLE_WORKER | ROLE_PROXY | ROLE_COMPOSER, 0, 0,
	    "directory of the compose stacks POST /_portwing/compose deploys "
	    "(unset: compose is off)" },
	[CK_COMPOSE_USER] = { "COMPOSE_USER", 0, 0, 0,
	    "user (name or uid, not root) the compose runner and the compose "
	    "binary run as (default: portwing's own)" },
	[CK_COMPOSE_TIMEOUT] = { "COMPOSE_TIMEOUT", ROLE_COMPOSER, 0, 0,
	    "seconds one compose operation may run unless the request says "
	    "(default 600)" },
	[CK_COMPOSE_OUTPUT_LIMIT] = { "COMPOSE_OUTPUT_LIMIT", ROLE_COMPOSER, 0,
	    0, "bytes of a compose operation's output kept (default 4194304)" },
	[CK_COMPOSE_COMMAND] = { "COMPOSE_COMMAND", ROLE_COMPOSER, 0, 0,
	    "docker-compose or \"docker compose\" (default: docker compose "
	    "when it is v2, else docker-compose)" },
	[CK__DOCKER] = { "_DOCKER", ROLE_PROXY | ROLE_COMPOSER, 0, 1, NULL },
	[CK__APPROVAL_KEY] = { "_APPROVAL_KEY", ROLE_AUTHD | ROLE_PROXY, 1, 1, NULL },
	[CK__STARTED] = { "_STARTED", ROLE_ALL, 0, 1, NULL },
	[CK__KEYS] = { "_KEYS", ROLE_WORKER | ROLE_AUTHD, 0, 1, NULL },
	[CK__ENROLL] = { "_ENROLL", ROLE_WORKER | ROLE_AUTHD, 0, 1, NULL },
	[CK__COMPOSE_TOKEN] = { "_COMPOSE_TOKEN", ROLE_AUTHD | ROLE_COMPOSER,
	    1, 1, NULL },
	[CK__COMPOSE_SOCKET] = { "_COMPOSE_SOCKET", ROLE_COMPOSER, 0, 1, NULL },
	[CK__TEST_EDGE_DEADLINE] = { "_TEST_EDGE_DEADLINE", ROLE_EDGE, 0, 1,
	    NULL },
};

/*
 * Portwing settings that select features portwing does not have yet.  They
 * are refused, never ignored, so that a configuration written for a
 * feature never runs without it.  A non-empty value from the
 * file or the environment stops the start naming the setting; when a
 * feature is built its settings move to cfg_table.  FORCE_COLOR keeps
 * Portwing's banner coloured off a terminal; portwingd draws the banner
 * only on a terminal (elsewhere one log line), so it changes nothing.  Many
 * shells and CI systems export it for every program, so the environment's
 * is ignored; the file, which is portwing's own, refuses it.
 */
static const struct {
	const char	*name;
	const char	*why;
	int		 env_ignored;
} cfg_refused[] = {
	{ "FORCE_COLOR", "portwing draws its banner only on a terminal "
	    "(elsewhere one log line), so there is nothing to colour", 1 },
};

static int
refused_lookup(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(cfg_refused) / sizeof(cfg_refused[0]); i++)
		if (strcmp(cfg_refused[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const char *const docker_candidates[] = {
	"/var/run/docker.sock",
	"$HOME/.docker/run/docker.sock",
	"$HOME/.orbstack/run/docker.sock",
	"/run/docker.sock",
};

static void	cfg_set(struct pw_config *, int, const char *, const char *);

void
config_init(struct pw_config *c)
{
	memset(c, 0, sizeof(*c));
}

void
config_free(struct pw_config *c)
{
	int	i;

	for (i = 0; i < CK_COUNT; i++) {
		if (cfg_table[i].secret)
			freezero_str(c->val[i]);
		else
			free(c->val[i]);
	}
	freezero_str(c->token);
	freezero_str(c->token_hash);
	freezero_str(c->enroll_token);
	free(c->trusted);
	free(c->files_allow);
	OPENSSL_cleanse(c->approval_key, sizeof(c->approval_key));
	memset(c, 0, sizeof(*c));
}

int
config_key_lookup(const char *name)
{
	int	i;

	for (i = 0; i < CK_COUNT; i++)
		if (strcmp(cfg_table[i].name, name) == 0)
			return i;
	return -1;
}

/* Forget a setting (used when the master retires a used enrollment token). */
void
config_clear(struct pw_config *c, enum cfg_key k)
{
	cfg_set(c, (int)k, NULL, "");
	if (k == CK_ENROLLMENT_TOKEN) {
		freezero_str(c->enroll_token);
		c->enroll_token = NULL;
	}
}

const char *
config_get(const struct pw_config *c, enum cfg_key k)
{
	return c->val[k];
}

static void
cfg_set(struct pw_config *c, int k, const char *v, const char *src)
{
	if (cfg_table[k].secret)
		freezero_str(c->val[k]);
	else
		free(c->val[k]);
	c->val[k] = v != NULL ? xstrdup(v) : NULL;
	pw_strlcpy(c->src[k], src, sizeof(c->src[k]));
}

static int
errf(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

/* Values travel as KEY=value lines: no control characters allowed. */
static int
value_ok(const char *v)
{
	for (; *v != '\0'; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return 0;
	return 1;
}

/*
 * Parse settings file text from fp; path names it in errors.  Separate from
 * the fopen so the fuzz harness (tests/fuzz/fuzz_config.c) can feed it.
 */
int
config_read_stream(struct pw_config *c, FILE *fp, const char *path,
    char *err, size_t errsz)
{
	char	 line[8192], src[48], *p, *eq, *key, *val;
	size_t	 vl;
	int	 lineno = 0, k, r, seen[CK_COUNT];

	memset(seen, 0, sizeof(seen));
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			return errf(err, errsz, "%s:%d: line too long", path,
			    lineno);
		}
		p = pw_trim(line);
		if (*p == '\0' || *p == '#')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			return errf(err, errsz, "%s:%d: expected KEY=value",
			    path, lineno);
		}
		*eq = '\0';
		key = pw_trim(p);
		val = pw_trim(eq + 1);
		vl = strlen(val);
		if (vl >= 2 && (val[0] == '"' || val[0] == '\'') &&
		    val[vl - 1] == val[0]) {
			val[vl - 1] = '\0';
			val++;
		}
		k = config_key_lookup(key);
		r = k < 0 ? refused_lookup(key) : -1;
		if (r >= 0 && *val != '\0') {
			return errf(err, errsz, "%s:%d: %s is not supported "
			    "yet: %s; remove it", path, lineno, key,
			    cfg_refused[r].why);
		}
		if (r >= 0)
			continue;
		if (k < 0 || cfg_table[k].internal) {
			return errf(err, errsz, "%s:%d: unknown setting \"%s\"",
			    path, lineno, key);
		}
		if (seen[k]) {
			return errf(err, errsz, "%s:%d: %s set twice (first on "
			    "line %d)", path, lineno, key, seen[k]);
		}
		if (!value_ok(val)) {
			return errf(err, errsz, "%s:%d: control character in "
			    "value of %s", path, lineno, key);
		}
		seen[k] = lineno;
		snprintf(src, sizeof(src), "file:%d", lineno);
		if (*val != '\0')
			cfg_set(c, k, val, src);
	}
	return 0;
}

static int
config_read_file(struct pw_config *c, const char *path, int required,
    char *err, size_t errsz)
{
	FILE	*fp;
	int	 r;

	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !required)
			return 0;
		return errf(err, errsz, "%s: %s", path, strerror(errno));
	}
	r = config_read_stream(c, fp, path, err, errsz);
	fclose(fp);
	return r;
}

/*
 * Settings that choose one thing between them: when the environment sets
 * any member of a group, file values of the whole group are dropped, so
 * "the environment wins" holds for the token and the Docker endpoint as a
 * whole (a file's TOKEN_FILE must not beat an environment TOKEN).
 */
#define GROUP_MAX	8
static const int env_groups[][GROUP_MAX] = {
	{ CK_TOKEN, CK_TOKEN_FILE, CK_DD_AGENT_SECRET, CK_DD_AGENT_SECRET_FILE,
	  CK_API_KEY, CK_TOKEN_HASH, CK_TOKEN_HASH_FILE, -1 },
	{ CK_DOCKER_SOCKET, CK_DOCKER_HOST, -1 },
	{ CK_AUTHORIZED_KEYS, CK_AUTHORIZED_KEYS_FILE, -1 },
	{ CK_ENROLLMENT_TOKEN, CK_ENROLLMENT_TOKEN_FILE, -1 },
};

static void
drop_overridden_groups(struct pw_config *c)
{
	size_t	g;
	int	i, fromenv;

	for (g = 0; g < nitems(env_groups); g++) {
		fromenv = 0;
		for (i = 0; i < GROUP_MAX && env_groups[g][i] >= 0; i++)
			if (getenv(cfg_table[env_groups[g][i]].name) != NULL &&
			    *getenv(cfg_table[env_groups[g][i]].name) != '\0')
				fromenv = 1;
		if (!fromenv)
			continue;
		for (i = 0; i < GROUP_MAX && env_groups[g][i] >= 0; i++)
			if (strncmp(c->src[env_groups[g][i]], "file:", 5) == 0)
				cfg_set(c, env_groups[g][i], NULL, "");
	}
}

static int
config_read_env(struct pw_config *c, char *err, size_t errsz)
{
	const char	*v;
	int		 k;

	for (k = 0; k < (int)(sizeof(cfg_refused) / sizeof(cfg_refused[0]));
	    k++) {
		if (cfg_refused[k].env_ignored)
			continue;
		if ((v = getenv(cfg_refused[k].name)) != NULL && *v != '\0')
			return errf(err, errsz, "environment: %s is not "
			    "supported yet: %s; unset it", cfg_refused[k].name,
			    cfg_refused[k].why);
	}
	drop_overridden_groups(c);
	for (k = 0; k < CK_COUNT; k++) {
		if (cfg_table[k].internal)
			continue;
		if ((v = getenv(cfg_table[k].name)) == NULL || *v == '\0')
			continue;
		if (!value_ok(v))
			return errf(err, errsz, "environment: control character "
			    "in value of %s", cfg_table[k].name);
		cfg_set(c, k, v, "env");
	}
	return 0;
}

/* Secret files are read whole and trimmed at both ends, as Portwing does. */
static int
read_secret_file(const char *name, const char *path, char **out, char *err,
    size_t errsz)
{
	char	*buf, *t, ferr[256];

	if (pw_read_file(path, &buf, 64 * 1024, ferr, sizeof(ferr)) == -1)
		return errf(err, errsz, "%s: %s", name, ferr);
	t = pw_trim(buf);
	if (!value_ok(t)) {
		freezero(buf, 64 * 1024 + 1);
		return errf(err, errsz, "%s: %s holds a control character",
		    name, path);
	}
	*out = xstrdup(t);
	freezero(buf, 64 * 1024 + 1);
	return 0;
}

static int
resolve_token(struct pw_config *c, char *err, size_t errsz)
{
	char	*tok = NULL;
	int	 fk = -1;

	if (c->val[CK_TOKEN_FILE] != NULL)
		fk = CK_TOKEN_FILE;
	else if (c->val[CK_DD_AGENT_SECRET_FILE] != NULL)
		fk = CK_DD_AGENT_SECRET_FILE;
	if (fk != -1) {
		if (read_secret_file(cfg_table[fk].name, c->val[fk], &tok,
		    err, errsz) == -1)
			return -1;
		if (*tok == '\0') {
			/* An empty token file means "no token". */
			free(tok);
			tok = NULL;
		}
		cfg_set(c, CK_TOKEN, tok, cfg_table[fk].name);
		freezero_str(tok);
	} else if (c->val[CK_TOKEN] == NULL &&
	    c->val[CK_DD_AGENT_SECRET] != NULL) {
		cfg_set(c, CK_TOKEN, c->val[CK_DD_AGENT_SECRET],
		    "DD_AGENT_SECRET");
	} else if (c->val[CK_TOKEN] == NULL && c->val[CK_API_KEY] != NULL) {
		cfg_set(c, CK_TOKEN, c->val[CK_API_KEY], "API_KEY");
	}
	if (c->val[CK_TOKEN_HASH_FILE] != NULL) {
		if (read_secret_file("TOKEN_HASH_FILE", c->val[CK_TOKEN_HASH_FILE],
		    &tok, err, errsz) == -1)
			return -1;
		cfg_set(c, CK_TOKEN_HASH, *tok ? tok : NULL, "TOKEN_HASH_FILE");
		freezero_str(tok);
		tok = NULL;
	}
	/* Enrollment: the inline value wins over the file (as Portwing). */
	if (c->val[CK_ENROLLMENT_TOKEN] == NULL &&
	    c->val[CK_ENROLLMENT_TOKEN_FILE] != NULL) {
		if (read_secret_file("ENROLLMENT_TOKEN_FILE",
		    c->val[CK_ENROLLMENT_TOKEN_FILE], &tok, err, errsz) == -1)
			return -1;
		cfg_set(c, CK_ENROLLMENT_TOKEN, *tok ? tok : NULL,
		    "ENROLLMENT_TOKEN_FILE");
		freezero_str(tok);
	}
	return 0;
}

static int
resolve_docker(struct pw_config *c, char *err, size_t errsz)
{
	const char	*home = getenv("HOME");
	char		 path[512], *v;
	size_t		 i;

	if (c->val[CK_DOCKER_SOCKET] != NULL) {
		xasprintf(&v, "unix://%s", c->val[CK_DOCKER_SOCKET]);
		cfg_set(c, CK__DOCKER, v, "DOCKER_SOCKET");
		free(v);
		return 0;
	}
	if (c->val[CK_DOCKER_HOST] != NULL) {
		cfg_set(c, CK__DOCKER, c->val[CK_DOCKER_HOST], "DOCKER_HOST");
		return 0;
	}
	for (i = 0; i < nitems(docker_candidates); i++) {
		const char *cand = docker_candidates[i];
		if (strncmp(cand, "$HOME", 5) == 0) {
			if (home == NULL || *home == '\0')
				continue;
			snprintf(path, sizeof(path), "%s%s", home, cand + 5);
		} else
			pw_strlcpy(path, cand, sizeof(path));
		if (access(path, F_OK) == 0)
			break;
	}
	if (i == nitems(docker_candidates))
		pw_strlcpy(path, docker_candidates[0], sizeof(path));
	xasprintf(&v, "unix://%s", path);
	cfg_set(c, CK__DOCKER, v, "auto-detected");
	free(v);
	(void)err;
	(void)errsz;
	return 0;
}

static int
parse_int(const struct pw_config *c, int k, int def, int min, int max,
    int *out, char *err, size_t errsz)
{
	long long	v;

	if (c->val[k] == NULL) {
		*out = def;
		return 0;
	}
	if (pw_strtonum(c->val[k], min, max, &v) == -1)
		return errf(err, errsz, "%s=\"%s\" (%s): expected an integer "
		    "from %d to %d", cfg_table[k].name, c->val[k], c->src[k],
		    min, max);
	*out = (int)v;
	return 0;
}

static int
parse_bool(const struct pw_config *c, int k, int *out, char *err, size_t errsz)
{
	*out = 0;
	if (c->val[k] == NULL)
		return 0;
	if (pw_parse_bool(c->val[k], out) == -1)
		return errf(err, errsz, "%s=\"%s\" (%s): expected true or false",
		    cfg_table[k].name, c->val[k], c->src[k]);
	return 0;
}

static int
is_loopback(const char *addr)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (strcasecmp(addr, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/*
 * LISTEN_ADDR (dockeragent's setting): "HOST:PORT", "[V6]:PORT" or
 * ":PORT", into BIND_ADDRESS and PORT, which it may not be mixed with.
 */
static int
listen_addr(struct pw_config *c, char *err, size_t errsz)
{
	const char	*v = c->val[CK_LISTEN_ADDR], *colon;
	char		 host[256], src[48];

	if (v == NULL)
		return 0;
	/* (Validated again, as on a reload, it finds its own values.) */
	if ((c->val[CK_PORT] != NULL &&
	    strncmp(c->src[CK_PORT], "LISTEN_ADDR", 11) != 0) ||
	    (c->val[CK_BIND_ADDRESS] != NULL &&
	    strncmp(c->src[CK_BIND_ADDRESS], "LISTEN_ADDR", 11) != 0))
		return errf(err, errsz, "LISTEN_ADDR (%s) with PORT or "
		    "BIND_ADDRESS: set one or the other", c->src[CK_LISTEN_ADDR]);
	colon = strrchr(v, ':');
	if (colon == NULL || colon[1] == '\0' ||
	    (size_t)(colon - v) >= sizeof(host))
		return errf(err, errsz, "LISTEN_ADDR=\"%s\" (%s): expected "
		    "HOST:PORT or :PORT", v, c->src[CK_LISTEN_ADDR]);
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = '\0';
	snprintf(src, sizeof(src), "LISTEN_ADDR (%.30s)", c->src[CK_LISTEN_ADDR]);
	cfg_set(c, CK_PORT, colon + 1, src);
	cfg_set(c, CK_BIND_ADDRESS, host[0] != '\0' ? host : "0.0.0.0", src);
	return 0;
}

static int
validate_bind(struct pw_config *c, char *err, size_t errsz)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	/* Edge mode's listener is for local probes and scrapes only. */
	const char	*b = c->val[CK_BIND_ADDRESS] ? c->val[CK_BIND_ADDRESS] :
			    c->val[CK_DRYDOCK_URL] ? "127.0.0.1" : "0.0.0.0";
	size_t		 n = strlen(b);

	if (n >= 2 && b[0] == '[' && b[n - 1] == ']') {
		if (n - 2 >= sizeof(c->bind))
			goto bad;
		memcpy(c->bind, b + 1, n - 2);
		c->bind[n - 2] = '\0';
	} else
		pw_strlcpy(c->bind, b, sizeof(c->bind));
	if (strcasecmp(c->bind, "localhost") == 0)
		pw_strlcpy(c->bind, "127.0.0.1", sizeof(c->bind));
	if (inet_pton(AF_INET, c->bind, &a4) != 1 &&
	    inet_pton(AF_INET6, c->bind, &a6) != 1)
		goto bad;
	c->bind_loopback = is_loopback(c->bind);
	return 0;
bad:
	return errf(err, errsz, "BIND_ADDRESS=\"%s\" (%s): expected an IPv4 "
	    "or IPv6 address (e.g. 0.0.0.0, 127.0.0.1, [::1])", b,
	    c->src[CK_BIND_ADDRESS][0] ? c->src[CK_BIND_ADDRESS] : "default");
}

static int
validate_docker(struct pw_config *c, char *err, size_t errsz)
{
	const char	*d = c->val[CK__DOCKER], *hp, *colon;
	long long	 port;

	if (d == NULL)
		return errf(err, errsz, "no Docker endpoint configured");
	if (strncmp(d, "unix://", 7) == 0) {
		if (d[7] != '/' || strlen(d + 7) >= sizeof(c->docker_path))
			return errf(err, errsz, "Docker socket \"%s\" (%s): "
			    "expected an absolute path shorter than %zu bytes",
			    d + 7, c->src[CK__DOCKER], sizeof(c->docker_path));
		pw_strlcpy(c->docker_path, d + 7, sizeof(c->docker_path));
		c->docker_tcp = 0;
		return 0;
	}
	if (strncmp(d, "tcp://", 6) == 0) {
		hp = d + 6;
		if ((colon = strrchr(hp, ':')) == NULL || colon == hp ||
		    (size_t)(colon - hp) >= sizeof(c->docker_host) ||
		    strchr(colon, '/') != NULL ||
		    pw_strtonum(colon + 1, 1, 65535, &port) == -1)
			return errf(err, errsz, "DOCKER_HOST=\"%s\": expected "
			    "tcp://HOST:PORT", d);
		memcpy(c->docker_host, hp, (size_t)(colon - hp));
		c->docker_host[colon - hp] = '\0';
		if (c->docker_host[0] == '[') {
			size_t n = strlen(c->docker_host);
			if (c->docker_host[n - 1] != ']')
				return errf(err, errsz, "DOCKER_HOST=\"%s\": "
				    "unbalanced brackets", d);
			memmove(c->docker_host, c->docker_host + 1, n - 2);
			c->docker_host[n - 2] = '\0';
		}
		snprintf(c->docker_port, sizeof(c->docker_port), "%lld", port);
		c->docker_tcp = 1;
		return 0;
	}
	return errf(err, errsz, "DOCKER_HOST=\"%s\": only unix:// and tcp:// "
	    "are supported", d);
}

static int
validate_approval_key(struct pw_config *c, char *err, size_t errsz)
{
	const char	*h = c->val[CK__APPROVAL_KEY];
	unsigned int	 b;
	size_t		 i;

	c->have_approval_key = 0;
	if (h == NULL)
		return 0;
	if (strlen(h) != 2 * sizeof(c->approval_key))
		return errf(err, errsz, "_APPROVAL_KEY: bad length");
	for (i = 0; i < sizeof(c->approval_key); i++) {
		if (!isxdigit((unsigned char)h[2 * i]) ||
		    !isxdigit((unsigned char)h[2 * i + 1]) ||
		    sscanf(h + 2 * i, "%2x", &b) != 1)
			return errf(err, errsz, "_APPROVAL_KEY: not hex");
		c->approval_key[i] = (unsigned char)b;
	}
	c->have_approval_key = 1;
	return 0;
}

/*
 * DRYDOCK_URL: http(s)://host[:port][/prefix] (ws:// and wss:// too), the
 * controller edge mode dials at prefix + /api/portwing/ws.  Trailing
 * slashes go (a doubled one would miss the controller's route); no user
 * information, query or fragment.
 */
static int
edge_url(struct pw_config *c, char *err, size_t errsz)
{
	static const char *const schemes[][2] = {
		{ "https://", "1" }, { "wss://", "1" },
		{ "http://", "0" }, { "ws://", "0" },
	};
	const char	*u = c->val[CK_DRYDOCK_URL], *p = NULL, *ae, *he, *ps;
	char		 path[1024];
	struct in6_addr	 a6;
	long long	 port;
	size_t		 i, hl, pl;

	for (i = 0; i < nitems(schemes); i++)
		if (strncasecmp(u, schemes[i][0], strlen(schemes[i][0])) == 0) {
			p = u + strlen(schemes[i][0]);
			c->edge_tls = schemes[i][1][0] == '1';
			break;
		}
	if (p == NULL)
		return errf(err, errsz, "DRYDOCK_URL=\"%s\" (%s): expected "
		    "http://, https://, ws:// or wss://", u,
		    c->src[CK_DRYDOCK_URL]);
	ae = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(ae - p)) != NULL)
		return errf(err, errsz, "DRYDOCK_URL (%s): user information "
		    "in the URL is not supported (the agent authenticates "
		    "with PRIVATE_KEY_FILE)", c->src[CK_DRYDOCK_URL]);
	if (*p == '[') {
		if ((he = memchr(p, ']', (size_t)(ae - p))) == NULL)
			goto bad;
		hl = (size_t)(he - p - 1);
		if (hl == 0 || hl >= sizeof(c->edge_host))
			goto bad;
		memcpy(c->edge_host, p + 1, hl);
		c->edge_host[hl] = '\0';
		if (inet_pton(AF_INET6, c->edge_host, &a6) != 1)
			goto bad;
		he++;
	} else {
		he = p + strcspn(p, ":/?#");
		hl = (size_t)(he - p);
		if (hl == 0 || hl > 253)
			goto bad;
		for (i = 0; i < hl; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '.' &&
			    p[i] != '-')
				goto bad;
		memcpy(c->edge_host, p, hl);
		c->edge_host[hl] = '\0';
	}
	c->edge_port = c->edge_tls ? 443 : 80;
	if (*he == ':') {
		char pbuf[8];
		if ((size_t)(ae - he - 1) >= sizeof(pbuf))
			goto bad;
		memcpy(pbuf, he + 1, (size_t)(ae - he - 1));
		pbuf[ae - he - 1] = '\0';
		if (pw_strtonum(pbuf, 1, 65535, &port) == -1)
			goto bad;
		c->edge_port = (int)port;
	} else if (he != ae)
		goto bad;
	if (strpbrk(ae, "?#") != NULL)
		return errf(err, errsz, "DRYDOCK_URL (%s): a query or "
		    "fragment is not allowed; give the controller's base URL",
		    c->src[CK_DRYDOCK_URL]);
	ps = ae;
	pl = strlen(ps);
	while (pl > 0 && ps[pl - 1] == '/')
		pl--;
	for (i = 0; i < pl; i++)
		if (!isalnum((unsigned char)ps[i]) &&
		    strchr("/-._~%!$&'()*+,;=:@", ps[i]) == NULL)
			goto bad;
	if (pl + sizeof("/api/portwing/ws") > sizeof(path))
		goto bad;
	memcpy(path, ps, pl);
	memcpy(path + pl, "/api/portwing/ws", sizeof("/api/portwing/ws"));
	pw_strlcpy(c->edge_path, path, sizeof(c->edge_path));
	return 0;
bad:
	return errf(err, errsz, "DRYDOCK_URL=\"%s\" (%s): expected "
	    "http(s)://host[:port][/prefix], as https://drydock.example.com "
	    "or http://192.0.2.10:3000", u, c->src[CK_DRYDOCK_URL]);
}

/* Edge mode's settings; each is refused without DRYDOCK_URL. */
static int
config_edge(struct pw_config *c, char *err, size_t errsz)
{
	static const int only_edge[] = {
		CK_PRIVATE_KEY_FILE, CK_CA_CERT, CK_TLS_SKIP_VERIFY,
		CK_HEARTBEAT_INTERVAL, CK_WELCOME_TIMEOUT, CK_RECONNECT_DELAY,
		CK_MAX_RECONNECT_DELAY,
	};
	const char	*id = c->agent_id;
	size_t		 i;

	c->edge = c->val[CK_DRYDOCK_URL] != NULL;
	if (!c->edge) {
		for (i = 0; i < nitems(only_edge); i++)
			if (c->val[only_edge[i]] != NULL)
				return errf(err, errsz, "%s (%s) is set without "
				    "DRYDOCK_URL: it only concerns edge mode",
				    cfg_table[only_edge[i]].name,
				    c->src[only_edge[i]]);
		return 0;
	}
	if (edge_url(c, err, errsz) == -1)
		return -1;
	if (parse_bool(c, CK_TLS_SKIP_VERIFY, &c->tls_skip_verify, err,
	    errsz) == -1 ||
	    parse_int(c, CK_HEARTBEAT_INTERVAL, 30, 1, 3600, &c->heartbeat,
	    err, errsz) == -1 ||
	    parse_int(c, CK_WELCOME_TIMEOUT, 30, 1, 3600, &c->welcome_timeout,
	    err, errsz) == -1 ||
	    parse_int(c, CK_RECONNECT_DELAY, 1, 1, 3600, &c->reconnect_delay,
	    err, errsz) == -1 ||
	    parse_int(c, CK_MAX_RECONNECT_DELAY, 60, 1, 86400,
	    &c->max_reconnect_delay, err, errsz) == -1)
		return -1;
	if (c->max_reconnect_delay < c->reconnect_delay)
		return errf(err, errsz, "MAX_RECONNECT_DELAY=%d is below "
		    "RECONNECT_DELAY=%d", c->max_reconnect_delay,
		    c->reconnect_delay);
	if (c->val[CK_CA_CERT] != NULL && *c->val[CK_CA_CERT] != '/')
		return errf(err, errsz, "CA_CERT=\"%s\" (%s): must be an "
		    "absolute path", c->val[CK_CA_CERT], c->src[CK_CA_CERT]);
	if (c->val[CK_CA_CERT] != NULL && c->tls_skip_verify)
		return errf(err, errsz, "CA_CERT (%s) and TLS_SKIP_VERIFY=true "
		    "(%s) contradict each other: set one", c->src[CK_CA_CERT],
		    c->src[CK_TLS_SKIP_VERIFY]);
	if (c->val[CK_PRIVATE_KEY_FILE] != NULL &&
	    *c->val[CK_PRIVATE_KEY_FILE] != '/')
		return errf(err, errsz, "PRIVATE_KEY_FILE=\"%s\" (%s): must be "
		    "an absolute path", c->val[CK_PRIVATE_KEY_FILE],
		    c->src[CK_PRIVATE_KEY_FILE]);
	/* What the controller's hello checks would refuse. */
	for (i = 0; id[i] != '\0'; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' &&
		    id[i] != '_')
			break;
	if (i == 0 || i > 64 || id[i] != '\0')
		return errf(err, errsz, "AGENT_ID=\"%s\" (%s): in edge mode 1 "
		    "to 64 letters, digits, '-' or '_' (the controller refuses "
		    "others)", id, c->src[CK_AGENT_ID]);
	if (c->val[CK_AGENT_NAME] != NULL && strlen(c->val[CK_AGENT_NAME]) > 256)
		return errf(err, errsz, "AGENT_NAME (%s): at most 256 "
		    "characters in edge mode", c->src[CK_AGENT_NAME]);
	return 0;
}

/* Checks shared by the master and by children re-reading their table. */

/*
 * LISTEN_MTLS=ADDRESS:PORT ([IPv6]:PORT): the filter over TCP.  Its
 * requirements are checked with the whole configuration (below).
 */
static int
config_mtls(struct pw_config *c, char *err, size_t errsz)
{
	const char	*v = c->val[CK_LISTEN_MTLS], *colon, *h;
	char		 host[64];
	size_t		 hl;
	long long	 port;

	c->mtls = 0;
	if (v == NULL)
		return 0;
	if ((colon = strrchr(v, ':')) == NULL || colon == v)
		goto bad;
	h = v;
	hl = (size_t)(colon - v);
	if (*v == '[') {
		if (hl < 3 || v[hl - 1] != ']')
			goto bad;
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if ((*v == '[') != (strchr(host, ':') != NULL) ||
	    cidr_addr(host, &c->mtls_family, c->mtls_ip) == -1 ||
	    pw_strtonum(colon + 1, 1, 65535, &port) == -1)
		goto bad;
	c->mtls_port = (int)port;
	c->mtls = 1;
	return 0;
bad:
	return errf(err, errsz, "LISTEN_MTLS=\"%s\" (%s): expected an IP "
	    "address and a port, as 192.0.2.1:2376 or [2001:db8::1]:2376 "
	    "(0.0.0.0 or [::] for every address)", v, c->src[CK_LISTEN_MTLS]);
}



/* STACKS_DIR and the compose runner's settings. */
static int
config_compose(struct pw_config *c, char *err, size_t errsz)
{
	const char	*d = c->val[CK_STACKS_DIR], *v;
	long long	 n;

	c->compose = 0;
	c->compose_timeout = 600;
	c->compose_output = 4 * 1024 * 1024;
	c->compose_cmd = COMPOSE_CMD_AUTO;
	if (d == NULL) {
		static const int only[] = { CK_COMPOSE_USER, CK_COMPOSE_TIMEOUT,
		    CK_COMPOSE_OUTPUT_LIMIT, CK_COMPOSE_COMMAND };
		size_t i;
		for (i = 0; i < sizeof(only) / sizeof(only[0]); i++)
			if (c->val[only[i]] != NULL)
				return errf(err, errsz, "%s (%s) without "
				    "STACKS_DIR: compose is off unless STACKS_DIR "
				    "names its directory", cfg_table[only[i]].name,
				    c->src[only[i]]);
		return 0;
	}
	if (c->val[CK_DRYDOCK_URL] != NULL)
		return errf(err, errsz, "STACKS_DIR (%s) with DRYDOCK_URL (%s): "
		    "compose is served in standard mode only",
		    c->src[CK_STACKS_DIR], c->src[CK_DRYDOCK_URL]);
	if (*d != '/' || strlen(d) >= 1024 || strstr(d, "/../") != NULL ||
	    strcmp(d, "/") == 0)
		return errf(err, errsz, "STACKS_DIR=\"%s\" (%s): must be an "
		    "absolute directory path other than /", d,
		    c->src[CK_STACKS_DIR]);
	if ((v = c->val[CK_COMPOSE_TIMEOUT]) != NULL) {
		if (pw_strtonum(v, 1, 86400, &n) == -1)
			return errf(err, errsz, "COMPOSE_TIMEOUT=\"%s\" (%s): "
			    "seconds, 1 to 86400", v, c->src[CK_COMPOSE_TIMEOUT]);
		c->compose_timeout = (int)n;
	}
	if ((v = c->val[CK_COMPOSE_OUTPUT_LIMIT]) != NULL) {
		if (pw_strtonum(v, 1024, 64LL * 1024 * 1024, &n) == -1)
			return errf(err, errsz, "COMPOSE_OUTPUT_LIMIT=\"%s\" "
			    "(%s): bytes, 1024 to 67108864", v,
			    c->src[CK_COMPOSE_OUTPUT_LIMIT]);
		c->compose_output = n;
	}
	if ((v = c->val[CK_COMPOSE_COMMAND]) != NULL) {
		if (strcmp(v, "docker-compose") == 0)
			c->compose_cmd = COMPOSE_CMD_V1;
		else if (strcmp(v, "docker compose") == 0)
			c->compose_cmd = COMPOSE_CMD_V2;
		else
			return errf(err, errsz, "COMPOSE_COMMAND=\"%s\" (%s): "
			    "docker-compose or \"docker compose\"", v,
			    c->src[CK_COMPOSE_COMMAND]);
	}
	c->compose = 1;
	return 0;
}

/*
 * HOST_FILES_ROOT and HOST_FILES_ALLOW: dockeragent's file writes, off
 * unless a root is named.  The master opens the root at start (it must
 * be a directory then); here only the text is checked.
 */
static int
config_files(struct pw_config *c, char *err, size_t errsz)
{
	const char	*root = c->val[CK_HOST_FILES_ROOT];
	const char	*allow = c->val[CK_HOST_FILES_ALLOW];
	char		*copy, *tok, *save = NULL, clean[DA_PATH_MAX];
	size_t		 len = 0, n;
	int		 rc;

	free(c->files_allow);
	c->files_allow = NULL;
	c->files = 0;
	if (root == NULL) {
		if (allow != NULL)
			return errf(err, errsz, "HOST_FILES_ALLOW (%s) without "
			    "HOST_FILES_ROOT: name the root directory the "
			    "allowed paths are under", c->src[CK_HOST_FILES_ALLOW]);
		return 0;
	}
	if (!c->dagent)
		return errf(err, errsz, "HOST_FILES_ROOT (%s): host file "
		    "writes are dockeragent's POST /api/v1/files; set "
		    "ADAPTER=dockeragent, or unset HOST_FILES_ROOT",
		    c->src[CK_HOST_FILES_ROOT]);
	if (*root != '/' || strlen(root) >= DA_PATH_MAX)
		return errf(err, errsz, "HOST_FILES_ROOT=\"%s\" (%s): must be "
		    "an absolute directory path", root,
		    c->src[CK_HOST_FILES_ROOT]);
	c->files = 1;
	if (allow == NULL)
		return 0;
	copy = xstrdup(allow);
	c->files_allow = xcalloc(1, strlen(allow) + 2);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		n = strlen(tok);
		while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
			tok[--n] = '\0';
		if ((rc = dagent_path_clean(tok, clean, sizeof(clean))) ==
		    DA_PATH_ROOT) {
			/* "/": the whole root, as if unset. */
			clean[0] = '/';
			clean[1] = '\0';
		} else if (rc != DA_PATH_OK) {
			errf(err, errsz, "HOST_FILES_ALLOW (%s): \"%s\" must be "
			    "an absolute path under HOST_FILES_ROOT, without "
			    "\"..\"", c->src[CK_HOST_FILES_ALLOW], tok);
			free(copy);
			free(c->files_allow);
			c->files_allow = NULL;
			c->files = 0;
			return -1;
		}
		if (strcmp(clean, "/") == 0) {
			free(copy);
			free(c->files_allow);
			c->files_allow = NULL;
			return 0;
		}
		n = strlen(clean);
		memcpy(c->files_allow + len, clean, n + 1);
		len += n + 1;
	}
	free(copy);
	if (len == 0) {
		free(c->files_allow);
		c->files_allow = NULL;
		c->files = 0;
		return errf(err, errsz, "HOST_FILES_ALLOW (%s): empty; list "
		    "paths, or unset it to allow all of HOST_FILES_ROOT",
		    c->src[CK_HOST_FILES_ALLOW]);
	}
	return 0;
}

static int
config_validate(struct pw_config *c, char *err, size_t errsz)
{
	char		host[256];
	long long	ll;

	if (listen_addr(c, err, errsz) == -1 ||
	    parse_int(c, CK_PORT, 3000, 1, 65535, &c->port, err, errsz) == -1)
		return -1;
	if (validate_bind(c, err, errsz) == -1)
		return -1;
	if ((c->val[CK_TLS_CERT] == NULL) != (c->val[CK_TLS_KEY] == NULL))
		return errf(err, errsz, "TLS_CERT and TLS_KEY must be set "
		    "together (only %s is set)", c->val[CK_TLS_CERT] ?
		    "TLS_CERT" : "TLS_KEY");
	c->tls = c->val[CK_TLS_CERT] != NULL;
	c->log_level = LOG_LVL_INFO;
	if (c->val[CK_LOG_LEVEL] != NULL &&
	    (c->log_level = log_parse_level(c->val[CK_LOG_LEVEL])) < 0)
		return errf(err, errsz, "LOG_LEVEL=\"%s\": expected error, "
		    "warn, info or debug", c->val[CK_LOG_LEVEL]);
	c->log_json = 0;
	if (c->val[CK_LOG_FORMAT] != NULL) {
		if (strcasecmp(c->val[CK_LOG_FORMAT], "json") == 0)
			c->log_json = 1;
		else if (strcasecmp(c->val[CK_LOG_FORMAT], "text") != 0)
			return errf(err, errsz, "LOG_FORMAT=\"%s\": expected "
			    "text or json", c->val[CK_LOG_FORMAT]);
	}
	if (c->val[CK_AGENT_ID] != NULL)
		pw_strlcpy(c->agent_id, c->val[CK_AGENT_ID], sizeof(c->agent_id));
	if (c->val[CK_AGENT_NAME] != NULL)
		pw_strlcpy(c->agent_name, c->val[CK_AGENT_NAME],
		    sizeof(c->agent_name));
	else if (gethostname(host, sizeof(host)) == 0 && host[0] != '\0') {
		host[sizeof(host) - 1] = '\0';
		pw_strlcpy(c->agent_name, host, sizeof(c->agent_name));
	} else
		pw_strlcpy(c->agent_name, "portwing", sizeof(c->agent_name));
	if (parse_int(c, CK_REQUEST_TIMEOUT, 30, 1, 86400,
	    &c->request_timeout, err, errsz) == -1)
		return -1;
	if (parse_bool(c, CK_ALLOW_UNAUTHENTICATED, &c->allow_unauth, err,
	    errsz) == -1 || parse_bool(c, CK_ALLOW_UNAUTHENTICATED_REMOTE,
	    &c->allow_unauth_remote, err, errsz) == -1)
		return -1;
	/* The master fills WORKERS in (default_workers): no sysconf here,
	 * children run this inside their sandbox. */
	if (parse_int(c, CK_WORKERS, 1, 1, 64, &c->workers, err,
	    errsz) == -1)
		return -1;
	if (parse_int(c, CK_MAX_CONNECTIONS, 1024, 1, 100000, &c->max_conns,
	    err, errsz) == -1)
		return -1;
	if (parse_int(c, CK_MAX_CONNECTIONS_PER_ADDRESS, 64, 0, 1000000,
	    &c->max_per_addr, err, errsz) == -1)
		return -1;
	if (parse_int(c, CK_HEADER_TIMEOUT, 10, 1, 3600, &c->header_timeout,
	    err, errsz) == -1)
		return -1;
	if (parse_int(c, CK_IDLE_TIMEOUT, 120, 1, 86400, &c->idle_timeout,
	    err, errsz) == -1)
		return -1;
	if (parse_int(c, CK_MAX_HIJACKED, 100, 1, 100000, &c->max_hijacked,
	    err, errsz) == -1)
		return -1;
	if (parse_int(c, CK_UPSTREAM_IDLE_TIMEOUT, 60, 1, 3600,
	    &c->upstream_idle, err, errsz) == -1)
		return -1;
	freezero_str(c->token);
	c->token = c->val[CK_TOKEN] ? xstrdup(c->val[CK_TOKEN]) : NULL;
	freezero_str(c->token_hash);
	c->token_hash = c->val[CK_TOKEN_HASH] ? xstrdup(c->val[CK_TOKEN_HASH]) :
	    NULL;
	if (c->token_hash != NULL) {
		struct pwc_phc ph;
		char perr[128];
		if (pwc_phc_parse(c->token_hash, &ph, perr, sizeof(perr)) == -1)
			return errf(err, errsz, "TOKEN_HASH (%s): %s",
			    c->src[CK_TOKEN_HASH], perr);
		OPENSSL_cleanse(&ph, sizeof(ph));
	}
	freezero_str(c->enroll_token);
	c->enroll_token = c->val[CK_ENROLLMENT_TOKEN] ?
	    xstrdup(c->val[CK_ENROLLMENT_TOKEN]) : NULL;
	if (parse_int(c, CK_MAX_CLOCK_SKEW_SECONDS, 60, 1, 86400,
	    &c->clock_skew, err, errsz) == -1 ||
	    parse_int(c, CK_NONCE_LRU_SIZE, 10000, 16, 10000000,
	    &c->nonce_size, err, errsz) == -1)
		return -1;
	{
		c->signed_body_limit = 64LL * 1024 * 1024;
		if (c->val[CK_SIGNED_BODY_LIMIT] != NULL &&
		    (pw_strtonum(c->val[CK_SIGNED_BODY_LIMIT], 0, 1LL << 36,
		    &c->signed_body_limit) == -1))
			return errf(err, errsz, "SIGNED_BODY_LIMIT=\"%s\" (%s): "
			    "expected a byte count up to 64 GiB",
			    c->val[CK_SIGNED_BODY_LIMIT],
			    c->src[CK_SIGNED_BODY_LIMIT]);
	}
	free(c->trusted);
	c->trusted = NULL;
	c->ntrusted = 0;
	if (c->val[CK_TRUSTED_PROXIES] != NULL) {
		char terr[128];
		if (cidr_parse_list(c->val[CK_TRUSTED_PROXIES], &c->trusted,
		    &c->ntrusted, terr, sizeof(terr)) == -1)
			return errf(err, errsz, "TRUSTED_PROXIES (%s): %s",
			    c->src[CK_TRUSTED_PROXIES], terr);
	}
	if (c->val[CK_DD_POLL_INTERVAL] != NULL &&
	    (pw_strtonum(c->val[CK_DD_POLL_INTERVAL], LLONG_MIN, LLONG_MAX,
	    &ll) == 0 && ll <= 0))
		return errf(err, errsz, "DD_POLL_INTERVAL=\"%s\" (%s): must be "
		    "a positive number of seconds", c->val[CK_DD_POLL_INTERVAL],
		    c->src[CK_DD_POLL_INTERVAL]);
	if (parse_int(c, CK_DD_POLL_INTERVAL, 300, 1, 86400 * 7, &c->dd_poll,
	    err, errsz) == -1)
		return -1;
	if (c->val[CK_ADAPTER] != NULL &&
	    strcasecmp(c->val[CK_ADAPTER], "drydock") != 0 &&
	    strcasecmp(c->val[CK_ADAPTER], "generic") != 0 &&
	    strcasecmp(c->val[CK_ADAPTER], "dockeragent") != 0)
		return errf(err, errsz, "ADAPTER=\"%s\" (%s): must be drydock "
		    "(the default), generic or dockeragent", c->val[CK_ADAPTER],
		    c->src[CK_ADAPTER]);
	c->generic = c->val[CK_ADAPTER] != NULL &&
	    strcasecmp(c->val[CK_ADAPTER], "generic") == 0;
	c->dagent = c->val[CK_ADAPTER] != NULL &&
	    strcasecmp(c->val[CK_ADAPTER], "dockeragent") == 0;
	if ((c->generic || c->dagent) && c->val[CK_DRYDOCK_URL] != NULL)
		return errf(err, errsz, "ADAPTER=%s (%s) with DRYDOCK_URL "
		    "(%s): edge mode serves a Drydock controller; this adapter "
		    "needs standard mode", c->val[CK_ADAPTER], c->src[CK_ADAPTER],
		    c->src[CK_DRYDOCK_URL]);
	c->docker_api[0] = '\0';
	if (c->val[CK_DOCKER_API_VERSION] != NULL) {
		const char *v = c->val[CK_DOCKER_API_VERSION];
		unsigned maj, min;
		char extra;
		if (*v == 'v' || *v == 'V')
			v++;
		if (sscanf(v, "%u.%u%c", &maj, &min, &extra) != 2 ||
		    maj != 1 || min > 999)
			return errf(err, errsz, "DOCKER_API_VERSION=\"%s\" (%s): "
			    "expected an API version such as 1.44",
			    c->val[CK_DOCKER_API_VERSION],
			    c->src[CK_DOCKER_API_VERSION]);
		snprintf(c->docker_api, sizeof(c->docker_api), "/v%u.%u", maj,
		    min);
	}
	if (config_files(c, err, errsz) == -1 ||
	    config_compose(c, err, errsz) == -1)
		return -1;
	if (c->val[CK_POLICY] != NULL && c->val[CK_POLICY_FILE] != NULL)
		return errf(err, errsz, "POLICY (%s) and POLICY_FILE (%s): set "
		    "one of them, not both", c->src[CK_POLICY],
		    c->src[CK_POLICY_FILE]);
	if (c->val[CK_POLICY] != NULL && *c->val[CK_POLICY] == '\0')
		return errf(err, errsz, "POLICY (%s): empty; name a preset or "
		    "a file, or leave it unset", c->src[CK_POLICY]);
	if (c->val[CK_POLICY_FILE] != NULL && *c->val[CK_POLICY_FILE] != '/')
		return errf(err, errsz, "POLICY_FILE=\"%s\" (%s): must be an "
		    "absolute path", c->val[CK_POLICY_FILE],
		    c->src[CK_POLICY_FILE]);
	if (c->val[CK_LISTEN_SOCKET] != NULL) {
		const char *ls = c->val[CK_LISTEN_SOCKET];
		const char *mode = c->val[CK_LISTEN_SOCKET_MODE];
		long long v;
		if (*ls != '/' || strlen(ls) >= 100)
			return errf(err, errsz, "LISTEN_SOCKET=\"%s\" (%s): must "
			    "be an absolute path shorter than 100 bytes", ls,
			    c->src[CK_LISTEN_SOCKET]);
		if (c->val[CK_POLICY] == NULL && c->val[CK_POLICY_FILE] == NULL)
			return errf(err, errsz, "LISTEN_SOCKET (%s) needs a "
			    "policy (POLICY or POLICY_FILE): its clients need no "
			    "token, the policy is all that stands before Docker",
			    c->src[CK_LISTEN_SOCKET]);
		if (mode != NULL && strcmp(mode, "0600") != 0 &&
		    strcmp(mode, "0660") != 0)
			return errf(err, errsz, "LISTEN_SOCKET_MODE=\"%s\" (%s): "
			    "must be 0600 or 0660", mode,
			    c->src[CK_LISTEN_SOCKET_MODE]);
		if (mode != NULL && strcmp(mode, "0660") == 0 &&
		    c->val[CK_LISTEN_SOCKET_GID] == NULL)
			return errf(err, errsz, "LISTEN_SOCKET_MODE=0660 (%s) "
			    "needs LISTEN_SOCKET_GID: the group that may connect",
			    c->src[CK_LISTEN_SOCKET_MODE]);
		if ((c->val[CK_LISTEN_SOCKET_UID] != NULL &&
		    pw_strtonum(c->val[CK_LISTEN_SOCKET_UID], 0, 0x7fffffff,
		    &v) == -1) || (c->val[CK_LISTEN_SOCKET_GID] != NULL &&
		    pw_strtonum(c->val[CK_LISTEN_SOCKET_GID], 0, 0x7fffffff,
		    &v) == -1))
			return errf(err, errsz, "LISTEN_SOCKET_UID and "
			    "LISTEN_SOCKET_GID must be numeric ids");
	}
	if (config_mtls(c, err, errsz) == -1 || config_edge(c, err, errsz) == -1)
		return -1;
	if (c->val[CK_TOKEN_POLICY] != NULL) {
		const char *t = c->val[CK_TOKEN_POLICY];
		size_t i, n = strlen(t);
		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char)t[i]) && t[i] != '-' &&
			    t[i] != '_' && t[i] != '.')
				break;
		if (n == 0 || n >= 64 || i != n)
			return errf(err, errsz, "TOKEN_POLICY=\"%s\" (%s): a "
			    "profile name of letters, digits, '-', '_' and '.' "
			    "(at most 63)", t, c->src[CK_TOKEN_POLICY]);
	}
	if (parse_int(c, CK_SSE_QUEUE_LIMIT, 4 * 1024 * 1024, 4096,
	    1024 * 1024 * 1024, &c->sse_queue, err, errsz) == -1)
		return -1;
	if (c->val[CK_AUDIT_BUFFER_SIZE] != NULL &&
	    pw_strtonum(c->val[CK_AUDIT_BUFFER_SIZE], LLONG_MIN, 0, &ll) == 0)
		c->audit_buffer = 0;	/* zero or less: no ring */
	else if (parse_int(c, CK_AUDIT_BUFFER_SIZE, 256, 1, 1000000,
	    &c->audit_buffer, err, errsz) == -1)
		return -1;
	if (parse_bool(c, CK_DD_WATCHALL, &c->dd_watch_all, err, errsz) == -1 ||
	    parse_bool(c, CK_DD_WATCHBYDEFAULT, &c->dd_watch_default, err,
	    errsz) == -1)
		return -1;
	if (c->val[CK_DD_WATCHBYDEFAULT] == NULL)
		c->dd_watch_default = 1;
	if (parse_bool(c, CK_SKIP_DF_COLLECTION, &c->skip_df, err,
	    errsz) == -1 || parse_int(c, CK_METRICS_INTERVAL, 15, 1, 3600,
	    &c->metrics_interval, err, errsz) == -1)
		return -1;
	c->keys = c->val[CK__KEYS] != NULL;
	c->enroll = c->val[CK__ENROLL] != NULL;
	pw_strlcpy(c->state_dir, c->val[CK_STATE_DIR] ? c->val[CK_STATE_DIR] :
	    "/var/lib/portwing", sizeof(c->state_dir));
	if (c->val[CK__DOCKER] != NULL &&
	    validate_docker(c, err, errsz) == -1)
		return -1;
	c->started = c->val[CK__STARTED] ? strtod(c->val[CK__STARTED], NULL) :
	    pw_wall_time();
	return validate_approval_key(c, err, errsz);
}

/*
 * Edge mode's files, read where files may be read (master, CLI): the
 * hello's key must load, and CA_CERT must hold a certificate.
 */
static int
config_edge_files(struct pw_config *c, char *err, size_t errsz)
{
	EVP_PKEY	*pk;
	X509		*x;
	BIO		*bio;
	char		 kerr[384];

	if (c->val[CK_PRIVATE_KEY_FILE] == NULL)
		return errf(err, errsz, "DRYDOCK_URL (%s) needs "
		    "PRIVATE_KEY_FILE: the controller admits only agents that "
		    "sign their hello with an Ed25519 key (portwing keygen "
		    "makes one)", c->src[CK_DRYDOCK_URL]);
	if (pwc_load_private_file(c->val[CK_PRIVATE_KEY_FILE], &pk, kerr,
	    sizeof(kerr)) == -1)
		return errf(err, errsz, "PRIVATE_KEY_FILE (%s): %s",
		    c->src[CK_PRIVATE_KEY_FILE], kerr);
	EVP_PKEY_free(pk);
	if (c->val[CK_CA_CERT] == NULL)
		return 0;
	if ((bio = BIO_new_file(c->val[CK_CA_CERT], "r")) == NULL)
		return errf(err, errsz, "CA_CERT=\"%s\" (%s): %s",
		    c->val[CK_CA_CERT], c->src[CK_CA_CERT], strerror(errno));
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (x == NULL)
		return errf(err, errsz, "CA_CERT=\"%s\" (%s): no PEM "
		    "certificate in it", c->val[CK_CA_CERT], c->src[CK_CA_CERT]);
	X509_free(x);
	return 0;
}

/* Rules that only make sense for the whole configuration (master, CLI). */
static int
config_validate_full(struct pw_config *c, char *err, size_t errsz)
{
	int	cred = c->token != NULL || c->token_hash != NULL || c->keys;

	if (c->token != NULL && c->token_hash != NULL)
		return errf(err, errsz, "TOKEN and TOKEN_HASH are mutually "
		    "exclusive (set one)");
	if (c->enroll_token != NULL && !c->keys)
		return errf(err, errsz, "ENROLLMENT_TOKEN needs AUTHORIZED_KEYS "
		    "(the file enrolled keys are added to)");
	if (c->edge && config_edge_files(c, err, errsz) == -1)
		return -1;
	/*
	 * In edge mode the listener serves local probes and scrapes only,
	 * never Docker's API, and needs no credential on loopback.
	 */
	if (!cred && !c->allow_unauth && !c->edge)
		return errf(err, errsz, "no credential configured: set TOKEN, "
		    "TOKEN_FILE, TOKEN_HASH or AUTHORIZED_KEYS (or "
		    "ALLOW_UNAUTHENTICATED=true to run without authentication "
		    "on a loopback address)");
	/*
	 * LISTEN_MTLS is never plaintext: TLS_CERT, TLS_KEY and
	 * MTLS_CLIENT_CA are required, and so is a policy (its clients need
	 * no token).
	 */
	if (c->mtls) {
		if (!c->tls)
			return errf(err, errsz, "LISTEN_MTLS (%s) needs "
			    "TLS_CERT and TLS_KEY: the filter listener over "
			    "TCP is never plaintext", c->src[CK_LISTEN_MTLS]);
		if (c->val[CK_MTLS_CLIENT_CA] == NULL)
			return errf(err, errsz, "LISTEN_MTLS (%s) needs "
			    "MTLS_CLIENT_CA: every client must present a "
			    "certificate from that CA", c->src[CK_LISTEN_MTLS]);
		if (*c->val[CK_MTLS_CLIENT_CA] != '/')
			return errf(err, errsz, "MTLS_CLIENT_CA=\"%s\" (%s): "
			    "must be an absolute path",
			    c->val[CK_MTLS_CLIENT_CA],
			    c->src[CK_MTLS_CLIENT_CA]);
		if (c->val[CK_POLICY] == NULL && c->val[CK_POLICY_FILE] == NULL)
			return errf(err, errsz, "LISTEN_MTLS (%s) needs a "
			    "policy (POLICY or POLICY_FILE): its clients need "
			    "no token, the policy is all that stands before "
			    "Docker", c->src[CK_LISTEN_MTLS]);
	} else if (c->val[CK_MTLS_CLIENT_CA] != NULL)
		return errf(err, errsz, "MTLS_CLIENT_CA (%s) is set without "
		    "LISTEN_MTLS", c->src[CK_MTLS_CLIENT_CA]);
	if (!cred && !c->bind_loopback && !c->allow_unauth_remote)
		return errf(err, errsz, "ALLOW_UNAUTHENTICATED=true on the "
		    "non-loopback address %s also needs "
		    "ALLOW_UNAUTHENTICATED_REMOTE=true", c->bind);
	return 0;
}

static int	config_load1(struct pw_config *, const char *, int, char *,
		    size_t);
static int	config_from_kv1(struct pw_config *, const char *, char *,
		    size_t);

/*
 * Load the master's configuration: the file (optional unless required),
 * then the environment on top, then secret files, then validation.  On
 * error nothing is left allocated.
 */
int
config_load(struct pw_config *c, const char *file, int required, char *err,
    size_t errsz)
{
	if (config_load1(c, file, required, err, errsz) == -1) {
		config_free(c);
		return -1;
	}
	return 0;
}

static int
config_load1(struct pw_config *c, const char *file, int required, char *err,
    size_t errsz)
{
	char	id[40], now[32];

	config_init(c);
	if (file == NULL)
		file = PW_DEFAULT_CONF;
	if (config_read_file(c, file, required, err, errsz) == -1)
		return -1;
	if (config_read_env(c, err, errsz) == -1)
		return -1;
	if (resolve_token(c, err, errsz) == -1)
		return -1;
	if (resolve_docker(c, err, errsz) == -1)
		return -1;
	if (c->val[CK_AGENT_ID] == NULL) {
		pw_uuid4(id, sizeof(id));
		cfg_set(c, CK_AGENT_ID, id, "random");
	}
	snprintf(now, sizeof(now), "%.6f", pw_wall_time());
	cfg_set(c, CK__STARTED, now, "start");
	{
		const char *kp = c->val[CK_AUTHORIZED_KEYS] ?
		    c->val[CK_AUTHORIZED_KEYS] : c->val[CK_AUTHORIZED_KEYS_FILE];
		if (kp != NULL) {
			if (pw_strlcpy(c->keys_path, kp, sizeof(c->keys_path)) >=
			    sizeof(c->keys_path))
				return errf(err, errsz, "AUTHORIZED_KEYS: path "
				    "too long");
			cfg_set(c, CK__KEYS, "1", "AUTHORIZED_KEYS");
		}
		if (c->val[CK_ENROLLMENT_TOKEN] != NULL)
			cfg_set(c, CK__ENROLL, "1", "ENROLLMENT_TOKEN");
	}
	if (c->val[CK_WORKERS] == NULL) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		snprintf(now, sizeof(now), "%ld", n < 1 ? 1 : n > 64 ? 64 : n);
		cfg_set(c, CK_WORKERS, now, "CPUs");
	}
	if (config_validate(c, err, errsz) == -1)
		return -1;
	return config_validate_full(c, err, errsz);
}

/*
 * SIGHUP: re-read the secret files of the running configuration into a
 * fresh copy of the values that can change without a restart.  On error
 * the running configuration is untouched.
 */
int
config_reload_secrets(struct pw_config *run, struct pw_config *next,
    char *err, size_t errsz)
{
	int	k;

	config_init(next);
	for (k = 0; k < CK_COUNT; k++)
		if (run->val[k] != NULL && k != CK_TOKEN)
			cfg_set(next, k, run->val[k], run->src[k]);
	/* The enrollment token, once resolved, is not re-read. */
	if (run->val[CK_TOKEN_FILE] == NULL &&
	    run->val[CK_DD_AGENT_SECRET_FILE] == NULL &&
	    run->val[CK_TOKEN] != NULL)
		cfg_set(next, CK_TOKEN, run->val[CK_TOKEN], run->src[CK_TOKEN]);
	if (run->val[CK_TOKEN_HASH_FILE] != NULL)
		cfg_set(next, CK_TOKEN_HASH, NULL, "");
	if (resolve_token(next, err, errsz) == -1 ||
	    config_validate(next, err, errsz) == -1 ||
	    config_validate_full(next, err, errsz) == -1) {
		config_free(next);
		return -1;
	}
	pw_strlcpy(next->keys_path, run->keys_path, sizeof(next->keys_path));
	if ((run->token != NULL || run->token_hash != NULL) &&
	    next->token == NULL && next->token_hash == NULL) {
		errf(err, errsz, "the token file is now empty: a reload never "
		    "turns authentication off (restart to do that)");
		config_free(next);
		return -1;
	}
	return 0;
}

char *
config_to_kv(const struct pw_config *c, unsigned role)
{
	char	*out = NULL, *tmp;
	size_t	 len = 0, n;
	int	 k;

	out = xstrdup("");
	for (k = 0; k < CK_COUNT; k++) {
		if (c->val[k] == NULL || (cfg_table[k].roles & role) == 0)
			continue;
		n = strlen(cfg_table[k].name) + strlen(c->val[k]) + 2;
		tmp = xmalloc(len + n + 1);
		memcpy(tmp, out, len);
		snprintf(tmp + len, n + 1, "%s=%s\n", cfg_table[k].name,
		    c->val[k]);
		freezero(out, len + 1);
		out = tmp;
		len += n;
	}
	return out;
}

/* A child's view: the master's table, validated again with the same rules. */
int
config_from_kv(struct pw_config *c, const char *kv, char *err, size_t errsz)
{
	if (config_from_kv1(c, kv, err, errsz) == -1) {
		config_free(c);
		return -1;
	}
	return 0;
}

static int
config_from_kv1(struct pw_config *c, const char *kv, char *err, size_t errsz)
{
	const char	*p = kv, *nl, *eq;
	char		 name[64], *val;
	int		 k;

	config_init(c);
	while (*p != '\0') {
		if ((nl = strchr(p, '\n')) == NULL ||
		    (eq = memchr(p, '=', (size_t)(nl - p))) == NULL ||
		    (size_t)(eq - p) >= sizeof(name))
			return errf(err, errsz, "malformed configuration table");
		memcpy(name, p, (size_t)(eq - p));
		name[eq - p] = '\0';
		if ((k = config_key_lookup(name)) < 0)
			return errf(err, errsz, "unknown key %s in table", name);
		val = xstrndup(eq + 1, (size_t)(nl - eq - 1));
		cfg_set(c, k, val, "master");
		freezero_str(val);
		p = nl + 1;
	}
	return config_validate(c, err, errsz);
}

void
config_dump(const struct pw_config *c, FILE *fp)
{
	int	k;

	for (k = 0; k < CK_COUNT; k++) {
		if (cfg_table[k].internal && k != CK__DOCKER)
			continue;
		if (c->val[k] == NULL)
			continue;
		fprintf(fp, "%s=%s\t# %s\n", cfg_table[k].name,
		    cfg_table[k].secret ? "(redacted)" : c->val[k], c->src[k]);
	}
	fprintf(fp, "# effective: listen %s%s%s:%d%s, docker %s, workers %d, "
	    "auth %s\n", strchr(c->bind, ':') ? "[" : "", c->bind,
	    strchr(c->bind, ':') ? "]" : "", c->port, c->tls ? " (TLS)" : "",
	    c->val[CK__DOCKER] ? c->val[CK__DOCKER] : "?", c->workers,
	    c->keys ? (c->token || c->token_hash ? "Ed25519 keys and token" :
	    "Ed25519 keys") : c->token_hash ? "token (Argon2id hash)" :
	    c->token ? "token" : c->edge ? "none" :
	    "none (ALLOW_UNAUTHENTICATED)");
	if (c->edge)
		fprintf(fp, "# edge mode: dials %s://%s%s%s:%d%s, controller "
		    "certificate %s, hello signed with %s\n",
		    c->edge_tls ? "wss" : "ws", strchr(c->edge_host, ':') ?
		    "[" : "", c->edge_host, strchr(c->edge_host, ':') ? "]" :
		    "", c->edge_port, c->edge_path, !c->edge_tls ?
		    "none (plain HTTP)" : c->tls_skip_verify ? "NOT VERIFIED "
		    "(TLS_SKIP_VERIFY)" : c->val[CK_CA_CERT] ? "verified with "
		    "CA_CERT" : "verified with the system's CAs",
		    c->val[CK_PRIVATE_KEY_FILE] ? c->val[CK_PRIVATE_KEY_FILE] :
		    "?");
}
