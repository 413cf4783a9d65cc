/*
 * config.h: portwing's settings.  The master (and `portwing check-config`)
 * loads them from the environment and an optional KEY=value file, reads
 * secret files and validates everything; children receive only the values
 * their role needs, as a KEY=value table over IPC, and re-validate them
 * with the same code.
 */
#ifndef PW_CONFIG_H
#define PW_CONFIG_H

#include <stdio.h>

#include "cidr.h"

#define PW_DEFAULT_CONF		"/etc/portwing/portwing.conf"

/* Roles, as bits: which processes receive a setting. */
#define ROLE_MASTER	0x01
#define ROLE_WORKER	0x02
#define ROLE_AUTHD	0x04
#define ROLE_PROXY	0x08
#define ROLE_KEYD	0x10
#define ROLE_POLICYD	0x20
#define ROLE_EDGE	0x40
#define ROLE_FILED	0x80
#define ROLE_COMPOSER	0x100
#define ROLE_ALL	0x1ff

enum cfg_key {
	CK_PORT,
	CK_BIND_ADDRESS,
	CK_TLS_CERT,
	CK_TLS_KEY,
	CK_DOCKER_SOCKET,
	CK_DOCKER_HOST,
	CK_LOG_LEVEL,
	CK_LOG_FORMAT,
	CK_AGENT_ID,
	CK_AGENT_NAME,
	CK_REQUEST_TIMEOUT,
	CK_TOKEN,
	CK_TOKEN_FILE,
	CK_DD_AGENT_SECRET,
	CK_DD_AGENT_SECRET_FILE,
	CK_ALLOW_UNAUTHENTICATED,
	CK_ALLOW_UNAUTHENTICATED_REMOTE,
	CK_WORKERS,
	CK_MAX_CONNECTIONS,
	CK_MAX_CONNECTIONS_PER_ADDRESS,
	CK_HEADER_TIMEOUT,
	CK_IDLE_TIMEOUT,
	CK_MAX_HIJACKED,
	CK_UPSTREAM_IDLE_TIMEOUT,
	CK_API_KEY,
	CK_TOKEN_HASH,
	CK_TOKEN_HASH_FILE,
	CK_AUTHORIZED_KEYS,
	CK_AUTHORIZED_KEYS_FILE,
	CK_MAX_CLOCK_SKEW_SECONDS,
	CK_NONCE_LRU_SIZE,
	CK_SIGNED_BODY_LIMIT,
	CK_ENROLLMENT_TOKEN,
	CK_ENROLLMENT_TOKEN_FILE,
	CK_TRUSTED_PROXIES,
	CK_STATE_DIR,
	CK_DD_POLL_INTERVAL,
	CK_DD_WATCHBYDEFAULT,
	CK_DD_WATCHALL,
	CK_ADAPTER,
	CK_SSE_QUEUE_LIMIT,
	CK_AUDIT_LOG,
	CK_AUDIT_BUFFER_SIZE,
	CK_SKIP_DF_COLLECTION,
	CK_METRICS_INTERVAL,
	CK_DOCKER_ROOT,
	CK_POLICY,
	CK_POLICY_FILE,
	CK_TOKEN_POLICY,
	CK_LISTEN_SOCKET,
	CK_LISTEN_SOCKET_MODE,
	CK_LISTEN_SOCKET_UID,
	CK_LISTEN_SOCKET_GID,
	CK_LISTEN_MTLS,
	CK_MTLS_CLIENT_CA,
	CK_DRYDOCK_URL,
	CK_PRIVATE_KEY_FILE,
	CK_CA_CERT,
	CK_TLS_SKIP_VERIFY,
	CK_HEARTBEAT_INTERVAL,
	CK_WELCOME_TIMEOUT,
	CK_RECONNECT_DELAY,
	CK_MAX_RECONNECT_DELAY,
	CK_LISTEN_ADDR,
	CK_DOCKER_API_VERSION,
	CK_HOST_FILES_ROOT,
	CK_HOST_FILES_ALLOW,
	CK_STACKS_DIR,
	CK_COMPOSE_USER,
	CK_COMPOSE_TIMEOUT,
	CK_COMPOSE_OUTPUT_LIMIT,
	CK_COMPOSE_COMMAND,
	/* Internal: derived by the master, never read from env or file. */
	CK__DOCKER,
	CK__APPROVAL_KEY,
	CK__STARTED,
	CK__KEYS,
	CK__ENROLL,
	CK__COMPOSE_TOKEN,	/* the compose runner's credential */
	CK__COMPOSE_SOCKET,	/* the socket compose reaches Docker by */
	CK__TEST_EDGE_DEADLINE,	/* test build only: the read deadline, ms */
	CK_COUNT
};

