// System family tests: descriptor-table registers, LLDT/LTR/SLDT/STR, LAR/LSL/VERR/VERW on a
// hand-built GDT, SMSW/LMSW/CLTS, MOV CR/DR, INVLPG, RDMSR/WRMSR, RDTSC/RDPMC, CPUID, and the
// #UD forms, in real, protected (CPL 0 and 3) and virtual-8086 mode. Snippets are assembled with
// nasm at test time. Expected values are written out from the SDM (descriptor bytes, register
// layouts, fault vectors and error codes), never taken from the code under test.
//
// Environment (see `setup`): GDT at 10000H, IDT at 11000H whose 32 exception gates lead to one HLT
// stub per vector at 3000H + 16·vector (DPL 3 so INT3 works from ring 3 and V86), busy TSS at
// 12000H (ESP0 = 70000H). Ring-0 and real-mode snippets end with HLT; ring-3 and V86 snippets end
// with INT3 (vector 3 = "done").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCpu, poke, runToHlt, setupFlat32, setupReal, type Bare } from './harness/cpu.js';
import { Mode } from '../machine/cpu/state.js';
import { AR, EFLAGS, SEG } from '../machine/cpu/arch.js';
import { cpuidOptions, installDefaultCpuid } from '../machine/cpu/cpuid.js';

// ------------------------------------------------------------------ assembling
const tmp = mkdtempSync(join(tmpdir(), 'tsvisor-sys-'));
const asmCache = new Map<string, Uint8Array>();
let asmN = 0;
function asm(src: string, bits: 16 | 32): Uint8Array {
  const key = bits + src;
  const hit = asmCache.get(key);
  if (hit) return hit;
  const f = join(tmp, `s${asmN++}`);
  writeFileSync(f + '.asm', `bits ${bits}\norg 0x1000\n${src}\n`);
  execFileSync('nasm', ['-f', 'bin', '-o', f + '.bin', f + '.asm']);
  const out = new Uint8Array(readFileSync(f + '.bin'));
  asmCache.set(key, out);
  return out;
}

// ------------------------------------------------------------------ machine set-up
const GDT = 0x10000, IDT = 0x11000, TSS = 0x12000, STUB = 0x3000, CODE = 0x1000, ESP0 = 0x70000;
const HAS_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

function wr(b: Bare, pa: number, size: number, v: number): void { b.mem.write(pa, size, v); }
function rd(b: Bare, pa: number, size = 4): number { return b.mem.read(pa, size) >>> 0; }
/** Code/data/system descriptor: `access` = byte 5 (P, DPL, S, type), `flags` = the G, D/B, L, AVL nibble. */
function desc(b: Bare, sel: number, base: number, limit: number, access: number, flags: number): void {
  wr(b, GDT + sel, 4, (limit & 0xffff) | ((base & 0xffff) << 16));
  wr(b, GDT + sel + 4, 4, ((base >>> 16) & 0xff) | (access << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000));
}
function rawDesc(b: Bare, sel: number, lo: number, hi: number): void { wr(b, GDT + sel, 4, lo); wr(b, GDT + sel + 4, 4, hi); }

type Env = 'real' | 'pm0' | 'pm3' | 'v86';
const CODE0 = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G;
const DATA0 = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G;
const DPL3 = 3 << AR.DPL_SHIFT;

/**
 * A CPU in `env` with `code` at 1000H. GDT: 08 code0, 10 data0, 18 code3, 20 data3, 28 busy TSS
 * (the current TR); GDTR limit 7FH. Real mode: IVT vectors → the same stubs.
 */
function setup(env: Env, code: Uint8Array, memBytes?: number): Bare {
  const b = makeCpu(memBytes);
  const c = b.cpu;
  for (let v = 0; v < 32; v++) {
    poke(b, STUB + v * 16, [0xf4]);
    // IDT interrupt gate, DPL 3, 08:STUB+16v; IVT entry 0000:STUB+16v.
    wr(b, IDT + v * 8, 4, ((STUB + v * 16) & 0xffff) | (0x08 << 16));
    wr(b, IDT + v * 8 + 4, 4, 0xee00);
    wr(b, v * 4, 4, STUB + v * 16);
  }
  desc(b, 0x08, 0, 0xfffff, 0x9a, 0xc);
  desc(b, 0x10, 0, 0xfffff, 0x92, 0xc);
  desc(b, 0x18, 0, 0xfffff, 0xfa, 0xc);
  desc(b, 0x20, 0, 0xfffff, 0xf2, 0xc);
  desc(b, 0x28, TSS, 0x67, 0x8b, 0);
  wr(b, TSS + 4, 4, ESP0); wr(b, TSS + 8, 4, 0x10);
  poke(b, CODE, code);
  if (env === 'real') {
    setupReal(c, 0, CODE);
    return b;
  }
  setupFlat32(c, CODE);
  c.gdtrBase = GDT; c.gdtrLimit = 0x7f; c.idtrBase = IDT; c.idtrLimit = 32 * 8 - 1;
  c.setSegCache(SEG.TR, 0x28, TSS, 0x67, AR.P | 11);
  if (env === 'pm3') {
    c.setSegCache(SEG.CS, 0x1b, 0, 0xffffffff, CODE0 | DPL3);
    for (const s of [SEG.DS, SEG.ES, SEG.SS, SEG.FS, SEG.GS]) c.setSegCache(s, 0x23, 0, 0xffffffff, DATA0 | DPL3);
    c.cpl = 3;
    c.updateMode();
    c.r32[4] = 0x80000;
  } else if (env === 'v86') {
    c.flags = EFLAGS.FIXED1 | EFLAGS.VM;
    c.updateMode();
    for (const s of [SEG.ES, SEG.CS, SEG.SS, SEG.DS, SEG.FS, SEG.GS]) c.loadSegReal(s, 0);
    c.updateMode();
    c.eip = CODE;
    c.r32[4] = 0x8000;
  }
  return b;
}

interface Outcome { vec: number; code: number; eip: number }
/** Run to HLT. vec = -1 if the snippet's own HLT was reached, else the vector whose stub halted. */
function run(b: Bare): Outcome {
  runToHlt(b, 100000);
  const c = b.cpu;
  const at = (c.eip - 1) >>> 0;
  if (at < STUB || at >= STUB + 32 * 16) return { vec: -1, code: -1, eip: c.eip };
  const vec = (at - STUB) >>> 4;
  const esp = c.r32[4] >>> 0;
  if (c.mode === Mode.Real) return { vec, code: -1, eip: rd(b, esp, 2) }; // no error codes in real mode
  if (HAS_CODE.has(vec)) return { vec, code: rd(b, esp), eip: rd(b, esp + 4) };
  return { vec, code: -1, eip: rd(b, esp) };
}
/** Run `src` in `env` and return how it ended (plus the machine). */
function go(env: Env, src: string, prep?: (b: Bare) => void, memBytes?: number): Outcome & { b: Bare } {
  const b = setup(env, asm(src, env === 'real' || env === 'v86' ? 16 : 32), memBytes);
  if (prep) prep(b);
  return { ...run(b), b };
}
const DONE = (env: Env): number => (env === 'pm3' || env === 'v86' ? 3 : -1);
const END = (env: Env): string => (env === 'pm3' || env === 'v86' ? 'int3' : 'hlt');
function expectFault(env: Env, src: string, vec: number, code: number, what: string, prep?: (b: Bare) => void): void {
  const r = go(env, `${src}\n${END(env)}`, prep);
  assert.equal(r.vec, vec, `${what} in ${env}: vector`);
  if (code >= 0) assert.equal(r.code, code, `${what} in ${env}: error code`);
  assert.equal(r.eip, CODE, `${what} in ${env}: the fault points at the instruction`);
}
function expectDone(env: Env, src: string, what: string, prep?: (b: Bare) => void): Bare {
  const r = go(env, `${src}\n${END(env)}`, prep);
  assert.equal(r.vec, DONE(env), `${what} in ${env}: ran to the end (vector ${r.vec}, code ${r.code.toString(16)})`);
  return r.b;
}

