//! Moving a module between devices by reading its parameters back asynchronously: a GPU's
//! buffers can be read only asynchronously in a browser, so burn's synchronous
//! `to_device` cannot bring a WebGPU-trained policy back to the CPU there.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;

/// Every float parameter, flattened, in visiting order.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().flatten::<1>(0, D - 1));
    }
}

/// Replaces every float parameter, in the same order, by its read-back values on
/// `device`, keeping its id and whether it takes gradients.
struct Replace<'a> {
    values: std::vec::IntoIter<TensorData>,
    device: &'a Device,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let device = self.device;
        match self.values.next() {
            Some(data) => param.map(|old| {
                let shape = old.shape();
                let tracked = old.is_require_grad();
                let new = Tensor::<1>::from_data(data, device).reshape(shape);
                // A fresh tensor is not an autodiff leaf: a trained parameter must be one
                // again, or a run resumed from a snapshot could not take gradients.
                if tracked { new.require_grad() } else { new }
            }),
            None => param,
        }
    }
}

/// A failed read-back, with the device's message.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the parameters back from the device: {0}")]
pub struct TransferError(pub String);

/// The values of `module`'s float parameters in visiting order, read back asynchronously.
pub(super) async fn read_parameters<M: Module>(module: &M) -> Result<Vec<TensorData>, TransferError> {
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    let mut values = Vec::with_capacity(collect.0.len());
    for tensor in collect.0 {
        values.push(tensor.into_data_async().await.map_err(|e| TransferError(format!("{e:?}")))?);
    }
    Ok(values)
}

/// Every float parameter of `module`, flattened and detached from autodiff, in visiting
/// order (the order [`with_parameters`] takes them back in).
pub(super) fn detached_parameters<M: Module>(module: &M) -> Vec<Tensor<1>> {
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0.into_iter().map(Tensor::detach).collect()
}

/// `module` with its float parameters replaced, in visiting order, by `values` on `device`.
pub(super) fn with_parameters<M: Module>(module: M, values: Vec<TensorData>, device: &Device) -> M {
    module.map(&mut Replace { values: values.into_iter(), device })
}

/// `module` with its parameters copied to `device`, read back asynchronously.
pub async fn to_device_async<M: Module>(module: M, device: &Device) -> Result<M, TransferError> {
    let values = read_parameters(&module).await?;
    Ok(with_parameters(module, values, device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Actor, FineTunedPolicy, NormStats, Policy, PolicyConfig};
    use crate::tasks::{Episode, TaskId};

    #[test]
    fn read_back_values_carry_a_policy_over() {
        let device = crate::policy::cpu();
        let config = PolicyConfig { hidden: 32, ..PolicyConfig::default() };
        let make = |seed| {
            crate::policy::drawing_initial_weights(|| {
                device.seed(seed);
                FineTunedPolicy::new(&Policy::new(&config, &NormStats::identity(), &device), true, &device)
            })
        };
        let (a, b) = (make(3), make(4));
        let obs: Vec<_> = TaskId::ALL.iter().map(|&t| Episode::new(t, 1).observation()).collect();
        assert_ne!(a.act(&obs), b.act(&obs));
        // b's structure with a's values acts as a: the visiting orders agree.
        let values = futures_lite::future::block_on(read_parameters(&a)).unwrap();
        assert_eq!(with_parameters(b, values, &device).act(&obs), a.act(&obs));
        let copy = futures_lite::future::block_on(to_device_async(a.clone(), &device)).unwrap();
        assert_eq!(copy.act(&obs), a.act(&obs));
    }
}
