// Linux x86 boot protocol loader (kernel Documentation/arch/x86/boot.rst and zero-page.rst): parses
// the setup header of a bzImage, loads the protected-mode kernel, places the command line and the
// initrd, builds struct boot_params (the "zero page") with an e820 memory map, and returns the
// state for the 32-bit boot protocol entry (boot.rst "32-bit Boot Protocol"). The real-mode setup
// code is never run: the machine has no BIOS, so the loader does what setup would have done.
// Browser-safe: works on a Uint8Array and PhysMem, no Node APIs.

import type { PhysMem } from '../memory.js';
import { BootError } from './errors.js';
import { pcMemoryMap, E820_TYPE, HIGH_MEMORY, type E820Entry, type ReservedRegion } from './e820.js';

export { BootError };

// ---- Setup header (boot.rst "The Real-Mode Kernel Header"): offsets in the file and in boot_params.
export const HDR = {
  SETUP_SECTS: 0x1f1, SYSSIZE: 0x1f4, VID_MODE: 0x1fa, BOOT_FLAG: 0x1fe, JUMP: 0x200, HEADER: 0x202, VERSION: 0x206,
  KERNEL_VERSION: 0x20e, TYPE_OF_LOADER: 0x210, LOADFLAGS: 0x211, CODE32_START: 0x214, RAMDISK_IMAGE: 0x218,
  RAMDISK_SIZE: 0x21c, HEAP_END_PTR: 0x224, CMD_LINE_PTR: 0x228, INITRD_ADDR_MAX: 0x22c, KERNEL_ALIGNMENT: 0x230,
  RELOCATABLE_KERNEL: 0x234, MIN_ALIGNMENT: 0x235, XLOADFLAGS: 0x236, CMDLINE_SIZE: 0x238, PREF_ADDRESS: 0x258,
  INIT_SIZE: 0x260,
} as const;
/** Other boot_params fields (zero-page.rst). */
export const ZP = {
  SCREEN_INFO: 0x000, EXT_RAMDISK_IMAGE: 0x0c0, EXT_RAMDISK_SIZE: 0x0c4, EXT_CMD_LINE_PTR: 0x0c8,
  ALT_MEM_K: 0x1e0, E820_ENTRIES: 0x1e8, SENTINEL: 0x1ef, E820_TABLE: 0x2d0, SIZE: 0x1000,
} as const;
export const E820_MAX_ENTRIES = 128;        // e820_table[] holds 128 entries of 20 bytes (0x2d0..0xcd0)
export const HDRS_MAGIC = 0x53726448;       // "HdrS" at 0x202
export const BOOT_FLAG_MAGIC = 0xaa55;
export const LOADFLAGS = { LOADED_HIGH: 0x01, KASLR_FLAG: 0x02, QUIET_FLAG: 0x20, KEEP_SEGMENTS: 0x40, CAN_USE_HEAP: 0x80 } as const;
export const XLF = { KERNEL_64: 0x01, CAN_BE_LOADED_ABOVE_4G: 0x02, EFI_HANDOVER_32: 0x04, EFI_HANDOVER_64: 0x08 } as const;
/** type_of_loader 0xFF: "undefined" boot loader (boot.rst; no registered id for tsvisor). */
export const LOADER_TYPE_UNDEFINED = 0xff;
/** Selectors the 32-bit entry requires (boot.rst: __BOOT_CS 0x10, __BOOT_DS 0x18, 4 GiB flat). */
export const BOOT_CS = 0x10, BOOT_DS = 0x18;

/**
 * The kernel command line tsvisor recommends for Debian's 686-pae kernel on this machine (README):
 *   console=ttyS0                  the console on COM1
 *   earlyprintk=serial,ttyS0,115200  messages from the first instructions on (a crash before the
 *                                  console driver is still visible)
 *   nokaslr                        the decompressor keeps the kernel where the loader put it
 *   noisapnp                       no ISA Plug-and-Play scan (0.35 s of busy polling, finds nothing)
 *   mitigations=off                no speculative-execution workarounds (nothing to protect here)
 *   cryptomgr.notests              no crypto self-tests at boot
 *   tsc=reliable                   the TSC (virtual time) needs no watchdog
 *   lpj=4000000                    skip the delay-loop calibration (BogoMIPS)
 *   8250.nr_uarts=1                only COM1 (no probing of absent ports)
 * The local APIC, the I/O APIC and ACPI are used (no noapic/nolapic/acpi=off): ACPI also gives
 * `poweroff` (S5 through the PM1 control register).
 */
