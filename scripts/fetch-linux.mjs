#!/usr/bin/env node
// `npm run fetch-linux`: fetches Debian's 686-pae Linux kernel and a static i386 busybox with apt,
// and builds what `tsvisor run` boots Linux with, in cache/linux/ (git-ignored):
//   bzImage              the kernel (vmlinuz from linux-image-<release>-686-pae:i386)
//   config               its build configuration (/boot/config-<release>)
//   busybox              busybox-static:i386's /bin/busybox
//   initramfs.cpio.gz    busybox + /init + device nodes, built by machine/boot/initramfs.ts
//   manifest.json        package names and versions, sha256 and size of every file
// Idempotent: when the manifest matches the files, nothing is downloaded (the initramfs is rebuilt
// from the cached busybox and rewritten only if its bytes changed). --force downloads again.
// Downloading needs root (dpkg --add-architecture, apt-get update) and network access to Debian.
// Exit status: 0 done, 1 failure (one clear line on stderr).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;
const cache = join(root, 'cache', 'linux');
const META = 'linux-image-686-pae:i386';
const BUSYBOX = 'busybox-static:i386';
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');

class FetchError extends Error {}
const say = (m) => { if (!quiet) console.log(`fetch-linux: ${m}`); };
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: opts.binary ? 'buffer' : 'utf8', maxBuffer: 1 << 28, cwd: opts.cwd, env: { ...process.env, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error) throw new FetchError(`cannot run ${cmd}: ${r.error.code ?? r.error.message}`);
  return r;
}
const tail = (s, n = 3) => String(s).trim().split('\n').slice(-n).join(' | ');

/** Kernel options tsvisor relies on: each must be built in (=y). */
const REQUIRED_CONFIG = ['SERIAL_8250', 'SERIAL_8250_CONSOLE', 'DEVTMPFS', 'BLK_DEV_INITRD', 'RD_GZIP', 'X86_32', 'PROC_FS', 'SYSFS', 'TMPFS', 'BINFMT_ELF', 'BINFMT_SCRIPT'];

