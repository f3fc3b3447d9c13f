// String instructions (MOVS CMPS STOS LODS SCAS INS OUTS, REP forms) and port I/O (IN/OUT, the
// TSS I/O permission bitmap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, poke, runToHlt, setupFlat32, setupReal, type Bare } from './harness/cpu.js';
import { FAULT, Stop } from '../machine/cpu/state.js';
import { AR, CR0, EFLAGS, SEG } from '../machine/cpu/arch.js';
import type { PortHandler } from '../machine/bus.js';
import { checkIoPermission } from '../machine/cpu/ops/io.js';

const CODE = 0x1000;
const DATA_AR = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G;

function w32(b: Bare, a: number, v: number): void {
  const m = b.mem.ram; m[a] = v; m[a + 1] = v >>> 8; m[a + 2] = v >>> 16; m[a + 3] = v >>> 24;
}
function r32(b: Bare, a: number): number {
  const m = b.mem.ram; return (m[a] | (m[a + 1] << 8) | (m[a + 2] << 16) | (m[a + 3] << 24)) >>> 0;
}
function putStr(b: Bare, a: number, s: string): void { for (let k = 0; k < s.length; k++) b.mem.ram[a + k] = s.charCodeAt(k); }
/** Flat 32-bit CPL 0 with `code` at CODE, registers as given. */
function flat(code: number[], regs: Partial<Record<'eax' | 'ecx' | 'edx' | 'esi' | 'edi', number>> = {}, df = false): Bare {
  const b = makeCpu();
  setupFlat32(b.cpu, CODE);
  poke(b, CODE, code);
  setRegs(b, regs);
  if (df) b.cpu.flags |= EFLAGS.DF;
  return b;
}
function setRegs(b: Bare, regs: Partial<Record<'eax' | 'ecx' | 'edx' | 'esi' | 'edi', number>>): void {
  const idx = { eax: 0, ecx: 1, edx: 2, esi: 6, edi: 7 } as const;
  for (const [k, v] of Object.entries(regs)) b.cpu.r32[idx[k as keyof typeof idx]] = v;
}
const u = (v: number): number => v >>> 0;

/**
 * Element-by-element reference model of REP MOVS / REP STOS on a linear byte window `m` (index =
 * linear - win), with expand-up segment limits: stops at the element that would fault (#GP).
 * Returns the remaining count and final offsets.
 */
function refRep(m: Uint8Array, op: 'movs' | 'stos', size: number, step: number, so: number, dOff: number, count: number, acc: number,
  seg = { win: 0, sBase: 0, dBase: 0, sLim: 0xffffffff, dLim: 0xffffffff }): { left: number; so: number; dOff: number } {
  for (; count > 0; count--) {
    let v = acc;
    if (op === 'movs') {
      if (so + size - 1 > seg.sLim) break;
      const a = seg.sBase + so - seg.win;
      v = 0; for (let j = 0; j < size; j++) v |= m[a + j] << (8 * j);
    }
    if (dOff + size - 1 > seg.dLim) break;
    const a = seg.dBase + dOff - seg.win;
    for (let j = 0; j < size; j++) m[a + j] = v >>> (8 * j);
    if (op === 'movs') so += step;
    dOff += step;
  }
  return { left: count, so, dOff };
}

// ------------------------------------------------------------------ MOVS
test('REP MOVSB forwards copies and advances ESI/EDI, ECX = 0', () => {
  const b = flat([0xf3, 0xa4, 0xf4], { esi: 0x2000, edi: 0x3000, ecx: 100 });
  for (let k = 0; k < 100; k++) b.mem.ram[0x2000 + k] = k + 1;
  assert.equal(runToHlt(b), Stop.Halted);
  for (let k = 0; k < 100; k++) assert.equal(b.mem.ram[0x3000 + k], k + 1);
  assert.equal(b.mem.ram[0x3064], 0);
  assert.equal(b.cpu.r32[6], 0x2064); assert.equal(b.cpu.r32[7], 0x3064); assert.equal(b.cpu.r32[1], 0);
});

test('REP MOVSD forwards across pages, unaligned, matches the reference', () => {
  const n = 0x3001;
  const b = flat([0xf3, 0xa5, 0xf4], { esi: 0x100003, edi: 0x200001, ecx: n });
  for (let k = 0; k < n * 4 + 8; k++) b.mem.ram[0x100000 + k] = (k * 7 + 3) & 0xff;
  assert.equal(runToHlt(b), Stop.Halted);
  for (let k = 0; k < n * 4; k++) assert.equal(b.mem.ram[0x200001 + k], b.mem.ram[0x100003 + k]);
  assert.equal(b.mem.ram[0x200000], 0); assert.equal(b.mem.ram[0x200001 + n * 4], 0);
  assert.equal(b.cpu.r32[6], 0x100003 + n * 4); assert.equal(b.cpu.r32[7], 0x200001 + n * 4);
});

