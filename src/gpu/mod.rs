//! The GPU backend (wgpu compute shaders in `shaders/`): distance matrices,
//! batched iterated local search for small instances, and 2-opt passes over
//! one large tour.
//!
//! Finding an adapter ([`find_adapter`]) is kept apart from running on one
//! ([`Gpu::new`]): tests pass in the device they found, production probes
//! once per process ([`shared`]) and uses the CPU when there is none. A
//! [`Gpu`] holds the device, queue and compiled pipelines, built once and
//! reused by every call. Every call reports failure (validation, out of
//! memory, device lost, timeout) as a [`GpuError`] instead of panicking, so
//! the engine can fall back to the CPU.

mod ils;
mod large;
mod matrix;

pub use ils::{SmallInstance, SmallTour, GPU_MAX_N};
pub use large::{Descent, Proposal, Until};
pub use matrix::DeviceMatrix;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The shaders propose a move only when its f32 gain exceeds this fraction
/// of the edges it removes (rounding noise otherwise).
const EPS_REL: f32 = 1e-6;
/// Workgroups per grid row (wgpu's default limit); more use a second row.
const GRID_X: u32 = 65535;

/// Longest wait for one submission before the GPU counts as failed, when
/// the work has no deadline.
const TIMEOUT: Duration = Duration::from_secs(600);
/// How long a submission may run past the deadline of its work before the
/// GPU counts as failed (and the CPU answers): a hung device holds a batch
/// until its deadline and this much more, not for [`TIMEOUT`].
const PAST_DEADLINE: Duration = Duration::from_secs(2);

/// The longest wait, from `now`, for a submission of work due `by`.
fn wait_limit(by: Option<Instant>, now: Instant) -> Duration {
    by.map_or(TIMEOUT, |t| (t.saturating_duration_since(now) + PAST_DEADLINE).min(TIMEOUT))
}

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    #[error("requesting the GPU device: {0}")]
    Device(String),
    #[error("the GPU path does not support {0}")]
    Unsupported(String),
    #[error("GPU error: {0}")]
    Failed(String),
}

/// The first adapter the environment allows (`WGPU_BACKEND`,
/// `WGPU_ADAPTER_NAME`, ...), high-performance preferred. With no Vulkan
/// library installed this fails within a millisecond.
pub fn find_adapter() -> Result<wgpu::Adapter, GpuError> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let options =
        wgpu::RequestAdapterOptions { power_preference: wgpu::PowerPreference::HighPerformance, ..Default::default() };
    pollster::block_on(instance.request_adapter(&options)).map_err(|e| GpuError::NoAdapter(e.to_string()))
}

/// This process's graphics card, probed on first use, for the automatic
/// engine; `None` when there is no adapter, when it is a software driver
/// (lavapipe, llvmpipe: the CPU outruns it at everything here, and its
/// device is then never opened nor its shaders compiled, which took a
/// quarter of a second), or when its device cannot be opened. Logged once,
/// at debug level: no adapter is the normal case on Lambda.
pub fn shared() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    GPU.get_or_init(|| {
        let hardware = find_adapter().and_then(|adapter| {
            let info = adapter.get_info();
            if is_hardware(info.device_type) {
                Gpu::new(adapter)
            } else {
                Err(GpuError::NoAdapter(format!("{} is a software driver", info.name)))
            }
        });
        match hardware {
            Ok(gpu) => {
                tracing::info!(adapter = %gpu.info.name, backend = gpu.name, "GPU found");
                Some(Arc::new(gpu))
            }
            Err(e) => {
                tracing::debug!("no GPU: {e}");
                None
            }
        }
    })
    .clone()
}

/// Software drivers report themselves as `Cpu`: Vulkan's lavapipe, and on
/// GL llvmpipe and SwiftShader (wgpu-hal 30 infers GL device types from the
/// renderer string, and calls a card it cannot place, "most likely
/// DiscreteGpu", `Other`).
fn is_hardware(device_type: wgpu::DeviceType) -> bool {
    device_type != wgpu::DeviceType::Cpu
}

/// A device with its queue and pipelines.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    name: &'static str,
    lost: Arc<AtomicBool>,
    matrix: matrix::Kernel,
    ils: ils::Kernels,
    large: large::Kernels,
}

