/* fuzz_conf.c: libFuzzer target: any file content through authd's config loader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "authd/authd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz-conf-XXXXXX";
	int fd = mkstemp(path);
	struct authd_conf c;
	FILE *devnull = fopen("/dev/null", "w");

	if (fd < 0 || devnull == NULL)
		abort();
	if (write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	authd_conf_load(&c, path, devnull);
	authd_conf_free(&c);
	unlink(path);
	fclose(devnull);
	return 0;
}