test('REP MOVSD backwards (DF = 1) copies downwards and ends below the start', () => {
  const n = 0x500;
  const top = 0x100000 + (n - 1) * 4, dtop = 0x300000 + (n - 1) * 4;
  const b = flat([0xf3, 0xa5, 0xf4], { esi: top, edi: dtop, ecx: n }, true);
  for (let k = 0; k < n; k++) w32(b, 0x100000 + k * 4, 0x01000000 + k);
  assert.equal(runToHlt(b), Stop.Halted);
  for (let k = 0; k < n; k++) assert.equal(r32(b, 0x300000 + k * 4), 0x01000000 + k);
  assert.equal(r32(b, 0x300000 - 4), 0);
  assert.equal(b.cpu.r32[6], 0x100000 - 4); assert.equal(b.cpu.r32[7], 0x300000 - 4);
  assert.equal(b.cpu.r32[1], 0);
});

test('REP MOVSB backwards overlapping (memmove upwards) and forwards overlapping (replication)', () => {
  // memmove(0x2003, 0x2000, 10) the way libc does it: std; rep movsb from the top.
  let b = flat([0xf3, 0xa4, 0xf4], { esi: 0x2009, edi: 0x200c, ecx: 10 }, true);
  for (let k = 0; k < 16; k++) b.mem.ram[0x2000 + k] = 0x10 + k;
  runToHlt(b);
  assert.deepEqual([...b.mem.ram.subarray(0x2000, 0x2010)], [0x10, 0x11, 0x12, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1d, 0x1e, 0x1f]);
  // Forwards with EDI = ESI + 1: the classic fill idiom, each byte copies the one just written.
  b = flat([0xf3, 0xa4, 0xf4], { esi: 0x2000, edi: 0x2001, ecx: 300 });
  b.mem.ram[0x2000] = 0x5a; b.mem.ram[0x2001] = 0x11;
  runToHlt(b);
  for (let k = 0; k <= 300; k++) assert.equal(b.mem.ram[0x2000 + k], 0x5a);
  // MOVSD with a 2-byte and a 12-byte distance: element semantics, not memmove.
  for (const dist of [2, 12]) {
    b = flat([0xf3, 0xa5, 0xf4], { esi: 0x2000, edi: 0x2000 + dist, ecx: 50 });
    for (let k = 0; k < 256; k++) b.mem.ram[0x2000 + k] = k;
    const ref = b.mem.ram.slice(0x2000, 0x2100);
    refRep(ref, 'movs', 4, 4, 0, dist, 50, 0, { win: 0x2000, sBase: 0x2000, dBase: 0x2000, sLim: 0xffffffff, dLim: 0xffffffff });
    runToHlt(b);
    assert.deepEqual([...b.mem.ram.subarray(0x2000, 0x2100)], [...ref], `distance ${dist}`);
  }
});

