// Multiboot v1 loader (Multiboot Specification 0.6.96): finds the header in the first 8 KiB,
// loads an a.out-kludge flat image (header flag 16) or an ELF32 executable by its program
// headers, builds the Multiboot information structure in low memory, and returns the entry
// state: EAX = 0x2BADB002, EBX = address of the information structure (spec 3.2).
// Browser-safe: works on a Uint8Array and PhysMem, no Node APIs.

import type { PhysMem } from '../memory.js';
import { BootError } from './errors.js';

export { BootError };

export const MB_HEADER_MAGIC = 0x1badb002;
export const MB_BOOTLOADER_MAGIC = 0x2badb002;
/** Header flags (spec 3.1.2). Bits 0-15 are requirements the loader must understand. */
export const MB_FLAG = { PAGE_ALIGN: 1 << 0, MEMORY_INFO: 1 << 1, VIDEO_MODE: 1 << 2, AOUT_KLUDGE: 1 << 16 } as const;
/** Information-structure flags (spec 3.3). */
export const MBI_FLAG = {
  MEMORY: 1 << 0, BOOTDEV: 1 << 1, CMDLINE: 1 << 2, MODS: 1 << 3, AOUT_SYMS: 1 << 4, ELF_SHDR: 1 << 5,
  MMAP: 1 << 6, DRIVES: 1 << 7, CONFIG_TABLE: 1 << 8, BOOT_LOADER_NAME: 1 << 9, APM_TABLE: 1 << 10, VBE: 1 << 11,
} as const;

/** Where the loader puts its own data (below the EBDA, above the real-mode IVT/BDA). */
const INFO_ADDR = 0x9000;
const INFO_END = 0x10000;
const LOADER_NAME = 'tsvisor';

export interface MultibootModule { data: Uint8Array; cmdline: string }
export interface MultibootOptions {
  cmdline: string;
  modules?: MultibootModule[];
  /** Physical regions that are not RAM (MMIO) to list as reserved in the memory map. */
  reserved?: { base: number; length: number }[];
}
export interface MultibootResult { entry: number; eax: number; ebx: number; loadStart: number; loadEnd: number }

interface Header { offset: number; flags: number; headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number }

const u32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
const hex = (v: number): string => '0x' + (v >>> 0).toString(16);

function findHeader(image: Uint8Array): Header | null {
  const end = Math.min(image.length - 12, 8192 - 12);
  for (let o = 0; o <= end; o += 4) {
    if (u32(image, o) !== MB_HEADER_MAGIC) continue;
    const flags = u32(image, o + 4);
    if (((MB_HEADER_MAGIC + flags + u32(image, o + 8)) >>> 0) !== 0) continue;
    const kl = (flags & MB_FLAG.AOUT_KLUDGE) !== 0 && o + 32 <= image.length;
    return {
      offset: o, flags,
      headerAddr: kl ? u32(image, o + 12) : 0, loadAddr: kl ? u32(image, o + 16) : 0, loadEndAddr: kl ? u32(image, o + 20) : 0,
      bssEndAddr: kl ? u32(image, o + 24) : 0, entryAddr: kl ? u32(image, o + 28) : 0,
    };
  }
  return null;
}

/** True if the image carries a valid Multiboot v1 header in its first 8 KiB. */
export function isMultiboot(image: Uint8Array): boolean { return findHeader(image) !== null; }

/** Load a Multiboot v1 kernel into `mem`. Throws BootError with a clear message on a bad image. */
export function loadMultiboot(image: Uint8Array, mem: PhysMem, opts: MultibootOptions): MultibootResult {
  const h = findHeader(image);
  if (!h) throw new BootError('not a Multiboot kernel (no valid Multiboot header in the first 8 KiB)');
  const unknown = h.flags & 0xffff & ~(MB_FLAG.PAGE_ALIGN | MB_FLAG.MEMORY_INFO | MB_FLAG.VIDEO_MODE);
  if (unknown !== 0) throw new BootError(`Multiboot header requires features this loader does not know (flags ${hex(unknown)})`);
  // Video mode requests (flag 2) are a preference: there is no framebuffer, so the guest gets none (spec 3.1.2).

  let entry: number, loadStart: number, loadEnd: number;
  if ((h.flags & MB_FLAG.AOUT_KLUDGE) !== 0) {
    ({ entry, loadStart, loadEnd } = loadKludge(image, mem, h));
  } else if (image.length >= 52 && u32(image, 0) === 0x464c457f) {
    ({ entry, loadStart, loadEnd } = loadElf(image, mem));
  } else {
    throw new BootError('Multiboot header without the a.out kludge (flag 16), and the image is not ELF');
  }
  const ebx = buildInfo(mem, opts, loadEnd);
  return { entry, eax: MB_BOOTLOADER_MAGIC, ebx, loadStart, loadEnd };
}

