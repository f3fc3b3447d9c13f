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