test('REP MOVS/STOS random cases match the element-by-element reference (paging, segment limits)', () => {
  let seed = 12345;
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff; return (seed >>> 8) % n; };
  const b = makeCpu();
  const WIN = 0x100000, WLEN = 0x10000, PHYS = 0x500000;
  // Paging (odd cases): identity map, except that the window's 16 pages sit scrambled at PHYS.
  const perm = [...Array(16).keys()].sort(() => rnd(3) - 1);
  w32(b, 0x400000, 0x401003);
  for (let p = 0; p < 1024; p++) w32(b, 0x401000 + p * 4, (p << 12) | 3);
  for (let k = 0; k < 16; k++) w32(b, 0x401000 + ((WIN >>> 12) + k) * 4, (PHYS + perm[k] * 0x1000) | 3);
  let faults = 0;
  for (let t = 0; t < 400; t++) {
    const paged = (t & 1) === 1;
    const phys = (lin: number): number => paged ? PHYS + perm[(lin - WIN) >>> 12] * 0x1000 + (lin & 0xfff) : lin;
    const size = [1, 2, 4][rnd(3)];
    const down = rnd(3) === 0;
    const stos = rnd(4) === 0;
    const count = rnd(5) === 0 ? rnd(8) : rnd(3000);
    const sLin = WIN + 0x6000 + rnd(0x3000);
    const dLin = rnd(2) === 0 ? sLin + rnd(64) - 32 : WIN + 0x6000 + rnd(0x3000);
    const sBase = rnd(2) === 0 ? 0 : WIN + rnd(0x100) * 16, dBase = rnd(2) === 0 ? 0 : WIN + rnd(0x100) * 16;
    const so = sLin - sBase, dOff = dLin - dBase;
    // One case in four gets a limit inside the run (going down, an expand-up limit can only stop the first element).
    const sLim = rnd(4) === 0 ? so + (down ? rnd(8) - 4 : rnd(count * size + 8)) : 0xffffffff;
    const dLim = rnd(4) === 0 ? dOff + (down ? rnd(8) - 4 : rnd(count * size + 8)) : 0xffffffff;
    setupFlat32(b.cpu, CODE);
    b.cpu.setSegCache(SEG.DS, 0x10, sBase, sLim, DATA_AR);
    b.cpu.setSegCache(SEG.ES, 0x10, dBase, dLim, DATA_AR);
    if (paged) { b.cpu.cr3 = 0x400000; b.cpu.setCr0(b.cpu.cr0 | CR0.PG); }
    const op = stos ? 0xaa : 0xa4;
    poke(b, CODE, size === 1 ? [0xf3, op, 0xf4] : size === 2 ? [0x66, 0xf3, op + 1, 0xf4] : [0xf3, op + 1, 0xf4]);
    const view = new Uint8Array(WLEN);
    for (let k = 0; k < WLEN; k++) { view[k] = rnd(256); b.mem.ram[phys(WIN + k)] = view[k]; }
    const acc = rnd(0x7fffffff);
    setRegs(b, { esi: so, edi: dOff, ecx: count, eax: acc });
    if (down) b.cpu.flags |= EFLAGS.DF;
    const step = down ? -size : size;
    const r = refRep(view, stos ? 'stos' : 'movs', size, step, so, dOff, count, acc, { win: WIN, sBase, dBase, sLim, dLim });
    const events: number[] = [];
    b.cpu.hooks.onEvent = (v) => { events.push(v); b.cpu.stop = Stop.Requested; };
    const stop = b.cpu.run(b.clock.insns + 10);
    const what = `case ${t}: ${stos ? 'stos' : 'movs'} size ${size} ${down ? 'down' : 'up'} count ${count} src ${sBase.toString(16)}:${so.toString(16)} lim ${sLim.toString(16)} dst ${dBase.toString(16)}:${dOff.toString(16)} lim ${dLim.toString(16)}${paged ? ' paged' : ''}`;
    if (r.left === 0) assert.equal(stop, Stop.Halted, what);
    else { assert.equal(events[0], 13, what); faults++; }
    for (let k = 0; k < WLEN; k++) if (b.mem.ram[phys(WIN + k)] !== view[k]) assert.fail(`${what}: byte ${k.toString(16)}`);
    assert.equal(u(b.cpu.r32[1]), r.left, what);
    assert.equal(b.cpu.r32[7], r.dOff, what);
    assert.equal(b.cpu.r32[6], r.so, what);
  }
  assert.ok(faults > 20, `faults ${faults}`);
});

test('16-bit address size: DI and SI wrap at 64 KiB, upper halves of ECX/ESI/EDI are kept', () => {
  // Real mode, ES = 0x1000: REP STOSB from DI = 0xFFFE wraps to offset 0 of the same segment.
  const b = makeCpu();
  setupReal(b.cpu, 0, CODE);
  b.cpu.loadSegReal(SEG.ES, 0x1000);
  poke(b, CODE, [0xf3, 0xaa, 0xf4]);
  setRegs(b, { edi: 0x5555fffe, ecx: 0x12340004, eax: 0xaa });
  assert.equal(runToHlt(b), Stop.Halted);
  assert.deepEqual([b.mem.ram[0x1fffe], b.mem.ram[0x1ffff], b.mem.ram[0x10000], b.mem.ram[0x10001], b.mem.ram[0x10002]], [0xaa, 0xaa, 0xaa, 0xaa, 0]);
  assert.equal(b.mem.ram[0x20000], 0);
  assert.equal(u(b.cpu.r32[7]), 0x55550002);
  assert.equal(u(b.cpu.r32[1]), 0x12340000);
  // 32-bit code with an address-size prefix (67): MOVSW backwards from SI = 1 wraps to 0xFFFF.
  const c = flat([0x67, 0x66, 0xf3, 0xa5, 0xf4], { esi: 0x77770002, edi: 0x88880012, ecx: 0xabcd0003 }, true);
  w32(c, 0x0, 0x22221111); w32(c, 0x10, 0x44443333); c.mem.ram[0xfffe] = 0x55; c.mem.ram[0xffff] = 0x66;
  assert.equal(runToHlt(c), Stop.Halted);
  // SI=2 → DI=0x12, SI=0 → DI=0x10, SI=0xFFFE → DI=0x0E.
  assert.deepEqual([c.mem.ram[0x10], c.mem.ram[0x11], c.mem.ram[0x12], c.mem.ram[0x13]], [0x11, 0x11, 0x22, 0x22]);
  assert.deepEqual([c.mem.ram[0xe], c.mem.ram[0xf]], [0x55, 0x66]);
  assert.equal(u(c.cpu.r32[6]), 0x7777fffc); assert.equal(u(c.cpu.r32[7]), 0x8888000c);
  assert.equal(u(c.cpu.r32[1]), 0xabcd0000);
});

