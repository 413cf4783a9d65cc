/*
 * cli_keys.c: portwing's key and token subcommands, run by an operator on
 * the command line (never by the daemon):
 *
 *   portwing hash-token                  Argon2id PHC string for TOKEN_HASH
 *   portwing keygen [-comment T] [-out F]
 *   portwing keygen -pub-from F [-comment T]
 *
 * It also holds what the other client subcommands share: Go-style option
 * parsing (reference http-and-auth.md 1.1: "-x" and "--x" are the same)
 * and the version-2 request signer (6.5).  Every format comes from
 * pwcrypto.c; nothing here encodes or hashes by hand.
 */
#include "pwbuild.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "pwcrypto.h"
#include "util.h"

/* Go's bufio.Scanner gives up on longer lines, and so do we. */
#define TOKEN_LINE_MAX	(64 * 1024)

/* ---- messages and options ---- */

/* "portwing: <message>" on stderr, in one write so children never mix. */
void
cli_errx(const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;
	int	n;

	n = snprintf(buf, sizeof(buf), "portwing: ");
	va_start(ap, fmt);
	(void)vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	pw_strlcat(buf, "\n", sizeof(buf));
	(void)!write(STDERR_FILENO, buf, strlen(buf));
}

static const struct cli_opt *
opt_find(const struct cli_opt *opts, const char *name, size_t len)
{
	for (; opts->name != NULL; opts++)
		if (strlen(opts->name) == len &&
		    strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

static int
opt_store(const char *cmd, const struct cli_opt *o, const char *val)
{
	struct cli_list	*l;
	int		 b;

	switch (o->kind) {
	case CLI_OPT_BOOL:
		if (val != NULL && pw_parse_bool(val, &b) == -1) {
			cli_errx("%s: -%s takes no value (or =true/=false)",
			    cmd, o->name);
			return -1;
		}
		*(int *)o->dst = val == NULL ? 1 : b;
		break;
	case CLI_OPT_STR:
		*(const char **)o->dst = val;
		break;
	case CLI_OPT_LIST:
		l = o->dst;
		l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
		l->v[l->n++] = val;
		break;
	}
	return 0;
}

/*
 * Parse flags from argv[1] on, stopping at the first word that is not a
 * flag, at a lone "-" (it names stdin) or after "--".  *next gets the index
 * of the first operand.  Returns 0, 1 for -h/-help, -1 after an error
 * message.
 */
int
cli_parse_opts(const char *cmd, int argc, char **argv,
    const struct cli_opt *opts, int *next)
{
	const struct cli_opt	*o;
	const char		*name, *eq, *val;
	size_t			 len;
	int			 i;

	*next = argc;
	for (i = 1; i < argc; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			break;
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		name = argv[i] + (argv[i][1] == '-' ? 2 : 1);
		eq = strchr(name, '=');
		len = eq != NULL ? (size_t)(eq - name) : strlen(name);
		if (len == 0 || name[0] == '-') {
			cli_errx("%s: bad option syntax: %s", cmd, argv[i]);
			return -1;
		}
		if ((len == 1 && name[0] == 'h') ||
		    (len == 4 && strncmp(name, "help", 4) == 0))
			return 1;
		if ((o = opt_find(opts, name, len)) == NULL) {
			cli_errx("%s: unknown option -%.*s", cmd, (int)len,
			    name);
			return -1;
		}
		val = eq != NULL ? eq + 1 : NULL;
		if (val == NULL && o->kind != CLI_OPT_BOOL) {
			if (i + 1 >= argc) {
				cli_errx("%s: option -%s needs a value", cmd,
				    o->name);
				return -1;
			}
			val = argv[++i];
		}
		if (opt_store(cmd, o, val) == -1)
			return -1;
	}
	*next = i;
	return 0;
}

void
cli_list_free(struct cli_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- signing ---- */

EVP_PKEY *
cli_load_key(const char *path)
{
	EVP_PKEY	*pk;
	char		 err[512];

	if (pwc_load_private_file(path, &pk, err, sizeof(err)) == -1) {
		cli_errx("%s", err);
		return NULL;
	}
	return pk;
}

/*
 * Sign METHOD, TARGET and the body hash at a given time with a given
 * nonce.  Split from cli_sign so fixed inputs reproduce the reference
 * vectors.
 */
int
cli_sign_at(EVP_PKEY *pk, const char *method, const char *target,
    const char *bodyhex, time_t ts, const char *nonce, struct cli_sig *out)
{
	uint8_t	 pub[32], sig[64];
	char	*canon;
	int	 rc;

	if (pwc_raw_public(pk, pub) == -1)
		return -1;
	pwc_key_id(pub, out->keyid);
	snprintf(out->ts, sizeof(out->ts), "%lld", (long long)ts);
	pw_strlcpy(out->nonce, nonce, sizeof(out->nonce));
	canon = pwc_canonical(method, target, bodyhex, out->ts, out->nonce);
	rc = pwc_sign(pk, canon, strlen(canon), sig);
	free(canon);
	if (rc == -1 || pwc_b64url_encode_nopad(sig, sizeof(sig), out->sig,
	    sizeof(out->sig)) == -1)
		return -1;
	return 0;
}

/* A fresh signature: now, and 16 random bytes of nonce in lower-case hex. */
int
cli_sign(EVP_PKEY *pk, const char *method, const char *target,
    const char *bodyhex, struct cli_sig *out)
{
	uint8_t	raw[PWC_NONCE_LEN / 2];
	char	nonce[PWC_NONCE_LEN + 1];

	pw_random_bytes(raw, sizeof(raw));
	pw_hex_encode(raw, sizeof(raw), nonce, sizeof(nonce));
	return cli_sign_at(pk, method, target, bodyhex, time(NULL), nonce,
	    out);
}

/* ---- hash-token ---- */

static struct termios	tty_saved;
static volatile sig_atomic_t tty_changed;

/* Give the terminal its echo back if we are killed while it is off. */
static void
tty_restore_signal(int sig)
{
	if (tty_changed)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
tty_echo_off(void)
{
	struct termios	t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &tty_saved) == -1)
		return;
	signal(SIGINT, tty_restore_signal);
	signal(SIGTERM, tty_restore_signal);
	signal(SIGHUP, tty_restore_signal);
	t = tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
		tty_changed = 1;
}

static void
tty_echo_restore(void)
{
	if (!tty_changed)
		return;
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &tty_saved);
	tty_changed = 0;
	(void)!write(STDERR_FILENO, "\n", 1);
}

/*
 * Read one line from stdin a byte at a time, so the token never sits in a
 * stdio buffer we cannot wipe and nothing after the line is consumed.
 * Returns the length, -1 on EOF before any byte, -2 on error.
 */
static ssize_t
read_line(char *buf, size_t bufsz)
{
	size_t	n = 0;
	ssize_t	r;
	char	c;

	for (;;) {
		r = read(STDIN_FILENO, &c, 1);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			cli_errx("reading stdin: %s", strerror(errno));
			return -2;
		}
		if (r == 0)
			return n == 0 ? -1 : (ssize_t)n;
		if (c == '\n')
			return (ssize_t)n;
		if (n + 1 >= bufsz) {
			cli_errx("token too long (over %zu bytes)", bufsz - 1);
			return -2;
		}
		buf[n++] = c;
		buf[n] = '\0';
	}
}

