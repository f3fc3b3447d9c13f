// Linux boot protocol loader, e820 map and initramfs writer. Offsets and values below are written
// from the kernel's Documentation/arch/x86/boot.rst and zero-page.rst (and the cpio newc format in
// early-userspace/buffer-format.rst), not taken from the code under test. The last tests fetch
// Debian's kernel with scripts/fetch-linux.mjs (cached in cache/linux/) and load it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PhysMem } from '../machine/memory.js';
import { BootError } from '../machine/boot/errors.js';
import { isLinuxImage, parseSetupHeader, loadLinux } from '../machine/boot/linux.js';
import { pcMemoryMap } from '../machine/boot/e820.js';
import { CpioWriter, busyboxInitramfs } from '../machine/boot/initramfs.js';

const root = new URL('../..', import.meta.url).pathname;
const MiB = 1 << 20;

// ---- A synthetic bzImage: setup sectors + protected-mode payload, header fields per boot.rst.
interface Synth {
  version?: number; setupSects?: number; loadflags?: number; xloadflags?: number; relocatable?: number;
  kernelAlignment?: number; prefAddress?: number; initSize?: number; initrdAddrMax?: number; cmdlineSize?: number;
  payload?: number; truncateTo?: number; magic?: number; bootFlag?: number;
}
function synth(o: Synth = {}): { image: Uint8Array; payload: Uint8Array; setupBytes: number } {
  const sects = o.setupSects ?? 4;
  const setupBytes = ((sects === 0 ? 4 : sects) + 1) * 512;
  const payload = new Uint8Array(o.payload ?? 0x3000);
  for (let k = 0; k < payload.length; k++) payload[k] = (k * 7 + 3) & 0xff;
  const img = new Uint8Array(setupBytes + payload.length);
  img.set(payload, setupBytes);
  const dv = new DataView(img.buffer);
  img[0x1ef] = 0x5a;                                     // sentinel byte in the file: must not reach boot_params
  img[0x1f1] = sects;
  dv.setUint32(0x1f4, Math.ceil(payload.length / 16), true); // syssize (16-byte units)
  dv.setUint16(0x1fa, 0xffff, true);                     // vid_mode
  dv.setUint16(0x1fe, o.bootFlag ?? 0xaa55, true);
  img[0x200] = 0xeb; img[0x201] = 0x6a;                 // jmp short: header ends at 0x202 + 0x6a = 0x26c
  dv.setUint32(0x202, o.magic ?? 0x53726448, true);      // "HdrS"
  dv.setUint16(0x206, o.version ?? 0x020f, true);
  dv.setUint16(0x20e, 0x100, true);                      // kernel_version at 0x200 + 0x100
  img.set(new TextEncoder().encode('9.9.9-synthetic\0'), 0x300);
  img[0x211] = o.loadflags ?? 0x01;                      // LOADED_HIGH
  dv.setUint32(0x214, 0x100000, true);                   // code32_start
  dv.setUint32(0x22c, o.initrdAddrMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, o.kernelAlignment ?? 0x1000000, true);
  img[0x234] = o.relocatable ?? 1;
  img[0x235] = 13;                                       // min_alignment
  dv.setUint16(0x236, o.xloadflags ?? 0, true);
  dv.setUint32(0x238, o.cmdlineSize ?? 0x7ff, true);
  dv.setUint32(0x258, o.prefAddress ?? 0x1000000, true); // pref_address (low half)
  dv.setUint32(0x260, o.initSize ?? 0x400000, true);
  const image = o.truncateTo !== undefined ? img.slice(0, o.truncateTo) : img;
  return { image, payload, setupBytes };
}

const rd32 = (m: PhysMem, a: number): number => m.read(a, 4) >>> 0;
const rd16 = (m: PhysMem, a: number): number => m.read(a, 2);
const rd8 = (m: PhysMem, a: number): number => m.read(a, 1);
function cstr(m: PhysMem, a: number): string { let s = ''; for (let c; (c = rd8(m, a++)) !== 0;) s += String.fromCharCode(c); return s; }