const UD = 6, GP = 13, NP = 11, DB = 1;

// ------------------------------------------------------------------ mode and privilege checks

test('privileged system instructions: #GP(0) at CPL 3 and in V86 mode; allowed in real mode and at CPL 0', () => {
  const cases: [string, string][] = [
    ['lgdt [0x5000]', 'LGDT'], ['lidt [0x5000]', 'LIDT'], ['lmsw ax', 'LMSW'], ['clts', 'CLTS'],
    ['invlpg [0x5000]', 'INVLPG'], ['invd', 'INVD'], ['wbinvd', 'WBINVD'],
    ['mov eax, cr0', 'MOV from CR0'], ['mov cr0, eax', 'MOV to CR0'], ['mov eax, cr3', 'MOV from CR3'],
    ['mov eax, dr7', 'MOV from DR7'], ['mov dr0, eax', 'MOV to DR0'],
    ['mov ecx, 0x10\nrdmsr', 'RDMSR'], ['mov ecx, 0x174\nwrmsr', 'WRMSR'],
  ];
  for (const [src, what] of cases) {
    for (const env of ['pm3', 'v86'] as Env[]) {
      // The faulting instruction must be first: put the ECX set-up in a prep step instead.
      const lines = src.split('\n');
      const insn = lines[lines.length - 1];
      const ecx = lines.length > 1 ? Number(lines[0].split(',')[1]) : 0;
      expectFault(env, insn, GP, 0, what, (b) => { b.cpu.r32[1] = ecx; b.cpu.r32[0] = b.cpu.cr0; });
    }
  }
  // Real mode: all of them run (CPL 0). Values written keep the machine sane.
  expectDone('real', [
    'mov eax, cr0', 'mov cr0, eax', 'mov eax, cr3', 'mov cr3, eax', 'mov eax, cr4', 'mov cr4, eax', 'mov eax, cr2',
    'mov eax, dr7', 'mov dr7, eax', 'clts', 'invd', 'wbinvd', 'invlpg [0x5000]', 'smsw ax', 'lmsw ax',
    'mov ecx, 0x174', 'rdmsr', 'wrmsr', 'lidt [0x5000]',
  ].join('\n'), 'privileged instructions', (b) => { wr(b, 0x5000, 2, 0x3ff); wr(b, 0x5002, 4, 0); });
});

test('SLDT STR LLDT LTR LAR LSL VERR VERW: #UD in real and virtual-8086 mode', () => {
  for (const src of ['sldt ax', 'str ax', 'lldt ax', 'ltr ax', 'lar ax, bx', 'lsl ax, bx', 'verr ax', 'verw ax']) {
    expectFault('real', src, UD, -1, src);
    expectFault('v86', src, UD, -1, src);
  }
  // LLDT/LTR are also CPL-0 only in protected mode; SLDT/STR/LAR... are not privileged.
  expectFault('pm3', 'lldt ax', GP, 0, 'LLDT at CPL 3');
  expectFault('pm3', 'ltr ax', GP, 0, 'LTR at CPL 3');
  expectDone('pm3', 'sldt ax\nstr bx\nlar ecx, bx\nlsl ecx, bx\nverr bx\nverw bx', 'unprivileged probes at CPL 3');
});

test('always #UD: UD0, UD1, UD2, RSM, MONITOR, MWAIT, XGETBV, XSETBV (real and protected mode)', () => {
  const forms = ['ud2', 'ud1 eax, [eax]', 'ud0 eax, [eax]', 'rsm', 'monitor', 'mwait', 'xgetbv', 'xsetbv'];
  for (const f of forms) {
    expectFault('pm0', f, UD, -1, f);
    expectFault('real', f, UD, -1, f);
  }
  // Register forms of memory-only rows decode as #UD: LGDT/SGDT/INVLPG with mod = 3.
  // 0F 01 C0 (SGDT reg), C8+2 (CLAC: SIDT reg), D8 (LIDT reg / AMD VMRUN), E8 (reg 5), F8 (INVLPG reg / SWAPGS), F9 (RDTSCP).
  for (const m of [0xc0, 0xca, 0xd8, 0xe8, 0xf8, 0xf9]) {
    const r = run(setup('pm0', Uint8Array.from([0x0f, 0x01, m, 0xf4])));
    assert.equal(r.vec, UD, `0F 01 ${m.toString(16)} is #UD`);
  }
});

// ------------------------------------------------------------------ descriptor-table registers

test('LGDT/LIDT/SGDT/SIDT: 32-bit operands, 16-bit LGDT loads 24 bits of base, SGDT stores all 32', () => {
  const b = expectDone('pm0', [
    'sgdt [0x5100]', 'sidt [0x5110]',
    'o16 lgdt [0x5000]', 'sgdt [0x5120]', 'o16 sgdt [0x5130]',
    'lgdt [0x5010]', 'sgdt [0x5140]',
    'lidt [0x5020]', 'sidt [0x5150]', 'o16 lidt [0x5030]', 'sidt [0x5160]',
    'lgdt [0x5040]', 'lidt [0x5048]',   // restore before the end
  ].join('\n'), 'descriptor-table loads', (b) => {
    wr(b, 0x5000, 2, 0x1234); wr(b, 0x5002, 4, 0xab345678);
    wr(b, 0x5010, 2, 0x00ff); wr(b, 0x5012, 4, 0xcd012345);
    wr(b, 0x5020, 2, 0x0777); wr(b, 0x5022, 4, 0x89abcdef);
    wr(b, 0x5030, 2, 0x0555); wr(b, 0x5032, 4, 0xfe123456);
    wr(b, 0x5040, 2, 0x7f); wr(b, 0x5042, 4, GDT);
    wr(b, 0x5048, 2, 0xff); wr(b, 0x504a, 4, IDT);
  });
  assert.equal(rd(b, 0x5100, 2), 0x7f); assert.equal(rd(b, 0x5102), GDT);
  assert.equal(rd(b, 0x5110, 2), 0xff); assert.equal(rd(b, 0x5112), IDT);
  assert.equal(rd(b, 0x5120, 2), 0x1234, 'o16 LGDT limit');
  assert.equal(rd(b, 0x5122), 0x00345678, 'o16 LGDT: base bits 31:24 are zero');
  assert.equal(rd(b, 0x5132), 0x00345678, 'o16 SGDT stores the full base');
  assert.equal(rd(b, 0x5140, 2), 0xff); assert.equal(rd(b, 0x5142), 0xcd012345, 'o32 LGDT: full base');
  assert.equal(rd(b, 0x5150, 2), 0x777); assert.equal(rd(b, 0x5152), 0x89abcdef);
  assert.equal(rd(b, 0x5160, 2), 0x555); assert.equal(rd(b, 0x5162), 0x00123456);
  assert.equal(b.cpu.gdtrBase, GDT); assert.equal(b.cpu.idtrLimit, 0xff);
});

test('SGDT/SIDT/SMSW are not privileged (no UMIP): they run at CPL 3 and in V86 mode', () => {
  const b = expectDone('pm3', 'sgdt [0x5000]\nsidt [0x5010]\nsmsw [0x5020]\nsmsw eax', 'stores at CPL 3');
  assert.equal(rd(b, 0x5000, 2), 0x7f); assert.equal(rd(b, 0x5002), GDT);
  assert.equal(rd(b, 0x5010, 2), 0xff); assert.equal(rd(b, 0x5012), IDT);
  assert.equal(rd(b, 0x5020, 2), 0x0011, 'SMSW m16 = CR0[15:0] (PE | ET)');
  assert.equal(b.cpu.r32[0] >>> 0, 0x00000011);
  const v = expectDone('v86', 'sgdt [0x5000]\nsmsw ax', 'stores in V86');
  assert.equal(rd(v, 0x5002), GDT);
  assert.equal(v.cpu.r16[0], 0x0011);
});

