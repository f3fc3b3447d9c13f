#!/usr/bin/env node
// `npm start`: the main job. Today: build the test guests and boot the demo guest on the machine.
// (Once the Linux boot protocol lands, this boots Debian's 686-pae kernel instead.)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
if (!existsSync(root + 'dist/cli/main.js')) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
execFileSync('node', ['scripts/build-guests.mjs'], { cwd: root, stdio: 'inherit' });
const args = ['bin/tsvisor.mjs', 'run', '--kernel', 'build/guests/hello.bin', ...process.argv.slice(2)];
const r = spawnSync('node', args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 70);
