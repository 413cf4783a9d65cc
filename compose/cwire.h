/*
 * cwire.h: POST /_portwing/compose's request, checked, and what running
 * it takes (compose/cwire.c): no I/O, so the same code serves the runner
 * and the tests.
 */
#ifndef PW_CWIRE_H
#define PW_CWIRE_H

#include <stddef.h>
#include <stdint.h>

#define COMPOSE_BODY_MAX	(32 * 1024 * 1024)
#define COMPOSE_ENV_FILE	".env.drydock"
#define COMPOSE_TIMEOUT_MAX	86400	/* seconds a request may ask for */

struct compose_file {
	char		*path;		/* as sent; compose_validate cleans it,
					   relative to the stack dir */
	uint8_t		*data;		/* decoded ("base64:" content), with a
					   NUL after len bytes */
	size_t		 len;
};

struct compose_env {
	char		*key;
	char		*value;
	size_t		 vlen;		/* a NUL in it is refused only by
					   compose_validate, with Portwing's
					   words */
};

struct compose_req {
	char		*operation;	/* as sent; "" when absent */
	char		*stack_name;	/* "" when absent */
	char		*stack_dir;	/* cleaned, relative to STACKS_DIR:
					   "." or "a/b" (from stackDir, else
					   stackName); set by compose_validate */
	char		**services;
	size_t		 nservices;
	int		 build, force_recreate, no_deps, remove_volumes;
	long long	 tail;
	int		 timeout;	/* seconds asked for, 0: the default */
	int		 has_files;	/* "files" present, even {} */
	struct compose_file *files;
	size_t		 nfiles;
	struct compose_env *env;
	size_t		 nenv;
	int		 has_auth;	/* "registryAuth" present */
	char		*auth_server;
	char		*auth_username;
	char		*auth_password;
};

/*
 * 0, or -1: HTTP 400 with "invalid request: <err>".  envVars and files
 * come out sorted by key.  On -1 nothing is left to free.
 */
int	 compose_parse(const char *, size_t, struct compose_req *, char *,
	    size_t);
/*
 * The reference's checks 1-6 in order, then a files key that names no
 * file (its write step's refusal); -1 with Portwing's message in err.
 * Sets stack_dir and cleans the files' paths.
 */
int	 compose_validate(struct compose_req *, char *, size_t);
int	 compose_op_known(const char *);
/* Portwing's words for an operation compose_op_known refused. */
void	 compose_op_unsupported(const char *, char *, size_t);
/* .env.drydock's text: KEY=VALUE lines, sorted by key; its length. */
char	*compose_env_text(const struct compose_req *, size_t *);
/*
 * The argument vector: the compose command (bin: "docker-compose", or
 * "docker" "compose"), --project-directory DIR [--env-file FILE], then
 * the operation's own.  NULL-terminated, malloc'd; NULL for an unknown
 * operation.
 */
char	**compose_argv(const struct compose_req *, const char *const *, size_t,
	    const char *, const char *);
void	 compose_argv_free(char **);
void	 compose_req_free(struct compose_req *);

#endif
