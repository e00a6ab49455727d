/*
 * netipc version: the single source of truth. CMake reads the three
 * numbers below for the project version, the shared library's version and
 * the pkg-config file; code compiled against these headers sees the macros,
 * and nipc_version() tells which library it actually runs with.
 */
#ifndef NETIPC_VERSION_H
#define NETIPC_VERSION_H

#include "netipc/export.h"

#define NIPC_VERSION_MAJOR 0
#define NIPC_VERSION_MINOR 2
#define NIPC_VERSION_PATCH 0

#define NIPC__STR(x) #x
#define NIPC__XSTR(x) NIPC__STR(x)
/* "MAJOR.MINOR.PATCH" */
#define NIPC_VERSION_STRING                                                                      \
    NIPC__XSTR(NIPC_VERSION_MAJOR) "." NIPC__XSTR(NIPC_VERSION_MINOR) "." NIPC__XSTR(NIPC_VERSION_PATCH)
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define NIPC_VERSION_NUMBER                                                                      \
    (NIPC_VERSION_MAJOR * 10000 + NIPC_VERSION_MINOR * 100 + NIPC_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the library this program runs with ("0.2.0"); static
 * storage. May differ from NIPC_VERSION_STRING (the headers it was built
 * against) when the shared library was updated. */
NIPC_API const char *nipc_version(void);

#ifdef __cplusplus
}
#endif

#endif
