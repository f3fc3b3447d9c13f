// The PC memory map as the BIOS reports it through INT 15h AX=E820h (ACPI spec "System Address
// Map Interfaces"; Linux takes it from boot_params.e820_table). Browser-safe.
//
// Layout of this machine: conventional RAM below the EBDA, the EBDA (last KiB below 640 KiB) and the
// BIOS ROM area (0xF0000-0xFFFFF) reserved, the VGA/option-ROM window 0xA0000-0xEFFFF left out (a
// hole, as on real PCs), RAM from 1 MiB to the end of RAM, and every MMIO region the machine maps
// listed as reserved (and cut out of RAM if it overlaps it).

/** Address range types (ACPI spec, Table "Address Range Types"). */
export const E820_TYPE = { RAM: 1, RESERVED: 2, ACPI: 3, NVS: 4, UNUSABLE: 5 } as const;

export interface E820Entry { addr: number; size: number; type: number }
/** A physical region that is not RAM (MMIO, firmware). */
export interface ReservedRegion { base: number; length: number }

export const EBDA_BASE = 0x9fc00;
export const BIOS_ROM_BASE = 0xf0000;
export const HIGH_MEMORY = 0x100000;

/** Build the memory map for `memBytes` of RAM, with `reserved` regions (MMIO) listed as reserved. */
export function pcMemoryMap(memBytes: number, reserved: readonly ReservedRegion[] = []): E820Entry[] {
  const holes: ReservedRegion[] = [
    { base: EBDA_BASE, length: 0xa0000 - EBDA_BASE },
    { base: BIOS_ROM_BASE, length: HIGH_MEMORY - BIOS_ROM_BASE },
    ...reserved.filter((r) => r.length > 0),
  ].sort((a, b) => a.base - b.base);
  // Merge overlapping or touching reserved regions, so the map has no overlaps.
  const res: ReservedRegion[] = [];
  for (const h of holes) {
    const last = res[res.length - 1];
    if (last && h.base <= last.base + last.length) last.length = Math.max(last.length, h.base + h.length - last.base);
    else res.push({ base: h.base, length: h.length });
  }
  // RAM: [0, 640 KiB) and [1 MiB, memBytes), minus the reserved regions.
  let ram: [number, number][] = [[0, Math.min(0xa0000, memBytes)]];
  if (memBytes > HIGH_MEMORY) ram.push([HIGH_MEMORY, memBytes]);
  for (const r of res) {
    const rs = r.base, re = r.base + r.length;
    const next: [number, number][] = [];
    for (const [s, e] of ram) {
      if (re <= s || rs >= e) { next.push([s, e]); continue; }
      if (s < rs) next.push([s, rs]);
      if (re < e) next.push([re, e]);
    }
    ram = next;
  }
  const out: E820Entry[] = [
    ...ram.filter(([s, e]) => e > s).map(([s, e]) => ({ addr: s, size: e - s, type: E820_TYPE.RAM })),
    ...res.map((r) => ({ addr: r.base, size: r.length, type: E820_TYPE.RESERVED })),
  ];
  return out.sort((a, b) => a.addr - b.addr);
}