#define COMPOSE_CMD_AUTO	0	/* the reference's detection */
#define COMPOSE_CMD_V1		1	/* docker-compose */
#define COMPOSE_CMD_V2		2	/* docker compose */

struct pw_config {
	char	*val[CK_COUNT];		/* as configured; NULL when unset */
	char	 src[CK_COUNT][48];	/* "env", "file:12", "default", ... */

	/* Typed values, set by config validation. */
	int	 port;
	char	 bind[64];
	int	 bind_loopback;
	int	 tls;
	int	 docker_tcp;
	char	 docker_path[108];	/* unix socket path */
	char	 docker_host[256];	/* tcp host */
	char	 docker_port[8];
	int	 log_level;
	int	 log_json;
	char	 agent_id[65];
	char	 agent_name[257];	/* Drydock takes at most 256 */
	int	 request_timeout;
	char	*token;			/* secret: authd only */
	int	 allow_unauth;
	int	 allow_unauth_remote;
	int	 workers;
	int	 max_conns;
	int	 max_per_addr;		/* agent-wide, 0: no limit */
	int	 header_timeout;
	int	 idle_timeout;
	int	 max_hijacked;
	int	 upstream_idle;
	unsigned char approval_key[32];	/* secret: authd and proxy only */
	int	 have_approval_key;
	double	 started;		/* wall-clock start of the master */
	char	*token_hash;		/* PHC string: authd only */
	char	*enroll_token;		/* secret: authd only */
	char	 keys_path[4096];	/* authorized_keys (master) */
	int	 keys;			/* Ed25519 keys configured */
	int	 enroll;		/* enrollment endpoint on */
	int	 clock_skew;
	int	 nonce_size;
	long long signed_body_limit;
	struct cidr *trusted;
	int	 ntrusted;
	char	 state_dir[1024];
	int	 dd_poll;
	int	 dd_watch_default;	/* unlabelled containers listed */
	int	 dd_watch_all;		/* not only running ones */
	int	 generic;		/* ADAPTER=generic: /api/v1 */
	int	 dagent;		/* ADAPTER=dockeragent: its /api/v1 */
	char	 docker_api[16];	/* DOCKER_API_VERSION: "/v1.44" or "" */
	int	 files;			/* HOST_FILES_ROOT set: POST /api/v1/files */
	char	*files_allow;		/* HOST_FILES_ALLOW, cleaned: "/a\0/b\0\0" */
	int	 compose;		/* STACKS_DIR set: POST /_portwing/compose */
	int	 compose_timeout;	/* seconds, the default of a run */
	long long compose_output;	/* bytes of output kept */
	int	 compose_cmd;		/* COMPOSE_CMD_* */
	int	 sse_queue;
	int	 audit_buffer;		/* ring capacity, 0: off */
	int	 skip_df;
	int	 metrics_interval;	/* seconds container stats are cached */
	int	 mtls;			/* LISTEN_MTLS set */
	int	 mtls_family;		/* its address: AF_INET or AF_INET6 */
	uint8_t	 mtls_ip[16];
	int	 mtls_port;
	/* Edge mode (DRYDOCK_URL): the agent dials the controller. */
	int	 edge;
	int	 edge_tls;		/* https:// or wss:// */
	char	 edge_host[256];	/* name or address, no brackets */
	int	 edge_port;
	char	 edge_path[1024];	/* prefix + /api/portwing/ws */
	int	 tls_skip_verify;
	int	 heartbeat;		/* seconds */
	int	 welcome_timeout;
	int	 reconnect_delay;
	int	 max_reconnect_delay;
};

struct cfg_info {
	const char	*name;
	unsigned	 roles;		/* children that receive it */
	int		 secret;	/* redacted in dumps */
	int		 internal;	/* not settable by users */
	const char	*help;
};

extern const struct cfg_info cfg_table[CK_COUNT];

void	 config_init(struct pw_config *);
void	 config_free(struct pw_config *);
int	 config_load(struct pw_config *, const char *, int, char *, size_t);
int	 config_read_stream(struct pw_config *, FILE *, const char *, char *,
	    size_t);
int	 config_reload_secrets(struct pw_config *, struct pw_config *,
	    char *, size_t);
char	*config_to_kv(const struct pw_config *, unsigned);
int	 config_from_kv(struct pw_config *, const char *, char *, size_t);
void	 config_dump(const struct pw_config *, FILE *);
int	 config_key_lookup(const char *);
const char *config_get(const struct pw_config *, enum cfg_key);
void	 config_clear(struct pw_config *, enum cfg_key);

#endif
