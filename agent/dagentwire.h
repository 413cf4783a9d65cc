/*
 * dagentwire.h: dockeragent's requests checked and turned into the
 * values the proxy takes (agent/dagentwire.c), apart from the
 * connection (agent/dagent.c).
 */
#ifndef PW_DAGENTWIRE_H
#define PW_DAGENTWIRE_H

#include <stddef.h>

#define DA_FIELDS_MAX	12
#define DA_CONFIG_MAX	(60 * 1024)	/* Docker's configuration, in one
					   field of the proxy request */

/* Header fields of the worker's own making for the proxy (Pw-Da-*). */
struct da_call {
	int		 n;
	const char	*name[DA_FIELDS_MAX];
	char		*value[DA_FIELDS_MAX];
};

/* A refusal: the status and dockeragent's message. */
struct da_result {
	int	 status;
	char	 msg[512];
};

void	da_call_add(struct da_call *, const char *, const char *);
void	da_call_free(struct da_call *);
int	da_list(const char *, struct da_call *);
int	da_remove(const char *, struct da_call *, struct da_result *);
int	da_logs(const char *, struct da_call *, struct da_result *);
int	da_stop(const char *, size_t, struct da_call *, struct da_result *);
int	da_create(const char *, size_t, struct da_call *, struct da_result *);
int	da_files(const char *, size_t, const char *, struct da_call *,
	    struct da_result *, char **, size_t *);

#endif
