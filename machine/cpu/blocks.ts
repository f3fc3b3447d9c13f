// The decoded-block cache. A block is straight-line code decoded from one physical page (it never
// crosses the page end), keyed by its physical address and CS.D. Lookup is a direct-mapped table
// (one load and three compares on a hit) in front of a Map per physical page (the backing store,
// and what a write to the page drops). A dropped block is marked invalid, so stale references in
// the table (or held by the run loop) are never executed again.
//
// Runs in: the CPU's run loop (lookup once per block), checkCodeWrite (invalidation).

import type { Insn } from './insn.js';
import type { CPU } from './cpu.js';

/** A block compiled to a JS function (jit.ts): runs the whole block, exactly as the interpreter would. */
export type BlockFn = (c: CPU) => void;

export class Block {
  /** Executions by the interpreter (the JIT compiles a block once it is hot). */
  hits = 0;
  /** The compiled block, or null (the interpreter runs it). */
  fn: BlockFn | null = null;
  /** False once a write to its page (or a flush) dropped it. */
  valid = true;
  // Two successors (the taken and fall-through edges, or the last targets of an indirect branch):
  // the block fetchBlock found at EIP `eipA` while the CPU's codeEpoch was `epochA` (cpu.ts execBlock).
  // The epoch changes with anything fetchBlock depends on besides EIP: CS, CPL, the TLB.
  nextA: Block | null = null;
  eipA = 0;
  epochA = -1;
  nextB: Block | null = null;
  eipB = 0;
  epochB = -1;
  constructor(
    readonly insns: Insn[],
    /** Length in bytes. */
    readonly bytes: number,
    /** Physical address of the first byte; -1 for an uncached one-instruction block. */
    readonly pa: number,
    /** Decoded for 32-bit code (CS.D). */
    readonly cs32: boolean,
  ) {}
}

const TABLE_BITS = 15;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
const NO_BLOCK = new Block([], 0, -2, false);
NO_BLOCK.valid = false;
export { NO_BLOCK };

function slot(pa: number, cs32: boolean): number {
  return ((pa << 1) ^ (pa >>> (TABLE_BITS - 1)) ^ (cs32 ? 1 : 0)) & TABLE_MASK;
}

export class CodeCache {
  private readonly table: Block[] = new Array<Block>(1 << TABLE_BITS).fill(NO_BLOCK);
  /** Per physical page: its blocks, key = (offset << 1) | CS.D. */
  private pages: (Map<number, Block> | undefined)[] = [];

  /** The valid block at `pa` for code size `cs32`, or null. */
  lookup(pa: number, cs32: boolean): Block | null {
    const k = slot(pa, cs32);
    const b = this.table[k];
    if (b.pa === pa && b.cs32 === cs32 && b.valid) return b;
    const map = this.pages[pa >>> 12];
    if (map === undefined) return null;
    const m = map.get(((pa & 0xfff) << 1) | (cs32 ? 1 : 0));
    if (m === undefined) return null;
    this.table[k] = m;
    return m;
  }

  insert(b: Block): void {
    const page = b.pa >>> 12;
    let map = this.pages[page];
    if (map === undefined) { map = new Map(); this.pages[page] = map; }
    map.set(((b.pa & 0xfff) << 1) | (b.cs32 ? 1 : 0), b);
    this.table[slot(b.pa, b.cs32)] = b;
  }

  /** Drop every block decoded from physical page `page`. */
  dropPage(page: number): void {
    const map = this.pages[page];
    if (map === undefined) return;
    for (const b of map.values()) { b.valid = false; b.fn = null; }
    this.pages[page] = undefined;
  }

  /** Drop everything. */
  flush(): void {
    for (const map of this.pages) if (map !== undefined) for (const b of map.values()) { b.valid = false; b.fn = null; }
    this.pages = [];
    this.table.fill(NO_BLOCK);
  }
}
