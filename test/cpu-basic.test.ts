// Smoke tests of the CPU core: decode + execute a few families in real and protected mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCpu, poke, runToHlt, setupFlat32, setupReal } from './harness/cpu.js';
import { Stop } from '../machine/cpu/state.js';
import { EFLAGS } from '../machine/cpu/arch.js';

test('32-bit ALU loop runs to HLT with the right result', () => {
  const b = makeCpu();
  setupFlat32(b.cpu);
  // mov ecx, 10; xor eax, eax; l: add eax, ecx; dec ecx; jnz l; hlt
  poke(b, 0x1000, [0xb9, 10, 0, 0, 0, 0x31, 0xc0, 0x01, 0xc8, 0x49, 0x75, 0xfb, 0xf4]);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(b.cpu.r32[0], 55);
  assert.equal(b.cpu.getZF(), 1);
});

test('real mode: push/pop, call/ret, 16-bit wrap of IP-relative jumps', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0x100, 0x0);
  // mov ax, 0x1234; push ax; pop bx; call +1 (skip hlt); hlt; mov cx, bx; ret... keep simple:
  // mov ax,1234h; push ax; pop bx; call f; hlt; f: inc bx; ret
  poke(b, 0x1000, [0xb8, 0x34, 0x12, 0x50, 0x5b, 0xe8, 0x01, 0x00, 0xf4, 0x43, 0xc3]);
  assert.equal(runToHlt(b), Stop.Halted);
  assert.equal(b.cpu.r16[6], 0x1235);
  assert.equal(b.cpu.eip, 9);
});

test('lazy flags: sub sets CF/ZF/SF/OF like the SDM says', () => {
  const b = makeCpu();
  setupFlat32(b.cpu);
  // mov al, 0x80; sub al, 1  → 0x7F, OF=1, CF=0, SF=0; hlt
  poke(b, 0x1000, [0xb0, 0x80, 0x2c, 0x01, 0xf4]);
  runToHlt(b);
  const f = b.cpu.getEflags();
  assert.equal(b.cpu.r8[0], 0x7f);
  assert.equal(f & EFLAGS.OF, EFLAGS.OF);
  assert.equal(f & EFLAGS.CF, 0);
  assert.equal(f & EFLAGS.SF, 0);
  assert.equal(f & EFLAGS.AF, EFLAGS.AF);
});

test('self-modifying code is seen by the next execution', () => {
  const b = makeCpu();
  setupFlat32(b.cpu);
  // l: mov byte [0x1010], 0x40 (inc eax → patched into the nop at 0x1010); then jump to 0x1010
  // 0x1000: c6 05 10 10 00 00 40   mov byte [0x1010], 0x40
  // 0x1007: eb 07                   jmp 0x1010
  // 0x1010: 90 f4                   nop (patched to inc eax); hlt
  poke(b, 0x1000, [0xc6, 0x05, 0x10, 0x10, 0x00, 0x00, 0x40, 0xeb, 0x07]);
  poke(b, 0x1010, [0x90, 0xf4]);
  // Decode 0x1010 first so it is cached, then run the patcher.
  b.cpu.eip = 0x1010; runToHlt(b);
  assert.equal(b.cpu.r32[0], 0);
  b.cpu.halted = false; b.cpu.eip = 0x1000; runToHlt(b);
  assert.equal(b.cpu.r32[0], 1);
});