test('SGDT with a register operand is #UD; LGDT beyond the segment limit is #GP(0)', () => {
  const b = setup('pm0', Uint8Array.from([0x0f, 0x01, 0xc0, 0xf4])); // sgdt eax (mod = 3)
  assert.equal(run(b).vec, UD);
  expectFault('pm0', 'lgdt [ds:0xfffc]', GP, 0, 'LGDT across the DS limit', (b) => b.cpu.setSegCache(SEG.DS, 0x10, 0, 0xffff, DATA0 & ~AR.G));
});

// ------------------------------------------------------------------ LTR, LLDT, STR, SLDT

/** Extra GDT entries for the LTR/LLDT tests. */
function tablesForLoads(b: Bare): void {
  desc(b, 0x30, 0x13000, 0x67, 0x89, 0);       // available 32-bit TSS
  desc(b, 0x38, 0x14000, 0x0f, 0x82, 0);       // LDT with two entries
  desc(b, 0x40, 0x14000, 0x0f, 0x02, 0);       // LDT, not present
  desc(b, 0x48, 0x13000, 0x67, 0x09, 0);       // available TSS, not present
  desc(b, 0x50, 0, 0xfffff, 0x92, 0xc);        // data
  desc(b, 0x58, 0x13100, 0x2b, 0x81, 0);       // available 16-bit TSS
  // LDT entry 1 (selector 0CH): data, base 20000H, limit FFFFH.
  wr(b, 0x14008, 4, 0x0000ffff); wr(b, 0x1400c, 4, 0x00009202);
}

test('LTR loads TR and marks the TSS busy; LLDT loads LDTR; STR/SLDT read them back (zero-extended)', () => {
  const b = expectDone('pm0', [
    'mov ax, 0x30', 'ltr ax', 'mov ebx, -1', 'str ebx',
    'mov ax, 0x38', 'lldt ax', 'mov ecx, -1', 'sldt ecx', 'mov edx, -1', 'o16 sldt dx', 'sldt [0x5000]',
    'mov ax, 0x0c', 'mov es, ax', 'mov dword [es:0x10], 0x11223344',
    'mov ax, 0x58', 'ltr ax',
  ].join('\n'), 'LTR/LLDT', tablesForLoads);
  const c = b.cpu;
  assert.equal(c.r32[3] >>> 0, 0x30, 'STR r32 zero-extends');
  assert.equal(c.r32[1] >>> 0, 0x38, 'SLDT r32');
  assert.equal(c.r32[2] >>> 0, 0xffff0038, 'SLDT r16 leaves the upper half');
  assert.equal(rd(b, 0x5000, 2), 0x38);
  assert.equal(rd(b, GDT + 0x30 + 5, 1), 0x8b, '32-bit TSS type 9 → 11 (busy) in the GDT');
  assert.equal(rd(b, GDT + 0x58 + 5, 1), 0x83, '16-bit TSS type 1 → 3 (busy)');
  assert.equal(c.segSel[SEG.TR], 0x58); assert.equal(c.segBase[SEG.TR], 0x13100); assert.equal(c.segLimit[SEG.TR], 0x2b);
  assert.equal(c.segAr[SEG.TR] & 0x9f, 0x83, 'TR hidden type: busy 16-bit TSS, present');
  assert.equal(c.segSel[SEG.LDTR], 0x38); assert.equal(c.segBase[SEG.LDTR], 0x14000); assert.equal(c.segLimit[SEG.LDTR], 0x0f);
  assert.equal(rd(b, 0x20010), 0x11223344, 'a segment from the LDT');
});

test('LTR faults: null #GP(0), LDT selector / busy / non-TSS / beyond limit #GP(sel), not present #NP(sel)', () => {
  const ltr = (sel: number, vec: number, code: number, what: string): void =>
    expectFault('pm0', 'ltr ax', vec, code, what, (b) => { tablesForLoads(b); b.cpu.r32[0] = sel; });
  ltr(0x0000, GP, 0, 'null selector');
  ltr(0x0003, GP, 0, 'null selector with RPL 3');
  ltr(0x000c, GP, 0x0c, 'TI = 1');
  ltr(0x0028, GP, 0x28, 'busy TSS');
  ltr(0x0050, GP, 0x50, 'data segment');
  ltr(0x0038, GP, 0x38, 'LDT descriptor');
  ltr(0x0083, GP, 0x80, 'beyond the GDT limit');
  ltr(0x0048, NP, 0x48, 'TSS not present');
  // The faulting LTR did not change TR.
  const r = go('pm0', 'ltr ax\nhlt', (b) => { tablesForLoads(b); b.cpu.r32[0] = 0x48; });
  assert.equal(r.b.cpu.segSel[SEG.TR], 0x28);
  assert.equal(rd(r.b, GDT + 0x48 + 5, 1), 0x09, 'not marked busy');
});

test('LLDT: null selector makes LDTR unusable; faults #GP(sel) for TI/type, #NP(sel) when not present', () => {
  const lldt = (sel: number, vec: number, code: number, what: string): void =>
    expectFault('pm0', 'lldt ax', vec, code, what, (b) => { tablesForLoads(b); b.cpu.r32[0] = sel; });
  lldt(0x003c, GP, 0x3c, 'TI = 1');
  lldt(0x0030, GP, 0x30, 'TSS descriptor');
  lldt(0x0050, GP, 0x50, 'data segment');
  lldt(0x0088, GP, 0x88, 'beyond the GDT limit');
  lldt(0x0040, NP, 0x40, 'LDT not present');
  // Null: later LDT references fault with #GP(sel).
  const r = go('pm0', 'mov ax, 0x38\nlldt ax\nxor ax, ax\nlldt ax\nmov ax, 0x0c\nmov es, ax\nhlt', tablesForLoads);
  assert.equal(r.vec, GP); assert.equal(r.code, 0x0c);
  assert.equal(r.b.cpu.segAr[SEG.LDTR] & AR.UNUSABLE, AR.UNUSABLE);
});

// ------------------------------------------------------------------ LAR LSL VERR VERW

/** The probe table: raw descriptors (SDM Vol3A 3.4.5 layout) in the GDT. */
function tablesForProbes(b: Bare): void {
  rawDesc(b, 0x08, 0x0000ffff, 0x00cf9a00); // code, execute/read, DPL 0, G, D
  rawDesc(b, 0x10, 0x0000ffff, 0x00cf9200); // data, read/write, DPL 0
  rawDesc(b, 0x18, 0x0000bcde, 0x004af800); // code, execute-only, DPL 3, limit ABCDEH bytes
  rawDesc(b, 0x20, 0x00002345, 0x0001f000); // data, read-only, DPL 3, limit 12345H bytes
  rawDesc(b, 0x28, 0x20000067, 0x00008b01); // busy 32-bit TSS at 12000H (current TR)
  rawDesc(b, 0x30, 0x0000ffff, 0x00cf9e00); // conforming code, readable, DPL 0
  rawDesc(b, 0x38, 0x0000ffff, 0x00cf1200); // data, DPL 0, NOT present
  rawDesc(b, 0x40, 0x40000fff, 0x00008201); // LDT at 14000H, limit FFFH
  rawDesc(b, 0x48, 0x00081234, 0x0000ec00); // 32-bit call gate, DPL 3
  rawDesc(b, 0x50, 0x00081234, 0x0000ee00); // 32-bit interrupt gate, DPL 3 (invalid for LAR)
  rawDesc(b, 0x58, 0x00000000, 0x0000e000); // system type 0 (reserved), DPL 3
  rawDesc(b, 0x60, 0x0000002b, 0x0000e300); // busy 16-bit TSS, DPL 3, limit 2BH
  rawDesc(b, 0x68, 0x00300000, 0x0000e500); // task gate, DPL 3
  rawDesc(b, 0x70, 0x0000ffff, 0x00cf9c00); // conforming code, execute-only, DPL 0
  rawDesc(b, 0x78, 0x0000ffff, 0x0000d200); // data, read/write, DPL 2, limit FFFFH
}

