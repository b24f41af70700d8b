//! File dialogs behind a small trait, so UI tests script them and never open a window.
//! rfd returns `None` both when cancelled and when no portal is available, so every panel
//! that uses one also offers a typed path.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Mutex;

/// Opens native file dialogs (or a scripted stand-in).
pub trait FileDialogs: Send + Sync {
    /// Asks for a file to open; `extensions` filters what is shown.
    fn open_file(&self, title: &str, filter_name: &str, extensions: &[&str]) -> Option<PathBuf>;
    /// Asks where to save, starting from `default_name`.
    fn save_file(&self, title: &str, default_name: &str) -> Option<PathBuf>;
    /// Asks for a folder.
    fn pick_folder(&self, title: &str) -> Option<PathBuf>;
}

/// The platform's dialogs through rfd (called on the UI thread, as macOS requires).
#[derive(Debug, Default)]
pub struct NativeDialogs;

impl FileDialogs for NativeDialogs {
    fn open_file(&self, title: &str, filter_name: &str, extensions: &[&str]) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .add_filter(filter_name, extensions)
            .add_filter("All files", &["*"])
            .pick_file()
    }

    fn save_file(&self, title: &str, default_name: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(default_name)
            .save_file()
    }

    fn pick_folder(&self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_title(title).pick_folder()
    }
}

/// Dialogs that answer from a queue (tests); an empty queue behaves like "cancelled".
#[derive(Debug, Default)]
pub struct ScriptedDialogs {
    opens: Mutex<VecDeque<PathBuf>>,
    saves: Mutex<VecDeque<PathBuf>>,
    folders: Mutex<VecDeque<PathBuf>>,
}

impl ScriptedDialogs {
    /// The next "Open" dialog returns `path`.
    pub fn push_open(&self, path: PathBuf) {
        if let Ok(mut q) = self.opens.lock() {
            q.push_back(path);
        }
    }

    /// The next "Save" dialog returns `path`.
    pub fn push_save(&self, path: PathBuf) {
        if let Ok(mut q) = self.saves.lock() {
            q.push_back(path);
        }
    }

    /// The next folder dialog returns `path`.
    pub fn push_folder(&self, path: PathBuf) {
        if let Ok(mut q) = self.folders.lock() {
            q.push_back(path);
        }
    }
}

impl FileDialogs for ScriptedDialogs {
    fn open_file(&self, _title: &str, _filter_name: &str, _extensions: &[&str]) -> Option<PathBuf> {
        self.opens.lock().ok()?.pop_front()
    }

    fn save_file(&self, _title: &str, _default_name: &str) -> Option<PathBuf> {
        self.saves.lock().ok()?.pop_front()
    }

    fn pick_folder(&self, _title: &str) -> Option<PathBuf> {
        self.folders.lock().ok()?.pop_front()
    }
}
