/*
 * cli.h: the client-side subcommands of the portwing tool (keygen,
 * hash-token, request, connect) and the pieces they share: Go-style flag
 * parsing, URL splitting and the version-2 request signer.
 */
#ifndef PW_CLI_H
#define PW_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "pwcrypto.h"

/* cli_keys.c */

/*
 * One option of a subcommand.  Names are written without dashes; on the
 * command line "-name" and "--name" are the same, and a value may follow
 * as the next word or after '=' ("-comment=x"), as with Go's flag package.
 */
enum cli_opt_kind {
	CLI_OPT_BOOL,		/* int *: set to 1 */
	CLI_OPT_STR,		/* const char **: last one wins */
	CLI_OPT_LIST,		/* struct cli_list *: every occurrence */
};

struct cli_list {
	const char	**v;
	size_t		  n;
};

struct cli_opt {
	const char		*name;
	enum cli_opt_kind	 kind;
	void			*dst;
};

int	 cli_parse_opts(const char *, int, char **, const struct cli_opt *,
	    int *);
void	 cli_list_free(struct cli_list *);
void	 cli_errx(const char *, ...)
	    __attribute__((__format__(printf, 1, 2)));

/* The five headers of a version-2 signature, ready to send. */
struct cli_sig {
	char	keyid[PWC_KEYID_LEN + 1];
	char	ts[24];
	char	nonce[PWC_NONCE_LEN + 1];
	char	sig[4 * ((64 + 2) / 3) + 1];	/* room for the padded form */
};

EVP_PKEY *cli_load_key(const char *);
int	 cli_sign_at(EVP_PKEY *, const char *, const char *, const char *,
	    time_t, const char *, struct cli_sig *);
int	 cli_sign(EVP_PKEY *, const char *, const char *, const char *,
	    struct cli_sig *);

int	 cli_hash_token(int, char **);
int	 cli_keygen(int, char **);

/* cli_request.c */

/* An http(s) URL split into what a connection and a request line need. */
struct cli_url {
	int	 tls;
	char	*host;		/* without IPv6 brackets */
	char	*port;		/* decimal, defaulted from the scheme */
	char	*authority;	/* host[:port] as written: the Host header */
	char	*origin;	/* scheme://authority/ */
	char	*target;	/* escaped path [? raw query], never empty */
};

int	 cli_url_parse(const char *, struct cli_url *, char *, size_t);
void	 cli_url_free(struct cli_url *);
int	 cli_request(int, char **);

/* cli_connect.c */
int	 cli_connect(int, char **);

/* cli_audit.c */
int	 cli_audit_verify(int, char **);

/* cli_policy.c */
int	 cli_policy(int, char **);

#endif