const PROBE_SELS = [0x08, 0x0b, 0x10, 0x18, 0x1b, 0x20, 0x28, 0x30, 0x33, 0x38, 0x40, 0x48, 0x50, 0x58, 0x60, 0x68, 0x70, 0x78, 0x7a, 0x7b, 0x80, 0x00, 0x0c];

/** Expected [LAR access rights or null, LSL limit or null, VERR, VERW] at CPL 0 (SDM Vol2 LAR/LSL/VERR/VERW). */
const AT_CPL0: Record<number, [number | null, number | null, boolean, boolean]> = {
  0x08: [0x00c09a00, 0xffffffff, true, false],
  0x0b: [null, null, false, false],          // RPL 3 > DPL 0
  0x10: [0x00c09200, 0xffffffff, true, true],
  0x18: [0x0040f800, 0x000abcde, false, false], // execute-only code: not readable
  0x1b: [0x0040f800, 0x000abcde, false, false],
  0x20: [0x0000f000, 0x00012345, true, false],  // read-only data
  0x28: [0x00008b00, 0x00000067, false, false], // TSS: LAR/LSL yes, VERR/VERW never for system descriptors
  0x30: [0x00c09e00, 0xffffffff, true, false],
  0x33: [0x00c09e00, 0xffffffff, true, false],  // conforming: no DPL check
  0x38: [0x00c01200, 0xffffffff, true, true],   // presence is not checked
  0x40: [0x00008200, 0x00000fff, false, false], // LDT
  0x48: [0x0000ec00, null, false, false],       // call gate: LAR only
  0x50: [null, null, false, false],             // interrupt gate: neither
  0x58: [null, null, false, false],             // reserved type
  0x60: [0x0000e300, 0x0000002b, false, false],
  0x68: [0x0000e500, null, false, false],       // task gate: LAR only
  0x70: [0x00c09c00, 0xffffffff, false, false], // execute-only conforming: not readable
  0x78: [0x0000d200, 0x0000ffff, true, true],
  0x7a: [0x0000d200, 0x0000ffff, true, true],   // RPL 2 = DPL 2
  0x7b: [null, null, false, false],             // RPL 3 > DPL 2
  0x80: [null, null, false, false],             // beyond the GDT limit (7FH)
  0x00: [null, null, false, false],             // null
  0x0c: [null, null, false, false],             // LDT selector, LDTR null
};
/** At CPL 3, every non-conforming descriptor with DPL < 3 becomes invisible. */
const INVISIBLE_AT_CPL3 = new Set([0x08, 0x0b, 0x10, 0x28, 0x38, 0x40, 0x78, 0x7a]);

const PROBE_LOOP = `
  mov esi, 0x6000
  mov edi, 0x7000
next:
  movzx eax, word [esi]
  cmp ax, 0xffff
  je done
  mov ebx, 0xdeadbeef
  lar ebx, ax
  setz byte [edi + 4]
  mov [edi], ebx
  mov ebx, 0xdeadbeef
  lsl ebx, ax
  setz byte [edi + 12]
  mov [edi + 8], ebx
  verr ax
  setz byte [edi + 16]
  verw ax
  setz byte [edi + 20]
  mov ebx, 0xdeadbeef
  o16 lar bx, ax
  mov [edi + 24], ebx
  mov ebx, 0xdeadbeef
  mov [0x5000], ax
  o16 lsl bx, [0x5000]
  mov [edi + 28], ebx
  add esi, 2
  add edi, 32
  jmp next
done:`;

function probeAll(env: 'pm0' | 'pm3'): void {
  const b = expectDone(env, PROBE_LOOP, 'probe loop', (b) => {
    tablesForProbes(b);
    PROBE_SELS.forEach((s, k) => wr(b, 0x6000 + 2 * k, 2, s));
    wr(b, 0x6000 + 2 * PROBE_SELS.length, 2, 0xffff);
  });
  PROBE_SELS.forEach((sel, k) => {
    let [ar, lim, vr, vw] = AT_CPL0[sel];
    if (env === 'pm3' && INVISIBLE_AT_CPL3.has(sel)) { ar = null; lim = null; vr = false; vw = false; }
    const at = 0x7000 + 32 * k, name = `${env} selector ${sel.toString(16)}`;
    assert.equal(rd(b, at + 4, 1), ar !== null ? 1 : 0, `${name}: LAR ZF`);
    assert.equal(rd(b, at), ar ?? 0xdeadbeef, `${name}: LAR r32`);
    assert.equal(rd(b, at + 12, 1), lim !== null ? 1 : 0, `${name}: LSL ZF`);
    assert.equal(rd(b, at + 8), lim ?? 0xdeadbeef, `${name}: LSL r32`);
    assert.equal(rd(b, at + 16, 1), vr ? 1 : 0, `${name}: VERR`);
    assert.equal(rd(b, at + 20, 1), vw ? 1 : 0, `${name}: VERW`);
    assert.equal(rd(b, at + 24), ar !== null ? (0xdead0000 | (ar & 0xff00)) >>> 0 : 0xdeadbeef, `${name}: LAR r16`);
    assert.equal(rd(b, at + 28), lim !== null ? (0xdead0000 | (lim & 0xffff)) >>> 0 : 0xdeadbeef, `${name}: LSL r16, m16`);
  });
}

test('LAR/LSL/VERR/VERW at CPL 0 on a hand-built GDT (types, RPL, conforming, limits, 16/32-bit forms)', () => probeAll('pm0'));
test('LAR/LSL/VERR/VERW at CPL 3', () => probeAll('pm3'));

test('LAR/LSL only change ZF among the flags; VERR through an LDT selector', () => {
  const b = expectDone('pm0', [
    'mov ax, 0x40', 'lldt ax',
    'mov eax, 0xffffffff', 'add eax, 1',  // CF = ZF = AF = PF = 1, SF = OF = 0
    'mov cx, 0x0c', 'lar edx, cx', 'pushfd', 'pop esi',
    'mov cx, 0x1004', 'verr cx', 'pushfd', 'pop edi',     // index 200H: beyond the LDT limit FFFH
  ].join('\n'), 'flags', (b) => {
    tablesForProbes(b);
    wr(b, 0x14008, 4, 0x0000ffff); wr(b, 0x1400c, 4, 0x00cff200); // LDT entry 1: data DPL 3
  });
  const c = b.cpu;
  assert.equal(c.r32[2] >>> 0, 0x00c0f200, 'LAR through the LDT');
  assert.equal(c.r32[6] & 0x8d5, 0x55, 'after LAR: ZF = 1, CF, PF, AF as ADD left them, SF = OF = 0');
  assert.equal(c.r32[7] & 0x8d5, 0x15, 'after VERR beyond the LDT limit: only ZF cleared');
});

// ------------------------------------------------------------------ SMSW LMSW CLTS