/** One fetch at a time (test files running in parallel may all call this script). */
function lock() {
  const dir = join(cache, '.lock');
  const start = Date.now();
  for (;;) {
    try { mkdirSync(dir); break; } catch (e) {
      if (e.code !== 'EEXIST') throw new FetchError(`cannot write ${cache}: ${e.code}`);
      try { if (Date.now() - statSync(dir).mtimeMs > 15 * 60_000) { rmSync(dir, { recursive: true, force: true }); continue; } } catch { continue; }
      if (Date.now() - start > 10 * 60_000) throw new FetchError(`another fetch-linux has held ${dir} for 10 minutes (remove it if stale)`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  const release = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', release);
  return release;
}

async function main() {
  try { mkdirSync(cache, { recursive: true }); } catch (e) { throw new FetchError(`cannot create ${cache}: ${e.code}`); }
  lock();
  const manifestPath = join(cache, 'manifest.json');
  let manifest = null;
  if (existsSync(manifestPath)) { try { manifest = JSON.parse(readFileSync(manifestPath, 'utf8')); } catch { manifest = null; } }

  const cached = !force && manifest && ['bzImage', 'config', 'busybox'].every((f) => fileMatches(f, manifest.files?.[f]));
  if (cached) {
    say(`cached: ${manifest.kernel.package} ${manifest.kernel.version}, ${manifest.busybox.package} ${manifest.busybox.version} (--force to download again)`);
  } else {
    manifest = download();
  }

  checkConfig(readFileSync(join(cache, 'config'), 'utf8'));
  const { parseSetupHeader } = await importDist('machine/boot/linux.js');
  const { busyboxInitramfs, INIT_SCRIPT } = await importDist('machine/boot/initramfs.js');
  const h = parseSetupHeader(new Uint8Array(readFileSync(join(cache, 'bzImage'))));
  const proto = `${h.version >> 8}.${(h.version & 0xff).toString().padStart(2, '0')}`;
  say(`bzImage: boot protocol ${proto}, ${h.kernelVersion}`);
  manifest.kernel.bootProtocol = proto;
  manifest.kernel.kernelVersion = h.kernelVersion;

  // Deterministic: cpio with fixed mtimes, gzip without a file name or time stamp.
  const cpio = busyboxInitramfs(new Uint8Array(readFileSync(join(cache, 'busybox'))));
  const gz = gzipSync(cpio, { level: 9 });
  const initramfs = { sha256: sha256(gz), size: gz.length, cpioSha256: sha256(cpio), cpioSize: cpio.length, initSha256: sha256(INIT_SCRIPT) };
  if (fileMatches('initramfs.cpio.gz', initramfs)) { // the file on disk already has the bytes just built
    say('initramfs.cpio.gz is up to date');
  } else {
    writeFileSync(join(cache, 'initramfs.cpio.gz'), gz);
    say(`wrote initramfs.cpio.gz (${gz.length} bytes, ${cpio.length} uncompressed)`);
  }
  manifest.files['initramfs.cpio.gz'] = initramfs;
  const text = JSON.stringify(manifest, null, 2) + '\n';
  if (!existsSync(manifestPath) || readFileSync(manifestPath, 'utf8') !== text) { writeFileSync(manifestPath, text); say('wrote manifest.json'); }
  say(`ready: ${join(cache, 'bzImage')} and ${join(cache, 'initramfs.cpio.gz')}`);
}

function fileMatches(name, entry) {
  const p = join(cache, name);
  if (!entry || !existsSync(p) || statSync(p).size !== entry.size) return false;
  return sha256(readFileSync(p)) === entry.sha256;
}

function download() {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new FetchError('must run as root to download the kernel (dpkg --add-architecture i386 and apt-get update need it; CI runs as root)');
  }
  if (run('dpkg', ['--version']).status !== 0 || run('apt-get', ['--version']).status !== 0) throw new FetchError('dpkg/apt-get not found: this script needs a Debian system');

  const foreign = run('dpkg', ['--print-foreign-architectures']).stdout.split(/\s+/);
  if (run('dpkg', ['--print-architecture']).stdout.trim() !== 'i386' && !foreign.includes('i386')) {
    say('dpkg --add-architecture i386');
    const r = run('dpkg', ['--add-architecture', 'i386']);
    if (r.status !== 0) throw new FetchError(`dpkg --add-architecture i386 failed: ${tail(r.stderr)}`);
  }
  say('apt-get update');
  const up = run('apt-get', ['update']);
  // A partial failure (one mirror mid-sync) still leaves usable lists: go on and see if the packages resolve.
  if (up.status !== 0) say(`warning: apt-get update reported errors (${tail(up.stderr, 2)}); continuing with the lists it has`);

  const dep = run('apt-cache', ['depends', META]);
  const m = /Depends:\s*(linux-image-[^\s:]+-686-pae)(?::i386)?/.exec(dep.stdout);
  if (dep.status !== 0 || !m) {
    throw new FetchError(`package ${META} not found in the apt lists${up.status !== 0 ? ' (apt-get update failed: no network access to the Debian mirror?)' : ''}: ${tail(dep.stderr || dep.stdout, 2)}`);
  }
  const kpkg = `${m[1]}:i386`;
  const kver = candidateVersion(kpkg), bver = candidateVersion(BUSYBOX);
  say(`${META} → ${kpkg} ${kver}; ${BUSYBOX} ${bver}`);

  const tmp = mkdtempSync(join(cache, 'tmp-'));
  try {
    say(`apt-get download ${kpkg} ${BUSYBOX}`);
    const dl = run('apt-get', ['download', '-o', 'APT::Sandbox::User=root', `${kpkg}=${kver}`, `${BUSYBOX}=${bver}`], { cwd: tmp });
    if (dl.status !== 0) throw new FetchError(`apt-get download failed (no network access to the Debian mirror?): ${tail(dl.stderr)}`);
    const debs = readdirSync(tmp).filter((f) => f.endsWith('.deb'));
    const kdeb = debs.find((f) => f.startsWith(m[1] + '_')), bdeb = debs.find((f) => f.startsWith('busybox-static_'));
    if (!kdeb || !bdeb) throw new FetchError(`apt-get download did not produce both packages (got: ${debs.join(', ') || 'nothing'})`);
    const tree = join(tmp, 'root');
    for (const deb of [kdeb, bdeb]) {
      say(`dpkg -x ${deb}`);
      const x = run('dpkg', ['-x', join(tmp, deb), tree]);
      if (x.status !== 0) throw new FetchError(`dpkg -x ${deb} failed: ${tail(x.stderr)}`);
    }
    const release = m[1].replace(/^linux-image-/, '');
    const pick = (from, to) => {
      const p = join(tree, from);
      if (!existsSync(p)) throw new FetchError(`${from} is missing from the package`);
      copyFileSync(p, join(tmp, to));
    };
    pick(`boot/vmlinuz-${release}`, 'bzImage');
    pick(`boot/config-${release}`, 'config');
    pick('bin/busybox', 'busybox');
    const files = {};
    for (const f of ['bzImage', 'config', 'busybox']) {
      const data = readFileSync(join(tmp, f));
      files[f] = { sha256: sha256(data), size: data.length };
      renameSync(join(tmp, f), join(cache, f));
      say(`wrote ${f} (${data.length} bytes)`);
    }
    return {
      kernel: { meta: META, package: kpkg, version: kver, release, deb: kdeb, debSha256: sha256(readFileSync(join(tmp, kdeb))) },
      busybox: { package: BUSYBOX, version: bver, deb: bdeb, debSha256: sha256(readFileSync(join(tmp, bdeb))) },
      files,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function candidateVersion(pkg) {
  const r = run('apt-cache', ['show', '--no-all-versions', pkg]);
  const v = /^Version:\s*(\S+)/m.exec(r.stdout);
  if (r.status !== 0 || !v) throw new FetchError(`package ${pkg} not found in the apt lists: ${tail(r.stderr, 2)}`);
  return v[1];
}

function checkConfig(text) {
  const get = (k) => (new RegExp(`^CONFIG_${k}=(.*)$`, 'm').exec(text) ?? [])[1] ?? 'not set';
  const missing = REQUIRED_CONFIG.filter((k) => get(k) !== 'y');
  if (missing.length) throw new FetchError(`the kernel lacks built-in options tsvisor needs: ${missing.map((k) => `CONFIG_${k}=${get(k)}`).join(', ')}`);
  const info = ['M686', 'X86_PAE', 'X86_MINIMUM_CPU_FAMILY', 'X86_LOCAL_APIC', 'X86_IO_APIC', 'ACPI', 'X86_MPPARSE', 'KERNEL_XZ', 'RANDOMIZE_BASE', 'PHYSICAL_START']
    .map((k) => `${k}=${get(k)}`).join(' ');
  say(`kernel config: required options built in; ${info}`);
}

async function importDist(rel) {
  const js = join(root, 'dist', rel);
  const ts = join(root, rel.replace(/\.js$/, '.ts'));
  if (!existsSync(js) || statSync(js).mtimeMs < statSync(ts).mtimeMs) {
    say('compiling the TypeScript (npx tsc)');
    spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: quiet ? 'ignore' : 'inherit' }); // emits even if other files have type errors
    if (!existsSync(js)) throw new FetchError(`dist/${rel} is missing after compiling`);
  }
  return import(js);
}

main().catch((e) => {
  if (e instanceof FetchError || e?.name === 'BootError') { console.error(`fetch-linux: ${e.message}`); process.exit(1); }
  console.error(e);
  process.exit(70);
});
