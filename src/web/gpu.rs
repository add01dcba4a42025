//! The browser's WebGPU as a burn device. The wgpu device is acquired here rather than
//! by burn, so the page can name the adapter and keep the handle (tests destroy it to
//! provoke a lost device).

use burn::prelude::Device;
use burn::tensor::wgpu::{wgpu, WgpuSetup};

use super::seconds_now;
use crate::session::{BackendChoice, BackendDecision, Engine};

/// A WebGPU device registered with burn.
pub struct WebGpu {
    pub device: Device,
    /// The underlying wgpu device.
    pub handle: wgpu::Device,
    /// The adapter, as the browser names it (e.g. "google swiftshader").
    pub adapter: String,
}

/// Acquires the browser's WebGPU adapter and device; an error says why there is none.
pub async fn acquire() -> Result<WebGpu, String> {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = wgpu::Backends::BROWSER_WEBGPU;
    let instance = wgpu::Instance::new(descriptor);
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions::default())
        .await
        .map_err(|e| format!("this browser offers no WebGPU adapter ({e})"))?;
    let info = adapter.get_info();
    let name = [info.vendor.to_string(), info.name.clone(), info.driver.clone()]
        .into_iter()
        .filter(|s| !s.is_empty() && s != "0")
        .collect::<Vec<_>>()
        .join(" ");
    // Browsers may hide the adapter's identity; say so rather than show nothing.
    let name = if name.is_empty() { String::from("an adapter the browser does not name") } else { name };
    let (handle, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("amf-studio"),
            required_features: adapter.features(),
            required_limits: adapter.limits(),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("the WebGPU adapter gave no device ({e})"))?;
    let setup = WgpuSetup { instance, adapter, device: handle.clone(), queue, backend: wgpu::Backend::BrowserWebGpu };
    let device = Device::wgpu_options().setup(setup).init().map_err(|e| format!("burn cannot use this WebGPU device ({e})"))?;
    Ok(WebGpu { device, handle, adapter: name })
}

/// Samples per second of fine-tuning steps on `device`, timed after one warm-up step
/// (shader compilation) for at most `budget_seconds` or `max_steps` steps.
pub async fn training_speed(device: &Device, prior: &crate::policy::Policy, data: &crate::policy::Dataset, max_steps: usize) -> Result<f64, String> {
    use crate::policy::{finetune_on, BcConfig};
    let warm = BcConfig { steps: 1, ..BcConfig::default() };
    finetune_on(device, prior, data, &warm, &mut |_| {}).await.map_err(|e| e.to_string())?;
    let bc = BcConfig { steps: max_steps.max(1), ..BcConfig::default() };
    let start = seconds_now();
    finetune_on(device, prior, data, &bc, &mut |_| {}).await.map_err(|e| e.to_string())?;
    Ok((bc.steps * bc.batch_size) as f64 / (seconds_now() - start).max(1e-6))
}

/// Picks the fine-tuning backend: the person's preference, and for `Auto` a quick
/// measurement of both on `data`. Returns the WebGPU device if it was chosen.
pub async fn choose(preference: BackendChoice, prior: &crate::policy::Policy, data: &crate::policy::Dataset) -> (Option<WebGpu>, BackendDecision) {
    let cpu_only = |reason: String, cpu: Option<f64>, gpu: Option<f64>| {
        (None, BackendDecision { cpu_samples_per_second: cpu, gpu_samples_per_second: gpu, ..BackendDecision::cpu(preference, reason) })
    };
    if preference == BackendChoice::Cpu {
        return cpu_only("the CPU, as chosen".into(), None, None);
    }
    let gpu = match acquire().await {
        Ok(gpu) => gpu,
        Err(why) => return cpu_only(format!("the CPU: {why}"), None, None),
    };
    if preference == BackendChoice::WebGpu {
        let reason = format!("WebGPU ({}), as chosen", gpu.adapter);
        return (Some(gpu), BackendDecision { engine: Engine::Gpu, ..BackendDecision::cpu(preference, reason) });
    }
    let gpu_speed = match training_speed(&gpu.device, prior, data, 5).await {
        Ok(speed) => speed,
        Err(why) => return cpu_only(format!("the CPU: WebGPU failed a trial ({why})"), None, None),
    };
    let cpu_speed = training_speed(&crate::policy::cpu(), prior, data, 20).await.unwrap_or(0.0);
    if gpu_speed > cpu_speed {
        let reason = format!("WebGPU ({}): {gpu_speed:.0} samples/s against {cpu_speed:.0} on the CPU", gpu.adapter);
        let decision = BackendDecision { engine: Engine::Gpu, cpu_samples_per_second: Some(cpu_speed), gpu_samples_per_second: Some(gpu_speed), ..BackendDecision::cpu(preference, reason) };
        (Some(gpu), decision)
    } else {
        cpu_only(
            format!("the CPU: {cpu_speed:.0} samples/s against {gpu_speed:.0} on WebGPU ({})", gpu.adapter),
            Some(cpu_speed),
            Some(gpu_speed),
        )
    }
}
