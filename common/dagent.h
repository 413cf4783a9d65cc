/*
 * dagent.h: fixed pieces of dockeragent's wire format, shared by the
 * workers (validation, their own errors) and the proxy (Docker's
 * answers): the error envelope and Go's status texts in it.
 */
#ifndef PW_DAGENT_H
#define PW_DAGENT_H

#include <stddef.h>

#include <jansson.h>

#define DAGENT_BODY_MAX		(10 * 1024 * 1024)	/* dockeragent's limit */
#define DAGENT_RATE_PER_MIN	100	/* requests per minute per address */
#define DAGENT_RATE_MSG		"rate limit exceeded, try again later"

const char *dagent_status_text(int);
json_t	*dagent_envelope(int, const char *);
char	*dagent_envelope_text(int, const char *, size_t *);
int	 dagent_docker_status(int);

/* Host file paths (POST /api/v1/files, HOST_FILES_ALLOW). */
#define DA_PATH_MAX		4096
#define DA_PATH_OK		0
#define DA_PATH_EMPTY		(-1)
#define DA_PATH_RELATIVE	(-2)
#define DA_PATH_DOTDOT		(-3)
#define DA_PATH_LONG		(-4)
#define DA_PATH_ROOT		(-5)
int	 dagent_path_clean(const char *, char *, size_t);
int	 dagent_path_allowed(const char *, const char *);

#endif
