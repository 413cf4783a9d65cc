/*
 * fwrite.h: one file written beneath a directory descriptor and nowhere
 * else (filed/fwrite.c).
 */
#ifndef PW_FWRITE_H
#define PW_FWRITE_H

#include <sys/types.h>

#include <stddef.h>

#define FW_PATH_MAX	4096

int	fw_path_ok(const char *);
int	fw_write(int, const char *, const void *, size_t, mode_t, char *,
	    size_t);

#endif
