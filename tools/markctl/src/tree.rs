// SPDX-License-Identifier: GPL-2.0

//! Reading and writing the sysfs tree of markers.ko (by default
//! `/sys/kernel/markers`; tests point [`Tree`] at a fake one).

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{write_error, Error, Privilege, Result};
use crate::listing::Listing;
use crate::symbol::demangle_pss;

/// The default root of the tree.
pub const DEFAULT_ROOT: &str = "/sys/kernel/markers";

/// The root directory of the tree.
#[derive(Debug, Clone)]
pub struct Tree {
    root: PathBuf,
}

/// Applies a batch to `control`.  The real one is [`FileControl`]; tests
/// record the writes instead.
pub trait ControlWriter {
    /// Writes `batch` to `path` in a single `write(2)`.
    fn write_batch(&mut self, path: &Path, batch: &[u8]) -> io::Result<()>;
}

/// Writes batches to the `control` file: one `open(2)`, one `write(2)`.
#[derive(Debug, Default)]
pub struct FileControl;

impl ControlWriter for FileControl {
    fn write_batch(&mut self, path: &Path, batch: &[u8]) -> io::Result<()> {
        let mut file = fs::OpenOptions::new().write(true).open(path)?;
        // One write(2): the kernel applies one write as one batch, so the
        // batch must not be split (`write_all` could split it).
        let n = file.write(batch)?;
        if n != batch.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write to control: {n} of {} bytes", batch.len()),
            ));
        }
        Ok(())
    }
}

/// Everything `show` prints about one marker, read from its directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MarkerDir {
    /// The marker's name.
    pub name: String,
    /// `enable`.
    pub enable: bool,
    /// `format`, without its newline.
    pub format: String,
    /// `signature`, without its newline (`?` while pending).
    pub signature: String,
    /// `modules`, one per line.
    pub modules: Vec<String>,
    /// `probes`, one per line.
    pub probes: Vec<Probe>,
    /// `hits`.
    pub hits: u64,
    /// `sites/ID/`, sorted by ID.
    pub sites: Vec<SiteDir>,
}

/// One line of a marker's `probes` file: `OWNER HANDLER STATE FLAGS`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// The module whose text holds the handler (`vmlinux` for the kernel).
    pub owner: String,
    /// The handler as `%pS` prints it (mangled for Rust).
    pub handler: String,
    /// The handler, demangled.
    pub handler_demangled: String,
    /// `attached`, `pending` or `mismatch`.
    pub state: String,
    /// `enable` or `-`.
    pub flags: String,
}

/// One `sites/ID/` directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SiteDir {
    /// Its ID.
    pub id: u64,
    /// `location`, as `%pS` prints it.
    pub location: String,
    /// `location`, demangled.
    pub location_demangled: String,
    /// `state`.
    pub state: String,
    /// `enable`.
    pub enable: bool,
}

impl Tree {
    /// A tree rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Tree { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `control` file.
    pub fn control(&self) -> PathBuf {
        self.root.join("control")
    }

    /// Fails with exit code 3 when the root directory is missing.
    pub fn check_loaded(&self) -> Result<()> {
        if self.root.is_dir() {
            Ok(())
        } else {
            Err(Error::not_loaded(&self.root))
        }
    }

    /// Reads and parses `control` (in one `read_to_string`: the kernel's
    /// listing may be longer than a page).
    pub fn listing(&self) -> Result<Listing> {
        self.check_loaded()?;
        let path = self.control();
        // The listing is ASCII (the kernel escapes format strings); anything
        // else would be a bug, reported by the parser as a bad line.
        let bytes = fs::read(&path).map_err(|e| Error::read(&path, &e))?;
        Listing::parse(&String::from_utf8_lossy(&bytes))
    }

