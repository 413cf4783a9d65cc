/*
 * fwrite.h: one file written beneath a directory descriptor and nowhere
 * else (filed/fwrite.c).
 */
#ifndef PW_FWRITE_H
#define PW_FWRITE_H

#include <sys/types.h>

#include <stddef.h>

#define FW_PATH_MAX	4096

struct fw_how {
	mode_t	dirmode;	/* of the directories made (0755) */
	int	no_symlinks;	/* refuse every link, not only those leaving */
};

int	fw_path_ok(const char *);
int	fw_write_how(int, const char *, const void *, size_t, mode_t,
	    const struct fw_how *, char *, size_t);
int	fw_dir_how(int, const char *, const struct fw_how *, char *, size_t);
int	fw_write(int, const char *, const void *, size_t, mode_t, char *,
	    size_t);

#endif
