// Physical memory: RAM as typed arrays, plus MMIO regions dispatched to devices.
// Hot path: the CPU reads RAM directly through `ram`/`ram16`/`ram32` after its TLB says the page
// is plain RAM; everything else comes through `read`/`write` here.

export interface MmioHandler {
  readonly name: string;
  /** `addr` is the physical address; `size` 1, 2 or 4. */
  read(addr: number, size: number): number;
  write(addr: number, size: number, value: number): void;
}

interface MmioRegion { base: number; end: number; h: MmioHandler }

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

export class PhysMem {
  readonly ram: Uint8Array;
  readonly ram16: Uint16Array;
  readonly ram32: Int32Array;
  readonly size: number;
  /**
   * The RAM the firmware (boot loaders' memory maps, CMOS) reports to the guest: all of it, unless
   * a hypervisor keeps memory for itself above this point (XMHF-style: the guest never learns of it).
   */
  firmwareTop: number;
  /** Per 4 KiB page: 1 if any MMIO region overlaps it (such pages never take the RAM fast path). */
  readonly mmioPage: Uint8Array;
  private readonly regions: MmioRegion[] = [];
  /** A20 gate: when false, physical address bit 20 is forced to 0 (8086 wrap-around). */
  a20 = true;
  /** Called after any write that may hit decoded code (set by the CPU's code cache). */
  onCodeWrite: ((pa: number, len: number) => void) | null = null;

  constructor(sizeBytes: number) {
    if (sizeBytes % PAGE_SIZE !== 0 || sizeBytes <= 0) throw new Error(`RAM size must be a positive multiple of 4 KiB`);
    this.size = sizeBytes;
    this.firmwareTop = sizeBytes;
    const buf = new ArrayBuffer(sizeBytes);
    this.ram = new Uint8Array(buf);
    this.ram16 = new Uint16Array(buf);
    this.ram32 = new Int32Array(buf);
    // 4 GiB of page flags: 1 Mi entries (pages above RAM are "not RAM" and always take the slow path).
    this.mmioPage = new Uint8Array(1 << 20);
  }

  mapMmio(base: number, len: number, h: MmioHandler): void {
    const end = base + len;
    for (const r of this.regions) {
      if (base < r.end && r.base < end) throw new Error(`MMIO ${h.name} overlaps ${r.h.name}`);
    }
    this.regions.push({ base, end, h });
    for (let p = Math.floor(base / PAGE_SIZE); p < Math.ceil(end / PAGE_SIZE); p++) this.mmioPage[p] = 1;
  }

  /** True if the 4 KiB page at `pa` is plain RAM (no MMIO), so direct array access is allowed. */
  isRamPage(pa: number): boolean {
    pa >>>= 0;
    return pa < this.size && this.mmioPage[pa >>> PAGE_SHIFT] === 0;
  }

  private region(pa: number): MmioRegion | undefined {
    for (const r of this.regions) if (pa >= r.base && pa < r.end) return r;
    return undefined;
  }

  /** Generic physical read of 1, 2 or 4 bytes (little endian); open bus reads as all ones. */
  read(pa: number, size: number): number {
    pa >>>= 0;
    if (!this.a20) pa &= ~0x100000 >>> 0;
    if (this.mmioPage[pa >>> PAGE_SHIFT] !== 0) {
      const r = this.region(pa);
      if (r) return r.h.read(pa, size);
    }
    if (pa + size <= this.size) {
      const m = this.ram;
      if (size === 1) return m[pa];
      if (size === 2) return m[pa] | (m[pa + 1] << 8);
      return m[pa] | (m[pa + 1] << 8) | (m[pa + 2] << 16) | (m[pa + 3] << 24);
    }
    let v = 0;
    for (let k = 0; k < size; k++) v |= (pa + k < this.size ? this.ram[pa + k] : 0xff) << (8 * k);
    return size === 4 ? v | 0 : v;
  }

  write(pa: number, size: number, value: number): void {
    pa >>>= 0;
    if (!this.a20) pa &= ~0x100000 >>> 0;
    if (this.mmioPage[pa >>> PAGE_SHIFT] !== 0) {
      const r = this.region(pa);
      if (r) { r.h.write(pa, size, value); return; }
    }
    const m = this.ram;
    for (let k = 0; k < size; k++) {
      if (pa + k < this.size) m[pa + k] = value >>> (8 * k);
    }
    if (this.onCodeWrite) this.onCodeWrite(pa, size);
  }

  /** Bulk copy into RAM (loaders). Throws if it does not fit. */
  load(pa: number, data: Uint8Array): void {
    if (pa < 0 || pa + data.length > this.size) {
      throw new RangeError(`image range 0x${pa.toString(16)}..0x${(pa + data.length).toString(16)} is outside RAM (${this.size >>> 20} MiB)`);
    }
    this.ram.set(data, pa);
    if (this.onCodeWrite) this.onCodeWrite(pa, data.length);
  }

  readBytes(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let k = 0; k < len; k++) out[k] = this.read(pa + k, 1);
    return out;
  }
}