test('SMSW/LMSW/CLTS: LMSW loads PE/MP/EM/TS only and can set PE but never clear it', () => {
  const r = go('real', [
    'mov eax, cr0', 'mov ebp, eax',
    'smsw bx', 'smsw ecx',
    'mov ax, 0xfffe', 'lmsw ax', 'smsw dx', 'mov esi, cr0',
    'clts', 'mov edi, cr0',
    'mov ax, 1', 'lmsw ax', 'hlt',
  ].join('\n'));
  const c = r.b.cpu;
  assert.equal(c.r32[5] >>> 0, 0x60000010, 'CR0 after RESET (SDM Vol3A Table 9-1)');
  assert.equal(c.r16[6], 0x0010, 'SMSW r16');
  assert.equal(c.r32[1] >>> 0, 0x60000010, 'SMSW r32 = whole CR0');
  assert.equal(c.r32[6] >>> 0, 0x6000001e, 'LMSW FFFEH sets MP, EM, TS only (not ET, NE, ...)');
  assert.equal(c.r16[4], 0x001e);
  assert.equal(c.r32[7] >>> 0, 0x60000016, 'CLTS clears TS');
  assert.equal(c.cr0 & 1, 1, 'LMSW 1 sets PE');
  assert.equal(c.mode, Mode.Protected);
  // In protected mode LMSW 0 keeps PE.
  const p = go('pm0', 'xor eax, eax\nlmsw ax\nmov ebx, cr0\nhlt');
  assert.equal(p.b.cpu.r32[3] & 1, 1, 'LMSW cannot clear PE');
  assert.equal(p.b.cpu.mode, Mode.Protected);
});

// ------------------------------------------------------------------ MOV CR

test('MOV CR0: PG without PE and NW without CD are #GP(0); reserved bits are ignored, ET reads 1', () => {
  expectFault('pm0', 'mov cr0, eax', GP, 0, 'PG=1 PE=0', (b) => { b.cpu.r32[0] = 0x80000010 | 0; });
  expectFault('pm0', 'mov cr0, eax', GP, 0, 'NW=1 CD=0', (b) => { b.cpu.r32[0] = 0x20000011; });
  expectFault('real', 'mov cr0, eax', GP, -1, 'PG=1 PE=0 in real mode', (b) => { b.cpu.r32[0] = 0x80000000 | 0; });
  const b = expectDone('pm0', 'mov cr0, eax\nmov ebx, cr0', 'reserved bits', (b) => { b.cpu.r32[0] = 0x1fffffe1; });
  // Written 1FFFFFE1H: PE, bits 5-15 (only NE = bit 5 exists), WP, bit 17 (reserved), AM, bits 19-28 (reserved).
  assert.equal(b.cpu.r32[3] >>> 0, 0x00050031, 'PE | ET | NE | WP | AM');
  const cdnw = expectDone('pm0', 'mov cr0, eax\nmov ebx, cr0', 'CD and NW together', (b) => { b.cpu.r32[0] = 0x60000011; });
  assert.equal(cdnw.cpu.r32[3] >>> 0, 0x60000011);
});

test('MOV CR4: each bit needs its CPUID feature (#GP(0) otherwise); CR1, CR5-CR7 are #UD', () => {
  // Allowed (CPUID.1:EDX has TSC, DE, PSE, PAE, MCE, PGE, FXSR; PCE exists on every P6): TSD DE PSE PAE MCE PGE PCE OSFXSR.
  for (const bit of [2, 3, 4, 5, 6, 7, 8, 9]) {
    const b = expectDone('pm0', 'mov cr4, eax\nmov ebx, cr4', `CR4 bit ${bit}`, (b) => { b.cpu.r32[0] = 1 << bit; });
    assert.equal(b.cpu.r32[3], 1 << bit, `CR4 bit ${bit} reads back`);
  }
  // Not allowed: VME, PVI (no VME), OSXMMEXCPT (no SSE), UMIP, LA57, VMXE (no VMX), SMXE, bit 15, FSGSBASE,
  // PCIDE, OSXSAVE, bit 19, SMEP, SMAP, PKE, bits 23 and 31.
  for (const bit of [0, 1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 31]) {
    expectFault('pm0', 'mov cr4, eax', GP, 0, `CR4 bit ${bit}`, (b) => { b.cpu.r32[0] = 1 << bit; });
  }
  // CR1 and CR5-CR7: 0F 20/22 with reg = 1, 5, 6, 7 (ModRM C8, E8, F0, F8); #UD even at CPL 3.
  for (const m of [0xc8, 0xe8, 0xf0, 0xf8]) {
    for (const op of [0x20, 0x22]) {
      for (const env of ['pm0', 'pm3'] as Env[]) {
        const b = setup(env, Uint8Array.from([0x0f, op, m, 0xcc]));
        assert.equal(run(b).vec, UD, `0F ${op.toString(16)} ${m.toString(16)} in ${env}`);
      }
    }
  }
  // LOCK MOV CR0 (AMD's CR8 alias) is #UD.
  assert.equal(run(setup('pm0', Uint8Array.from([0xf0, 0x0f, 0x20, 0xc0, 0xf4]))).vec, UD);
});

test('MOV CR2/CR3 store any value with paging off; MOV CRn ignores ModRM.mod (register operand only)', () => {
  const b = expectDone('pm0', 'mov cr2, eax\nmov cr3, ecx\nmov edx, cr2\nmov esi, cr3', 'CR2/CR3', (b) => {
    b.cpu.r32[0] = 0xdeadbeef | 0; b.cpu.r32[1] = 0x12345018; // CR3: page-directory base, PCD, PWT (no ignored bits)
  });
  assert.equal(b.cpu.r32[2] >>> 0, 0xdeadbeef);
  assert.equal(b.cpu.r32[6] >>> 0, 0x12345018);
  // 0F 20 00 (mod = 0): still "mov eax, cr0", 3 bytes long, no displacement.
  const m = setup('pm0', Uint8Array.from([0x0f, 0x20, 0x03, 0xf4])); // mod 0, reg 0 (CR0), rm 3 (EBX)
  assert.equal(run(m).vec, -1);
  assert.equal(m.cpu.r32[3], m.cpu.cr0);
});

test('PAE: MOV CR3 with a reserved bit in a present PDPTE is #GP(0) while paging is on', () => {
  const r = go('pm0', [
    'mov eax, 0x20000', 'mov cr3, eax',
    'mov eax, 0x20', 'mov cr4, eax',
    'mov eax, cr0', 'or eax, 0x80000000', 'mov cr0, eax',
    'mov dword [0x5000], 0x55aa',           // through the identity map
    'mov eax, 0x22000', 'mov cr3, eax',     // PDPTE 0 has bit 1 set (reserved)
    'hlt',
  ].join('\n'), (b) => {
    wr(b, 0x20000, 4, 0x21000 | 1); // PDPTE 0 → PD at 21000H
    wr(b, 0x21000, 4, 0x000000e3); // PDE 0: 2 MiB page at 0, P RW PS (A D)
    wr(b, 0x22000, 4, 0x21000 | 3); // P + reserved bit 1
  });
  assert.equal(r.vec, GP); assert.equal(r.code, 0);
  assert.equal(r.b.cpu.cr3, 0x20000, 'CR3 unchanged');
  assert.equal(rd(r.b, 0x5000), 0x55aa);
});

// ------------------------------------------------------------------ MOV DR

