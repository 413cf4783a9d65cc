/*
 * edge.h: edge mode, the agent dialling the controller (DRYDOCK_URL) over
 * the portwing/1.0 WebSocket (DESIGN.md, "Edge mode").
 */
#ifndef PW_EDGE_H
#define PW_EDGE_H

#include <stddef.h>
#include <stdint.h>

#define EDGE_WS_PATH		"/api/portwing/ws"	/* what the hello signs */
#define EDGE_PROTOCOL		"portwing/1.0"
#define EDGE_DRYDOCK_COMPAT	"1.4.0"
#define EDGE_MAX_FRAME		(16 * 1024 * 1024)	/* either direction */
#define EDGE_QUEUE_MAX		256		/* frames waiting to be written */
#define EDGE_WRITE_WAIT_MS	10000		/* per frame */
#define EDGE_HANDSHAKE_S	10		/* connect, TLS and upgrade */
#define EDGE_STABLE_MS		30000		/* a session this long resets backoff */

/* How a session's end is classified (edge-protocol.md 7.6). */
enum edge_class {
	EDGE_RETRY = 0,		/* back off and dial again */
	EDGE_TERMINAL,		/* the controller will refuse us again:
				   log once, dial only at the longest delay */
};

enum edge_class edge_reject_class(const char *);
int	edge_streaming_target(const char *);
int	edge_cid_ok(const char *);

/* The master's answer to IPC_E_DIAL (the hello's signed fields). */
struct edge_dial {
	uint32_t	status;		/* 0, or EDGE_DIAL_E_* */
	char		addr[64];	/* numeric address to connect to */
	char		keyid[17];
	uint64_t	ts;
	char		nonce[33];
	char		sig[90];
	char		err[256];
};
#define EDGE_DIAL_E_KEY		1	/* PRIVATE_KEY_FILE unusable: terminal */
#define EDGE_DIAL_E_RESOLVE	2	/* the host name did not resolve */
#define EDGE_DIAL_E_BUSY	3	/* asked too often */

/* Master side (agent/medge.c). */
struct pw_config;
struct event_base;
typedef void (*medge_done)(const struct edge_dial *, uint32_t, void *);
void	medge_init(struct event_base *);
void	medge_dial(const struct pw_config *, uint32_t, medge_done, void *);
int	medge_sign(const char *, struct edge_dial *);

#endif
