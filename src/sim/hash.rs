//! A stable fingerprint of the physical state, to check that replays are bit-identical
//! across runs and platforms (native and wasm).

use rapier3d::prelude::RigidBodySet;

/// 64-bit FNV-1a: tiny, stable across platforms and Rust versions (unlike `std`'s hasher).
#[derive(Clone, Copy, Debug)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn write_f32(&mut self, x: f32) {
        self.write(&x.to_bits().to_le_bytes());
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

/// Hashes the pose and velocity of every rigid body, in the set's (deterministic) order.
pub fn hash_bodies(bodies: &RigidBodySet, hasher: &mut Fnv64) {
    for (_, body) in bodies.iter() {
        let pose = body.position();
        for v in [pose.translation, body.linvel(), body.angvel()] {
            hasher.write_f32(v.x);
            hasher.write_f32(v.y);
            hasher.write_f32(v.z);
        }
        let q = pose.rotation;
        for c in [q.x, q.y, q.z, q.w] {
            hasher.write_f32(c);
        }
    }
}
