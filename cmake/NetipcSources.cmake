# Library sources, chosen per platform (files are never wrapped in #ifdef).
set(NETIPC_SOURCES
  src/common/error.c
  src/protocol/envelope.c
  src/protocol/hello.c
  src/protocol/handshake.c
  src/protocol/batch.c
  src/protocol/methods_simple.c
  src/protocol/cgroups_snapshot.c
  src/protocol/lookup_common.c
  src/protocol/cgroups_lookup.c
  src/protocol/apps_lookup.c
  src/transport/session.c
  src/service/client.c
  src/service/client_calls.c
  src/service/server.c
  src/service/server_dispatch.c
  src/service/client_lookup.c
  src/service/server_lookup.c
  src/cache/cgroups_cache.c
)
if(WIN32)
  list(APPEND NETIPC_SOURCES
    src/platform/windows/platform_windows.c
    src/platform/windows/abort_windows.c
    src/transport/windows/named_pipe.c
    src/transport/windows/win_shm.c
  )
else()
  list(APPEND NETIPC_SOURCES
    src/platform/posix/platform_posix.c
    src/platform/posix/abort_posix.c
    src/transport/posix/uds.c
  )
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    list(APPEND NETIPC_SOURCES src/transport/posix/shm.c src/transport/posix/shm_file.c
      src/transport/posix/shm_sealed.c src/transport/posix/shm_guard.c)
  else()
    list(APPEND NETIPC_SOURCES src/transport/posix/shm_none.c)
  endif()
endif()
