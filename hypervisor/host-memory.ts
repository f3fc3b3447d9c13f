// The hypervisor's own memory, XMHF-style: a region of physical memory above the RAM the guest is
// told about (the machine's firmwareTop), never mapped into the guest's EPT, holding everything the
// processor reads from memory on the host's behalf: the VMXON region, VMCS regions, I/O and MSR
// bitmaps, EPT tables, the host's GDT/TSS/page directory and stack.
//
// Runs in: VMX root operation (host set-up). A bump allocator: nothing is ever freed.

import type { PhysMem } from '../machine/memory.js';

export const PAGE = 4096;

export class HostMemory {
  private next: number;

  constructor(readonly mem: PhysMem, readonly base: number, readonly end: number) {
    if (base % (2 << 20) !== 0 || end > mem.size || end <= base) {
      throw new Error(`hypervisor memory 0x${base.toString(16)}..0x${end.toString(16)} must be 2-MiB aligned and inside the machine's ${mem.size >>> 20} MiB`);
    }
    this.next = base;
  }

  /** Allocate `pages` zeroed, page-aligned pages; returns the physical address. */
  allocPages(pages = 1, what = 'hypervisor structure'): number {
    const pa = this.next;
    if (pa + pages * PAGE > this.end) {
      throw new Error(`hypervisor memory exhausted allocating ${pages} page(s) for ${what} (${(this.end - this.base) >>> 20} MiB reserved)`);
    }
    this.next += pages * PAGE;
    this.mem.ram.fill(0, pa, pa + pages * PAGE);
    return pa;
  }

  /** Bytes in use. */
  get used(): number { return this.next - this.base; }

  write32(pa: number, v: number): void { this.mem.write(pa, 4, v); }
  read32(pa: number): number { return this.mem.read(pa, 4); }
  /** Write a 64-bit value as two halves (hi may be up to 2^21 here: addresses stay below 2^53). */
  write64(pa: number, v: number): void {
    this.mem.write(pa, 4, v % 0x100000000 | 0);
    this.mem.write(pa + 4, 4, Math.floor(v / 0x100000000) | 0);
  }
  read64(pa: number): number { return (this.mem.read(pa + 4, 4) >>> 0) * 0x100000000 + (this.mem.read(pa, 4) >>> 0); }
}
