/*
 * test_fwrite.c: filed/fwrite.c on a real file system.  A root with a
 * sibling "outside" directory, and a corpus of paths and planted links
 * that try to leave it: ".." in every position, absolute and relative
 * symlinks out, a symlink to /proc/self/root, a FIFO, a directory and a
 * symlink as the target, and a symlink swapped in while writes run.
 * Nothing may ever appear outside the root.
 */
#include "pwbuild.h"

#include <sys/prctl.h>
#include <sys/stat.h>

#include <check.h>
#include <seccomp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fwrite.h"

static char	base[256], root[300], outside[300];
static int	rootfd;
static int	walk_mode;	/* openat2 answers ENOSYS (setup_walk) */

static void
setup(void)
{
	char	p[400];

	snprintf(base, sizeof(base), "/tmp/pw-fwrite.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	ck_assert_int_eq(mkdir(root, 0755), 0);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	snprintf(p, sizeof(p), "%s/secret", outside);
	close(open(p, O_WRONLY | O_CREAT, 0600));
	rootfd = open(root, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(rootfd, 0);
}

static void
teardown(void)
{
	char	cmd[400];

	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", base);
}

/* Entries of outside: only "secret", still empty. */
static int
outside_clean(void)
{
	DIR		*d = opendir(outside);
	struct dirent	*e;
	struct stat	 st;
	char		 p[400];
	int		 n = 0;

	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	snprintf(p, sizeof(p), "%s/secret", outside);
	return n == 1 && stat(p, &st) == 0 && st.st_size == 0;
}

static int
w(const char *path, const char *text, mode_t mode)
{
	char	err[512];

	return fw_write(rootfd, path, text, strlen(text), mode, err,
	    sizeof(err));
}

static void
in_root(const char *rel, char *out, size_t sz)
{
	snprintf(out, sz, "%s/%s", root, rel);
}

START_TEST(test_writes)
{
	char		p[400], buf[64];
	struct stat	st;
	int		fd;
	ino_t		ino;

	ck_assert_int_eq(w("etc/nginx/nginx.conf", "server {}\n", 0640), 0);
	in_root("etc/nginx/nginx.conf", p, sizeof(p));
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(st.st_size, 10);
	in_root("etc/nginx", p, sizeof(p));
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0755);
	/* Set-id and sticky bits are never applied. */
	ck_assert_int_eq(w("x.sh", "#!/bin/sh\n", 07755), 0);
	in_root("x.sh", p, sizeof(p));
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0755);
	/* Replaced whole: a new inode with the new content. */
	ino = st.st_ino;
	ck_assert_int_eq(w("x.sh", "new", 0644), 0);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(st.st_ino != ino);
	fd = open(p, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 3);
	close(fd);
	/* An empty file, and no temporary file left behind. */
	ck_assert_int_eq(w("empty", "", 0600), 0);
	{
		DIR *d = opendir(root);
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			ck_assert_msg(strncmp(e->d_name, ".portwing-", 10) != 0,
			    "temporary file %s left", e->d_name);
		closedir(d);
	}
	/* A symlink that stays inside is followed (refused by the walk). */
	in_root("etc/link", p, sizeof(p));
	ck_assert_int_eq(symlink("nginx", p), 0);
	ck_assert_int_eq(w("etc/link/other.conf", "x", 0644),
	    walk_mode ? -1 : 0);
	in_root("etc/nginx/other.conf", p, sizeof(p));
	ck_assert_int_eq(access(p, F_OK), walk_mode ? -1 : 0);
	ck_assert(outside_clean());
}
END_TEST

