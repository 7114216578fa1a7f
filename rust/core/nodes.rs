// SPDX-License-Identifier: GPL-2.0

//! The sysfs tree under `/sys/kernel/markers`: one directory (a kobject)
//! for every known marker, holding a `sites/` directory with one directory
//! for each of its sites.
//!
//! The registry creates and removes the nodes, under its mutex; what the
//! files show and do is up to the [`Handlers`] that `control.rs` installs
//! when the module loads. This file knows kobjects and attributes, not
//! markers.
//!
//! # Removal while a file is in use
//!
//! Removing a kobject waits until no `show` or `store` of its files runs
//! (kernfs "active" references). The handlers take the registry mutex, and
//! the registry removes nodes holding it: a handler waiting for the mutex
//! would then wait for a removal that waits for the handler. So every file
//! callback drops its active reference first
//! (`sysfs_break_active_protection`), keeping a reference on the node
//! instead, and the handler checks under the mutex that the node still
//! stands for something ([`Node::obj`] is null once it is removed). This is
//! also what lets a write to a pending marker's `enable` remove its own
//! directory.
//!
//! C header: [include/linux/kobject.h](srctree/include/linux/kobject.h),
//! [include/linux/sysfs.h](srctree/include/linux/sysfs.h)

use core::cell::UnsafeCell;
use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::bindings;
use kernel::prelude::*;

/// The files of a marker's and of a site's directory, in order.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum File {
    Enable,
    Format,
    Signature,
    Modules,
    Probes,
    Hits,
    SiteLocation,
    SiteState,
    SiteEnable,
}

const FILES: [(File, &core::ffi::CStr, u16); 9] = [
    (File::Enable, c"enable", 0o644),
    (File::Format, c"format", 0o444),
    (File::Signature, c"signature", 0o444),
    (File::Modules, c"modules", 0o444),
    (File::Probes, c"probes", 0o444),
    (File::Hits, c"hits", 0o644),
    (File::SiteLocation, c"location", 0o444),
    (File::SiteState, c"state", 0o444),
    (File::SiteEnable, c"enable", 0o644),
];

/// What the files of a node show and do (installed by `control.rs`).
pub(crate) struct Handlers {
    /// Fills `buf` (a page) for `file` of the node standing for `obj`;
    /// returns its length or a negative errno. Called without locks.
    pub(crate) show: fn(node: &Node, file: File, buf: &mut [u8]) -> isize,
    /// Applies a write of `data` to `file`; returns `data.len()` or a
    /// negative errno. Called without locks.
    pub(crate) store: fn(node: &Node, file: File, data: &[u8]) -> isize,
}

static HANDLERS: AtomicPtr<Handlers> = AtomicPtr::new(core::ptr::null_mut());

/// Installs the handlers of every node's files; before, they fail with
/// `-ENOENT`.
pub(crate) fn set_handlers(h: &'static Handlers) {
    HANDLERS.store((h as *const Handlers).cast_mut(), Ordering::Release);
}

/// A directory of the tree.
///
/// # Invariants
///
/// `kobj` is initialized and added to sysfs for as long as the node is
/// reachable from the registry; the node is freed by `release` once the
/// last reference to `kobj` is put. `sites` is, for a marker node, the
/// `sites/` child kobject (one reference ours), null for a site node.
#[repr(C)]
pub(crate) struct Node {
    kobj: bindings::kobject,
    /// The registry object the node stands for (a `Marker` or a
    /// `MarkedSite`), null once removed. Written and read only under the
    /// registry mutex.
    obj: UnsafeCell<*const c_void>,
    sites: *mut bindings::kobject,
}

impl Node {
    /// The object the node stands for, or null once removed.
    ///
    /// # Safety
    ///
    /// The caller holds the registry mutex.
    pub(crate) unsafe fn obj(&self) -> *const c_void {
        // SAFETY: written only under the registry mutex, which the caller
        // holds.
        unsafe { *self.obj.get() }
    }
}

/// A `Sync` static holding kernel structures that sysfs only reads after
/// they are set up.
struct Static<T>(UnsafeCell<T>);