test('MOV DR: DR0-DR3 any value, DR6/DR7 fixed bits, DR4/DR5 alias DR6/DR7 unless CR4.DE (#UD)', () => {
  const b = expectDone('pm0', [
    'mov eax, 0x12345678', 'mov dr0, eax', 'mov dr3, eax', 'mov ebx, dr3',
    'xor eax, eax', 'mov dr6, eax', 'mov ecx, dr6',
    'mov dr7, eax', 'mov edx, dr7',
    'mov eax, -1', 'mov dr6, eax', 'mov esi, dr6',
    'mov eax, 0xffffdf00', 'mov dr7, eax', 'mov edi, dr7',   // all but GD (which would trap the next MOV DR)
    'mov eax, 0x200', 'mov dr5, eax', 'mov ebp, dr7',        // DR5 = DR7 (CR4.DE = 0)
    'mov [0x5000], ebp', 'mov eax, dr4', 'mov [0x5004], eax',
  ].join('\n'), 'MOV DR');
  const c = b.cpu;
  assert.equal(c.r32[3] >>> 0, 0x12345678);
  assert.equal(c.r32[1] >>> 0, 0xffff0ff0, 'DR6 written with 0 (SDM Vol3B 17.2.3: reserved bits 1, bit 12 0)');
  assert.equal(c.r32[2] >>> 0, 0x00000400, 'DR7 written with 0: bit 10 reads 1');
  assert.equal(c.r32[6] >>> 0, 0xffffefff, 'DR6 written with all ones: bit 12 reads 0');
  assert.equal(c.r32[7] >>> 0, 0xffff0700, 'DR7 written with FFFFDF00H: bits 11, 12, 14, 15 read 0');
  assert.equal(rd(b, 0x5000), 0x00000600, 'MOV DR5 wrote DR7');
  assert.equal(rd(b, 0x5004), 0xffffefff, 'MOV from DR4 read DR6');
  expectFault('pm0', 'mov eax, dr4', UD, -1, 'DR4 with CR4.DE', (b) => { b.cpu.cr4 = 1 << 3; });
  expectFault('pm0', 'mov dr5, eax', UD, -1, 'DR5 with CR4.DE', (b) => { b.cpu.cr4 = 1 << 3; });
});

test('MOV DR with DR7.GD = 1: #DB fault with DR6.BD set and GD cleared for the handler', () => {
  const r = go('pm0', 'mov eax, dr0\nhlt', (b) => { b.cpu.dr[7] = 0x2400; });
  assert.equal(r.vec, DB);
  assert.equal(r.eip, CODE, '#DB is a fault: EIP of the MOV');
  assert.equal(r.b.cpu.dr[6] & 0x2000, 0x2000, 'DR6.BD');
  assert.equal(r.b.cpu.dr[7] & 0x2000, 0, 'DR7.GD cleared');
});

// ------------------------------------------------------------------ INVLPG

test('INVLPG drops a stale 4 KiB translation and every 4 KiB piece of a 4 MiB page', () => {
  const r = go('pm0', [
    'mov eax, 0x20000', 'mov cr3, eax', 'mov eax, 0x10', 'mov cr4, eax',     // CR4.PSE
    'mov eax, cr0', 'or eax, 0x80000000', 'mov cr0, eax',
    'mov eax, [0x400000]', 'mov ebx, [0x801000]',
    'mov dword [0x21000], 0x201003',   // PTE for 400000H → 201000H
    'mov dword [0x20008], 0x1400083',  // PDE 2 (800000H) → 4 MiB page at 1400000H
    'invlpg [0x400000]', 'invlpg [0x800000]',
    'mov ecx, [0x400000]', 'mov edx, [0x801000]',
    'hlt',
  ].join('\n'), (b) => {
    wr(b, 0x20000, 4, 0x00000083);        // PDE 0: 4 MiB identity page (P RW PS)
    wr(b, 0x20004, 4, 0x21000 | 3);       // PDE 1 (400000H): page table at 21000H
    wr(b, 0x21000, 4, 0x200000 | 3);      // PTE 0: → 200000H
    wr(b, 0x20008, 4, 0x1000000 | 0x83);  // PDE 2: 4 MiB page at 1000000H
    wr(b, 0x200000, 4, 0xaaaa0001); wr(b, 0x201000, 4, 0xaaaa0002);
    wr(b, 0x1001000, 4, 0xbbbb0001); wr(b, 0x1401000, 4, 0xbbbb0002);
  }, 32 << 20);
  assert.equal(r.vec, -1);
  const c = r.b.cpu;
  assert.equal(c.r32[0] >>> 0, 0xaaaa0001); assert.equal(c.r32[3] >>> 0, 0xbbbb0001);
  assert.equal(c.r32[1] >>> 0, 0xaaaa0002, 'new PTE after INVLPG');
  assert.equal(c.r32[2] >>> 0, 0xbbbb0002, 'new 4 MiB PDE after INVLPG of another 4 KiB page inside it');
});

// ------------------------------------------------------------------ MSRs

/** Run RDMSR/WRMSR sequences; `ops` is assembly using ECX/EAX/EDX. */
function msrRun(src: string, prep?: (b: Bare) => void): Bare { return expectDone('pm0', src, 'MSR sequence', prep); }

test('RDMSR/WRMSR: unknown MSRs and the VMX MSRs are #GP(0); SYSENTER MSRs store', () => {
  for (const msr of [0x12345678, 0x480, 0x3b, 0xc0000081, 0x1d9, 0x79]) {
    expectFault('pm0', 'rdmsr', GP, 0, `RDMSR ${msr.toString(16)}`, (b) => { b.cpu.r32[1] = msr; });
    expectFault('pm0', 'wrmsr', GP, 0, `WRMSR ${msr.toString(16)}`, (b) => { b.cpu.r32[1] = msr; });
  }
  const b = msrRun([
    'mov ecx, 0x174', 'mov eax, 0x10', 'xor edx, edx', 'wrmsr',
    'mov ecx, 0x175', 'mov eax, 0x9000', 'wrmsr', 'mov ecx, 0x176', 'mov eax, 0xc0001234', 'wrmsr',
    'mov ecx, 0x174', 'rdmsr', 'mov [0x5000], eax', 'mov [0x5004], edx',
    'mov ecx, 0x176', 'rdmsr', 'mov [0x5008], eax',
  ].join('\n'));
  assert.equal(rd(b, 0x5000), 0x10); assert.equal(rd(b, 0x5004), 0);
  assert.equal(rd(b, 0x5008), 0xc0001234);
  assert.equal(b.cpu.sysenterEsp, 0x9000);
});

test('IA32_PAT: power-up value 0007040600070406H; invalid types or reserved bits are #GP(0)', () => {
  const b = msrRun('mov ecx, 0x277\nrdmsr\nmov [0x5000], eax\nmov [0x5004], edx\nmov eax, 0x07010600\nmov edx, 0x00070105\nwrmsr\nrdmsr\nmov [0x5008], eax\nmov [0x500c], edx');
  assert.equal(rd(b, 0x5000), 0x00070406); assert.equal(rd(b, 0x5004), 0x00070406);
  assert.equal(rd(b, 0x5008), 0x07010600); assert.equal(rd(b, 0x500c), 0x00070105);
  for (const [lo, hi] of [[0x02, 0], [0, 0x0300], [0x08, 0], [0, 0x10000000]]) {
    expectFault('pm0', 'wrmsr', GP, 0, `PAT ${hi.toString(16)}:${lo.toString(16)}`, (b) => { b.cpu.r32[1] = 0x277; b.cpu.r32[0] = lo; b.cpu.r32[2] = hi; });
  }
});

