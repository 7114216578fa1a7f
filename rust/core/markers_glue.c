// SPDX-License-Identifier: GPL-2.0
/*
 * C glue of markers.ko: what Rust cannot do on Linux 6.12.  Symbol exports
 * (EXPORT_SYMBOL_GPL is a macro) and wrappers around inline functions and
 * macros live here; everything else is in Rust.
 */
#include <linux/export.h>
#include <linux/module.h>

#include <linux/markers.h>

const unsigned int markers_abi_version = MARKERS_ABI_VERSION;
EXPORT_SYMBOL_GPL(markers_abi_version);

MODULE_VERSION(MARKERS_VERSION);
