//! Which graphics backend draws the window. wgpu (Vulkan / Metal / DirectX 12) is tried
//! first; when it cannot start (an old driver, a VM, Wine without Vulkan) the window is drawn
//! with glow (OpenGL) instead, so it opens wherever there is a display. `--renderer` pins one
//! for support cases.

/// The renderer asked for on the command line (`--renderer`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RendererChoice {
    /// wgpu, and glow if wgpu cannot start.
    #[default]
    Auto,
    /// wgpu only.
    Wgpu,
    /// glow (OpenGL) only.
    Glow,
}

impl RendererChoice {
    /// The renderers to try, in order.
    pub fn attempts(self) -> &'static [eframe::Renderer] {
        match self {
            RendererChoice::Auto => &[eframe::Renderer::Wgpu, eframe::Renderer::Glow],
            RendererChoice::Wgpu => &[eframe::Renderer::Wgpu],
            RendererChoice::Glow => &[eframe::Renderer::Glow],
        }
    }
}

/// A person-readable name of the renderer eframe started, with the adapter or OpenGL version
/// it runs on ("wgpu (Vulkan, llvmpipe (LLVM 15.0.6, 256 bits))", "glow (OpenGL 4.5, Mesa 22.3.6)").
pub fn describe(cc: &eframe::CreationContext<'_>) -> String {
    if let Some(state) = &cc.wgpu_render_state {
        let info = state.adapter.get_info();
        return format!("wgpu ({:?}, {})", info.backend, info.name);
    }
    if let Some(gl) = &cc.gl {
        use eframe::glow::HasContext as _;
        let version = gl.version();
        let es = if version.is_embedded { " ES" } else { "" };
        let mut text = format!("glow (OpenGL{es} {}.{}", version.major, version.minor);
        // Mesa says "(Core Profile) Mesa 22.3.6": keep the driver name only.
        let vendor = version.vendor_info.trim();
        let vendor = vendor
            .strip_prefix("(Core Profile)")
            .unwrap_or(vendor)
            .trim();
        if !vendor.is_empty() {
            text.push_str(", ");
            text.push_str(vendor);
        }
        text.push(')');
        return text;
    }
    "none".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_tries_wgpu_then_glow() {
        assert_eq!(
            RendererChoice::Auto.attempts(),
            &[eframe::Renderer::Wgpu, eframe::Renderer::Glow]
        );
        assert_eq!(RendererChoice::Glow.attempts(), &[eframe::Renderer::Glow]);
        assert_eq!(RendererChoice::default(), RendererChoice::Auto);
    }
}
