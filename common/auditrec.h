/*
 * auditrec.h: one audit record as it travels to the proxy, which owns
 * the audit trail (proxy/audit.c).  Workers send api_request records for
 * the answers they give themselves; authd sends auth_failure,
 * rate_limited and enrollment; the proxy makes the rest.  The receiver
 * checks that each sender sends only its own event types.
 */
#ifndef PW_AUDITREC_H
#define PW_AUDITREC_H

#include <stdint.h>

#define AUDIT_PATH_MAX	2048

struct audit_rec {
	uint64_t	ts_ns;		/* CLOCK_REALTIME at the event */
	char		event[32];
	char		actor[64];
	char		method[24];
	char		path[AUDIT_PATH_MAX];
	char		outcome[16];
	int		status;		/* 0: none */
	int		has_duration;
	double		duration_ms;
	char		operation[32];
	char		stack[128];
	char		container[AUDIT_PATH_MAX];
	char		exec_id[128];
	char		key_id[64];
	char		reason[192];
	char		principal[80];	/* "key:ID", "token", "anonymous",
					   "none", "enrollment-token" */
	/* A host file written (file_write): its size and SHA-256. */
	int		has_size;
	uint64_t	size;
	char		sha256[65];
	/* The policy's decision (the proxy's own records only). */
	int		has_rule;
	int		rule;		/* matched rule, -1: none */
	char		profile[64];	/* "": the root rules */
};

struct ipc_wr;
struct ipc_rd;

void	audit_rec_init(struct audit_rec *, const char *, const char *,
	    const char *, const char *, const char *);
void	audit_rec_put(struct ipc_wr *, const struct audit_rec *);
int	audit_rec_get(struct ipc_rd *, struct audit_rec *);
void	audit_rec_principal(struct audit_rec *, const char *);
void	audit_rec_policy(struct audit_rec *, const char *, int);
void	audit_time(uint64_t, char *, size_t);

#endif