// SAFETY: the contents are written only by `init`, before any node exists,
// and read by sysfs afterwards.
unsafe impl<T> Sync for Static<T> {}

/// An attribute of `FILES`, zeroed first (lockdep fields under
/// `CONFIG_DEBUG_LOCK_ALLOC`; a null key makes sysfs use the attribute's
/// own static key).
const fn kattr(i: usize) -> bindings::kobj_attribute {
    // SAFETY: all-zero is a valid `kobj_attribute`.
    let mut a: bindings::kobj_attribute = unsafe { core::mem::zeroed() };
    a.attr.name = FILES[i].1.as_ptr().cast();
    a.attr.mode = FILES[i].2;
    a.show = Some(show);
    a.store = if FILES[i].2 & 0o200 != 0 {
        Some(store)
    } else {
        None
    };
    a
}

static ATTRS: Static<[bindings::kobj_attribute; 9]> = Static(UnsafeCell::new([
    kattr(0),
    kattr(1),
    kattr(2),
    kattr(3),
    kattr(4),
    kattr(5),
    kattr(6),
    kattr(7),
    kattr(8),
]));

/// The attribute lists of a marker node (files 0 to 5) and of a site node
/// (6 to 8), null-terminated; filled by `init`.
static MARKER_ATTRS: Static<[*mut bindings::attribute; 7]> =
    Static(UnsafeCell::new([core::ptr::null_mut(); 7]));
static SITE_ATTRS: Static<[*mut bindings::attribute; 4]> =
    Static(UnsafeCell::new([core::ptr::null_mut(); 4]));

static MARKER_GROUP: Static<bindings::attribute_group> = Static(UnsafeCell::new(
    // SAFETY: all-zero is a valid `attribute_group` (no name, no lists).
    unsafe { core::mem::zeroed() },
));
static SITE_GROUP: Static<bindings::attribute_group> = Static(UnsafeCell::new(
    // SAFETY: as above.
    unsafe { core::mem::zeroed() },
));
static MARKER_GROUPS: Static<[*const bindings::attribute_group; 2]> =
    Static(UnsafeCell::new([core::ptr::null(); 2]));
static SITE_GROUPS: Static<[*const bindings::attribute_group; 2]> =
    Static(UnsafeCell::new([core::ptr::null(); 2]));

static MARKER_KTYPE: Static<bindings::kobj_type> = Static(UnsafeCell::new(
    // SAFETY: all-zero is a valid `kobj_type` (no callbacks).
    unsafe { core::mem::zeroed() },
));
static SITE_KTYPE: Static<bindings::kobj_type> = Static(UnsafeCell::new(
    // SAFETY: as above.
    unsafe { core::mem::zeroed() },
));

/// Sets up the attribute groups and kobject types. Called once, from
/// `init`, before any node is created.
pub(crate) fn init() {
    // SAFETY: nothing else touches the statics yet (see `Static`); the
    // pointers stored are to statics.
    unsafe {
        let attrs = &mut *ATTRS.0.get();
        let (m, s) = (&mut *MARKER_ATTRS.0.get(), &mut *SITE_ATTRS.0.get());
        for i in 0..6 {
            m[i] = &mut attrs[i].attr;
        }
        for i in 0..3 {
            s[i] = &mut attrs[6 + i].attr;
        }
        (*MARKER_GROUP.0.get()).attrs = m.as_mut_ptr();
        (*SITE_GROUP.0.get()).attrs = s.as_mut_ptr();
        (*MARKER_GROUPS.0.get())[0] = MARKER_GROUP.0.get();
        (*SITE_GROUPS.0.get())[0] = SITE_GROUP.0.get();
        for (t, g) in [(&MARKER_KTYPE, &MARKER_GROUPS), (&SITE_KTYPE, &SITE_GROUPS)] {
            let t = &mut *t.0.get();
            t.release = Some(release);
            t.sysfs_ops = core::ptr::addr_of!(bindings::kobj_sysfs_ops);
            t.default_groups = (*g.0.get()).as_mut_ptr();
        }
    }
}

