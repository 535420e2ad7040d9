/* fuzz_zonefile.c: libFuzzer target: any file content through the master-file reader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
ignore(void *arg, const char *file, uint64_t line, const char *reason)
{
	(void)arg, (void)file, (void)line, (void)reason;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz-zone-XXXXXX";
	int fd = mkstemp(path);
	struct zonefile *zf;
	size_t errors = 0;

	if (fd < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	/* With and without an origin: relative names take different paths. */
	zf = zonefile_load(path, "example.", ignore, NULL, &errors);
	if (zf != NULL && errors != 0)
		abort();	/* a zonefile is returned only when nothing was reported */
	zonefile_free(zf);
	zonefile_free(zonefile_load(path, NULL, ignore, NULL, NULL));
	unlink(path);
	return 0;
}
