//! Draws the core's `Visual`s with three-d on a WebGL2 canvas: one instanced mesh per
//! primitive shape, so a frame is a handful of draw calls.

use std::sync::Arc;

use three_d::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;

use crate::sim::{Visual, VisualShape};
use crate::teleop::OrbitCamera;

type Solid = Gm<InstancedMesh, PhysicalMaterial>;

pub struct SceneRenderer {
    context: Context,
    /// Opaque boxes, cylinders and balls, then translucent markers in the same order.
    solids: [Solid; 3],
    markers: [Solid; 3],
    ambient: AmbientLight,
    sun: DirectionalLight,
}

/// A closed cylinder of radius 1 along `y`, from `y = -1` to `y = 1`.
fn capped_cylinder(segments: u32) -> CpuMesh {
    let mut positions = Vec::new();
    let mut normals = Vec::new();
    let mut indices = Vec::new();
    let n = segments as usize;
    for i in 0..n {
        let angle = i as f32 / n as f32 * std::f32::consts::TAU;
        let (s, c) = angle.sin_cos();
        for y in [-1.0, 1.0] {
            positions.push(vec3(c, y, s));
            normals.push(vec3(c, 0.0, s));
        }
    }
    for i in 0..n {
        let (a, b) = (2 * i as u32, 2 * ((i + 1) % n) as u32);
        indices.extend_from_slice(&[a, a + 1, b + 1, a, b + 1, b]);
    }
    for (y, normal) in [(-1.0f32, -1.0f32), (1.0, 1.0)] {
        let center = positions.len() as u32;
        positions.push(vec3(0.0, y, 0.0));
        normals.push(vec3(0.0, normal, 0.0));
        for i in 0..n {
            let angle = i as f32 / n as f32 * std::f32::consts::TAU;
            let (s, c) = angle.sin_cos();
            positions.push(vec3(c, y, s));
            normals.push(vec3(0.0, normal, 0.0));
        }
        for i in 0..n as u32 {
            let (a, b) = (center + 1 + i, center + 1 + (i + 1) % n as u32);
            if normal > 0.0 {
                indices.extend_from_slice(&[center, b, a]);
            } else {
                indices.extend_from_slice(&[center, a, b]);
            }
        }
    }
    CpuMesh {
        positions: Positions::F32(positions),
        indices: Indices::U32(indices),
        normals: Some(normals),
        ..Default::default()
    }
}

fn to_mat4(pose: &rapier3d::prelude::Pose, scale: rapier3d::prelude::Vector) -> Mat4 {
    let mut m = pose.to_mat4();
    m.x_axis *= scale.x;
    m.y_axis *= scale.y;
    m.z_axis *= scale.z;
    Mat4::from(m.to_cols_array_2d())
}

fn shape_slot(shape: &VisualShape) -> (usize, rapier3d::prelude::Vector) {
    use rapier3d::prelude::Vector;
    match *shape {
        VisualShape::Cuboid { half_extents } => (0, half_extents),
        VisualShape::Cylinder { half_height, radius } => (1, Vector::new(radius, half_height, radius)),
        VisualShape::Ball { radius } => (2, Vector::splat(radius)),
    }
}

impl SceneRenderer {
    pub fn new(canvas: &HtmlCanvasElement) -> Result<SceneRenderer, String> {
        let options = web_sys::WebGlContextAttributes::new();
        options.set_antialias(true);
        let gl = canvas
            .get_context_with_context_options("webgl2", &options)
            .map_err(|e| format!("WebGL2 is unavailable: {e:?}"))?
            .ok_or("this browser does not offer WebGL2")?
            .dyn_into::<web_sys::WebGl2RenderingContext>()
            .map_err(|_| "the canvas did not return a WebGL2 context")?;
        let context = Context::from_gl_context(Arc::new(context::Context::from_webgl2_context(gl)))
            .map_err(|e| format!("could not start the renderer: {e}"))?;
        let meshes = [CpuMesh::cube(), capped_cylinder(32), CpuMesh::sphere(16)];
        let empty = Instances::default();
        let solid = |mesh: &CpuMesh| {
            Gm::new(
                InstancedMesh::new(&context, &empty, mesh),
                PhysicalMaterial::new_opaque(
                    &context,
                    &CpuMaterial { albedo: Srgba::WHITE, roughness: 0.75, metallic: 0.0, ..Default::default() },
                ),
            )
        };
        let marker = |mesh: &CpuMesh| {
            Gm::new(
                InstancedMesh::new(&context, &empty, mesh),
                PhysicalMaterial::new_transparent(
                    &context,
                    &CpuMaterial { albedo: Srgba::new(255, 255, 255, 140), roughness: 0.9, ..Default::default() },
                ),
            )
        };
        let solids = [solid(&meshes[0]), solid(&meshes[1]), solid(&meshes[2])];
        let markers = [marker(&meshes[0]), marker(&meshes[1]), marker(&meshes[2])];
        let ambient = AmbientLight::new(&context, 0.45, Srgba::WHITE);
        let sun = DirectionalLight::new(&context, 2.2, Srgba::WHITE, vec3(-0.4, 0.6, -1.0));
        Ok(SceneRenderer { context, solids, markers, ambient, sun })
    }

    /// Draws one frame of `visuals` seen from `camera` into a `width` x `height` canvas.
    pub fn render(&mut self, visuals: &[Visual], camera: &OrbitCamera, width: u32, height: u32) {
        let mut solid: [Instances; 3] = Default::default();
        let mut marker: [Instances; 3] = Default::default();
        for visual in visuals {
            let (slot, scale) = shape_slot(&visual.shape);
            let target = if visual.is_marker { &mut marker[slot] } else { &mut solid[slot] };
            target.transformations.push(to_mat4(&visual.pose, scale));
            let c = visual.color;
            target
                .colors
                .get_or_insert_with(Vec::new)
                .push(Srgba::new(c.0, c.1, c.2, if visual.is_marker { 140 } else { 255 }));
        }
        for (gm, instances) in self.solids.iter_mut().zip(&solid).chain(self.markers.iter_mut().zip(&marker)) {
            gm.geometry.set_instances(instances);
        }
        let eye = camera.eye();
        let target = camera.target;
        let view = Camera::new_perspective(
            Viewport::new_at_origo(width, height),
            vec3(eye.x, eye.y, eye.z),
            vec3(target.x, target.y, target.z),
            vec3(0.0, 0.0, 1.0),
            radians(camera.fov_y),
            0.02,
            20.0,
        );
        let drawn = self
            .solids
            .iter()
            .zip(&solid)
            .chain(self.markers.iter().zip(&marker))
            .filter(|(_, instances)| !instances.transformations.is_empty())
            .map(|(gm, _)| gm);
        RenderTarget::screen(&self.context, width, height)
            .clear(ClearState::color_and_depth(0.91, 0.93, 0.96, 1.0, 1.0))
            .render(&view, drawn, &[&self.ambient, &self.sun]);
    }
}