export const RECOMMENDED_CMDLINE = 'console=ttyS0 earlyprintk=serial,ttyS0,115200 nokaslr noisapnp mitigations=off ' +
  'cryptomgr.notests tsc=reliable lpj=4000000 8250.nr_uarts=1';

/**
 * Minimum protocol: 2.10 (Linux 2.6.31, 2009). It is the first version with init_size and
 * pref_address, which the loader needs to check that the decompressed kernel fits in RAM and to
 * keep the initrd out of its way; 2.06 (cmdline_size) and 2.05 (relocatable_kernel) come before.
 */
export const MIN_PROTOCOL = 0x020a;

// Where the loader puts its own structures in conventional memory (below the EBDA at 0x9FC00,
// above the real-mode IVT and BIOS data area). The kernel copies boot_params and the command line
// early, before it reuses low memory.
export const GDT_ADDR = 0x0f000;
export const ZERO_PAGE_ADDR = 0x10000;
export const CMDLINE_ADDR = 0x11000;
const CMDLINE_END = 0x9f000;
/** heap_end_ptr a real-mode setup would get (end of a 0xE000-byte setup area, minus 0x200, boot.rst). */
const HEAP_END = 0xe000 - 0x200;
const PROTECTED_MODE_DEFAULT = 0x100000;

export interface SetupHeader {
  /** Protocol version, e.g. 0x020f for 2.15. */
  version: number;
  setupSects: number;
  /** Size of the protected-mode code in 16-byte paragraphs. */
  syssize: number;
  loadflags: number;
  xloadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  minAlignment: number;
  cmdlineSize: number;
  prefAddress: number;
  initSize: number;
  /** File offset of the protected-mode kernel: (setup_sects + 1) * 512. */
  pmOffset: number;
  /** End of the setup header in the file (0x202 + the jump's byte displacement, boot.rst). */
  headerEnd: number;
  /** The kernel_version string, or '' if absent. */
  kernelVersion: string;
}

const u8 = (b: Uint8Array, o: number): number => b[o];
const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const hex = (v: number): string => '0x' + v.toString(16);
const ver = (v: number): string => `${v >> 8}.${(v & 0xff).toString().padStart(2, '0')}`;

/** True if the image looks like a Linux kernel with a boot protocol header (boot sector flag + "HdrS"). */
export function isLinuxImage(image: Uint8Array): boolean {
  return image.length >= 0x206 && u16(image, HDR.BOOT_FLAG) === BOOT_FLAG_MAGIC && u32(image, HDR.HEADER) === HDRS_MAGIC;
}