test('setup header: fields of a synthetic bzImage', () => {
  const { image } = synth({ setupSects: 0 });
  assert.equal(isLinuxImage(image), true);
  const h = parseSetupHeader(image);
  assert.equal(h.version, 0x020f);
  assert.equal(h.setupSects, 4, 'setup_sects 0 means 4');
  assert.equal(h.pmOffset, 5 * 512);
  assert.equal(h.headerEnd, 0x26c);
  assert.equal(h.relocatable, true);
  assert.equal(h.kernelAlignment, 0x1000000);
  assert.equal(h.prefAddress, 0x1000000);
  assert.equal(h.initSize, 0x400000);
  assert.equal(h.cmdlineSize, 0x7ff);
  assert.equal(h.initrdAddrMax, 0x7fffffff);
  assert.equal(h.kernelVersion, '9.9.9-synthetic');
});

test('setup header: bad images are rejected with a BootError naming the problem', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(300), /too short/],
    ['no HdrS', synth({ magic: 0x12345678 }).image, /HdrS/],
    ['no boot flag', synth({ bootFlag: 0 }).image, /boot_flag/],
    ['protocol 2.09', synth({ version: 0x0209 }).image, /protocol 2\.09 is too old/],
    ['protocol 2.02', synth({ version: 0x0202 }).image, /too old/],
    ['zImage', synth({ loadflags: 0 }).image, /zImage/],
    ['64-bit kernel', synth({ xloadflags: 1 }).image, /64-bit/],
    ['truncated payload', synth({ truncateTo: 5 * 512 + 0x1000 }).image, /truncated/],
    ['truncated header', synth().image.slice(0, 0x240), /truncated/],
    ['bad alignment', synth({ kernelAlignment: 0x1000001 }).image, /kernel_alignment/],
  ];
  for (const [what, img, re] of cases) {
    assert.throws(() => parseSetupHeader(img), (e: unknown) => e instanceof BootError && re.test(e.message), what);
    assert.throws(() => loadLinux(img, new PhysMem(64 * MiB), { cmdline: '' }), BootError, what);
  }
  assert.equal(isLinuxImage(new Uint8Array(4096)), false);
  assert.equal(isLinuxImage(synth({ magic: 0 }).image), false);
});

test('e820 map: PC layout, MMIO reserved, overlaps cut out of RAM', () => {
  const map = pcMemoryMap(64 * MiB, [{ base: 0xfee00000, length: 0x1000 }, { base: 0xfec00000, length: 0x1000 }]);
  assert.deepEqual(map.map((e) => [e.addr, e.size, e.type]), [
    [0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xf0000, 0x10000, 2], [0x100000, 63 * MiB, 1],
    [0xfec00000, 0x1000, 2], [0xfee00000, 0x1000, 2],
  ]);
  // A region inside RAM splits it; overlapping and touching regions merge.
  const split = pcMemoryMap(64 * MiB, [{ base: 32 * MiB, length: MiB }, { base: 32 * MiB + 0x800, length: MiB }, { base: 33 * MiB + 0x800, length: 0x800 }]);
  assert.deepEqual(split.map((e) => [e.addr, e.size, e.type]), [
    [0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xf0000, 0x10000, 2], [0x100000, 31 * MiB, 1],
    [32 * MiB, MiB + 0x1000, 2], [33 * MiB + 0x1000, 31 * MiB - 0x1000, 1],
  ]);
});