function checkRange(mem: PhysMem, start: number, end: number, what: string): void {
  if (start < 0x100000 && end > INFO_ADDR && start < INFO_END) {
    throw new BootError(`${what} ${hex(start)}..${hex(end)} overlaps the loader's data at ${hex(INFO_ADDR)}..${hex(INFO_END)}`);
  }
  if (end > mem.firmwareTop) throw new BootError(`${what} ${hex(start)}..${hex(end)} does not fit in RAM (${mem.firmwareTop >>> 20} MiB)`);
  if (end < start) throw new BootError(`${what}: end ${hex(end)} below start ${hex(start)}`);
}

/** a.out kludge (spec 3.1.3): the file from header_offset - (header_addr - load_addr) is loaded at load_addr. */
function loadKludge(image: Uint8Array, mem: PhysMem, h: Header): { entry: number; loadStart: number; loadEnd: number } {
  if (h.loadAddr > h.headerAddr) throw new BootError(`Multiboot a.out kludge: load_addr ${hex(h.loadAddr)} above header_addr ${hex(h.headerAddr)}`);
  const fileStart = h.offset - (h.headerAddr - h.loadAddr);
  if (fileStart < 0) throw new BootError('Multiboot a.out kludge: load_addr lies before the start of the file');
  const fileBytes = h.loadEndAddr === 0 ? image.length - fileStart : h.loadEndAddr - h.loadAddr;
  if (fileBytes < 0 || fileStart + fileBytes > image.length) {
    throw new BootError(`Multiboot a.out kludge: load_end_addr ${hex(h.loadEndAddr)} is beyond the end of the file (truncated image?)`);
  }
  const loadEnd = h.loadAddr + fileBytes;
  const bssEnd = h.bssEndAddr === 0 ? loadEnd : h.bssEndAddr;
  if (bssEnd < loadEnd) throw new BootError(`Multiboot a.out kludge: bss_end_addr ${hex(bssEnd)} below load_end_addr ${hex(loadEnd)}`);
  checkRange(mem, h.loadAddr, bssEnd, 'kernel image');
  mem.load(h.loadAddr, image.subarray(fileStart, fileStart + fileBytes));
  mem.load(loadEnd, new Uint8Array(bssEnd - loadEnd));
  if (h.entryAddr < h.loadAddr || h.entryAddr >= bssEnd) throw new BootError(`Multiboot entry ${hex(h.entryAddr)} is outside the loaded image`);
  return { entry: h.entryAddr, loadStart: h.loadAddr, loadEnd: bssEnd };
}

/** ELF32 i386 executable: PT_LOAD segments at their physical addresses (p_paddr), entry e_entry. */
function loadElf(image: Uint8Array, mem: PhysMem): { entry: number; loadStart: number; loadEnd: number } {
  if (image[4] !== 1) throw new BootError('ELF kernel is not 32-bit (EI_CLASS must be ELFCLASS32; 64-bit kernels need the a.out kludge)');
  if (image[5] !== 1) throw new BootError('ELF kernel is not little-endian');
  if (u16(image, 16) !== 2) throw new BootError('ELF kernel is not an executable (e_type must be ET_EXEC)');
  if (u16(image, 18) !== 3) throw new BootError(`ELF kernel is not for i386 (e_machine ${u16(image, 18)})`);
  const phoff = u32(image, 28), phentsize = u16(image, 42), phnum = u16(image, 44);
  if (phnum === 0 || phentsize < 32 || phoff + phnum * phentsize > image.length) throw new BootError('ELF kernel: program header table missing or truncated');
  let lo = Infinity, hi = 0, loads = 0;
  for (let k = 0; k < phnum; k++) {
    const p = phoff + k * phentsize;
    if (u32(image, p) !== 1 /* PT_LOAD */) continue;
    const off = u32(image, p + 4), paddr = u32(image, p + 12), filesz = u32(image, p + 16), memsz = u32(image, p + 20);
    if (memsz === 0) continue;
    if (filesz > memsz) throw new BootError(`ELF kernel: segment ${k} has p_filesz > p_memsz`);
    if (off + filesz > image.length) throw new BootError(`ELF kernel: segment ${k} extends beyond the end of the file (truncated image?)`);
    checkRange(mem, paddr, paddr + memsz, `ELF segment ${k}`);
    mem.load(paddr, image.subarray(off, off + filesz));
    if (memsz > filesz) mem.load(paddr + filesz, new Uint8Array(memsz - filesz));
    lo = Math.min(lo, paddr); hi = Math.max(hi, paddr + memsz); loads++;
  }
  if (loads === 0) throw new BootError('ELF kernel has no loadable segment');
  const entry = u32(image, 24);
  return { entry, loadStart: lo, loadEnd: hi };
}