impl Gpu {
    /// Opens the adapter's device with its own storage limits and compiles
    /// the pipelines.
    pub fn new(adapter: wgpu::Adapter) -> Result<Gpu, GpuError> {
        let have = adapter.limits();
        // WebGPU's default of 16 KiB is also Vulkan's least; wgpu does not
        // check a shader against it, so a card that offers only that would
        // run `two_opt.wgsl` on memory it does not have.
        if have.max_compute_workgroup_storage_size < ils::WORKGROUP_BYTES {
            return Err(GpuError::Device(format!(
                "the adapter has {} bytes of workgroup memory; two_opt.wgsl needs {}",
                have.max_compute_workgroup_storage_size,
                ils::WORKGROUP_BYTES
            )));
        }
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: have.max_storage_buffer_binding_size,
            max_buffer_size: have.max_buffer_size,
            max_compute_workgroups_per_dimension: have.max_compute_workgroups_per_dimension,
            max_compute_workgroup_storage_size: have.max_compute_workgroup_storage_size,
            ..wgpu::Limits::default()
        };
        Gpu::with_limits(adapter, limits)
    }

    /// Opens the adapter's device with the given limits (none above the
    /// adapter's): to keep to a share of a card, or to see what happens when
    /// a batch does not fit (the tests' forced GPU failure).
    pub fn with_limits(adapter: wgpu::Adapter, required_limits: wgpu::Limits) -> Result<Gpu, GpuError> {
        let info = adapter.get_info();
        let descriptor = wgpu::DeviceDescriptor { label: Some("route-optim"), required_limits, ..Default::default() };
        let (device, queue) =
            pollster::block_on(adapter.request_device(&descriptor)).map_err(|e| GpuError::Device(e.to_string()))?;
        let lost = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            flag.store(true, Ordering::SeqCst);
            tracing::warn!("GPU device lost ({reason:?}): {message}");
        });
        // The default handler panics; errors are caught by scopes instead.
        device.on_uncaptured_error(Arc::new(|e: wgpu::Error| tracing::warn!("GPU error outside a scope: {e}")));
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let matrix = matrix::Kernel::new(&device);
        let ils = ils::Kernels::new(&device);
        let large = large::Kernels::new(&device);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(GpuError::Device(format!("compiling the shaders: {e}")));
        }
        let name = match info.backend {
            wgpu::Backend::Vulkan => "gpu-vulkan",
            wgpu::Backend::Metal => "gpu-metal",
            wgpu::Backend::Dx12 => "gpu-dx12",
            wgpu::Backend::Gl => "gpu-gl",
            _ => "gpu",
        };
        Ok(Gpu { limits: device.limits(), device, queue, info, name, lost, matrix, ils, large })
    }

    /// Finds an adapter and opens it.
    pub fn probe() -> Result<Gpu, GpuError> {
        Gpu::new(find_adapter()?)
    }

    /// The backend name solutions report, e.g. `gpu-vulkan`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the adapter is a graphics card rather than a software driver
    /// (lavapipe, llvmpipe), which the CPU outruns at everything here.
    pub fn is_hardware(&self) -> bool {
        is_hardware(self.info.device_type)
    }

    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Runs `f` with validation and out-of-memory errors captured: any
    /// error, a lost device or a failure `f` reports comes back as `Err`.
    fn checked<T>(&self, f: impl FnOnce() -> Result<T, GpuError>) -> Result<T, GpuError> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(GpuError::Failed("the device was lost".into()));
        }
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let out = f();
        let errors = [pollster::block_on(memory.pop()), pollster::block_on(validation.pop())];
        if let Some(e) = errors.into_iter().flatten().next() {
            return Err(GpuError::Failed(e.to_string()));
        }
        if self.lost.load(Ordering::SeqCst) {
            return Err(GpuError::Failed("the device was lost".into()));
        }
        out
    }

    /// Waits until the queue is idle, at most [`wait_limit`] for work due `by`.
    fn wait(&self, by: Option<Instant>) -> Result<(), GpuError> {
        self.device
            .poll(wgpu::PollType::Wait { submission_index: None, timeout: Some(wait_limit(by, Instant::now())) })
            .map(drop)
            .map_err(|e| GpuError::Failed(format!("waiting for the GPU: {e}")))
    }

    /// Copies `size` bytes of `src` from `offset` to the host through a
    /// staging buffer, once the work submitted before (due `by`) is done.
    fn read(&self, src: &wgpu::Buffer, offset: u64, size: u64, by: Option<Instant>) -> Result<Vec<u8>, GpuError> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(src, offset, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait(by)?;
        rx.recv_timeout(wait_limit(by, Instant::now()))
            .map_err(|_| GpuError::Failed("the staging buffer was never mapped".into()))?
            .map_err(|e| GpuError::Failed(format!("mapping the staging buffer: {e}")))?;
        let bytes = slice
            .get_mapped_range()
            .map_err(|e| GpuError::Failed(format!("reading the staging buffer: {e}")))?
            .to_vec();
        staging.unmap();
        Ok(bytes)
    }
}

