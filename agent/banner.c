/*
 * banner.c: the start-up banner.  On a terminal the master greets the
 * operator with the logo and one line naming version, mode and adapter,
 * centred to the terminal's width; anywhere else (systemd, a pipe, a
 * file) the same facts go into one ordinary log line instead, so logs
 * stay one event per line.  NO_COLOR drops the colour escapes.
 */
#include "pwbuild.h"

#include <sys/ioctl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banner.h"
#include "log.h"
#include "util.h"

static const char *const logo[] = {
	"                 __",
	"     ___________/  \\",
	"    /__  ___  _/ \\  \\",
	"      /_/  /_/  \\__\\  \\",
	"   p o r t w i n g  \\__\\",
};

void
banner(const char *mode, const char *adapter, int workers,
    const char *docker)
{
	struct winsize	 ws;
	const char	*nc = getenv("NO_COLOR");
	int		 color = nc == NULL || *nc == '\0';
	int		 width = 80, pad, i;
	char		 line[256];

	if (!isatty(STDERR_FILENO)) {
		log_info("portwingd %s starting: %s mode, %s adapter, %d "
		    "worker(s), docker %s", PW_VERSION_STRING, mode, adapter,
		    workers, docker);
		return;
	}
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		width = ws.ws_col;
	fputc('\n', stderr);
	for (i = 0; i < (int)(sizeof(logo) / sizeof(logo[0])); i++) {
		pad = (width - 26) / 2;
		fprintf(stderr, "%*s%s%s%s\n", pad > 0 ? pad : 0, "",
		    color ? "\033[36m" : "", logo[i], color ? "\033[0m" : "");
	}
	snprintf(line, sizeof(line), "portwing %s  \xc2\xb7  %s mode  \xc2\xb7  "
	    "%s adapter", PW_VERSION_STRING, mode, adapter);
	pad = (width - (int)strlen(line) + 4) / 2;
	fprintf(stderr, "\n%*s%s%s%s\n\n", pad > 2 ? pad : 2, "",
	    color ? "\033[1m" : "", line, color ? "\033[0m" : "");
	fflush(stderr);
}
