/*
 * stats.c: the shared counter segment (see stats.h).
 */
#include "pwbuild.h"

#include <sys/mman.h>
#include <sys/random.h>

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "stats.h"

struct st_segment *pw_stats;

const char *const st_method_names[STM_COUNT] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
	"CONNECT", "TRACE", "OTHER",
};

const char *const st_reason_names[STR_COUNT] = {
	"bad_token", "no_credentials", "timestamp-skew", "replay",
	"unknown-key", "invalid-signature",
};

const char *const st_decision_names[STD_COUNT] = {
	"allowed", "denied_approval", "denied_body", "upstream_error",
	"hijack_limit", "denied_policy",
};

const char *const st_edge_end_names[STE_COUNT] = {
	"connect_failed", "rejected", "refused", "welcome_timeout",
	"read_timeout", "closed_by_controller", "backpressure", "protocol",
};

const double st_bucket_bounds[ST_NBUCKETS] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
	/* +Inf is implicit */ 0,
};

/* The master's memfd, sized and zeroed; -1 on failure. */
int
stats_create(void)
{
	int	fd;

	if ((fd = memfd_create("portwing-stats", MFD_CLOEXEC)) == -1)
		return -1;
	if (ftruncate(fd, sizeof(struct st_segment)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Map the segment; the descriptor is closed (the mapping stays). */
int
stats_map(int fd)
{
	void	*p;

	p = mmap(NULL, sizeof(struct st_segment), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	pw_stats = p;
	if (pw_stats->magic == 0) {
		/* The first mapper is the master, before any child exists. */
		if (getrandom(pw_stats->master.addr_key,
		    sizeof(pw_stats->master.addr_key), 0) !=
		    (ssize_t)sizeof(pw_stats->master.addr_key))
			return -1;
		pw_stats->size = sizeof(struct st_segment);
		pw_stats->magic = ST_MAGIC;
	}
	return 0;
}

enum st_method
stats_method(const char *m)
{
	int	i;

	for (i = 0; i < STM_OTHER; i++)
		if (strcmp(m, st_method_names[i]) == 0)
			return (enum st_method)i;
	return STM_OTHER;
}

int
stats_reason(const char *r)
{
	int	i;

	for (i = 0; i < STR_COUNT; i++)
		if (strcmp(r, st_reason_names[i]) == 0)
			return i;
	return -1;
}

/* One finished request of worker slot: method, status, duration. */
void
stats_request(unsigned slot, const char *method, int status, uint64_t ns)
{
	struct st_worker	*w;
	double			 s = (double)ns / 1e9;
	int			 b;

	if (pw_stats == NULL || slot >= ST_MAX_WORKERS)
		return;
	w = &pw_stats->worker[slot];
	if (status < ST_CODE_MIN || status >= ST_CODE_MIN + ST_NCODES)
		status = 500;
	ST_ADD(w->req[stats_method(method)][status - ST_CODE_MIN], 1);
	for (b = 0; b < ST_NBUCKETS - 1; b++)
		if (s <= st_bucket_bounds[b])
			break;
	/* b == ST_NBUCKETS - 1 is the +Inf bucket. */
	ST_ADD(w->bucket[b], 1);
	ST_ADD(w->sum_ns, ns);
	ST_ADD(w->count, 1);
}