test('loadLinux: kernel at pref_address, initrd at the top, command line, boot_params, e820, GDT', () => {
  const mem = new PhysMem(64 * MiB);
  const { image, payload } = synth();
  const initrd = new Uint8Array(10000).map((_, k) => k * 13);
  const cmdline = 'console=ttyS0 rdinit=/init quiet';
  const r = loadLinux(image, mem, { cmdline, initrd, reserved: [{ base: 0xfec00000, length: 0x1000 }, { base: 0xfee00000, length: 0x1000 }] });

  // Relocatable, and 16 MiB + init_size fits: loaded at pref_address; entry = load address (32-bit protocol).
  assert.equal(r.loadAddr, 0x1000000);
  assert.equal(r.entry, 0x1000000);
  assert.deepEqual(mem.readBytes(0x1000000, payload.length), payload);
  // Initrd: highest page-aligned address below 64 MiB where 10000 bytes fit = 0x3ffd000.
  assert.equal(r.initrdAddr, 0x3ffd000);
  assert.deepEqual(mem.readBytes(0x3ffd000, initrd.length), initrd);

  const zp = r.esi;
  assert.equal(zp, r.bootParams);
  assert.ok(zp + 0x1000 <= 0x9fc00, 'boot_params below the EBDA');
  // Setup header copied from 0x1f1..0x26c, then the loader's fields (boot.rst).
  assert.equal(rd32(mem, zp + 0x202), 0x53726448);
  assert.equal(rd16(mem, zp + 0x206), 0x020f);
  assert.equal(rd32(mem, zp + 0x1f4), 0x300);               // syssize copied
  assert.equal(rd32(mem, zp + 0x230), 0x1000000);           // kernel_alignment copied
  assert.equal(rd32(mem, zp + 0x260), 0x400000);            // init_size copied
  assert.equal(rd8(mem, zp + 0x210), 0xff);                 // type_of_loader: undefined
  assert.equal(rd8(mem, zp + 0x211) & 0x81, 0x81);          // LOADED_HIGH | CAN_USE_HEAP
  assert.equal(rd16(mem, zp + 0x224), 0xde00);              // heap_end_ptr
  assert.equal(rd32(mem, zp + 0x214), 0x1000000);           // code32_start = load address
  assert.equal(rd32(mem, zp + 0x218), 0x3ffd000);           // ramdisk_image
  assert.equal(rd32(mem, zp + 0x21c), 10000);               // ramdisk_size
  const cmdPtr = rd32(mem, zp + 0x228);
  assert.ok(cmdPtr > 0 && cmdPtr + cmdline.length < 0xa0000, 'cmd_line_ptr below 640 KiB');
  assert.equal(cstr(mem, cmdPtr), cmdline);
  assert.equal(rd8(mem, zp + 0x1ef), 0, 'sentinel stays 0 (not copied from the file)');
  assert.equal(rd32(mem, zp + 0x0c0) | rd32(mem, zp + 0x0c4) | rd32(mem, zp + 0x0c8), 0, 'ext_* high halves 0');
  for (let k = 0; k < 0x40; k++) assert.equal(rd8(mem, zp + k), 0, `screen_info byte ${k} (no VGA)`);
  assert.equal(rd32(mem, zp + 0x1e0), 63 * 1024);          // alt_mem_k: KiB above 1 MiB
  // e820: count at 0x1e8, 20-byte entries (u64 addr, u64 size, u32 type) at 0x2d0.
  const want = [[0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xf0000, 0x10000, 2], [0x100000, 0x3f00000, 1], [0xfec00000, 0x1000, 2], [0xfee00000, 0x1000, 2]];
  assert.equal(rd8(mem, zp + 0x1e8), want.length);
  want.forEach(([a, s, t], k) => {
    const o = zp + 0x2d0 + 20 * k;
    assert.deepEqual([rd32(mem, o), rd32(mem, o + 4), rd32(mem, o + 8), rd32(mem, o + 12), rd32(mem, o + 16)], [a, 0, s, 0, t], `e820 entry ${k}`);
  });

  // GDT: selectors 0x10 and 0x18 are flat 4 GiB, 32-bit, present, DPL 0; code execute/read, data read/write.
  assert.equal(r.cs, 0x10); assert.equal(r.ds, 0x18);
  assert.ok(r.gdtLimit >= 0x1f);
  for (const [sel, type] of [[0x10, 0xb], [0x18, 0x3]]) {
    const lo = rd32(mem, r.gdtBase + sel), hi = rd32(mem, r.gdtBase + sel + 4);
    const base = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
    const limit = (lo & 0xffff) | (hi & 0xf0000);
    assert.equal(base, 0, `base of ${sel}`);
    assert.equal(limit, 0xfffff, `limit of ${sel}`);
    assert.equal((hi >>> 8) & 0xf, type, `type of ${sel}`);
    assert.equal((hi >>> 12) & 1, 1, 'S (code/data)');
    assert.equal((hi >>> 13) & 3, 0, 'DPL 0');
    assert.equal((hi >>> 15) & 1, 1, 'present');
    assert.equal((hi >>> 22) & 3, 3, 'D/B = 32-bit and G = 4 KiB units');
  }
});

