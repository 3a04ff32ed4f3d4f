//! `shaders/distance.wgsl`: full distance matrices on the GPU.
//!
//! The matrix lives in one device buffer with the CPU matrix's row stride;
//! it is bound in blocks of rows that fit the storage binding limit
//! (128 MiB on lavapipe), each block's offset a multiple of 256 bytes.

use super::{module, pipeline, upload, vec4s, Gpu, GpuError};
use crate::matrix::{split, DistMatrix};
use crate::metric::{Metric, EARTH_RADIUS_KM};
use bytemuck::{Pod, Zeroable};

/// Rows per block are a multiple of this: with rows of a multiple of 32
/// bytes, block offsets are multiples of 256 bytes.
const ROW_ALIGN: u64 = 64;
/// Staging copies back to the host go in pieces of at most this many bytes.
const READ_CHUNK: u64 = 256 << 20;
const WG_X: u32 = 64;
const WG_Y: u32 = 4;
/// Rows per invocation, `ROWS` in the shader.
const ROWS: u32 = 16;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    stride: u32,
    row0: u32,
    rows: u32,
    sphere: u32,
    scale: f32,
    _pad: [u32; 2],
}

pub(super) struct Kernel {
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
}

impl Kernel {
    pub(super) fn new(device: &wgpu::Device) -> Kernel {
        let m = module(device, "distance.wgsl", include_str!("../../shaders/distance.wgsl"));
        let (layout, mut pipelines) = pipeline(device, &m, &["main"], 4, &[3]);
        Kernel { layout, pipeline: pipelines.remove(0) }
    }
}

/// A distance matrix computed into device memory, ready to be recomputed
/// (benchmarks) or read back.
pub struct DeviceMatrix {
    n: usize,
    stride: usize,
    out: wgpu::Buffer,
    blocks: Vec<(wgpu::BindGroup, u32, u32)>,
}

impl Gpu {
    /// The matrix of `points` under `metric` (haversine or euclidean), equal
    /// to [`DistMatrix::simd`] within 1e-5 relative.
    pub fn distance_matrix(&self, metric: Metric, points: &[[f64; 2]]) -> Result<DistMatrix, GpuError> {
        self.distance_matrix_in_blocks(metric, points, u64::MAX)
    }

    /// [`Gpu::distance_matrix`] binding at most `block_bytes` at a time (the
    /// device limit when that is smaller): tests use it to force blocks.
    pub fn distance_matrix_in_blocks(
        &self,
        metric: Metric,
        points: &[[f64; 2]],
        block_bytes: u64,
    ) -> Result<DistMatrix, GpuError> {
        let dm = self.matrix_on_device(metric, points, block_bytes)?;
        dm.compute(self)?;
        dm.read(self)
    }

    /// Uploads the points and builds the bind groups; nothing runs yet.
    pub fn matrix_on_device(
        &self,
        metric: Metric,
        points: &[[f64; 2]],
        block_bytes: u64,
    ) -> Result<DeviceMatrix, GpuError> {
        if !matches!(metric, Metric::Haversine | Metric::Euclidean) {
            return Err(GpuError::Unsupported(format!("the {} metric", metric.name())));
        }
        let n = points.len();
        let stride = n.div_ceil(8) * 8;
        let row_bytes = (stride.max(8) * 4) as u64;
        let total = row_bytes * n as u64;
        if total > self.limits.max_buffer_size {
            return Err(GpuError::Unsupported(format!(
                "a {n}-point matrix ({total} bytes; the device's largest buffer is {} bytes)",
                self.limits.max_buffer_size
            )));
        }
        let bind = block_bytes.min(self.limits.max_storage_buffer_binding_size);
        let block_rows = (bind / row_bytes / ROW_ALIGN * ROW_ALIGN).max(ROW_ALIGN);
        if block_rows * row_bytes > self.limits.max_storage_buffer_binding_size {
            return Err(GpuError::Unsupported(format!("rows of {row_bytes} bytes")));
        }
        self.checked(|| {
            let (sphere, hi, lo) = split(metric, points);
            let storage = wgpu::BufferUsages::STORAGE;
            let hi = upload(&self.device, "hi", bytemuck::cast_slice(&vec4s(&hi)), storage);
            let lo = upload(&self.device, "lo", bytemuck::cast_slice(&vec4s(&lo)), storage);
            let out = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("matrix"),
                size: total.max(4),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let mut blocks = Vec::new();
            let mut row0 = 0u64;
            while row0 < n as u64 {
                let rows = block_rows.min(n as u64 - row0);
                let params = Params {
                    n: n as u32,
                    stride: stride as u32,
                    row0: row0 as u32,
                    rows: rows as u32,
                    sphere: sphere as u32,
                    scale: (2.0 * EARTH_RADIUS_KM) as f32,
                    _pad: [0; 2],
                };
                let params = upload(&self.device, "params", bytemuck::bytes_of(&params), wgpu::BufferUsages::UNIFORM);
                let entries = [
                    wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: hi.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: lo.as_entire_binding() },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &out,
                            offset: row0 * row_bytes,
                            size: wgpu::BufferSize::new(rows * row_bytes),
                        }),
                    },
                ];
                let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some("matrix block"),
                    layout: &self.matrix.layout,
                    entries: &entries,
                });
                blocks.push((group, stride as u32, rows as u32));
                row0 += rows;
            }
            Ok(DeviceMatrix { n, stride, out, blocks })
        })
    }
}

impl DeviceMatrix {
    /// Runs every block in one submission and waits for it.
    pub fn compute(&self, gpu: &Gpu) -> Result<(), GpuError> {
        gpu.checked(|| {
            let mut encoder = gpu.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&gpu.matrix.pipeline);
                for (group, stride, rows) in &self.blocks {
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(stride.div_ceil(WG_X), rows.div_ceil(WG_Y * ROWS), 1);
                }
            }
            gpu.queue.submit([encoder.finish()]);
            gpu.wait(None)
        })
    }

    /// Copies the matrix to the host.
    pub fn read(&self, gpu: &Gpu) -> Result<DistMatrix, GpuError> {
        let mut m = DistMatrix::zeroed(self.n);
        debug_assert_eq!(m.stride(), self.stride);
        let total = (self.n * self.stride * 4) as u64;
        let data = m.data_mut();
        let mut at = 0u64;
        while at < total {
            let size = READ_CHUNK.min(total - at);
            let bytes = gpu.checked(|| gpu.read(&self.out, at, size, None))?;
            let bytes_out: &mut [u8] = bytemuck::cast_slice_mut(&mut data[..]);
            bytes_out[at as usize..(at + size) as usize].copy_from_slice(&bytes);
            at += size;
        }
        Ok(m)
    }
}