    /// Applies `batch` with one write to `control`.
    pub fn write_batch(
        &self,
        writer: &mut dyn ControlWriter,
        batch: &str,
        privilege: impl FnOnce() -> Privilege,
    ) -> Result<()> {
        self.check_loaded()?;
        writer
            .write_batch(&self.control(), batch.as_bytes())
            .map_err(|e| write_error(&e, privilege()))
    }

    /// Reads the directory of marker `name`; exit code 5 if there is none.
    pub fn marker_dir(&self, name: &str) -> Result<MarkerDir> {
        self.check_loaded()?;
        let dir = self.root.join(name);
        if name.is_empty() || name.contains('/') || name.starts_with('.') || !dir.is_dir() {
            return Err(Error::not_found(format!("unknown marker '{name}'")));
        }
        let hits = read_line(&dir.join("hits"))?;
        let mut m = MarkerDir {
            name: name.to_string(),
            enable: parse_bool(&dir.join("enable"))?,
            format: read_line(&dir.join("format"))?,
            signature: read_line(&dir.join("signature"))?,
            modules: read_lines(&dir.join("modules"))?,
            probes: read_lines(&dir.join("probes"))?
                .iter()
                .map(|l| parse_probe(l).ok_or_else(|| bad_content(&dir.join("probes"), l)))
                .collect::<Result<_>>()?,
            hits: hits
                .parse()
                .map_err(|_| bad_content(&dir.join("hits"), &hits))?,
            sites: Vec::new(),
        };
        let sites = dir.join("sites");
        let entries = match fs::read_dir(&sites) {
            Ok(entries) => entries.collect::<io::Result<Vec<_>>>(),
            // A pending marker has no sites to show.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
        .map_err(|e| Error::read(&sites, &e))?;
        for entry in entries {
            let Some(id) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let sdir = entry.path();
            let location = read_line(&sdir.join("location"))?;
            m.sites.push(SiteDir {
                id,
                location_demangled: demangle_pss(&location),
                location,
                state: read_line(&sdir.join("state"))?,
                enable: parse_bool(&sdir.join("enable"))?,
            });
        }
        m.sites.sort_by_key(|s| s.id);
        Ok(m)
    }
}

/// Reads a one-line file, without its newline.
fn read_line(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path).map_err(|e| Error::read(path, &e))?;
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

/// Reads the non-empty lines of a file.
fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text = fs::read_to_string(path).map_err(|e| Error::read(path, &e))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect())
}

/// Reads a file holding `0` or `1`.
fn parse_bool(path: &Path) -> Result<bool> {
    match read_line(path)?.as_str() {
        "0" => Ok(false),
        "1" => Ok(true),
        other => Err(bad_content(path, other)),
    }
}

fn bad_content(path: &Path, content: &str) -> Error {
    Error::other(format!(
        "unexpected content in {}: {content:?}",
        path.display()
    ))
}

/// Parses `OWNER HANDLER STATE FLAGS`, where HANDLER (a `%pS`) may itself
/// hold a space before `[module]`.
fn parse_probe(line: &str) -> Option<Probe> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    if words.len() < 4 {
        return None;
    }
    let flags = words.pop()?.to_string();
    let state = words.pop()?.to_string();
    let owner = words.remove(0).to_string();
    let handler = words.join(" ");
    Some(Probe {
        owner,
        handler_demangled: demangle_pss(&handler),
        handler,
        state,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_with_and_without_module() {
        let p = parse_probe(
            "markers_probe _RNvCs1234abcd_13markers_probe7handler+0x0/0x20 [markers_probe] attached enable",
        )
        .unwrap();
        assert_eq!(p.owner, "markers_probe");
        assert_eq!(
            p.handler_demangled,
            "markers_probe::handler+0x0/0x20 [markers_probe]"
        );
        assert_eq!((p.state.as_str(), p.flags.as_str()), ("attached", "enable"));
        let p = parse_probe("vmlinux my_probe+0x0/0x10 mismatch -").unwrap();
        assert_eq!(p.handler, "my_probe+0x0/0x10");
        assert!(parse_probe("vmlinux x attached").is_none());
    }
}
