# The C kernels compiled into a firmware image as a user C module (import name
# chunkalloc_c, as the .mpy): for cmake-based ports (rp2, esp32), e.g.
#   make -C ports/rp2 BOARD=RPI_PICO USER_C_MODULES=/path/to/firmware/c/micropython.cmake
add_library(usermod_chunkalloc_c INTERFACE)
target_sources(usermod_chunkalloc_c INTERFACE ${CMAKE_CURRENT_LIST_DIR}/chunkalloc_c.c)
target_include_directories(usermod_chunkalloc_c INTERFACE ${CMAKE_CURRENT_LIST_DIR})
# no libc calls from the byte loops, as in the .mpy build
target_compile_options(usermod_chunkalloc_c INTERFACE -fno-tree-loop-distribute-patterns)
target_link_libraries(usermod INTERFACE usermod_chunkalloc_c)
