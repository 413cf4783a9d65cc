/*
 * auditrec.c: audit records on the wire between processes.
 */
#include "pwbuild.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auditrec.h"
#include "http.h"
#include "ipc.h"
#include "util.h"

/* A record stamped now: event, actor, method, raw target (decoded, the
 * query dropped, for the path) and outcome. */
void
audit_rec_init(struct audit_rec *r, const char *event, const char *actor,
    const char *method, const char *target, const char *outcome)
{
	struct timespec	ts;
	char		raw[AUDIT_PATH_MAX];

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_REALTIME, &ts);
	r->ts_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	pw_strlcpy(r->event, event, sizeof(r->event));
	pw_strlcpy(r->actor, actor ? actor : "", sizeof(r->actor));
	pw_strlcpy(r->method, method ? method : "", sizeof(r->method));
	if (target != NULL) {
		pw_strlcpy(raw, target, sizeof(raw));
		raw[strcspn(raw, "?")] = '\0';
		http_percent_decode(raw, strlen(raw), r->path, sizeof(r->path));
	}
	pw_strlcpy(r->outcome, outcome ? outcome : "", sizeof(r->outcome));
}

void
audit_rec_put(struct ipc_wr *w, const struct audit_rec *r)
{
	ipc_wr_u64(w, r->ts_ns);
	ipc_wr_str(w, r->event);
	ipc_wr_str(w, r->actor);
	ipc_wr_str(w, r->method);
	ipc_wr_str(w, r->path);
	ipc_wr_str(w, r->outcome);
	ipc_wr_u32(w, (uint32_t)r->status);
	ipc_wr_u32(w, (uint32_t)r->has_duration);
	ipc_wr_u64(w, (uint64_t)(r->duration_ms * 1000.0 + 0.5));
	ipc_wr_str(w, r->operation);
	ipc_wr_str(w, r->stack);
	ipc_wr_str(w, r->container);
	ipc_wr_str(w, r->exec_id);
	ipc_wr_str(w, r->key_id);
	ipc_wr_str(w, r->reason);
	ipc_wr_str(w, r->principal);
	ipc_wr_u32(w, (uint32_t)r->has_size);
	ipc_wr_u64(w, r->size);
	ipc_wr_str(w, r->sha256);
}

/* 0, or -1 when the payload is malformed. */
int
audit_rec_get(struct ipc_rd *rd, struct audit_rec *r)
{
	uint32_t	status;

	memset(r, 0, sizeof(*r));
	r->ts_ns = ipc_rd_u64(rd);
	ipc_rd_str(rd, r->event, sizeof(r->event));
	ipc_rd_str(rd, r->actor, sizeof(r->actor));
	ipc_rd_str(rd, r->method, sizeof(r->method));
	ipc_rd_str(rd, r->path, sizeof(r->path));
	ipc_rd_str(rd, r->outcome, sizeof(r->outcome));
	status = ipc_rd_u32(rd);
	r->has_duration = ipc_rd_u32(rd) != 0;
	r->duration_ms = (double)ipc_rd_u64(rd) / 1000.0;
	ipc_rd_str(rd, r->operation, sizeof(r->operation));
	ipc_rd_str(rd, r->stack, sizeof(r->stack));
	ipc_rd_str(rd, r->container, sizeof(r->container));
	ipc_rd_str(rd, r->exec_id, sizeof(r->exec_id));
	ipc_rd_str(rd, r->key_id, sizeof(r->key_id));
	ipc_rd_str(rd, r->reason, sizeof(r->reason));
	ipc_rd_str(rd, r->principal, sizeof(r->principal));
	r->has_size = ipc_rd_u32(rd) != 0;
	r->size = ipc_rd_u64(rd);
	ipc_rd_str(rd, r->sha256, sizeof(r->sha256));
	if (ipc_rd_end(rd) == -1 || status > 999)
		return -1;
	r->status = (int)status;
	return 0;
}

/* Which rule of which profile decided (when a policy is in force). */
void
audit_rec_policy(struct audit_rec *r, const char *profile, int rule)
{
	r->has_rule = 1;
	r->rule = rule;
	pw_strlcpy(r->profile, profile ? profile : "", sizeof(r->profile));
}

/*
 * Who the record is about: an approval's (or a claimed) principal, and
 * for a key principal its key ID as well.
 */
void
audit_rec_principal(struct audit_rec *r, const char *principal)
{
	pw_strlcpy(r->principal, principal ? principal : "",
	    sizeof(r->principal));
	if (principal != NULL && strncmp(principal, "key:", 4) == 0)
		pw_strlcpy(r->key_id, principal + 4, sizeof(r->key_id));
}

/* RFC 3339 UTC with nanoseconds, trailing zeros trimmed. */
void
audit_time(uint64_t ns, char *buf, size_t sz)
{
	time_t		sec = (time_t)(ns / 1000000000ULL);
	long		nsec = (long)(ns % 1000000000ULL);
	struct tm	tm;
	char		frac[16];
	size_t		n;
	int		i;

	gmtime_r(&sec, &tm);
	n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec != 0) {
		snprintf(frac, sizeof(frac), ".%09ld", nsec);
		for (i = (int)strlen(frac) - 1; i > 0 && frac[i] == '0'; i--)
			frac[i] = '\0';
		if (n < sz)
			pw_strlcpy(buf + n, frac, sz - n);
	}
	pw_strlcat(buf, "Z", sz);
}