/// Frees a node once its last reference is put.
///
/// # Safety
///
/// Called by the kobject core with the `kobj` of a node made by `add`.
unsafe extern "C" fn release(kobj: *mut bindings::kobject) {
    // SAFETY: `kobj` is the first field of a `Node` that `add` leaked from
    // a box (`repr(C)`); this is its last reference.
    drop(unsafe { KBox::from_raw(kobj.cast::<Node>()) });
}

/// Which of `FILES` an attribute is.
fn file_of(attr: *const bindings::kobj_attribute) -> Option<File> {
    let base = ATTRS.0.get().cast::<bindings::kobj_attribute>();
    // CAST: both point into `ATTRS` (sysfs passes back our attributes).
    let i = (attr as usize).wrapping_sub(base as usize)
        / core::mem::size_of::<bindings::kobj_attribute>();
    FILES.get(i).map(|f| f.0)
}

/// Runs `f` on the node of `kobj` with the file's active reference dropped
/// (see "Removal while a file is in use"); `-ENOENT` if the file is being
/// removed.
///
/// # Safety
///
/// `kobj` and `attr` are the arguments sysfs passes to a node's file.
unsafe fn unprotected(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    f: impl FnOnce(&Node, File, &Handlers) -> isize,
) -> isize {
    let (Some(file), h) = (file_of(attr), HANDLERS.load(Ordering::Acquire)) else {
        return ENOENT.to_errno() as isize;
    };
    if h.is_null() {
        return ENOENT.to_errno() as isize;
    }
    // Without its active reference, nothing else keeps markers.ko (its
    // code, its registry) loaded while the callback runs.
    // SAFETY: plain call; the module is live while sysfs calls into it.
    if !unsafe { markers_self_get() } {
        return ENOENT.to_errno() as isize;
    }
    // SAFETY: `kobj` and `attr` are a live kobject and one of its files;
    // on success this holds a reference on both the kobject and the kernfs
    // node until `sysfs_unbreak_active_protection`.
    let kn = unsafe { bindings::sysfs_break_active_protection(kobj, &(*attr).attr) };
    let r = if kn.is_null() {
        ENOENT.to_errno() as isize
    } else {
        // SAFETY: `kobj` is the first field of a `Node` (every kobject of
        // our ktypes is), kept alive by the reference taken above; the
        // handlers are static.
        let r = f(unsafe { &*kobj.cast::<Node>() }, file, unsafe { &*h });
        // SAFETY: undoes `sysfs_break_active_protection` above.
        unsafe { bindings::sysfs_unbreak_active_protection(kn) };
        r
    };
    // SAFETY: undoes `markers_self_get` above.
    unsafe { markers_self_put() };
    r
}

extern "C" {
    fn markers_self_get() -> bool;
    fn markers_self_put();
}

/// `show` of every node file: the handlers' `show`, unprotected.
///
/// # Safety
///
/// Called by sysfs with one of our files and a `PAGE_SIZE` buffer.
unsafe extern "C" fn show(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *mut u8,
) -> isize {
    // SAFETY: sysfs passes one of our files and a page for its text.
    unsafe {
        unprotected(kobj, attr, |n, file, h| {
            (h.show)(
                n,
                file,
                core::slice::from_raw_parts_mut(buf.cast::<u8>(), bindings::PAGE_SIZE),
            )
        })
    }
}

/// `store` of every writable node file: the handlers' `store`,
/// unprotected.
///
/// # Safety
///
/// Called by sysfs with one of our files and `count` readable bytes.
unsafe extern "C" fn store(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::kobj_attribute,
    buf: *const u8,
    count: usize,
) -> isize {
    // SAFETY: sysfs passes one of our files and `count` readable bytes.
    unsafe {
        unprotected(kobj, attr, |n, file, h| {
            (h.store)(
                n,
                file,
                core::slice::from_raw_parts(buf.cast::<u8>(), count),
            )
        })
    }
}

