// Shared by the end-to-end scripts: how to start this machine's Chromium, and checks.

import { spawn } from 'node:child_process';

/** Starts `amf serve` (the binary `amf`) with `args`; resolves with its process once it
 * listens, rejects if it exits first. */
export function serve(amf, args, env = process.env) {
  const child = spawn(amf, ['serve', ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { if (String(d).includes('http://')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`amf serve exited (${code})`)));
  });
}

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