/** Parse and validate the setup header. Throws BootError on anything this loader cannot boot. */
export function parseSetupHeader(image: Uint8Array): SetupHeader {
  if (image.length < 0x206) throw new BootError(`not a Linux kernel: file is ${image.length} bytes, too short for a boot protocol header`);
  if (u32(image, HDR.HEADER) !== HDRS_MAGIC) throw new BootError('not a Linux bzImage (no "HdrS" setup header signature at 0x202)');
  if (u16(image, HDR.BOOT_FLAG) !== BOOT_FLAG_MAGIC) throw new BootError(`not a Linux bzImage (boot_flag at 0x1fe is ${hex(u16(image, HDR.BOOT_FLAG))}, expected 0xaa55)`);
  const version = u16(image, HDR.VERSION);
  if (version < MIN_PROTOCOL) throw new BootError(`Linux boot protocol ${ver(version)} is too old (this loader needs ${ver(MIN_PROTOCOL)}, Linux 2.6.31 or later)`);
  const headerEnd = Math.min(0x202 + u8(image, HDR.JUMP + 1), 0x290);
  if (image.length < Math.max(headerEnd, HDR.INIT_SIZE + 4)) throw new BootError(`Linux kernel truncated: ${image.length} bytes, the setup header alone needs ${Math.max(headerEnd, HDR.INIT_SIZE + 4)}`);
  const loadflags = u8(image, HDR.LOADFLAGS);
  if ((loadflags & LOADFLAGS.LOADED_HIGH) === 0) throw new BootError('Linux zImage (loaded below 1 MiB) is not supported: only bzImage (loadflags.LOADED_HIGH)');
  const xloadflags = u16(image, HDR.XLOADFLAGS);
  if ((xloadflags & XLF.KERNEL_64) !== 0) throw new BootError('this is a 64-bit (x86-64) Linux kernel; the machine is a 32-bit i686: use a 686 or 686-pae kernel');
  const setupSects = u8(image, HDR.SETUP_SECTS) || 4; // 0 means 4 (boot.rst)
  const pmOffset = (setupSects + 1) * 512;
  const syssize = u32(image, HDR.SYSSIZE);
  if (syssize === 0) throw new BootError('Linux kernel header: syssize is 0 (no protected-mode kernel)');
  const need = pmOffset + syssize * 16;
  if (image.length < need) throw new BootError(`Linux kernel truncated: ${image.length} bytes, the header says ${need} (setup ${pmOffset} + protected-mode kernel ${syssize * 16})`);
  const kernelAlignment = u32(image, HDR.KERNEL_ALIGNMENT);
  const relocatable = u8(image, HDR.RELOCATABLE_KERNEL) !== 0;
  if (relocatable && (kernelAlignment === 0 || (kernelAlignment & (kernelAlignment - 1)) !== 0)) {
    throw new BootError(`Linux kernel header: kernel_alignment ${hex(kernelAlignment)} is not a power of two`);
  }
  const kvOff = u16(image, HDR.KERNEL_VERSION);
  let kernelVersion = '';
  if (kvOff !== 0 && kvOff + 0x200 < image.length) {
    let e = kvOff + 0x200;
    while (e < image.length && e < kvOff + 0x200 + 256 && image[e] !== 0) e++;
    kernelVersion = String.fromCharCode(...image.subarray(kvOff + 0x200, e));
  }
  return {
    version, setupSects, syssize, loadflags, xloadflags, pmOffset, headerEnd, kernelVersion,
    code32Start: u32(image, HDR.CODE32_START),
    initrdAddrMax: u32(image, HDR.INITRD_ADDR_MAX),
    kernelAlignment, relocatable,
    minAlignment: u8(image, HDR.MIN_ALIGNMENT),
    cmdlineSize: u32(image, HDR.CMDLINE_SIZE),
    // pref_address is 64-bit; a 32-bit kernel's fits in the low half.
    prefAddress: u32(image, HDR.PREF_ADDRESS) + u32(image, HDR.PREF_ADDRESS + 4) * 0x100000000,
    initSize: u32(image, HDR.INIT_SIZE),
  };
}

// ---- MTRRs as a PC BIOS leaves them (SDM Vol3A 11.11: IA32_MTRR_DEF_TYPE E [11], FE [10], type
// [7:0]; fixed-range MTRRs hold one type byte per sub-range; PHYSBASEn type [7:0], PHYSMASKn valid [11]).
const MTRR_UC = 0, MTRR_WP = 5, MTRR_WB = 6;
const MTRR_DEF_E = 0x800, MTRR_DEF_FE = 0x400;
/** Eight equal type bytes (one fixed-range MTRR). */
const fix8 = (t: number): { lo: number; hi: number } => { const v = (t * 0x01010101) | 0; return { lo: v, hi: v }; };

export interface MsrWrite { index: number; lo: number; hi: number }

/**
 * The MTRR setup firmware leaves for the OS, as WRMSRs: memory write-back by default (0xC06:
 * MTRRs and fixed ranges enabled, default type WB), fixed ranges 0-0x9FFFF WB, the VGA window
 * 0xA0000-0xBFFFF UC, the ROM area 0xC0000-0xFFFFF WP, and one variable range making the top of
 * the 4-GiB space UC (the largest naturally aligned power-of-two block above RAM: the local APIC
 * and I/O APIC at 0xFEE00000/0xFEC00000 and the PCI window). Without MTRRs enabled Linux prints
 * "MTRRs disabled, skipping PAT initialization" and runs without PAT. `physBits` is MAXPHYADDR.
 */
export function firmwareMtrrs(ramBytes: number, physBits: number): MsrWrite[] {
  const w: MsrWrite[] = [];
  w.push({ index: 0x250, ...fix8(MTRR_WB) });                 // IA32_MTRR_FIX64K_00000: 0-0x7FFFF
  w.push({ index: 0x258, ...fix8(MTRR_WB) });                 // IA32_MTRR_FIX16K_80000: 0x80000-0x9FFFF
  w.push({ index: 0x259, ...fix8(MTRR_UC) });                 // IA32_MTRR_FIX16K_A0000: VGA window
  for (let k = 0; k < 8; k++) w.push({ index: 0x268 + k, ...fix8(MTRR_WP) }); // IA32_MTRR_FIX4K_C0000.._F8000
  let size = 0x80000000;
  while (size > 0x100000 && 0x100000000 - size < ramBytes) size /= 2;
  if (0x100000000 - size >= ramBytes) {
    const base = 0x100000000 - size;
    const mask = (2 ** physBits - size);                      // PHYSMASK: address bits [physBits-1:12] that must match
    w.push({ index: 0x200, lo: (base | MTRR_UC) | 0, hi: 0 });  // IA32_MTRR_PHYSBASE0
    w.push({ index: 0x201, lo: ((mask % 0x100000000) | MTRR_DEF_E) | 0, hi: Math.floor(mask / 0x100000000) }); // PHYSMASK0, valid
  }
  w.push({ index: 0x2ff, lo: MTRR_DEF_E | MTRR_DEF_FE | MTRR_WB, hi: 0 }); // IA32_MTRR_DEF_TYPE, written last
  return w;
}

