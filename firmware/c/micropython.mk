# The C kernels compiled into a firmware image as a user C module (import name
# chunkalloc_c, as the .mpy): for make-based ports (qemu, unix), given the folder
# above this one, e.g.  make -C ports/qemu USER_C_MODULES=/path/to/firmware
CHUNKALLOC_C_DIR := $(USERMOD_DIR)
SRC_USERMOD_C += $(CHUNKALLOC_C_DIR)/chunkalloc_c.c
CFLAGS_USERMOD += -I$(CHUNKALLOC_C_DIR) -fno-tree-loop-distribute-patterns