test('loadLinux: placement rules (non-relocatable, initrd_addr_max, no initrd)', () => {
  // Non-relocatable: the protected-mode kernel goes to 1 MiB.
  let mem = new PhysMem(64 * MiB);
  let { image, payload } = synth({ relocatable: 0 });
  let r = loadLinux(image, mem, { cmdline: '' });
  assert.equal(r.loadAddr, 0x100000);
  assert.deepEqual(mem.readBytes(0x100000, payload.length), payload);
  assert.equal(rd32(mem, r.bootParams + 0x218), 0);
  assert.equal(rd32(mem, r.bootParams + 0x21c), 0);
  assert.equal(cstr(mem, rd32(mem, r.bootParams + 0x228)), '');
  // 16 MiB + init_size (4 MiB) fits exactly in 20 MiB; in 18 MiB the loader falls back to 1 MiB,
  // where the decompressor would still need 16..20 MiB: a clear error.
  assert.equal(loadLinux(synth().image, new PhysMem(20 * MiB), { cmdline: '' }).loadAddr, 0x1000000);
  assert.throws(() => loadLinux(synth().image, new PhysMem(18 * MiB), { cmdline: '' }), (e: unknown) => e instanceof BootError && /larger --mem/.test(e.message));
  // initrd_addr_max 48 MiB - 1: a 1 MiB initrd ends at or below 48 MiB.
  mem = new PhysMem(64 * MiB);
  ({ image } = synth({ initrdAddrMax: 0x2ffffff }));
  r = loadLinux(image, mem, { cmdline: 'x', initrd: new Uint8Array(MiB + 5) });
  assert.equal(r.initrdAddr, 0x3000000 - MiB - 0x1000);  // floor((48 MiB - (1 MiB + 5)) / 4 KiB) * 4 KiB = 0x2eff000
  // The kernel needs 16..20 MiB: in 24 MiB a 4 MiB initrd fits exactly at 20 MiB, a 1-byte larger one is refused.
  assert.equal(loadLinux(synth().image, new PhysMem(24 * MiB), { cmdline: '', initrd: new Uint8Array(4 * MiB) }).initrdAddr, 20 * MiB);
  assert.throws(() => loadLinux(synth().image, new PhysMem(24 * MiB), { cmdline: '', initrd: new Uint8Array(4 * MiB + 1) }), /initrd/);
  // Command line longer than cmdline_size.
  assert.throws(() => loadLinux(synth({ cmdlineSize: 16 }).image, new PhysMem(64 * MiB), { cmdline: 'a'.repeat(17) }), /command line/);
  assert.doesNotThrow(() => loadLinux(synth({ cmdlineSize: 16 }).image, new PhysMem(64 * MiB), { cmdline: 'a'.repeat(16) }));
});