// ------------------------------------------------------------------ CMPS / SCAS / STOS / LODS
test('REPE CMPSB stops at the first mismatch with ECX/ESI/EDI/flags of that compare', () => {
  const b = flat([0xf3, 0xa6, 0xf4], { esi: 0x2000, edi: 0x3000, ecx: 11 });
  putStr(b, 0x2000, 'hello world'); putStr(b, 0x3000, 'hello_world');
  runToHlt(b);
  assert.equal(b.cpu.r32[1], 5); assert.equal(b.cpu.r32[6], 0x2006); assert.equal(b.cpu.r32[7], 0x3006);
  // ' ' (0x20) - '_' (0x5F): ZF = 0, CF = 1 (borrow), SF = 1 (0xC1).
  assert.equal(b.cpu.getZF(), 0); assert.equal(b.cpu.getCF(), 1); assert.equal(b.cpu.getSF(), 1);
  // Equal strings: runs out with ZF = 1.
  const c = flat([0xf3, 0xa6, 0xf4], { esi: 0x2000, edi: 0x3000, ecx: 5 });
  putStr(c, 0x2000, 'abcde'); putStr(c, 0x3000, 'abcde');
  runToHlt(c);
  assert.equal(c.cpu.r32[1], 0); assert.equal(c.cpu.getZF(), 1); assert.equal(c.cpu.r32[6], 0x2005);
  // REPNE CMPSD stops at the first equal dword.
  const d = flat([0xf2, 0xa7, 0xf4], { esi: 0x2000, edi: 0x3000, ecx: 10 });
  for (let k = 0; k < 10; k++) { w32(d, 0x2000 + 4 * k, k); w32(d, 0x3000 + 4 * k, k === 3 ? 3 : 100 + k); }
  runToHlt(d);
  assert.equal(d.cpu.r32[1], 6); assert.equal(d.cpu.r32[6], 0x2010); assert.equal(d.cpu.getZF(), 1);
});

test('REPNE SCASB finds the terminator (strlen idiom); ECX = 0 leaves everything alone', () => {
  const b = flat([0xf2, 0xae, 0xf4], { eax: 0, edi: 0x2000, ecx: -1 });
  putStr(b, 0x2000, 'abc\0def');
  runToHlt(b);
  assert.equal(u(b.cpu.r32[1]), 0xfffffffb); assert.equal(b.cpu.r32[7], 0x2004); assert.equal(b.cpu.getZF(), 1);
  // Not found within the count: ECX = 0, ZF = 0.
  const c = flat([0xf2, 0xae, 0xf4], { eax: 0x7a, edi: 0x2000, ecx: 3 });
  putStr(c, 0x2000, 'abcz');
  runToHlt(c);
  assert.equal(c.cpu.r32[1], 0); assert.equal(c.cpu.r32[7], 0x2003); assert.equal(c.cpu.getZF(), 0);
  // REPE SCASW over a run of equal words.
  const d = flat([0x66, 0xf3, 0xaf, 0xf4], { eax: 0x1234, edi: 0x2000, ecx: 8 });
  for (let k = 0; k < 8; k++) { d.mem.ram[0x2000 + 2 * k] = k < 5 ? 0x34 : 0; d.mem.ram[0x2001 + 2 * k] = 0x12; }
  runToHlt(d);
  assert.equal(d.cpu.r32[1], 2); assert.equal(d.cpu.r32[7], 0x200c); assert.equal(d.cpu.getZF(), 0);
});

test('REP STOS with ECX = 0 does nothing; REP STOSD fills; single STOSW and LODSD', () => {
  const b = flat([0xb8, 1, 0, 0, 0, 0x3d, 1, 0, 0, 0, 0xf3, 0xab, 0xf4], { edi: 0x2000, ecx: 0 }); // mov eax,1; cmp eax,1 (ZF=1)
  runToHlt(b);
  assert.equal(r32(b, 0x2000), 0); assert.equal(b.cpu.r32[7], 0x2000); assert.equal(b.cpu.r32[1], 0);
  assert.equal(b.cpu.getZF(), 1);
  const c = flat([0xf3, 0xab, 0x66, 0xab, 0xad, 0xf4], { eax: 0xdeadbeef, edi: 0x2000, esi: 0x2004, ecx: 3 });
  runToHlt(c);
  assert.equal(r32(c, 0x2000), 0xdeadbeef); assert.equal(r32(c, 0x2008), 0xdeadbeef);
  assert.equal(r32(c, 0x200c), 0xbeef); assert.equal(c.cpu.r32[7], 0x200e);
  assert.equal(u(c.cpu.r32[0]), 0xdeadbeef); assert.equal(c.cpu.r32[6], 0x2008);
});