/** Build the Multiboot information structure (spec 3.3) at INFO_ADDR; modules go after the kernel. */
function buildInfo(mem: PhysMem, opts: MultibootOptions, kernelEnd: number): number {
  let p = INFO_ADDR + 88; // the fixed part is 88 bytes (through the VBE fields)
  const put32 = (a: number, v: number): void => mem.write(a, 4, v | 0);
  const putStr = (s: string): number => {
    const bytes = new TextEncoder().encode(s);
    const a = p;
    if (a + bytes.length + 1 > INFO_END) throw new BootError('Multiboot command line / module strings too long for the loader area');
    mem.load(a, bytes); mem.write(a + bytes.length, 1, 0);
    p = (a + bytes.length + 4) & ~3;
    return a;
  };
  mem.load(INFO_ADDR, new Uint8Array(88));
  let flags = MBI_FLAG.MEMORY | MBI_FLAG.CMDLINE | MBI_FLAG.MMAP | MBI_FLAG.BOOT_LOADER_NAME;
  const ramTop = mem.firmwareTop;
  put32(INFO_ADDR + 4, 639);                                   // mem_lower: KiB below 640 KiB
  const reserved = (opts.reserved ?? []).filter((r) => r.base >= 0x100000).sort((a, b) => a.base - b.base);
  const firstHole = reserved.length ? Math.min(ramTop, reserved[0].base) : ramTop;
  put32(INFO_ADDR + 8, Math.floor((firstHole - 0x100000) / 1024)); // mem_upper: KiB from 1 MiB to the first hole
  put32(INFO_ADDR + 16, putStr(opts.cmdline));
  put32(INFO_ADDR + 64, putStr(LOADER_NAME));

  // Modules (spec 3.3 "mods"): page-aligned after the kernel.
  const mods = opts.modules ?? [];
  if (mods.length > 0) {
    flags |= MBI_FLAG.MODS;
    const table = p; p += 16 * mods.length;
    if (p > INFO_END) throw new BootError('too many Multiboot modules');
    let at = Math.ceil(kernelEnd / 4096) * 4096;
    mods.forEach((m, k) => {
      if (at + m.data.length > ramTop) throw new BootError(`Multiboot module ${k} (${m.data.length} bytes) does not fit in RAM`);
      mem.load(at, m.data);
      put32(table + 16 * k, at); put32(table + 16 * k + 4, at + m.data.length);
      put32(table + 16 * k + 8, putStr(m.cmdline)); put32(table + 16 * k + 12, 0);
      at = Math.ceil((at + m.data.length) / 4096) * 4096;
    });
    put32(INFO_ADDR + 20, mods.length); put32(INFO_ADDR + 24, table);
  }

  // Memory map (spec 3.3 "mmap"): entries of size 20 (not counting the size field itself).
  const regions: [number, number, number][] = [[0, 0x9fc00, 1], [0x9fc00, 0x400, 2], [0xf0000, 0x10000, 2]];
  let base = 0x100000;
  for (const r of reserved) {
    if (r.base > base && base < ramTop) regions.push([base, Math.min(r.base, ramTop) - base, 1]);
    regions.push([r.base, r.length, 2]);
    base = Math.max(base, r.base + r.length);
  }
  if (base < ramTop) regions.push([base, ramTop - base, 1]);
  const mmap = p;
  for (const [b, len, type] of regions) {
    if (p + 24 > INFO_END) throw new BootError('Multiboot memory map does not fit the loader area');
    put32(p, 20); put32(p + 4, b % 0x100000000); put32(p + 8, Math.floor(b / 0x100000000));
    put32(p + 12, len % 0x100000000); put32(p + 16, Math.floor(len / 0x100000000)); put32(p + 20, type);
    p += 24;
  }
  put32(INFO_ADDR + 44, p - mmap); put32(INFO_ADDR + 48, mmap);
  put32(INFO_ADDR, flags);
  return INFO_ADDR;
}
