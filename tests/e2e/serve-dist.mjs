// A static file server for the built page (dist/) and, under /node_modules/, the npm
// packages the benchmark page loads. With --gzip, the page's files go gzipped to a browser
// that takes it, as a web server sends them (the load benchmark; the tests serve dev
// builds, too large to gzip on every start).
// Usage: node tests/e2e/serve-dist.mjs PORT [FOLDER] [--gzip]
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const root = path.resolve(new URL('../..', import.meta.url).pathname);
const args = process.argv.slice(2).filter((a) => a !== '--gzip');
const gzip = process.argv.includes('--gzip');
const port = Number(args[0] ?? 8090);
const dist = path.resolve(root, args[1] ?? 'dist');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json', '.png': 'image/png' };

const gzipped = new Map();

http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  let rel = decodeURIComponent(url.pathname);
  let file = rel.startsWith('/node_modules/') || rel.startsWith('/tests/')
    ? path.join(root, rel)
    : path.join(dist, rel === '/' ? 'index.html' : rel);
  if (!(file.startsWith(root) || file.startsWith(dist)) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
    res.writeHead(404); res.end('not found'); return;
  }
  const type = types[path.extname(file)] ?? 'application/octet-stream';
  // Gzipped (level 9, kept in memory), as a web server or the collection service sends
  // the page; the load benchmark throttles these bytes.
  if (gzip && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '') && file.startsWith(dist)) {
    const { mtimeMs } = fs.statSync(file);
    let cached = gzipped.get(file);
    if (!cached || cached.mtimeMs !== mtimeMs) {
      cached = { mtimeMs, bytes: zlib.gzipSync(fs.readFileSync(file), { level: 9 }) };
      gzipped.set(file, cached);
    }
    res.writeHead(200, { 'content-type': type, 'content-encoding': 'gzip', 'content-length': cached.bytes.length });
    res.end(cached.bytes);
    return;
  }
  res.writeHead(200, { 'content-type': type });
  fs.createReadStream(file).pipe(res);
}).listen(port, '127.0.0.1', () => console.log(`serving on http://127.0.0.1:${port}`));