/// `route-optim info`: the adapter and the limits that matter here.
impl std::fmt::Display for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (i, l) = (&self.info, &self.limits);
        writeln!(f, "adapter: {} ({:?}, {:?})", i.name, i.backend, i.device_type)?;
        writeln!(f, "driver: {} {}", i.driver, i.driver_info)?;
        writeln!(f, "max_storage_buffer_binding_size: {}", l.max_storage_buffer_binding_size)?;
        writeln!(f, "max_buffer_size: {}", l.max_buffer_size)?;
        writeln!(f, "max_compute_workgroup_storage_size: {}", l.max_compute_workgroup_storage_size)?;
        writeln!(f, "max_compute_invocations_per_workgroup: {}", l.max_compute_invocations_per_workgroup)?;
        write!(f, "max_compute_workgroups_per_dimension: {}", l.max_compute_workgroups_per_dimension)
    }
}

/// Compiles one WGSL module from `shaders/`, after `shaders/common.wgsl`.
fn module(device: &wgpu::Device, label: &str, source: &'static str) -> wgpu::ShaderModule {
    let source = format!("{}\n{source}", include_str!("../../shaders/common.wgsl"));
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

/// A compute pipeline for `entry` with an explicit layout of storage and
/// uniform bindings (binding 0 uniform, the rest storage; `writable` lists
/// the read-write ones).
fn pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entries: &[&str],
    bindings: u32,
    writable: &[u32],
) -> (wgpu::BindGroupLayout, Vec<wgpu::ComputePipeline>) {
    let layout_entries: Vec<wgpu::BindGroupLayoutEntry> = (0..bindings)
        .map(|b| wgpu::BindGroupLayoutEntry {
            binding: b,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: if b == 0 {
                    wgpu::BufferBindingType::Uniform
                } else {
                    wgpu::BufferBindingType::Storage { read_only: !writable.contains(&b) }
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let bind_layout =
        device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: None, entries: &layout_entries });
    let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: None,
        bind_group_layouts: &[Some(&bind_layout)],
        immediate_size: 0,
    });
    let pipelines = entries
        .iter()
        .map(|entry| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&layout),
                module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        })
        .collect();
    (bind_layout, pipelines)
}

/// A buffer holding `data`.
fn upload(device: &wgpu::Device, label: &str, data: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
    use wgpu::util::DeviceExt;
    // wgpu rejects empty bindings: keep at least one word.
    let data = if data.is_empty() { &[0u8; 4][..] } else { data };
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents: data, usage })
}

/// A bind group of `buffers`, whole, at bindings 0, 1, ...
fn bind(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    buffers: &[&wgpu::Buffer],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(b, buf)| wgpu::BindGroupEntry { binding: b as u32, resource: buf.as_entire_binding() })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(label), layout, entries: &entries })
}

/// Structure-of-arrays coordinates (as [`crate::matrix::split`] gives them)
/// as `vec4<f32>` points, the layout the shaders read.
fn vec4s(s: &[Vec<f32>; 3]) -> Vec<[f32; 4]> {
    (0..s[0].len()).map(|i| [s[0][i], s[1][i], s[2][i], 0.0]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_end_a_little_after_the_deadline() {
        let now = Instant::now();
        assert_eq!(wait_limit(None, now), TIMEOUT);
        assert_eq!(wait_limit(Some(now + Duration::from_secs(3)), now), Duration::from_secs(3) + PAST_DEADLINE);
        // Already past: only the grace is left.
        assert_eq!(wait_limit(Some(now), now + Duration::from_secs(5)), PAST_DEADLINE);
        // A far deadline is no reason to wait longer than without one.
        assert_eq!(wait_limit(Some(now + Duration::from_secs(86_400)), now), TIMEOUT);
    }
}
