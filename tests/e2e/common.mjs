// Shared by the end-to-end scripts: how to start this machine's Chromium, and checks.

export function launchOptions() {
  return {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      // Software WebGL: headless machines have no GPU.
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
      // WebGPU through SwiftShader too (software: it works, slowly).
      '--enable-unsafe-webgpu',
    ],
  };
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