test('LODS honours a segment override; STOS always uses ES', () => {
  const b = flat([0x64, 0xac, 0x26, 0x66, 0xad, 0x65, 0xaa, 0xf4], { esi: 0x10, edi: 0x20 });
  b.cpu.setSegCache(SEG.FS, 0x10, 0x50000, 0xffff, DATA_AR);
  b.cpu.setSegCache(SEG.ES, 0x10, 0x60000, 0xffff, DATA_AR);
  b.cpu.setSegCache(SEG.GS, 0x10, 0x70000, 0xffff, DATA_AR);
  b.mem.ram[0x50010] = 0x42;
  b.mem.ram[0x60011] = 0x34; b.mem.ram[0x60012] = 0x12;
  runToHlt(b);
  // lodsb from FS:0x10 then lodsw from ES:0x11 (override), then stosb to ES:0x20 (GS prefix ignored).
  assert.equal(b.cpu.r16[0], 0x1234);
  assert.equal(b.cpu.r32[6], 0x13);
  assert.equal(b.mem.ram[0x60020], 0x34); assert.equal(b.mem.ram[0x70020], 0);
  // Real mode: CS override.
  const c = makeCpu();
  setupReal(c.cpu, 0, CODE);
  c.cpu.loadSegReal(SEG.CS, 0x200); c.cpu.eip = 0;
  poke(c, 0x2000, [0x2e, 0xac, 0xf4]);
  c.cpu.r32[6] = 1;
  runToHlt(c);
  assert.equal(c.cpu.r8[0], 0xac);
  assert.equal(c.cpu.r16[12], 2);
});

// ------------------------------------------------------------------ faults, restart, chunking
/** GDT at 0x500 (flat code/data at ring 0 and 3, a TSS at 0x28) and an IDT at 0x800. */
function buildTables(b: Bare, tss = 0, tssLimit = 0): void {
  const gdt = [[0, 0], [0x0000ffff, 0x00cf9a00], [0x0000ffff, 0x00cf9200], [0x0000ffff, 0x00cffa00], [0x0000ffff, 0x00cff200],
    [((tss << 16) | (tssLimit & 0xffff)) | 0, (tss & 0xff000000) | 0x8b00 | ((tss >>> 16) & 0xff) | (tssLimit & 0xf0000)]];
  gdt.forEach(([lo, hi], k) => { w32(b, 0x500 + 8 * k, lo); w32(b, 0x504 + 8 * k, hi); });
  b.cpu.gdtrBase = 0x500; b.cpu.gdtrLimit = gdt.length * 8 - 1;
  b.cpu.idtrBase = 0x800; b.cpu.idtrLimit = 0x7ff;
}
/** Interrupt gate (DPL 0, 32-bit) for `vec` to 0x08:handler. */
function gate(b: Bare, vec: number, handler: number): void {
  w32(b, 0x800 + vec * 8, (0x08 << 16) | (handler & 0xffff));
  w32(b, 0x804 + vec * 8, (handler & 0xffff0000) | 0x8e00);
}

test('REP MOVSD page-faults midway: CR2, error code, ECX/ESI/EDI of completed iterations; resumes', () => {
  const b = flat([0xf3, 0xa5, 0xf4], { esi: 0x203000, edi: 0x204800, ecx: 0x600 });
  buildTables(b);
  gate(b, 14, 0x1100);
  poke(b, 0x1100, [0xf4]);
  // 32-bit paging: PD at 0x100000, one PT at 0x101000 identity-mapping 4 MiB; page 0x205000 absent.
  w32(b, 0x100000, 0x101003);
  for (let p = 0; p < 1024; p++) w32(b, 0x101000 + p * 4, (p << 12) | 3);
  w32(b, 0x101000 + 0x205 * 4, 0x205002);
  for (let k = 0; k < 0x1800; k++) b.mem.ram[0x203000 + k] = (k * 13) & 0xff;
  b.cpu.cr3 = 0x100000;
  b.cpu.setCr0(b.cpu.cr0 | CR0.PG);
  const events: number[][] = [];
  b.cpu.hooks.onEvent = (v, _k, ec) => { events.push([v, ec]); };
  assert.equal(runToHlt(b), Stop.Halted);
  assert.deepEqual(events, [[14, 2]]); // not present, write, supervisor
  assert.equal(u(b.cpu.cr2), 0x205000);
  assert.equal(b.cpu.r32[1], 0x400); assert.equal(b.cpu.r32[6], 0x203800); assert.equal(b.cpu.r32[7], 0x205000);
  assert.equal(b.cpu.eip, 0x1101);
  const sp = b.cpu.r32[4];
  assert.deepEqual([r32(b, sp), r32(b, sp + 4), r32(b, sp + 8)], [2, CODE, 0x08]); // error code, EIP, CS
  for (let k = 0; k < 0x800; k++) assert.equal(b.mem.ram[0x204800 + k], b.mem.ram[0x203000 + k]);
  assert.equal(b.mem.ram[0x205000], 0);
  // Map the page and restart the instruction: it completes the remaining 0x400 dwords.
  w32(b, 0x101000 + 0x205 * 4, 0x205003);
  b.cpu.r32[4] = sp + 16; b.cpu.eip = CODE; b.cpu.halted = false;
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(b.cpu.r32[1], 0); assert.equal(b.cpu.r32[7], 0x206000);
  for (let k = 0; k < 0x1800; k++) assert.equal(b.mem.ram[0x204800 + k], b.mem.ram[0x203000 + k]);
  // A source-side fault (read: error code 0): REP MOVSB reading into an absent page 0x204000.
  b.cpu.halted = false; b.cpu.eip = CODE; events.length = 0;
  w32(b, 0x101000 + 0x204 * 4, 0x204002); b.cpu.invlpg(0x204000);
  poke(b, CODE, [0xf3, 0xa4, 0xf4]);
  setRegs(b, { esi: 0x203ff0, edi: 0x100800, ecx: 0x100 });
  assert.equal(runToHlt(b), Stop.Halted);
  assert.deepEqual(events, [[14, 0]]);
  assert.equal(u(b.cpu.cr2), 0x204000);
  assert.equal(b.cpu.r32[1], 0xf0); assert.equal(b.cpu.r32[6], 0x204000); assert.equal(b.cpu.r32[7], 0x100810);
});

