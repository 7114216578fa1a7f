# SPDX-License-Identifier: GPL-2.0
#
# markers: user-facing targets.  The kbuild rules are in Kbuild.
#
#   make                 build the modules against KDIR
#   make check           everything: toolchain, kernel, modules, lints,
#                        host tests, harness self-tests, in-guest tests
#   make check KCONFIG=debug   the same on the debug kernel (lockdep, SLUB,
#                        page alloc and list debugging, kmemleak)
#   make check KCONFIG=clang   the same on a clang-built kernel (KASAN, kCFI;
#                        opt-in, a 2nd toolchain: LLVM 19)
#   make install         install markers.ko, markctl and the kit third-party
#                        modules build with (DESTDIR=, INSTALL_MOD_PATH=,
#                        PREFIX=/usr; Documentation/markers.rst)
#   make docs            the documentation as HTML (Sphinx, warnings are errors)
#                        in Documentation/output/html; its console examples for
#                        the guest test
#   make demo            boot the test VM with the samples and show their output
#   make shell           interactive shell in the test VM, modules loaded
#   make vm-run CMD=...  run one command in the test VM, exit with its status
#   make rustdoc         the documentation of the client crate (mark!, Probe)
#                        in Documentation/output/rustdoc; fails on any
#                        warning or on a public item without an example
#   make bench           instruction counts, toggle and load costs of sites
#                        beside the kernel's own (writes bench/results.json)
#   make torture         the torture test, module lifecycle churn and the
#                        registration fuzzer, long, under single- then
#                        multi-threaded TCG: DURATION=600 (s), CYCLES=1000,
#                        FUZZ=10000, TCG=single|multi (Documentation/testing.rst)
#   make dkms-install    as root: markers.ko under DKMS, built and installed
#                        for the running kernel (or KDIR=...), and for later
#                        kernels; DESTDIR=/stage only stages the sources
#   make dkms-check      dkms add/build/install/remove against KDIR on
#                        private trees, the module loaded in the test VM
#   make intree-check    the tree as drivers/markers in KDIR's source (an
#                        overlay: KDIR is not modified), built by Kconfig
#                        options: the same modules as out of tree
#
# KDIR defaults to the project's own test kernel, built once (about 6 minutes)
# and cached under $(MARKERS_CACHE); `make KDIR=/path/to/linux` builds against
# any configured and built Rust-enabled 6.12 x86-64 tree made by the same
# rustc.  EXTRA=paths copies files into the guest under /markers/extra.

SHELL := /bin/bash
MAKEFLAGS += --no-print-directory

KDIR ?=
export KDIR KCONFIG EXTRA CMD TIMEOUT HARNESS_SELFTEST CPUS V QEMU_ARGS MARKERS_CACHE \
	DURATION CYCLES FUZZ TCG DESTDIR INSTALL_MOD_PATH PREFIX

S := $(CURDIR)/scripts
# The kernel tree, resolved (and built or checked) by scripts/kdir.sh.
kdir = kdir=$$($(S)/kdir.sh) &&

.PHONY: all modules install check docs demo shell vm-run bench torture kernel toolchain tools fmt \
	harness-selftest rustdoc dkms-install dkms-check intree-check clean clean-cache help

all: modules

modules:
	@$(kdir) $(S)/build-modules.sh "$$kdir"

# markers.ko and the crate only: the samples and test modules are not
# installed (the 10,000-site benchmark modules take minutes to build).
install:
	@$(kdir) $(S)/build-modules.sh "$$kdir" CONFIG_MARKERS_SAMPLES= CONFIG_MARKERS_TESTS= && \
		$(S)/install.sh "$$kdir"

check:
	@$(S)/check.sh

docs:
	@$(S)/docs.sh

demo: modules
	@$(kdir) $(S)/vm.sh demo "$$kdir"

shell: modules
	@$(kdir) $(S)/vm.sh shell "$$kdir"

vm-run: modules
	@$(kdir) $(S)/vm.sh run "$$kdir"

bench: modules
	@$(kdir) $(S)/bench.sh "$$kdir"

torture: modules
	@$(kdir) $(S)/torture.sh "$$kdir"

harness-selftest: modules
	@$(kdir) $(S)/harness-selftest.sh "$$kdir"

dkms-install:
	@$(S)/dkms/install.sh

dkms-check:
	@$(kdir) $(S)/dkms-check.sh "$$kdir"

intree-check: modules
	@$(kdir) $(S)/intree-check.sh "$$kdir"

kernel:
	@$(S)/kdir.sh

rustdoc:
	@$(kdir) $(S)/rustdoc.sh "$$kdir"

toolchain:
	@$(S)/setup-toolchain.sh

tools:
	@$(S)/build-tools.sh

fmt:
	@$(kdir) /usr/bin/rustfmt --edition 2021 --config-path "$$kdir/.rustfmt.toml" \
		$$(find rust samples tools/testing -name '*.rs')
	@cd tools && cargo fmt

clean:
	@find rust samples tools/testing \( -name "*.o" -o -name "*.ko" -o -name "*.mod" -o -name "*.mod.c" -o -name ".*.cmd" -o -name "*.rmeta" -o -name "*.d" \) -delete 2>/dev/null || true
	@rm -f Module.symvers modules.order .*.cmd
	@rm -rf .vm tools/target

clean-cache:
	@. $(S)/lib.sh && echo "removing $$MARKERS_CACHE" && rm -rf "$$MARKERS_CACHE"

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' Makefile
