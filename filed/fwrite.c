/*
 * fwrite.c: writing one file beneath a directory descriptor, and nothing
 * outside it (the host file writes of the dockeragent API).
 *
 * Every path is resolved by openat2 from the root's descriptor with
 * RESOLVE_BENEATH (no "..", no absolute symlink, no symlink whose target
 * leaves the root, checked by the kernel at each step) and
 * RESOLVE_NO_MAGICLINKS (no /proc/self/root and the like).  Missing
 * parent directories are made one at a time (0755), each resolved the
 * same way again after it was made, so a symlink swapped in meanwhile is
 * judged like any other.  The file is written to a new temporary name in
 * its directory (O_EXCL, 0600), given its mode (permission bits only),
 * synced, and renamed over the target, then the directory is synced:
 * a reader sees the old file or the new one, never half of it.  A target
 * that exists and is not a regular file (a directory, a FIFO, a device,
 * a symlink) is refused; a rename never follows a symlink, so one
 * swapped in at the last moment is replaced, not written through.
 */
#include "pwbuild.h"

#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "fwrite.h"
#include "util.h"

static const struct fw_how fw_default = { 0755, 0 };

/*
 * Without openat2 (a seccomp filter that answers ENOSYS: systemd's
 * RestrictSUIDSGID= does so for openat2, whose mode it cannot read), the
 * path is walked a component at a time from root, each opened with
 * O_NOFOLLOW from its parent's descriptor: no link is followed at all
 * (stricter than RESOLVE_BENEATH, the same as RESOLVE_NO_SYMLINKS), and
 * the paths here are clean (no "..", no "." but the whole), so nothing
 * above root can be named.
 */
