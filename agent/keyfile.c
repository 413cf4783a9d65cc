/*
 * keyfile.c (master): the files behind key authentication.
 *
 *   keyfile_load    read authorized_keys (permission-checked on the open
 *                   descriptor), validate every line, hand the text on
 *   keyfile_append  add an enrolled key: the whole file is rewritten to a
 *                   temporary file in the same directory, fsynced, and
 *                   renamed over the old one, so a crash leaves either the
 *                   old or the new file, never half of one
 *   burn_*          the record of used enrollment tokens (SHA-256 hex per
 *                   line under STATE_DIR), so a restart keeps them used
 */
#include "pwbuild.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authd/authd.h"
#include "ipc_msg.h"
#include "keyfile.h"
#include "log.h"
#include "pwcrypto.h"
#include "util.h"

#define BURN_FILE	"enrollment-burned"

int
keyfile_load(const char *path, char **text, size_t *len, struct keyset *ks,
    char *err, size_t errsz)
{
	char	 perr[256], *buf;
	size_t	 n = 0;
	ssize_t	 r;
	int	 fd;

	*text = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errsz, "AUTHORIZED_KEYS %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (pwc_check_secret_file_mode(fd, path, perr, sizeof(perr)) == -1) {
		snprintf(err, errsz, "AUTHORIZED_KEYS %s", perr);
		close(fd);
		return -1;
	}
	buf = xmalloc(IPC_MAX_KEYS + 1);
	while (n <= IPC_MAX_KEYS &&
	    (r = read(fd, buf + n, IPC_MAX_KEYS + 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (n > IPC_MAX_KEYS) {
		snprintf(err, errsz, "AUTHORIZED_KEYS %s: larger than %d KiB",
		    path, IPC_MAX_KEYS / 1024);
		free(buf);
		return -1;
	}
	buf[n] = '\0';
	if (keys_parse(buf, n, ks, perr, sizeof(perr)) == -1) {
		snprintf(err, errsz, "AUTHORIZED_KEYS %s: %s", path, perr);
		free(buf);
		return -1;
	}
	*text = buf;
	*len = n;
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	char	*copy = xstrdup(path);
	int	 fd, rv = -1;

	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
	    -1) {
		rv = fsync(fd);
		close(fd);
	}
	free(copy);
	return rv;
}

/*
 * Rewrite path as old + line atomically.  The file keeps its owner and
 * mode (0600 when it is created).  Returns 0 or an errno.
 */
int
keyfile_append(const char *path, const char *line)
{
	struct stat	 st;
	char		 tmp[4200], *old = NULL, err[64];
	ssize_t		 n = 0;
	int		 fd, e, exists;

	exists = stat(path, &st) == 0;
	if (exists && (n = pw_read_file(path, &old, IPC_MAX_KEYS, err,
	    sizeof(err))) == -1)
		return EIO;
	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >=
	    (int)sizeof(tmp)) {
		free(old);
		return ENAMETOOLONG;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		e = errno;
		free(old);
		return e;
	}
	if ((n > 0 && write_all(fd, old, (size_t)n) == -1) ||
	    (n > 0 && old[n - 1] != '\n' && write_all(fd, "\n", 1) == -1) ||
	    write_all(fd, line, strlen(line)) == -1 ||
	    write_all(fd, "\n", 1) == -1 ||
	    fchmod(fd, exists ? (st.st_mode & 07777) : 0600) == -1 ||
	    (exists && fchown(fd, st.st_uid, st.st_gid) == -1) ||
	    fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlink(tmp);
		free(old);
		return e;
	}
	free(old);
	close(fd);
	if (rename(tmp, path) == -1) {
		e = errno;
		unlink(tmp);
		return e;
	}
	(void)fsync_dir(path);
	return 0;
}

static void
burn_path(const char *dir, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", dir, BURN_FILE);
}

/* Was this enrollment token used before (by any earlier run)? */
int
burn_check(const char *dir, const char *token)
{
	FILE	*fp;
	char	 path[1200], line[128], hex[65];
	int	 found = 0;

	pwc_sha256_hex(token, strlen(token), hex);
	burn_path(dir, path, sizeof(path));
	if ((fp = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, hex, 64) == 0)
			found = 1;
	fclose(fp);
	return found;
}

/* Record the token's digest, durably.  Returns 0 or an errno. */
int
burn_record(const char *dir, const char *token)
{
	char	path[1200], hex[66];
	int	fd, e;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return errno;
	burn_path(dir, path, sizeof(path));
	pwc_sha256_hex(token, strlen(token), hex);
	hex[64] = '\n';
	hex[65] = '\0';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		return errno;
	if (write_all(fd, hex, 65) == -1 || fsync(fd) == -1) {
		e = errno;
		close(fd);
		return e;
	}
	close(fd);
	(void)fsync_dir(path);
	return 0;
}
