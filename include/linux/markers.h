/* SPDX-License-Identifier: GPL-2.0 */
/*
 * markers: static markers for Rust kernel code, the C interface of markers.ko.
 *
 * See Documentation/markers.rst.
 */
#ifndef _LINUX_MARKERS_H
#define _LINUX_MARKERS_H

/* Release of the markers project this header belongs to. */
#define MARKERS_VERSION "0.1.0"

/* Version of the binary interface between markers.ko and its clients. */
#define MARKERS_ABI_VERSION 1

/*
 * Version of the binary interface between markers.ko and its client modules.
 * A module that references it cannot load without markers.ko.
 */
extern const unsigned int markers_abi_version;

#endif /* _LINUX_MARKERS_H */
