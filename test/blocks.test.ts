// The decoded-block cache (machine/cpu/blocks.ts, cpu.ts fetchBlock/checkCodeWrite): blocks are
// dropped when their bytes are written (by the CPU or by a device through PhysMem), kept when other
// bytes are written, and writes far above RAM cost nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, poke, runToHlt, setupFlat32 } from './harness/cpu.js';
import { Stop } from '../machine/cpu/state.js';
import { jitStats, JIT_AVAILABLE } from '../machine/cpu/jit.js';

test('a device write into decoded code drops its blocks: the new bytes run', () => {
  for (const t of [0, 1]) {
    const b = makeCpu(1 << 20);
    setupFlat32(b.cpu, 0x1000);
    b.cpu.jitThreshold = t;
    poke(b, 0x1000, [0x40, 0x40, 0xf4]);                  // inc eax; inc eax; hlt
    for (let k = 0; k < 3; k++) { b.cpu.eip = 0x1000; b.cpu.halted = false; runToHlt(b); }
    assert.equal(b.cpu.r32[0], 6);
    b.mem.write(0x1001, 1, 0x48);                          // DMA-style write: the second INC becomes DEC
    b.cpu.eip = 0x1000; b.cpu.halted = false; runToHlt(b);
    assert.equal(b.cpu.r32[0], 6, `threshold ${t}: inc; dec leaves EAX`);
  }
});

test('a write next to code (another 32-byte chunk of the page) keeps the blocks', () => {
  const b = makeCpu(1 << 20);
  setupFlat32(b.cpu, 0x1000);
  b.cpu.jitThreshold = 1;
  // l: mov [0x1800], eax; inc eax; cmp eax, 100; jb l; hlt — a data store into the code page
  poke(b, 0x1000, [0xa3, 0x00, 0x18, 0x00, 0x00, 0x40, 0x83, 0xf8, 0x64, 0x72, 0xf5, 0xf4]);
  const before = jitStats.compiled;
  assert.equal(runToHlt(b), Stop.Halted);
  // Compiled once each (the loop, the HLT): a dropped block would be decoded and compiled again.
  if (JIT_AVAILABLE) assert.equal(jitStats.compiled - before, 2);
  assert.equal(b.cpu.r32[0], 100);
  assert.equal(b.mem.read(0x1800, 4), 99);
  assert.equal(b.clock.insns, 100 * 4 + 1);
});

test('writes far above RAM (a stack wrapped to FFFFxxxxH) are cheap: no code-bit scan from a negative address', () => {
  const b = makeCpu(1 << 20);
  setupFlat32(b.cpu, 0x1000);
  // mov esp, 0xfffffff0; l: push eax; push eax; pop eax; pop eax; loop l; hlt (ECX = 500)
  poke(b, 0x1000, [0xbc, 0xf0, 0xff, 0xff, 0xff, 0x50, 0x50, 0x58, 0x58, 0xe2, 0xfa, 0xf4]);
  b.cpu.r32[1] = 500;
  const t0 = Date.now();
  assert.equal(runToHlt(b), Stop.Halted);
  // 1000 writes to open bus: the old scan took ~0.1 s per write; now the whole run is milliseconds.
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  assert.equal(b.cpu.r32[4] >>> 0, 0xfffffff0);
});

test('a code page remapped (PTE + INVLPG) between two runs of the same EIP: the new page runs (chained blocks follow the TLB)', () => {
  for (const t of [0, 1]) {
    const b = makeCpu(1 << 20);
    setupFlat32(b.cpu, 0x1000);
    b.cpu.jitThreshold = t;
    const w32 = (a: number, v: number): void => { b.mem.write(a, 4, v); };
    const A = 0x30000, B = 0x31000;
    w32(0x20000, 0x21000 | 3);                              // PDE 0: identity 0-4 MiB
    for (let k = 0; k < 1024; k++) w32(0x21000 + k * 4, (k << 12) | 3);
    w32(0x20004, 0x22000 | 3);                              // PDE 1: linear 400000H -> A
    w32(0x22000, A | 3);
    b.cpu.cr3 = 0x20000;
    b.cpu.setCr0(b.cpu.cr0 | 0x80000000);
    poke(b, A, [0x40, 0xc3]);                               // A: inc eax; ret
    poke(b, B, [0x43, 0xc3]);                               // B: inc ebx; ret
    // l: call 400000H; mov [22000H], esi; invlpg [400000H]; xchg edi, esi; dec ecx; jnz l; hlt
    const rel = (0x400000 - 0x1005) >>> 0;
    poke(b, 0x1000, [0xe8, rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, rel >>> 24,
      0x89, 0x35, 0x00, 0x20, 0x02, 0x00, 0x0f, 0x01, 0x3d, 0x00, 0x00, 0x40, 0x00, 0x87, 0xf7, 0x49, 0x75, 0xe9, 0xf4]);
    b.cpu.r32[1] = 200; b.cpu.r32[6] = B | 3; b.cpu.r32[7] = A | 3;
    assert.equal(runToHlt(b), Stop.Halted);
    assert.equal(b.cpu.r32[0], 100, `threshold ${t}: page A ran every other time`);
    assert.equal(b.cpu.r32[3], 100, `threshold ${t}: page B ran every other time`);
  }
});
