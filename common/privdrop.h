/* privdrop.h: give up root after the privileged sockets are open. */
#ifndef STREAMDNS_PRIVDROP_H
#define STREAMDNS_PRIVDROP_H

#include <stddef.h>

/*
 * Switches the process to user's uid, gid and supplementary groups, for good (and checks
 * that root cannot be regained). Every thread must be started after this call or be one
 * that never touches files: set*id applies to all threads in glibc. 0, or -1 with err.
 */
int drop_privileges(const char *user, char *err, size_t errlen);

#endif