test('Machine.loadLinux sets the 32-bit boot protocol entry state', async () => {
  const { Machine } = await import('../machine/machine.js');
  const { SEG } = await import('../machine/cpu/arch.js');
  const m = new Machine({ memBytes: 64 * MiB, onSerial: () => {} });
  const r = m.loadLinux(synth().image, { cmdline: 'console=ttyS0', initrd: new Uint8Array(100) });
  const c = m.cpu;
  assert.equal(c.eip >>> 0, 0x1000000);
  assert.equal(c.r32[6] >>> 0, r.bootParams, 'ESI = boot_params');
  assert.deepEqual([c.r32[3], c.r32[5], c.r32[7]], [0, 0, 0], 'EBX, EBP, EDI = 0');
  assert.equal(c.cr0 & 0x80000001, 1, 'PE on, PG off');
  assert.equal(c.flags & 0x200, 0, 'IF = 0');
  assert.equal(c.segSel[SEG.CS], 0x10);
  for (const s of [SEG.DS, SEG.ES, SEG.SS]) assert.equal(c.segSel[s], 0x18);
  assert.equal(c.gdtrBase, r.gdtBase);
  assert.equal(c.gdtrLimit, r.gdtLimit);
  // MTRRs as firmware leaves them (SDM Vol3A 11.11): default WB with E and FE (0xC06); fixed ranges
  // 0-0x9FFFF WB (06), 0xA0000-0xBFFFF UC (00), 0xC0000-0xFFFFF WP (05); variable range 0 = UC over
  // 2..4 GiB (base 0x80000000 type 0, mask 0xF_80000000 over 36 physical bits, valid bit 11).
  const { readMsr } = await import('../machine/cpu/msr.js');
  const msr = (i: number): string => { const v = readMsr(c, i)!; return (v[1] >>> 0).toString(16) + ':' + (v[0] >>> 0).toString(16); };
  assert.equal(msr(0x2ff), '0:c06');
  assert.equal(msr(0x250), '6060606:6060606');
  assert.equal(msr(0x258), '6060606:6060606');
  assert.equal(msr(0x259), '0:0');
  for (let k = 0x268; k <= 0x26f; k++) assert.equal(msr(k), '5050505:5050505');
  assert.equal(msr(0x200), '0:80000000');
  assert.equal(msr(0x201), 'f:80000800');
  for (let k = 0x202; k < 0x210; k++) assert.equal(msr(k), '0:0', `variable MTRR MSR ${k.toString(16)} unused`);
});

test('firmware MTRRs: the UC range above RAM is the largest aligned block below 4 GiB that misses RAM', async () => {
  const { firmwareMtrrs } = await import('../machine/boot/linux.js');
  const vr = (ram: number): number[] => firmwareMtrrs(ram, 36).filter((w) => w.index === 0x200 || w.index === 0x201).flatMap((w) => [w.hi >>> 0, w.lo >>> 0]);
  assert.deepEqual(vr(3072 * MiB), [0, 0xc0000000, 0xf, 0xc0000800]);   // 3..4 GiB
  assert.deepEqual(vr(2048 * MiB + 4096), [0, 0xc0000000, 0xf, 0xc0000800]);
  assert.deepEqual(vr(2048 * MiB), [0, 0x80000000, 0xf, 0x80000800]);   // 2..4 GiB
  assert.deepEqual(vr(128 * MiB), [0, 0x80000000, 0xf, 0x80000800]);
  assert.deepEqual(firmwareMtrrs(128 * MiB, 36).at(-1), { index: 0x2ff, lo: 0xc06, hi: 0 }, 'IA32_MTRR_DEF_TYPE written last');
});

