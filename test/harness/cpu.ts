// Test harness: a bare CPU with RAM and an I/O bus, set up in real mode or flat 32-bit protected
// mode, running raw instruction bytes until HLT. For unit tests of instruction families.

import { CPU } from '../../machine/cpu/cpu.js';
import { PhysMem } from '../../machine/memory.js';
import { IoBus } from '../../machine/bus.js';
import { Clock } from '../../machine/clock.js';
import { AR, CR0, SEG } from '../../machine/cpu/arch.js';
import { Stop } from '../../machine/cpu/state.js';

export interface Bare { cpu: CPU; mem: PhysMem; io: IoBus; clock: Clock }

export function makeCpu(memBytes = 16 << 20): Bare {
  const mem = new PhysMem(memBytes);
  const io = new IoBus();
  const clock = new Clock();
  const cpu = new CPU(io, clock);
  cpu.attachMemory(mem);
  cpu.reset();
  return { cpu, mem, io, clock };
}

/** Real mode with CS:IP = cs:ip and all data segments = 0 (64 KiB limits). */
export function setupReal(cpu: CPU, cs = 0, ip = 0x1000): void {
  cpu.reset();
  for (const s of [SEG.DS, SEG.ES, SEG.SS, SEG.FS, SEG.GS]) cpu.loadSegReal(s, 0);
  cpu.loadSegReal(SEG.CS, cs);
  cpu.eip = ip;
  cpu.r32[4] = 0x8000;
}

/** Flat 32-bit protected mode at CPL 0 (hidden segment state only: no GDT is built). */
export function setupFlat32(cpu: CPU, eip = 0x1000): void {
  cpu.reset();
  cpu.cr0 = CR0.PE | CR0.ET;
  cpu.updateMode();
  const code = AR.P | AR.S | AR.CODE | AR.RW | AR.ACCESSED | AR.DB | AR.G;
  const data = AR.P | AR.S | AR.RW | AR.ACCESSED | AR.DB | AR.G;
  cpu.setSegCache(SEG.CS, 0x08, 0, 0xffffffff, code);
  for (const s of [SEG.DS, SEG.ES, SEG.SS, SEG.FS, SEG.GS]) cpu.setSegCache(s, 0x10, 0, 0xffffffff, data);
  cpu.updateMode();
  cpu.eip = eip;
  cpu.r32[4] = 0x80000;
}

/** Copy `code` to physical `addr` (the CPU's code cache is flushed). */
export function poke(b: Bare, addr: number, code: number[] | Uint8Array): void {
  b.mem.load(addr, code instanceof Uint8Array ? code : Uint8Array.from(code));
}

/** Run until HLT (or `max` instructions). Returns why it stopped. */
export function runToHlt(b: Bare, max = 1_000_000): Stop {
  return b.cpu.run(b.clock.insns + max);
}