test('a huge REP yields after a chunk with EIP at the instruction and resumes', () => {
  const b = flat([0xf3, 0xa4, 0xf4], { esi: 0x100000, edi: 0x300000, ecx: 0x30000 });
  for (let k = 0; k < 0x30000; k++) b.mem.ram[0x100000 + k] = k & 0xff;
  b.cpu.run(b.clock.insns + 1);
  assert.equal(b.cpu.eip, CODE);
  const left = b.cpu.r32[1];
  assert.ok(left > 0 && left < 0x30000, `left ${left}`);
  assert.equal(b.cpu.r32[6], 0x100000 + 0x30000 - left);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(b.cpu.r32[1], 0);
  for (let k = 0; k < 0x30000; k += 97) assert.equal(b.mem.ram[0x300000 + k], k & 0xff);
});

test('REP MOVSB over already-decoded code invalidates it', () => {
  // 0x1000: rep movsb (2 bytes from 0x2000 to 0x1800); jmp 0x1800.  0x1800 holds nop; hlt.
  const b = flat([0xf3, 0xa4, 0xe9, 0xf9, 0x07, 0, 0], { esi: 0x2000, edi: 0x1800, ecx: 2 });
  poke(b, 0x1800, [0x90, 0xf4]);
  b.mem.ram[0x2000] = 0x40; b.mem.ram[0x2001] = 0xf4; // inc eax; hlt
  b.cpu.eip = 0x1800; runToHlt(b);
  assert.equal(b.cpu.r32[0], 0);
  b.cpu.halted = false; b.cpu.eip = CODE; runToHlt(b);
  assert.equal(b.cpu.r32[0], 1);
});

test('a segment-limit violation in the middle of REP STOSD faults at the exact element', () => {
  const b = flat([0xf3, 0xab, 0xf4], { eax: -1, edi: 0xff0, ecx: 8 });
  b.cpu.setSegCache(SEG.ES, 0x10, 0x40000, 0xfff, DATA_AR & ~AR.G);
  const events: number[][] = [];
  b.cpu.hooks.onEvent = (v, _k, ec) => { events.push([v, ec]); b.cpu.stop = Stop.Requested; };
  b.cpu.run(b.clock.insns + 10);
  assert.deepEqual(events[0], [13, 0]);
  assert.equal(b.cpu.r32[1], 4); assert.equal(b.cpu.r32[7], 0x1000);
  assert.equal(r32(b, 0x40ffc), 0xffffffff); assert.equal(r32(b, 0x41000), 0);
});

// ------------------------------------------------------------------ port I/O
class FakePorts implements PortHandler {
  readonly name = 'fake';
  log: string[] = [];
  fifo = 0x1000;
  in(port: number, size: number): number {
    this.log.push(`in${size * 8} ${port.toString(16)}`);
    if (port === 0x1f0) return this.fifo++;
    const v = (port * 0x01010101 + size) | 0;
    return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v;
  }
  out(port: number, size: number, value: number): void {
    this.log.push(`out${size * 8} ${port.toString(16)}=${(value >>> 0).toString(16)}`);
  }
}