// ---- cpio newc, parsed back with an independent reader.
interface CpioRec { name: string; ino: number; mode: number; nlink: number; mtime: number; rdevMajor: number; rdevMinor: number; data: Uint8Array }
function parseNewc(a: Uint8Array): CpioRec[] {
  const out: CpioRec[] = [];
  const txt = (o: number, n: number): string => String.fromCharCode(...a.subarray(o, o + n));
  let o = 0;
  for (;;) {
    assert.equal(o % 4, 0, 'records start 4-byte aligned');
    assert.equal(txt(o, 6), '070701', `magic at ${o}`);
    const f = (k: number): number => { const s = txt(o + 6 + 8 * k, 8); assert.match(s, /^[0-9A-Fa-f]{8}$/); return parseInt(s, 16); };
    const namesize = f(11), filesize = f(6);
    assert.equal(f(12), 0, 'check field 0');
    const name = txt(o + 110, namesize - 1);
    assert.equal(a[o + 110 + namesize - 1], 0, 'name NUL-terminated');
    const dataAt = (o + 110 + namesize + 3) & ~3;
    const rec = { name, ino: f(0), mode: f(1), nlink: f(4), mtime: f(5), rdevMajor: f(9), rdevMinor: f(10), data: a.slice(dataAt, dataAt + filesize) };
    o = (dataAt + filesize + 3) & ~3;
    if (name === 'TRAILER!!!') { assert.equal(o, a.length, 'nothing after the trailer'); return out; }
    out.push(rec);
  }
}

test('cpio newc writer: header format, padding, types, trailer, determinism', () => {
  const build = (): Uint8Array => new CpioWriter().dir('etc').file('etc/hello', 'hi!\n', 0o600).symlink('/bin/sh', 'busybox')
    .charDev('dev/console', 5, 1).blockDev('dev/sda', 8, 0, 0o660).file('a', new Uint8Array([1, 2, 3, 4, 5])).finish();
  const a = build();
  assert.deepEqual(a, build(), 'same bytes every time');
  // First record by hand: "070701", ino 1, mode 040755, uid 0, gid 0, nlink 2, mtime 0, size 0,
  // dev 0:0, rdev 0:0, namesize 4 ("etc\0"), check 0; 110 + 4 = 114 → padded to 116.
  const first = '070701' + ['1', '41ED', '0', '0', '2', '0', '0', '0', '0', '0', '0', '4', '0'].map((x) => x.padStart(8, '0')).join('') + 'etc\0';
  assert.equal(String.fromCharCode(...a.subarray(0, 114)).toUpperCase(), first.toUpperCase());
  assert.deepEqual([...a.subarray(114, 116)], [0, 0]);
  const recs = parseNewc(a);
  const by = new Map(recs.map((r) => [r.name, r]));
  assert.deepEqual(recs.map((r) => r.name), ['etc', 'etc/hello', 'bin', 'bin/sh', 'dev', 'dev/console', 'dev/sda', 'a'], 'parents added before children');
  assert.equal(by.get('etc/hello')!.mode, 0o100600);
  assert.equal(new TextDecoder().decode(by.get('etc/hello')!.data), 'hi!\n');
  assert.equal(by.get('bin')!.mode, 0o040755);
  assert.equal(by.get('bin/sh')!.mode, 0o120777);
  assert.equal(new TextDecoder().decode(by.get('bin/sh')!.data), 'busybox');
  assert.deepEqual([by.get('dev/console')!.mode, by.get('dev/console')!.rdevMajor, by.get('dev/console')!.rdevMinor], [0o020600, 5, 1]);
  assert.deepEqual([by.get('dev/sda')!.mode, by.get('dev/sda')!.rdevMajor, by.get('dev/sda')!.rdevMinor], [0o060660, 8, 0]);
  assert.deepEqual([...by.get('a')!.data], [1, 2, 3, 4, 5]);
  assert.equal(new Set(recs.map((r) => r.ino)).size, recs.length, 'unique inode numbers');
  assert.ok(recs.every((r) => r.mtime === 0));
  assert.ok(recs.filter((r) => (r.mode & 0o170000) !== 0o040000).every((r) => r.nlink === 1), 'no accidental hard links');
  assert.throws(() => new CpioWriter().file('x', '').file('/x', ''), /duplicate/);
  assert.throws(() => new CpioWriter().file('../x', ''), /\.\./);
});

