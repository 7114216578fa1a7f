# SPDX-License-Identifier: GPL-2.0
#
# Boilerplate for a module, outside this tree, that places markers.  In the
# module's Kbuild:
#
#	MARKERS_DIR := /path/to/markers		# a built markers tree
#	include $(MARKERS_DIR)/scripts/markers-client.mk
#
#	obj-m += mymod.o
#	mymod-y := mymod_main.o			# composite: the crate is not
#						# named like the module
#	LDFLAGS_mymod.o += $(markers_lds)
#	$(obj)/mymod_main.o: $(markers_lib)
#
# What each piece does, and what forgetting it does:
#
# - --extern markers: the crate with mark!; without it, mark! does not
#   compile.
# - markers_lds, applied to the module's composite object: gathers the
#   module's __markers entries between __markers_start and __markers_stop;
#   without it, modpost stops with '"__markers_start" [mymod.ko] undefined!'.
# - KBUILD_EXTRA_SYMBOLS: markers.ko's exports; without it, modpost stops
#   with '"markers_abi_version" [mymod.ko] undefined!'.
# - the dependency on markers_lib: rebuilds the module when the crate
#   changes.
# - -I include: <linux/markers.h>, for C tracers.
#
# A tracer that places no markers itself needs only the include path (C) or
# --extern markers (Rust) and KBUILD_EXTRA_SYMBOLS.

ifeq ($(MARKERS_DIR),)
$(error MARKERS_DIR must point at a built markers tree)
endif

markers_lib := $(MARKERS_DIR)/rust/markers/libmarkers.rmeta
markers_lds := -T $(MARKERS_DIR)/scripts/markers.lds
rustflags-y += --extern=markers=$(markers_lib)
ccflags-y += -I$(MARKERS_DIR)/include
KBUILD_EXTRA_SYMBOLS += $(MARKERS_DIR)/Module.symvers