test('IN/OUT with imm8 and DX ports, 8/16/32-bit, to a registered PortHandler', () => {
  const b = flat([
    0xe4, 0x40, 0x88, 0xc3,          // in al, 0x40; mov bl, al
    0x66, 0xe5, 0x42, 0x66, 0x89, 0xc1, // in ax, 0x42; mov cx, ax
    0xe5, 0x44, 0x89, 0xc6,          // in eax, 0x44; mov esi, eax
    0xe6, 0x50, 0x66, 0xe7, 0x52, 0xe7, 0x54, // out 0x50, al; out 0x52, ax; out 0x54, eax
    0xba, 0x60, 0x01, 0, 0,          // mov edx, 0x160
    0xec, 0x66, 0xed, 0xed,          // in al, dx; in ax, dx; in eax, dx
    0xee, 0x66, 0xef, 0xef,          // out dx, al; out dx, ax; out dx, eax
    0xf4,
  ], { eax: 0, ecx: 0, esi: 0 });
  const p = new FakePorts();
  b.io.register(0x40, 0x20, p);
  b.io.register(0x160, 4, p);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(b.cpu.r8[12], 0x41);
  assert.equal(b.cpu.r16[2], 0x4244);
  assert.equal(u(b.cpu.r32[6]), 0x44444448);
  assert.deepEqual(p.log, ['in8 40', 'in16 42', 'in32 44', 'out8 50=48', 'out16 52=4448', 'out32 54=44444448',
    'in8 160', 'in16 160', 'in32 160', 'out8 160=64', 'out16 160=6164', 'out32 160=61616164']);
  // Real mode: the default operand size is 16 bits, 66 makes IN 32-bit.
  const c = makeCpu();
  setupReal(c.cpu, 0, CODE);
  poke(c, CODE, [0xe5, 0x42, 0x66, 0xe5, 0x44, 0xf4]);
  c.io.register(0x40, 0x20, new FakePorts());
  c.cpu.r32[0] = 0x77770000;
  runToHlt(c);
  assert.equal(u(c.cpu.r32[0]), 0x44444448);
});

test('REP INSW / REP OUTSB move blocks between ports and memory', () => {
  const b = flat([0x66, 0xf3, 0x6d, 0xba, 0x60, 0, 0, 0, 0xf3, 0x6e, 0xf4], { edx: 0x1f0, edi: 0x6000, esi: 0x7000, ecx: 4 });
  const p = new FakePorts();
  b.io.register(0x1f0, 1, p); b.io.register(0x60, 1, p);
  putStr(b, 0x7000, 'AB');
  runToHlt(b);
  assert.deepEqual([...b.mem.ram.subarray(0x6000, 0x600a)], [0, 0x10, 1, 0x10, 2, 0x10, 3, 0x10, 0, 0]);
  assert.equal(b.cpu.r32[7], 0x6008);
  // ECX was 0 after the INSW, so the OUTSB does nothing.
  assert.equal(p.log.filter((l) => l.startsWith('out')).length, 0);
  const c = flat([0xf3, 0x6e, 0xf4], { edx: 0x60, esi: 0x7001, ecx: 2 }, true);
  const q = new FakePorts(); c.io.register(0x60, 1, q);
  putStr(c, 0x7000, 'AB');
  runToHlt(c);
  assert.deepEqual(q.log, ['out8 60=42', 'out8 60=41']);
  assert.equal(c.cpu.r32[6], 0x6fff);
});

test('INS checks the destination before reading the port', () => {
  const b = flat([0x6c, 0xf4], { edx: 0x1f0, edi: 0x1000 });
  b.cpu.setSegCache(SEG.ES, 0x10, 0, 0xfff, DATA_AR & ~AR.G);
  const p = new FakePorts(); b.io.register(0x1f0, 1, p);
  const events: number[] = [];
  b.cpu.hooks.onEvent = (v) => { events.push(v); b.cpu.stop = Stop.Requested; };
  b.cpu.run(b.clock.insns + 10);
  assert.equal(events[0], 13);
  assert.deepEqual(p.log, []);
});

/** Ring-3 setup with a TSS at 0x3000 whose bitmap (at 0x68) allows only ports 0x300-0x303. */
function ring3(code: number[], iopl = 0): { b: Bare; p: FakePorts; events: number[][] } {
  const b = makeCpu();
  setupFlat32(b.cpu, CODE);
  const tss = 0x3000, limit = 0x68 + 128; // bitmap for ports 0-0x3FF plus the trailing 0xFF byte
  buildTables(b, tss, limit);
  gate(b, 13, 0x1100);
  poke(b, 0x1100, [0xf4]);
  w32(b, tss + 4, 0x90000); w32(b, tss + 8, 0x10);
  b.mem.ram[tss + 0x66] = 0x68; b.mem.ram[tss + 0x67] = 0;
  b.mem.ram.fill(0xff, tss + 0x68, tss + 0x68 + 129);
  b.mem.ram[tss + 0x68 + (0x300 >>> 3)] = 0xf0; // ports 0x300-0x303 allowed
  b.cpu.setSegCache(SEG.TR, 0x28, tss, limit, 11 | AR.P);
  b.cpu.setSegCache(SEG.CS, 0x1b, 0, 0xffffffff, AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G | (3 << AR.DPL_SHIFT));
  for (const s of [SEG.SS, SEG.DS, SEG.ES]) b.cpu.setSegCache(s, 0x23, 0, 0xffffffff, DATA_AR | (3 << AR.DPL_SHIFT));
  b.cpu.flags = (b.cpu.flags & ~EFLAGS.IOPL) | (iopl << 12);
  b.cpu.cpl = 3; // hidden CPL state, set with the rest of the hidden state
  b.cpu.updateMode();
  assert.equal(b.cpu.cpl, 3);
  poke(b, CODE, code);
  const p = new FakePorts();
  b.io.register(0x300, 8, p);
  const events: number[][] = [];
  b.cpu.hooks.onEvent = (v, _k, ec) => { events.push([v, ec]); };
  return { b, p, events };
}

