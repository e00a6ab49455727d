# Library sources, chosen per platform (files are never wrapped in #ifdef).
set(NETIPC_SOURCES
  src/common/error.c
  src/protocol/envelope.c
  src/protocol/hello.c
  src/protocol/handshake.c
  src/protocol/batch.c
  src/protocol/methods_simple.c
  src/protocol/cgroups_snapshot.c
)
