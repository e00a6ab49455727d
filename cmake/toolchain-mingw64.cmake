# Cross-compiling netipc for 64-bit Windows with mingw-w64, tests run under wine.
#
#   cmake -S . -B build/windows -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake
#   cmake --build build/windows -j2
#   WINEPREFIX=$PWD/build/windows/wineprefix ctest --test-dir build/windows
#
# Executables are linked fully static (libgcc, libwinpthread, the C runtime
# import stubs), so wine finds no DLL to hunt for beyond the system ones.
# ctest runs each .exe through CMAKE_CROSSCOMPILING_EMULATOR (wine); see
# docs/windows.md and scripts/test.sh for the wine prefix warm-up it needs.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(NETIPC_MINGW_PREFIX x86_64-w64-mingw32 CACHE STRING "mingw-w64 target triplet")
set(CMAKE_C_COMPILER ${NETIPC_MINGW_PREFIX}-gcc)
set(CMAKE_RC_COMPILER ${NETIPC_MINGW_PREFIX}-windres)
set(CMAKE_AR ${NETIPC_MINGW_PREFIX}-gcc-ar CACHE FILEPATH "archiver")
set(CMAKE_RANLIB ${NETIPC_MINGW_PREFIX}-gcc-ranlib CACHE FILEPATH "ranlib")

set(CMAKE_FIND_ROOT_PATH /usr/${NETIPC_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Windows 8 API level: CancelIoEx, GetTickCount64, SRW locks.
set(CMAKE_C_FLAGS_INIT "-D_WIN32_WINNT=0x0602 -DWINVER=0x0602")

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc")

find_program(NETIPC_WINE NAMES wine wine64 PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(NETIPC_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${NETIPC_WINE})
endif()