export interface LinuxOptions {
  cmdline: string;
  initrd?: Uint8Array | null;
  /** Physical regions that are not RAM (MMIO), listed as reserved in the e820 map. */
  reserved?: readonly ReservedRegion[];
  /** The CPU's physical-address width (MAXPHYADDR) for the MTRR masks (default 36). */
  physBits?: number;
}

export interface LinuxBootResult {
  header: SetupHeader;
  /** Entry state for the 32-bit boot protocol. */
  entry: number;
  esi: number;
  /** GDT with __BOOT_CS/__BOOT_DS flat descriptors (boot.rst). */
  gdtBase: number;
  gdtLimit: number;
  cs: number;
  ds: number;
  /** Where things went. */
  loadAddr: number;
  loadEnd: number;
  /** Area the decompressor works in: [runtimeStart, runtimeStart + init_size). */
  runtimeStart: number;
  runtimeEnd: number;
  initrdAddr: number;
  initrdSize: number;
  cmdlineAddr: number;
  bootParams: number;
  e820: E820Entry[];
  /** MSR writes the firmware would have done before the kernel runs (MTRRs, see firmwareMtrrs). */
  msrs: MsrWrite[];
}

/** Load a bzImage (and optional initrd) into `mem`; returns the 32-bit entry state. Throws BootError. */
export function loadLinux(image: Uint8Array, mem: PhysMem, opts: LinuxOptions): LinuxBootResult {
  const h = parseSetupHeader(image);
  const e820 = pcMemoryMap(mem.firmwareTop, opts.reserved ?? []);
  if (e820.length > E820_MAX_ENTRIES) throw new BootError(`memory map has ${e820.length} entries, boot_params holds ${E820_MAX_ENTRIES}`);
  // The RAM region that starts at 1 MiB holds the kernel and the initrd.
  const high = e820.find((e) => e.type === E820_TYPE.RAM && e.addr === HIGH_MEMORY);
  const ramTop = high ? high.addr + high.size : HIGH_MEMORY;
  const mib = (v: number): string => (v / 0x100000).toFixed(1);

  // Protected-mode kernel: at pref_address if the kernel is relocatable and its decompression area
  // fits there (saves the decompressor a copy), else at the traditional 1 MiB (boot.rst).
  const pm = image.subarray(h.pmOffset);
  const initrdLen = opts.initrd?.length ?? 0;
  const canPref = h.relocatable && h.prefAddress >= HIGH_MEMORY && h.prefAddress % h.kernelAlignment === 0 &&
    h.prefAddress + Math.max(h.initSize, pm.length) <= ramTop;
  const loadAddr = canPref ? h.prefAddress : PROTECTED_MODE_DEFAULT;
  const loadEnd = loadAddr + pm.length;
  // Where the kernel decompresses itself: a relocatable kernel rounds its load address up to
  // kernel_alignment but never goes below LOAD_PHYSICAL_ADDR (= pref_address); a fixed one uses
  // LOAD_PHYSICAL_ADDR. It needs init_size bytes there.
  const align = h.relocatable ? h.kernelAlignment : 1;
  const runtimeStart = h.relocatable ? Math.max(Math.ceil(loadAddr / align) * align, h.prefAddress) : Math.max(h.prefAddress, loadAddr);
  const runtimeEnd = runtimeStart + h.initSize;
  const kernelEnd = Math.max(loadEnd, runtimeEnd);
  if (kernelEnd > ramTop) {
    throw new BootError(`Linux kernel needs RAM up to ${mib(kernelEnd)} MiB (decompresses at ${hex(runtimeStart)}, init_size ${mib(h.initSize)} MiB), the machine has ${mib(ramTop)} MiB: use a larger --mem`);
  }
  mem.load(loadAddr, pm);

  // Initrd: as high as allowed (below initrd_addr_max and the end of the RAM region), page-aligned.
  let initrdAddr = 0;
  if (initrdLen > 0) {
    const top = Math.min(ramTop, h.initrdAddrMax + 1);
    initrdAddr = Math.floor((top - initrdLen) / 4096) * 4096;
    if (initrdAddr < kernelEnd) {
      throw new BootError(`initrd (${mib(initrdLen)} MiB) does not fit between the kernel (up to ${mib(kernelEnd)} MiB) and ${mib(top)} MiB: use a larger --mem`);
    }
    mem.load(initrdAddr, opts.initrd!);
  }

  // Command line: NUL-terminated, at most cmdline_size bytes before the NUL (boot.rst).
  const cmd = new TextEncoder().encode(opts.cmdline);
  if (cmd.length > h.cmdlineSize) throw new BootError(`kernel command line is ${cmd.length} bytes, this kernel accepts at most ${h.cmdlineSize}`);
  if (CMDLINE_ADDR + cmd.length + 1 > CMDLINE_END) throw new BootError(`kernel command line is too long (${cmd.length} bytes)`);
  const cmdBuf = new Uint8Array(cmd.length + 1);
  cmdBuf.set(cmd);
  mem.load(CMDLINE_ADDR, cmdBuf);

  // boot_params: zeroed, then the setup header copied from 0x1f1 to its end (boot.rst 32-bit
  // protocol), then the fields a boot loader writes. sentinel (0x1ef) stays 0, so the kernel
  // trusts the fields outside the header (sanitize_boot_params).
  const zp = new Uint8Array(ZP.SIZE);
  const dv = new DataView(zp.buffer);
  zp.set(image.subarray(HDR.SETUP_SECTS, h.headerEnd), HDR.SETUP_SECTS);
  zp[HDR.TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
  zp[HDR.LOADFLAGS] = h.loadflags | LOADFLAGS.CAN_USE_HEAP;
  dv.setUint16(HDR.HEAP_END_PTR, HEAP_END, true);
  dv.setUint32(HDR.CODE32_START, loadAddr, true);
  dv.setUint32(HDR.CMD_LINE_PTR, CMDLINE_ADDR, true);
  dv.setUint32(HDR.RAMDISK_IMAGE, initrdAddr, true);
  dv.setUint32(HDR.RAMDISK_SIZE, initrdLen, true);
  // screen_info stays all zero: orig_video_isVGA = 0 and 0 lines/columns tell the kernel there is
  // no text-mode display, so it does not drive VGA (console output goes to console=ttyS0).
  dv.setUint32(ZP.ALT_MEM_K, Math.floor((ramTop - HIGH_MEMORY) / 1024), true);
  zp[ZP.E820_ENTRIES] = e820.length;
  e820.forEach((e, k) => {
    const o = ZP.E820_TABLE + 20 * k;
    dv.setUint32(o, e.addr % 0x100000000, true); dv.setUint32(o + 4, Math.floor(e.addr / 0x100000000), true);
    dv.setUint32(o + 8, e.size % 0x100000000, true); dv.setUint32(o + 12, Math.floor(e.size / 0x100000000), true);
    dv.setUint32(o + 16, e.type, true);
  });
  mem.load(ZERO_PAGE_ADDR, zp);

  // GDT: null, null, __BOOT_CS (base 0, limit 4 GiB, code exec/read, 32-bit), __BOOT_DS (data read/write).
  const gdt = new Uint8Array(32);
  const gv = new DataView(gdt.buffer);
  gv.setUint32(BOOT_CS, 0x0000ffff, true); gv.setUint32(BOOT_CS + 4, 0x00cf9b00, true);
  gv.setUint32(BOOT_DS, 0x0000ffff, true); gv.setUint32(BOOT_DS + 4, 0x00cf9300, true);
  mem.load(GDT_ADDR, gdt);

  return {
    header: h, entry: loadAddr, esi: ZERO_PAGE_ADDR, gdtBase: GDT_ADDR, gdtLimit: gdt.length - 1, cs: BOOT_CS, ds: BOOT_DS,
    loadAddr, loadEnd, runtimeStart, runtimeEnd, initrdAddr, initrdSize: initrdLen, cmdlineAddr: CMDLINE_ADDR,
    bootParams: ZERO_PAGE_ADDR, e820, msrs: firmwareMtrrs(mem.firmwareTop, opts.physBits ?? 36),
  };
}
