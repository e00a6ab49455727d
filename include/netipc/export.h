/*
 * Symbol export macro for the public API.
 *
 * The shared library is built with hidden visibility; only NIPC_API symbols
 * are exported. Consumers of the static library on Windows define
 * NIPC_STATIC (the CMake package and pkg-config file do it for them).
 */
#ifndef NETIPC_EXPORT_H
#define NETIPC_EXPORT_H

#if defined(_WIN32)
#if defined(NIPC_STATIC)
#define NIPC_API
#elif defined(NIPC_BUILDING)
#define NIPC_API __declspec(dllexport)
#else
#define NIPC_API __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define NIPC_API __attribute__((visibility("default")))
#else
#define NIPC_API
#endif

#endif