static void
usage_hash_token(void)
{
	fprintf(stderr, "usage: portwing hash-token\n"
	    "  reads the token from the first line of stdin; prints the "
	    "TOKEN_HASH value\n");
}

int
cli_hash_token(int argc, char **argv)
{
	static const struct cli_opt none[] = { { NULL, CLI_OPT_BOOL, NULL } };
	char	*buf, *tok, *phc;
	ssize_t	 n;
	int	 next, rc = 1;

	if (cli_parse_opts("hash-token", argc, argv, none, &next) != 0 ||
	    next != argc) {
		usage_hash_token();
		return 1;
	}
	buf = xcalloc(1, TOKEN_LINE_MAX + 1);
	fputs("Enter token: ", stderr);
	fflush(stderr);
	tty_echo_off();
	n = read_line(buf, TOKEN_LINE_MAX + 1);
	tty_echo_restore();
	if (n == -1)
		cli_errx("no input provided");
	if (n < 0)
		goto out;
	tok = pw_trim(buf);
	if (*tok == '\0') {
		cli_errx("token must not be empty");
		goto out;
	}
	if ((phc = pwc_phc_hash(tok, strlen(tok))) == NULL) {
		cli_errx("Argon2id hashing failed");
		goto out;
	}
	printf("%s\n", phc);
	free(phc);
	rc = fflush(stdout) == 0 ? 0 : 1;
 out:
	freezero(buf, TOKEN_LINE_MAX + 1);
	return rc;
}

/* ---- keygen ---- */

static void
usage_keygen(void)
{
	fprintf(stderr,
	    "usage: portwing keygen [-comment text] [-out file]\n"
	    "       portwing keygen -pub-from file [-comment text]\n");
}