/// Creates a node named `name` under `parent` (under `/sys/kernel/markers`
/// when null) standing for `obj`.
///
/// # Safety
///
/// `parent` is null or a live kobject; `obj` stays valid until
/// [`remove`], called under the registry mutex, like this.
unsafe fn add(
    parent: *mut bindings::kobject,
    ktype: &'static Static<bindings::kobj_type>,
    fmt: &core::ffi::CStr,
    name: (c_int, *const u8),
    obj: *const c_void,
) -> Result<*mut Node> {
    let n = KBox::new(
        Node {
            // SAFETY: all-zero is a valid, not yet initialized kobject.
            kobj: unsafe { core::mem::zeroed() },
            obj: UnsafeCell::new(obj),
            sites: core::ptr::null_mut(),
        },
        GFP_KERNEL,
    )?;
    let n = KBox::into_raw(n);
    let parent = if parent.is_null() { root() } else { parent };
    // SAFETY: `kobj` is zeroed and ours; the format takes the two
    // arguments given. On failure the kobject must still be put, which
    // frees the node through `release`.
    let r = unsafe {
        bindings::kobject_init_and_add(
            &mut (*n).kobj,
            ktype.0.get(),
            parent,
            fmt.as_ptr().cast(),
            name.0,
            name.1,
        )
    };
    if r < 0 {
        // SAFETY: see above.
        unsafe { bindings::kobject_put(&mut (*n).kobj) };
        return Err(Error::from_errno(r));
    }
    Ok(n)
}

/// Creates `/sys/kernel/markers/<name>/` and its `sites/` for marker
/// `obj`.
///
/// # Safety
///
/// As for `add`; `name` is at most 63 bytes.
pub(crate) unsafe fn add_marker(name: &[u8], obj: *const c_void) -> Result<*mut Node> {
    // CAST: marker names are at most 63 bytes.
    let len = name.len() as c_int;
    // SAFETY: forwarded; "%.*s" prints `len` bytes of `name`.
    let n = unsafe {
        add(
            core::ptr::null_mut(),
            &MARKER_KTYPE,
            c"%.*s",
            (len, name.as_ptr()),
            obj,
        )
    }?;
    // SAFETY: `n` is a live node; the name is a static string.
    let sites =
        unsafe { bindings::kobject_create_and_add(c"sites".as_ptr().cast(), &mut (*n).kobj) };
    if sites.is_null() {
        // SAFETY: `n` was just added and is not yet known to anyone.
        unsafe { remove(n) };
        return Err(ENOMEM);
    }
    // SAFETY: `n` is live and not yet shared.
    unsafe { (*n).sites = sites };
    Ok(n)
}

/// Creates `sites/<id>/` of marker node `marker` for site `obj`.
///
/// # Safety
///
/// As for `add`; `marker` is a live marker node.
pub(crate) unsafe fn add_site(marker: *mut Node, id: u32, obj: *const c_void) -> Result<*mut Node> {
    // SAFETY: forwarded; the marker node's `sites` is live (invariant).
    unsafe {
        add(
            (*marker).sites,
            &SITE_KTYPE,
            c"%u",
            (id as c_int, core::ptr::null()),
            obj,
        )
    }
}

/// Removes a node made by `add_marker` or `add_site` (a marker node after
/// its site nodes): its files fail with `-ENOENT` from now on, its
/// directory goes once no file callback runs on it.
///
/// # Safety
///
/// `n` is a live node that is not used after this; the caller holds the
/// registry mutex.
pub(crate) unsafe fn remove(n: *mut Node) {
    // SAFETY: the caller holds the registry mutex (see `Node::obj`) and
    // passes a live node, whose one reference from `add` is put last.
    unsafe {
        *(*n).obj.get() = core::ptr::null();
        if !(*n).sites.is_null() {
            bindings::kobject_put((*n).sites);
        }
        bindings::kobject_del(&mut (*n).kobj);
        bindings::kobject_put(&mut (*n).kobj);
    }
}

/// `/sys/kernel/markers`, set by [`set_root`].
static ROOT: AtomicPtr<bindings::kobject> = AtomicPtr::new(core::ptr::null_mut());

/// Sets the kobject of `/sys/kernel/markers`, under which marker nodes go.
pub(crate) fn set_root(k: *mut bindings::kobject) {
    ROOT.store(k, Ordering::Release);
}

fn root() -> *mut bindings::kobject {
    ROOT.load(Ordering::Acquire)
}

// The kobject is the first field: `release` and the callbacks cast.
const _: () = assert!(core::mem::offset_of!(Node, kobj) == 0);