test('I/O permission bitmap at CPL 3: allowed ports pass, a partly denied access is #GP(0)', () => {
  // mov edx, 0x300; in al, dx; in ax, dx; out dx, al; mov dl, 2; in eax, dx (0x302-0x305: 0x304 denied)
  const code = [0xba, 0x00, 0x03, 0, 0, 0xec, 0x66, 0xed, 0xee, 0xb2, 0x02, 0xed, 0xf4];
  const { b, p, events } = ring3(code);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.deepEqual(events, [[13, 0]]);
  assert.deepEqual(p.log, ['in8 300', 'in16 300', 'out8 300=2']);
  assert.equal(b.cpu.cpl, 0);
  const sp = b.cpu.r32[4];
  assert.deepEqual([r32(b, sp), r32(b, sp + 4), r32(b, sp + 8)], [0, CODE + 11, 0x1b]);
  // IOPL = 3: no bitmap check at CPL 3.
  const r = ring3(code, 3);
  r.b.cpu.run(r.b.clock.insns + 6);
  assert.deepEqual(r.p.log, ['in8 300', 'in16 300', 'out8 300=2', 'in32 302']);
  assert.deepEqual(r.events, []);
});

test('checkIoPermission: bitmap limits, two-byte reads, V86 and real mode', () => {
  const { b } = ring3([0xf4]);
  const c = b.cpu;
  const denied = (port: number, size: number): boolean => {
    try { checkIoPermission(c, port, size); return false; } catch (e) { assert.equal(e, FAULT); assert.equal(c.excVector, 13); return true; }
  };
  assert.equal(denied(0x300, 4), false);
  assert.equal(denied(0x301, 4), true);
  assert.equal(denied(0x2ff, 1), true);
  b.mem.ram[0x3000 + 0x68 + 0x60] = 0x00; b.mem.ram[0x3000 + 0x68 + 0x61] = 0xfe;
  assert.equal(denied(0x307, 2), false); // bits in two bitmap bytes
  assert.equal(denied(0x307, 4), true);
  assert.equal(denied(0x3f8, 1), true);  // beyond the allowed bits
  b.mem.ram[0x3000 + 0x68 + 0x7f] = 0;
  assert.equal(denied(0x3f8, 1), false); // last bitmap byte; the trailing byte is within the limit
  c.setSegCache(SEG.TR, 0x28, 0x3000, 0x68 + 127, 11 | AR.P);
  assert.equal(denied(0x3f8, 1), true);  // the second byte read is beyond the limit
  assert.equal(denied(0x400, 1), true);
  c.setSegCache(SEG.TR, 0x28, 0x3000, 0x66, 11 | AR.P);
  assert.equal(denied(0x300, 1), true);  // TSS too small
  c.setSegCache(SEG.TR, 0x28, 0x3000, 0xe8, 3 | AR.P);
  assert.equal(denied(0x300, 1), true);  // 16-bit TSS: no bitmap
  c.setSegCache(SEG.TR, 0x28, 0x3000, 0xe8, 11 | AR.P);
  // Virtual-8086 mode consults the bitmap even with IOPL = 3.
  c.flags |= EFLAGS.VM | EFLAGS.IOPL; c.updateMode();
  assert.equal(denied(0x300, 1), false);
  assert.equal(denied(0x3f0, 1), true);
  // Protected mode at CPL 0 and real mode: always allowed.
  c.flags &= ~(EFLAGS.VM | EFLAGS.IOPL);
  c.setSegCache(SEG.CS, 0x08, 0, 0xffffffff, AR.P | AR.S | AR.CODE | AR.RW | AR.DB | AR.G);
  c.cpl = 0;
  c.updateMode();
  assert.equal(c.cpl, 0);
  assert.equal(denied(0x3f0, 1), false);
  c.cr0 &= ~CR0.PE; c.updateMode();
  assert.equal(denied(0x3f0, 1), false);
});