START_TEST(test_escapes)
{
	static const char *const bad_paths[] = {
		"../outside/x", "a/../../outside/x", "a/..", "..", ".",
		"./x", "a/./x", "/abs", "a//b", "a/", "", "a/b/../../..",
	};
	char	 p[400];
	size_t	 i;
	int	 fifo;

	for (i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		ck_assert_msg(!fw_path_ok(bad_paths[i]), "%s accepted",
		    bad_paths[i]);
		ck_assert_int_eq(w(bad_paths[i], "pwned", 0644), -1);
	}
	/* Symlinks out: relative, absolute, to the proc magic link. */
	in_root("rel", p, sizeof(p));
	ck_assert_int_eq(symlink("../outside", p), 0);
	in_root("abs", p, sizeof(p));
	ck_assert_int_eq(symlink(outside, p), 0);
	in_root("proc", p, sizeof(p));
	ck_assert_int_eq(symlink("/proc/self/root", p), 0);
	in_root("procfd", p, sizeof(p));
	ck_assert_int_eq(symlink("/proc/self/cwd", p), 0);
	ck_assert_int_eq(w("rel/x", "pwned", 0644), -1);
	ck_assert_int_eq(w("rel/sub/x", "pwned", 0644), -1);
	ck_assert_int_eq(w("abs/x", "pwned", 0644), -1);
	ck_assert_int_eq(w("proc/tmp/x", "pwned", 0644), -1);
	ck_assert_int_eq(w("procfd/x", "pwned", 0644), -1);
	/* A symlink as the file itself, pointing out: not written through. */
	snprintf(p, sizeof(p), "%s/secret", outside);
	{
		char l[400];
		in_root("leaf", l, sizeof(l));
		ck_assert_int_eq(symlink(p, l), 0);
	}
	ck_assert_int_eq(w("leaf", "pwned", 0644), -1);
	/* Non-regular targets: a FIFO (a write would block), a directory. */
	in_root("fifo", p, sizeof(p));
	ck_assert_int_eq(mkfifo(p, 0644), 0);
	ck_assert_int_eq(w("fifo", "x", 0644), -1);
	fifo = open(p, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(fifo, 0);
	close(fifo);
	in_root("adir", p, sizeof(p));
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ck_assert_int_eq(w("adir", "x", 0644), -1);
	/* A file where a directory is wanted. */
	ck_assert_int_eq(w("plain", "x", 0644), 0);
	ck_assert_int_eq(w("plain/x", "x", 0644), -1);
	ck_assert(outside_clean());
}
END_TEST

/* Swaps root/race between a directory and a symlink out, as fast as it can. */
static volatile int	stop;

static void *
swapper(void *arg)
{
	char	d[400], l[400], t[400];

	in_root("race", d, sizeof(d));
	in_root("race.link", l, sizeof(l));
	in_root("race.dir", t, sizeof(t));
	(void)mkdir(t, 0755);
	if (symlink(outside, l) == -1 && errno != EEXIST)
		return NULL;
	while (!stop) {
		/* The name "race" is a directory, then a symlink out. */
		(void)rename(t, d);
		(void)rename(d, t);
		(void)rename(l, d);
		(void)rename(d, l);
	}
	return arg;
}

START_TEST(test_race)
{
	pthread_t	th;
	int		i, ok = 0;

	stop = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, swapper, NULL), 0);
	for (i = 0; i < 3000; i++) {
		if (w("race/f", "pwned", 0644) == 0)
			ok++;
		if (w("race/deeper/f", "pwned", 0644) == 0)
			ok++;
	}
	stop = 1;
	pthread_join(th, NULL);
	/* Some writes land (in the root's directory); none outside. */
	ck_assert(outside_clean());
	(void)ok;
}
END_TEST

/*
 * A link inside the root to a directory inside it: RESOLVE_BENEATH
 * follows it; the component walk (no openat2) and no_symlinks do not.
 */

START_TEST(test_inside_link)
{
	static const struct fw_how strict = { 0750, 1 };
	char	p[400], err[256];

	in_root("sub", p, sizeof(p));
	ck_assert_int_eq(mkdir(p, 0755), 0);
	in_root("in", p, sizeof(p));
	ck_assert_int_eq(symlink("sub", p), 0);
	ck_assert_int_eq(w("in/x", "x", 0644), walk_mode ? -1 : 0);
	ck_assert_int_eq(fw_write_how(rootfd, "in/y", "y", 1, 0600, &strict,
	    err, sizeof(err)), -1);
	ck_assert_int_eq(fw_write_how(rootfd, "sub/z", "z", 1, 0600, &strict,
	    err, sizeof(err)), 0);
	ck_assert(outside_clean());
}
END_TEST

/*
 * The same cases where openat2 answers ENOSYS, as under systemd's
 * RestrictSUIDSGID=: fwrite.c walks the path a component at a time.
 * (check runs each test, fixture included, in a child of its own.)
 */
static void
setup_walk(void)
{
	scmp_filter_ctx	ctx;

	setup();
	walk_mode = 1;
	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_ptr_nonnull(ctx = seccomp_init(SCMP_ACT_ALLOW));
	ck_assert_int_eq(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(openat2), 0), 0);
	ck_assert_int_eq(seccomp_load(ctx), 0);
	seccomp_release(ctx);
}

int
main(void)
{
	Suite	*s = suite_create("fwrite");
	TCase	*tc = tcase_create("fwrite");
	SRunner	*sr;
	int	 nf;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_writes);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_inside_link);
	suite_add_tcase(s, tc);
	tc = tcase_create("walk");
	tcase_add_checked_fixture(tc, setup_walk, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_writes);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_race);
	tcase_add_test(tc, test_inside_link);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