test('IA32_EFER: only NXE is writable; IA32_MISC_ENABLE.XD_DISABLE hides NX and makes NXE reserved', () => {
  const b = msrRun([
    'mov ecx, 0xc0000080', 'rdmsr', 'mov [0x5000], eax',
    'mov eax, 0x800', 'xor edx, edx', 'wrmsr', 'rdmsr', 'mov [0x5004], eax',
    'xor eax, eax', 'wrmsr',
    'mov ecx, 0x1a0', 'rdmsr', 'mov [0x5008], eax', 'mov [0x500c], edx',
    'or edx, 4', 'wrmsr',                                   // XD bit disable (bit 34)
    'mov eax, 0x80000001', 'cpuid', 'mov [0x5010], edx',
    'mov ecx, 0x1a0', 'rdmsr', 'and edx, ~4', 'wrmsr',
    'mov eax, 0x80000001', 'cpuid', 'mov [0x5014], edx',
  ].join('\n'));
  assert.equal(rd(b, 0x5000), 0); assert.equal(rd(b, 0x5004), 0x800);
  assert.equal(rd(b, 0x5008) & 0x1801, 0x1801, 'MISC_ENABLE: fast strings, BTS and PEBS unavailable');
  assert.equal(rd(b, 0x5010) & (1 << 20), 0, 'NX hidden by XD_DISABLE');
  assert.equal(rd(b, 0x5014) & (1 << 20), 1 << 20, 'NX back');
  for (const v of [1, 0x100, 0x400, 0x1000]) {
    expectFault('pm0', 'wrmsr', GP, 0, `EFER ${v.toString(16)}`, (b) => { b.cpu.r32[1] = 0xc0000080 | 0; b.cpu.r32[0] = v; b.cpu.r32[2] = 0; });
  }
  expectFault('pm0', 'wrmsr', GP, 0, 'EFER.NXE with XD disabled', (b) => {
    b.cpu.miscEnableHi = 4; b.cpu.r32[1] = 0xc0000080 | 0; b.cpu.r32[0] = 0x800; b.cpu.r32[2] = 0;
  });
});

test('IA32_TIME_STAMP_COUNTER and RDTSC: writes set the counter, time moves on; CR4.TSD makes RDTSC CPL-0 only', () => {
  const b = msrRun([
    'mov ecx, 0x10', 'xor eax, eax', 'mov edx, 1', 'wrmsr',
    'rdtsc', 'mov [0x5000], eax', 'mov [0x5004], edx',
    'mov ecx, 100', 'l: loop l',
    'rdtsc', 'mov [0x5008], eax', 'mov [0x500c], edx',
    'mov ecx, 0x10', 'rdmsr', 'mov [0x5010], eax', 'mov [0x5014], edx',
  ].join('\n'));
  assert.equal(rd(b, 0x5004), 1, 'TSC[63:32] = 1 after writing 1_0000_0000H');
  assert.ok(rd(b, 0x5000) < 10, 'a few instructions later');
  assert.equal(rd(b, 0x500c), 1);
  assert.ok(rd(b, 0x5008) >= rd(b, 0x5000) + 100, 'the 100-iteration loop advanced the TSC');
  assert.ok(rd(b, 0x5010) > rd(b, 0x5008), 'RDMSR of the TSC after RDTSC reads more');
  expectFault('pm3', 'rdtsc', GP, 0, 'RDTSC with TSD at CPL 3', (b) => { b.cpu.cr4 = 1 << 2; });
  expectDone('pm3', 'rdtsc', 'RDTSC at CPL 3 without TSD');
  expectDone('pm0', 'rdtsc', 'RDTSC at CPL 0 with TSD', (b) => { b.cpu.cr4 = 1 << 2; });
  expectFault('v86', 'rdtsc', GP, 0, 'RDTSC with TSD in V86', (b) => { b.cpu.cr4 = 1 << 2; });
});

test('RDPMC: no counters, so #GP(0) for every ECX at any CPL', () => {
  expectFault('pm0', 'rdpmc', GP, 0, 'RDPMC 0 at CPL 0', (b) => { b.cpu.r32[1] = 0; });
  expectFault('pm3', 'rdpmc', GP, 0, 'RDPMC 1 at CPL 3 with PCE', (b) => { b.cpu.r32[1] = 1; b.cpu.cr4 = 1 << 8; });
  expectFault('real', 'rdpmc', GP, -1, 'RDPMC in real mode');
});

test('IA32_APIC_BASE (BSP, enable, base), IA32_FEATURE_CONTROL (locked, VMX off), MTRRs, machine-check MSRs', () => {
  const b = msrRun([
    'mov ecx, 0x1b', 'rdmsr', 'mov [0x5000], eax', 'mov [0x5004], edx',
    'mov eax, 0xfec00900', 'xor edx, edx', 'wrmsr', 'rdmsr', 'mov [0x5008], eax',
    'mov eax, 1', 'cpuid', 'mov [0x500c], edx',
    'mov ecx, 0x1b', 'mov eax, 0xfee00100', 'xor edx, edx', 'wrmsr',   // APIC globally disabled
    'mov eax, 1', 'cpuid', 'mov [0x5010], edx',
    'mov ecx, 0x3a', 'rdmsr', 'mov [0x5014], eax',
    'mov ecx, 0xfe', 'rdmsr', 'mov [0x5018], eax',
    'mov ecx, 0x2ff', 'mov eax, 0xc06', 'xor edx, edx', 'wrmsr', 'rdmsr', 'mov [0x501c], eax',
    'mov ecx, 0x200', 'mov eax, 0x12345006', 'mov edx, 0xf', 'wrmsr',
    'mov ecx, 0x20f', 'mov eax, 0xfff00800', 'mov edx, 0xf', 'wrmsr', 'rdmsr', 'mov [0x5020], eax', 'mov [0x5024], edx',
    'mov ecx, 0x26f', 'mov eax, 0x06050401', 'mov edx, 0x00000606', 'wrmsr', 'rdmsr', 'mov [0x5028], eax',
    'mov ecx, 0x179', 'rdmsr', 'mov [0x502c], eax',
    'mov ecx, 0x17a', 'mov eax, 7', 'xor edx, edx', 'wrmsr', 'rdmsr', 'mov [0x5030], eax',
    'mov ecx, 0x8b', 'xor eax, eax', 'mov edx, 0x12345678', 'wrmsr', 'rdmsr', 'mov [0x5034], edx',
    'mov eax, 1', 'cpuid', 'mov ecx, 0x8b', 'rdmsr', 'mov [0x5038], edx',
    'mov ecx, 0x17', 'rdmsr',
  ].join('\n'));
  assert.equal(rd(b, 0x5000), 0xfee00900, 'APIC base after reset: FEE00000H, BSP, EN');
  assert.equal(rd(b, 0x5004), 0);
  assert.equal(rd(b, 0x5008), 0xfec00900, 'relocated');
  assert.equal(rd(b, 0x500c) & (1 << 9), 1 << 9, 'CPUID.1:EDX.APIC while enabled');
  assert.equal(rd(b, 0x5010) & (1 << 9), 0, 'CPUID.1:EDX.APIC = 0 once globally disabled (SDM Vol3A 10.4.3)');
  assert.equal(rd(b, 0x5014), 1, 'FEATURE_CONTROL: lock = 1, VMX enables = 0');
  assert.equal(rd(b, 0x5018), 0x508, 'MTRRCAP: 8 variable, fixed ranges, WC');
  assert.equal(rd(b, 0x501c), 0xc06);
  assert.equal(rd(b, 0x5020), 0xfff00800); assert.equal(rd(b, 0x5024), 0xf);
  assert.equal(rd(b, 0x5028), 0x06050401);
  assert.equal(rd(b, 0x502c), 0, 'MCG_CAP: no banks');
  assert.equal(rd(b, 0x5030), 7);
  assert.equal(rd(b, 0x5034), 0x12345678, 'BIOS_SIGN_ID stores a write');
  assert.equal(rd(b, 0x5038), 0, 'CPUID(1) loads the (absent) microcode revision');
  const gp = (ecx: number, lo: number, hi: number, what: string): void =>
    expectFault('pm0', 'wrmsr', GP, 0, what, (b) => { b.cpu.r32[1] = ecx; b.cpu.r32[0] = lo; b.cpu.r32[2] = hi; });
  gp(0x3a, 5, 0, 'FEATURE_CONTROL is locked');
  gp(0x1b, 0xfee00a00 | 0, 0, 'APIC_BASE bit 9 reserved');
  gp(0x1b, 0xfee00d00 | 0, 0, 'APIC_BASE x2APIC enable without x2APIC');
  gp(0x1b, 0xfee00900 | 0, 0x10, 'APIC_BASE above MAXPHYADDR');
  gp(0xfe, 0x508, 0, 'MTRRCAP is read-only');
  gp(0x2ff, 0x2, 0, 'MTRR default type 2 is reserved');
  gp(0x2ff, 0x106, 0, 'MTRR_DEF_TYPE bit 8');
  gp(0x200, 0x12345007, 0, 'PHYSBASE type 7 (UC- is PAT-only)');
  gp(0x200, 0x12345106, 0, 'PHYSBASE bit 8');
  gp(0x201, 0xfff00801 | 0, 0, 'PHYSMASK bit 0');
  gp(0x201, 0xfff00800 | 0, 0x10, 'PHYSMASK bit 36');
  gp(0x250, 0x06060602, 0, 'fixed-range type 2');
  gp(0x17a, 8, 0, 'MCG_STATUS bit 3');
  gp(0x179, 0, 0, 'MCG_CAP is read-only');
  gp(0x17, 0, 0, 'PLATFORM_ID is read-only');
});