function checkInitramfs(recs: CpioRec[], busybox: Uint8Array): void {
  const by = new Map(recs.map((r) => [r.name, r]));
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'bin', 'sbin', 'etc']) assert.equal(by.get(d)?.mode! & 0o170000, 0o040000, `/${d} is a directory`);
  const dev = (n: string): number[] => { const r = by.get(n)!; return [r.mode & 0o170000, r.rdevMajor, r.rdevMinor]; };
  assert.deepEqual(dev('dev/console'), [0o020000, 5, 1]);
  assert.deepEqual(dev('dev/ttyS0'), [0o020000, 4, 64]);
  assert.deepEqual(dev('dev/null'), [0o020000, 1, 3]);
  assert.equal(by.get('bin/busybox')!.mode, 0o100755);
  assert.deepEqual(by.get('bin/busybox')!.data, busybox);
  for (const a of ['sh', 'mount', 'setsid', 'cttyhack', 'poweroff', 'reboot']) {
    assert.equal(by.get(`bin/${a}`)?.mode, 0o120777, `bin/${a} is a symlink`);
    assert.equal(new TextDecoder().decode(by.get(`bin/${a}`)!.data), 'busybox');
  }
  const init = by.get('init')!;
  assert.equal(init.mode, 0o100755);
  const text = new TextDecoder().decode(init.data);
  assert.match(text, /^#!\/bin\/sh\n/);
  for (const re of [/mount -t proc proc \/proc/, /mount -t sysfs sysfs \/sys/, /mount -t devtmpfs devtmpfs \/dev/, /echo TSVISOR-INIT-READY/, /setsid cttyhack sh/]) assert.match(text, re);
  const names = recs.map((r) => r.name);
  for (const n of names) if (n.includes('/')) assert.ok(names.indexOf(n.slice(0, n.lastIndexOf('/'))) < names.indexOf(n), `${n} after its parent`);
}

test('busybox initramfs layout', () => {
  const fake = new Uint8Array(1234).map((_, k) => k);
  const a = busyboxInitramfs(fake);
  assert.deepEqual(a, busyboxInitramfs(fake), 'deterministic');
  checkInitramfs(parseNewc(a), fake);
});

// ---- Debian's kernel (fetched once into cache/linux/ by the script; idempotent afterwards).
test("Debian's 686-pae kernel and the initramfs from scripts/fetch-linux.mjs load", { timeout: 600_000 }, () => {
  const r = spawnSync('node', [join(root, 'scripts', 'fetch-linux.mjs'), '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `fetch-linux failed: ${r.stderr}`);
  const dir = join(root, 'cache', 'linux');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const image = new Uint8Array(readFileSync(join(dir, 'bzImage')));
  assert.equal(image[0x206] | (image[0x207] << 8), 0x020f, 'Linux 6.1 speaks boot protocol 2.15');
  const h = parseSetupHeader(image);
  assert.equal(h.version, 0x020f);
  assert.equal(h.setupSects, image[0x1f1]);
  assert.equal(h.relocatable, true);
  assert.ok(h.kernelVersion.startsWith(manifest.kernel.release), h.kernelVersion);
  assert.ok(h.kernelVersion.includes('686-pae'));

  const gz = new Uint8Array(readFileSync(join(dir, 'initramfs.cpio.gz')));
  const busybox = new Uint8Array(readFileSync(join(dir, 'busybox')));
  assert.equal(busybox[0x12] | (busybox[0x13] << 8), 3, 'busybox is an i386 ELF (e_machine EM_386)');
  assert.equal(busybox[4], 1, 'ELFCLASS32');
  checkInitramfs(parseNewc(new Uint8Array(gunzipSync(gz))), busybox);

  const mem = new PhysMem(128 * MiB);
  const b = loadLinux(image, mem, { cmdline: 'console=ttyS0', initrd: gz });
  assert.equal(b.loadAddr, 0x1000000, 'loaded at pref_address (16 MiB)');
  assert.ok(b.initrdAddr >= b.runtimeEnd && b.initrdAddr + gz.length <= 128 * MiB);
  assert.deepEqual(mem.readBytes(b.initrdAddr, 64), gz.subarray(0, 64));
});