static int
open_walk(int root, const char *path, int flags, mode_t mode)
{
	char	 buf[FW_PATH_MAX], *p, *slash;
	int	 dir = root, fd, e;

	if (strcmp(path, ".") == 0)
		return openat(root, ".", flags | O_CLOEXEC, mode);
	if (pw_strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf; (slash = strchr(p, '/')) != NULL; p = slash + 1) {
		*slash = '\0';
		fd = openat(dir, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		e = errno;
		if (dir != root)
			close(dir);
		if (fd == -1) {
			errno = e;
			return -1;
		}
		dir = fd;
	}
	fd = openat(dir, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	e = errno;
	if (dir != root)
		close(dir);
	errno = e;
	return fd;
}

static int
open_beneath(const struct fw_how *fh, int root, const char *path, int flags,
    mode_t mode)
{
	static int	no_openat2;
	struct open_how	how;
	int		fd;

	if (!no_openat2) {
		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)(flags | O_CLOEXEC);
		how.mode = (flags & O_CREAT) ? mode : 0;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
		if (fh->no_symlinks)
			how.resolve |= RESOLVE_NO_SYMLINKS;
		fd = (int)syscall(SYS_openat2, root, path, &how, sizeof(how));
		if (fd != -1 || errno != ENOSYS)
			return fd;
		no_openat2 = 1;
	}
	return open_walk(root, path, flags, (flags & O_CREAT) ? mode : 0);
}

static int
fail(char *err, size_t errsz, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errsz, int e, const char *fmt, ...)
{
	va_list	ap;
	size_t	n;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	if (e != 0) {
		n = strlen(err);
		snprintf(err + n, errsz - n, ": %s", e == EXDEV ?
		    "the path leaves the root" : e == ELOOP ?
		    "a symbolic link or magic link is in the way" : strerror(e));
	}
	errno = e;
	return -1;
}

/*
 * Is path a clean relative path: components that are neither empty nor
 * "." nor "..", no NUL?  The caller turned the client's absolute path
 * into this.
 */
int
fw_path_ok(const char *path)
{
	const char	*p = path, *slash;
	size_t		 n;

	if (*p == '\0' || *p == '/' || strlen(p) >= FW_PATH_MAX)
		return 0;
	for (;;) {
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (slash == NULL)
			return 1;
		p = slash + 1;
	}
}

/* The directory of path (made when missing), open for reading; -1. */
static int
parent_dir(const struct fw_how *fh, int root, const char *path, char *err,
    size_t errsz)
{
	char	 prefix[FW_PATH_MAX];
	char	*slash;
	int	 fd, pfd, e;

	pw_strlcpy(prefix, path, sizeof(prefix));
	if ((slash = strrchr(prefix, '/')) == NULL)
		return open_beneath(fh, root, ".", O_RDONLY | O_DIRECTORY, 0);
	*slash = '\0';
	if ((fd = open_beneath(fh, root, prefix, O_RDONLY | O_DIRECTORY, 0)) != -1)
		return fd;
	if (errno != ENOENT)
		return fail(err, errsz, errno, "opening directory %s", prefix);
	/* Make each missing component, from the top. */
	for (slash = prefix; ; ) {
		char *next = strchr(slash, '/');
		if (next != NULL)
			*next = '\0';
		fd = open_beneath(fh, root, prefix, O_RDONLY | O_DIRECTORY, 0);
		if (fd == -1 && errno == ENOENT) {
			char *last = strrchr(prefix, '/');
			pfd = last == NULL ? open_beneath(fh, root, ".", O_RDONLY |
			    O_DIRECTORY, 0) : (*last = '\0', open_beneath(fh, root,
			    prefix, O_RDONLY | O_DIRECTORY, 0));
			if (last != NULL)
				*last = '/';
			if (pfd == -1)
				return fail(err, errsz, errno, "opening the "
				    "parent of %s", prefix);
			if (mkdirat(pfd, last != NULL ? last + 1 : prefix,
			    fh->dirmode) == -1 && errno != EEXIST) {
				e = errno;
				close(pfd);
				return fail(err, errsz, e, "creating directory "
				    "%s", prefix);
			}
			close(pfd);
			/* Judged again: whatever stands there now. */
			fd = open_beneath(fh, root, prefix, O_RDONLY | O_DIRECTORY,
			    0);
		}
		if (fd == -1)
			return fail(err, errsz, errno, "opening directory %s",
			    prefix);
		if (next == NULL)
			return fd;
		close(fd);
		*next = '/';
		slash = next + 1;
	}
}

/*
 * Write len bytes of data to path beneath root, with the permission bits
 * of mode.  0, or -1 with the reason in err (and errno).
 */
int
fw_write(int root, const char *path, const void *data, size_t len,
    mode_t mode, char *err, size_t errsz)
{
	return fw_write_how(root, path, data, len, mode, &fw_default, err,
	    errsz);
}

/* The same, with the directories' mode and whether any link is refused. */
int
fw_write_how(int root, const char *path, const void *data, size_t len,
    mode_t mode, const struct fw_how *fh, char *err, size_t errsz)
{
	const char	*name;
	char		 tmp[64];
	struct stat	 st;
	int		 dir, fd = -1, e, i;
	size_t		 off;
	ssize_t		 n;
	uint32_t	 r;

	if (!fw_path_ok(path))
		return fail(err, errsz, EINVAL, "invalid path %s", path);
	if ((dir = parent_dir(fh, root, path, err, errsz)) == -1)
		return -1;
	name = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISREG(st.st_mode)) {
		close(dir);
		return fail(err, errsz, 0, "%s exists and is not a regular "
		    "file (%s)", path, S_ISDIR(st.st_mode) ? "a directory" :
		    S_ISLNK(st.st_mode) ? "a symlink" : S_ISFIFO(st.st_mode) ?
		    "a FIFO" : "a special file");
	}
	for (i = 0; i < 16 && fd == -1; i++) {
		pw_random_bytes(&r, sizeof(r));
		snprintf(tmp, sizeof(tmp), ".portwing-%08x.tmp", r);
		fd = open_beneath(fh, dir, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW, 0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		e = errno;
		close(dir);
		return fail(err, errsz, e, "creating a temporary file beside "
		    "%s", path);
	}
	for (off = 0; off < len; off += (size_t)n)
		if ((n = write(fd, (const char *)data + off, len - off)) <= 0) {
			e = n == 0 ? EIO : errno;
			goto bad;
		}
	if (fchmod(fd, mode & 0777) == -1 || fsync(fd) == -1) {
		e = errno;
		goto bad;
	}
	if (close(fd) == -1) {
		fd = -1;
		e = errno;
		goto bad;
	}
	fd = -1;
	if (renameat(dir, tmp, dir, name) == -1) {
		e = errno;
		goto bad;
	}
	(void)fsync(dir);
	close(dir);
	return 0;
bad:
	if (fd != -1)
		close(fd);
	(void)unlinkat(dir, tmp, 0);
	close(dir);
	return fail(err, errsz, e, "writing %s", path);
}

/*
 * The directory dir beneath root, made (with its parents) when missing,
 * opened read-only: the same resolution as a file's parents.  "." is the
 * root itself.
 */
int
fw_dir_how(int root, const char *dir, const struct fw_how *fh, char *err,
    size_t errsz)
{
	char	path[FW_PATH_MAX];

	if (strcmp(dir, ".") == 0)
		return open_beneath(fh, root, ".", O_RDONLY | O_DIRECTORY, 0);
	if (!fw_path_ok(dir) || snprintf(path, sizeof(path), "%s/x", dir) >=
	    (int)sizeof(path))
		return fail(err, errsz, EINVAL, "invalid directory %s", dir);
	return parent_dir(fh, root, path, err, errsz);
}