/*
 * A comment ends the authorized_keys line; a newline in it would add a
 * line of the caller's choosing to the file it is pasted into.
 */
static int
comment_ok(const char *c)
{
	for (; c != NULL && *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return 0;
	return 1;
}

static int
key_id_of(EVP_PKEY *pk, char id[PWC_KEYID_LEN + 1])
{
	uint8_t	pub[32];

	if (pwc_raw_public(pk, pub) == -1)
		return -1;
	pwc_key_id(pub, id);
	return 0;
}

/* Create path 0600, refusing to replace anything already there. */
static int
write_new_file(const char *path, const char *data, size_t len)
{
	size_t	off = 0;
	ssize_t	n;
	int	fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		if (errno == EEXIST)
			cli_errx("keygen: %s: file exists; refusing to "
			    "overwrite it", path);
		else
			cli_errx("keygen: %s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600) == -1)
		goto fail;
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlink(path);
	cli_errx("keygen: %s: %s", path, strerror(saved));
	return -1;
}

static int
keygen_pub_from(const char *path, const char *comment)
{
	EVP_PKEY	*pk;
	char		*line, id[PWC_KEYID_LEN + 1];
	char		 err[512];

	if (pwc_load_private_file(path, &pk, err, sizeof(err)) == -1) {
		cli_errx("keygen: %s", err);
		return 1;
	}
	if (key_id_of(pk, id) == -1 ||
	    (line = pwc_authorized_line(pk, comment)) == NULL) {
		EVP_PKEY_free(pk);
		cli_errx("keygen: %s: cannot derive the public key", path);
		return 1;
	}
	EVP_PKEY_free(pk);
	fprintf(stderr, "# key ID: %s; add this line to AUTHORIZED_KEYS:\n",
	    id);
	printf("%s\n", line);
	free(line);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
keygen_new(const char *out, const char *comment)
{
	EVP_PKEY	*pk;
	char		*pem = NULL, *line = NULL, id[PWC_KEYID_LEN + 1];
	int		 rc = 1;

	fprintf(stderr, "Generating an Ed25519 key pair...\n");
	if ((pk = pwc_keygen()) == NULL || key_id_of(pk, id) == -1 ||
	    (pem = pwc_private_pem(pk)) == NULL ||
	    (line = pwc_authorized_line(pk, comment)) == NULL) {
		cli_errx("keygen: key generation failed");
		goto out;
	}
	if (out != NULL) {
		if (write_new_file(out, pem, strlen(pem)) == -1)
			goto out;
		fprintf(stderr, "# private key written to %s (mode 0600); "
		    "use it with portwing -k %s\n", out, out);
	} else {
		/* Captions go between the parts: stdout and stderr may be
		 * one terminal, and '#' lines are inert in both formats. */
		fprintf(stderr, "# private key (PKCS#8 PEM): keep it secret, "
		    "store it with mode 0600\n");
		fputs(pem, stdout);
		fflush(stdout);
	}
	fprintf(stderr, "# key ID: %s\n", id);
	fprintf(stderr, "# public key: add this line to the agent's "
	    "AUTHORIZED_KEYS file\n");
	printf("%s\n", line);
	rc = fflush(stdout) == 0 ? 0 : 1;
 out:
	freezero_str(pem);
	free(line);
	EVP_PKEY_free(pk);
	return rc;
}

int
cli_keygen(int argc, char **argv)
{
	const char	*comment = NULL, *out = NULL, *pubfrom = NULL;
	struct cli_opt	 opts[] = {
		{ "comment", CLI_OPT_STR, &comment },
		{ "out", CLI_OPT_STR, &out },
		{ "pub-from", CLI_OPT_STR, &pubfrom },
		{ NULL, CLI_OPT_BOOL, NULL },
	};
	int		 next = argc;

	if (cli_parse_opts("keygen", argc, argv, opts, &next) != 0 ||
	    next != argc) {
		if (next < argc)
			cli_errx("keygen: unexpected argument \"%s\"",
			    argv[next]);
		usage_keygen();
		return 1;
	}
	if (!comment_ok(comment)) {
		cli_errx("keygen: the comment must be printable text on one "
		    "line");
		return 1;
	}
	if (pubfrom != NULL && out != NULL) {
		cli_errx("keygen: -out cannot be combined with -pub-from");
		return 1;
	}
	if ((pubfrom != NULL && *pubfrom == '\0') ||
	    (out != NULL && *out == '\0')) {
		cli_errx("keygen: empty file name");
		return 1;
	}
	if (pubfrom != NULL)
		return keygen_pub_from(pubfrom, comment);
	return keygen_new(out, comment);
}