// ------------------------------------------------------------------ CPUID

/** Run CPUID for `leaf` in `env`, return [EAX, EBX, ECX, EDX]. */
function cpuid(leaf: number, env: Env = 'pm0'): number[] {
  const b = expectDone(env, 'cpuid', `CPUID ${leaf.toString(16)}`, (b) => { b.cpu.r32[0] = leaf; b.cpu.r32[1] = 0; });
  const r = b.cpu.r32;
  return [r[0] >>> 0, r[3] >>> 0, r[1] >>> 0, r[2] >>> 0];
}
const bits = (...n: number[]): number => n.reduce((a, k) => (a | (1 << k)) >>> 0, 0);
const str4 = (...regs: number[]): string => regs.map((v) => String.fromCharCode(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24)).join('');

test('CPUID leaves 0, 1, 2: vendor, signature, features (SDM Vol2 CPUID layout), cache descriptors', () => {
  const l0 = cpuid(0);
  assert.equal(l0[0], 2, 'max basic leaf');
  assert.equal(str4(l0[1], l0[3], l0[2]), 'GenuineIntel', 'EBX, EDX, ECX');
  const [eax, ebx, ecx, edx] = cpuid(1);
  assert.equal((eax >>> 8) & 0xf, 6, 'family 6');
  assert.equal(eax >>> 28, 0, 'reserved bits 31:28');
  assert.equal((ebx >>> 8) & 0xff, 8, 'CLFLUSH line = 8 × 8 = 64 bytes');
  assert.equal(ebx >>> 24, 0, 'initial APIC ID 0');
  assert.equal(ecx, 0, 'no ECX features: in particular no VMX (bit 5), SSE3, MONITOR, XSAVE');
  // FPU DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE MCA CMOV PAT CLFSH FXSR.
  assert.equal(edx, bits(0, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 19, 24));
  const l2 = cpuid(2);
  assert.equal(l2[0] & 0xff, 1, 'AL = 1');
  for (const r of l2) assert.equal(r >>> 31, 0, 'bit 31 clear: valid descriptors');
  const descs = l2.flatMap((r, k) => [0, 8, 16, 24].map((s) => (r >>> s) & 0xff).slice(k === 0 ? 1 : 0)).filter((d) => d !== 0);
  assert.deepEqual(descs.sort((a, b) => a - b), [0x01, 0x02, 0x03, 0x04, 0x2c, 0x30, 0x7d]);
});

test('CPUID extended leaves: max 80000008H, NX, brand string, L2, address sizes; out-of-range leaves', () => {
  assert.equal(cpuid(0x80000000)[0], 0x80000008);
  assert.deepEqual(cpuid(0x80000001), [0, 0, 0, 1 << 20], 'only NX (no SYSCALL, no LM)');
  const brand = [0x80000002, 0x80000003, 0x80000004].map((l) => cpuid(l)).flatMap((r) => [r[0], r[1], r[2], r[3]]);
  const s = str4(...brand);
  assert.equal(s.slice(0, s.indexOf('\0')), 'tsvisor virtual CPU');
  assert.equal(s.length, 48);
  const l6 = cpuid(0x80000006);
  assert.equal(l6[2] >>> 16, 2048, 'L2 2048 KB'); assert.equal(l6[2] & 0xff, 64, '64-byte lines');
  assert.equal(cpuid(0x80000008)[0], 36 | (32 << 8), '36 physical, 32 linear address bits');
  const l2 = cpuid(2);
  for (const leaf of [3, 4, 0x0b, 0x40000000, 0x7fffffff, 0x80000009, 0xffffffff]) {
    assert.deepEqual(cpuid(leaf), l2, `leaf ${leaf.toString(16)} returns the highest basic leaf (2)`);
  }
  assert.deepEqual(cpuid(0x80000005), [0, 0, 0, 0]);
});

test('CPUID runs at CPL 3, in V86 and in real mode; EDX after RESET holds the signature', () => {
  const sig = cpuid(1)[0];
  assert.equal(cpuid(1, 'pm3')[0], sig);
  assert.equal(cpuid(0, 'v86')[0], 2);
  assert.equal(cpuid(0, 'real')[0], 2);
  const b = makeCpu();
  installDefaultCpuid(b.cpu);
  b.cpu.reset();
  assert.equal(b.cpu.r32[2] >>> 0, sig, 'SDM Vol3A 9.1.4');
});

test('CPUID options: hiding a feature removes its CPUID bit, its CR4 bit and its MSRs', () => {
  const without = (edxBit: number, apic = true) => (b: Bare): void =>
    installDefaultCpuid(b.cpu, { ...cpuidOptions, edx: cpuidOptions.edx & ~(1 << edxBit), apic });
  // No local APIC (the machine's flag): CPUID.1:EDX.APIC = 0 and IA32_APIC_BASE does not exist.
  const b = expectDone('pm0', 'mov eax, 1\ncpuid', 'CPUID without APIC', without(31, false));
  assert.equal(b.cpu.r32[2] & (1 << 9), 0);
  expectFault('pm0', 'rdmsr', GP, 0, 'IA32_APIC_BASE without APIC', (b) => { without(31, false)(b); b.cpu.r32[1] = 0x1b; });
  // PAE (bit 6), PGE (13), FXSR (24 → CR4.OSFXSR), DE (2), TSC (4 → CR4.TSD).
  for (const [edxBit, cr4Bit] of [[6, 5], [13, 7], [24, 9], [2, 3], [4, 2]]) {
    expectFault('pm0', 'mov cr4, eax', GP, 0, `CR4 bit ${cr4Bit} without CPUID.1:EDX bit ${edxBit}`, (b) => { without(edxBit)(b); b.cpu.r32[0] = 1 << cr4Bit; });
  }
  // PAT (16), SEP (11), MTRR (12): their MSRs are gone.
  for (const [edxBit, msr] of [[16, 0x277], [11, 0x174], [12, 0x2ff], [12, 0xfe], [12, 0x200]]) {
    expectFault('pm0', 'rdmsr', GP, 0, `MSR ${msr.toString(16)} without CPUID.1:EDX bit ${edxBit}`, (b) => { without(edxBit)(b); b.cpu.r32[1] = msr; });
  }
  // No NX: IA32_EFER does not exist (no long mode either).
  expectFault('pm0', 'rdmsr', GP, 0, 'IA32_EFER without NX', (b) => { installDefaultCpuid(b.cpu, { ...cpuidOptions, extEdx: 0 }); b.cpu.r32[1] = 0xc0000080 | 0; });
});
