#!/usr/bin/env node
// Serves the browser front end (build/web/, made by scripts/build-web.mjs) on 127.0.0.1 for manual
// use: static files only. Usage: node scripts/serve-web.mjs [PORT]  (default 8080; 0: any free port)
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';

const dir = join(new URL('..', import.meta.url).pathname, 'build', 'web');
if (!existsSync(join(dir, 'index.html'))) { console.error('serve-web: build/web is missing: run npm run web first'); process.exit(1); }
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.map': 'application/json', '.txt': 'text/plain; charset=utf-8' };

const server = createServer((req, res) => {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
  let file = join(dir, path);
  if (file.startsWith(dir) && existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
  if (!file.startsWith(dir) || !existsSync(file)) { res.writeHead(404).end('not found'); return; }
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(readFileSync(file));
});
server.listen(Number(process.argv[2] ?? 8080), '127.0.0.1', () => {
  console.log(`tsvisor web front end: http://127.0.0.1:${server.address().port}/  (Ctrl-C stops)`);
});
