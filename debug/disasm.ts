// Disassembler for the debugger, state dumps and traces. Browser-safe: no Node APIs.
//
// Text comes from iced-x86 (Intel syntax in NASM style, or AT&T) once it is loaded; until then, or on
// request, from our own decoder and opcode table (formatInsn), which knows only the table's forms.
// The iced-x86 npm package is a Node build of a WebAssembly module (CommonJS glue that reads its
// .wasm with fs). So it is loaded one of three ways:
//   - loadIced(): dynamic import('iced-x86') (Node, or a bundler that resolves it);
//   - loadIcedFromSources(glueJs, wasmBytes): evaluates the package's glue with stand-ins for the
//     three Node modules it requires and compiles the wasm asynchronously (browsers: fetch the two
//     package files and pass them in);
//   - setIced(module): a module already loaded by other means.

import type * as IcedNs from 'iced-x86';
import { decode } from '../machine/cpu/decoder.js';
import { Insn, Rep } from '../machine/cpu/insn.js';
import { op_gp0, op_ud } from '../machine/cpu/ops/index.js';
import { REG16_NAMES, REG32_NAMES, REG8_NAMES, SEG, SEG_NAMES } from '../machine/cpu/arch.js';
import { ZERO_REG } from '../machine/cpu/state.js';
import type { CPU } from '../machine/cpu/cpu.js';
import { peekTranslate } from './dump.js';

export type IcedModule = typeof IcedNs;

export interface DisasmOptions {
  /** 'intel' (NASM-style Intel syntax, the default) or 'att' (GNU as). */
  syntax?: 'intel' | 'att';
  /** Use our own decoder and formatter even if iced-x86 is loaded. */
  ownDecoder?: boolean;
}

export interface DisasmLine {
  /** Offset in the code segment (EIP, or IP in 16-bit code). */
  ip: number;
  length: number;
  /** Instruction bytes as lowercase hex, e.g. "8b4304". */
  bytes: string;
  /** The instruction ("(bad)" for an invalid encoding). */
  text: string;
  /** Linear address (disassembleAt only). */
  linear?: number;
  /** True for the instruction at the requested CS:EIP (disassembleAt only). */
  current?: boolean;
}

// ------------------------------------------------------------------ loading iced-x86
let iced: IcedModule | null = null;
const formatters: { intel: IcedNs.Formatter | null; att: IcedNs.Formatter | null } = { intel: null, att: null };

/** Use an already loaded iced-x86 module. */
export function setIced(mod: IcedModule | null): void {
  if (formatters.intel !== null) formatters.intel.free();
  if (formatters.att !== null) formatters.att.free();
  formatters.intel = formatters.att = null;
  iced = mod;
}

export function icedLoaded(): boolean { return iced !== null; }

/** Load the iced-x86 package by module name (Node, or a bundler). Resolves to null if it cannot be imported. */
export async function loadIced(): Promise<IcedModule | null> {
  if (iced !== null) return iced;
  const name = 'iced-x86'; // a variable, so bundlers leave the import alone
  try {
    const m = (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as { default?: IcedModule } & IcedModule;
    setIced(m.default ?? m);
  } catch {
    return null;
  }
  return iced;
}

/**
 * Load iced-x86 from the text of the package's iced_x86.js and the bytes of iced_x86_bg.wasm,
 * without Node: the glue's require('util' | 'path' | 'fs') get stand-ins, and its synchronous
 * `new WebAssembly.Instance` (refused on a browser's main thread for large modules) gets an exports
 * object that is filled in once the asynchronous instantiation completes, before this resolves.
 */
export async function loadIcedFromSources(glue: string, wasm: Uint8Array): Promise<IcedModule> {
  const compiled = await WebAssembly.compile(wasm as BufferSource);
  let imports: WebAssembly.Imports | null = null;
  const lateExports: Record<string, unknown> = {};
  const fakeWasm = {
    Module: function Module() { return compiled; },
    Instance: function Instance(_m: unknown, imp: WebAssembly.Imports) { imports = imp; return { exports: lateExports }; },
  };
  const module = { exports: {} as Record<string, unknown> };
  const req = (name: string): unknown => {
    if (name === 'util') return { TextDecoder, TextEncoder };
    if (name === 'path') return { join: (...parts: string[]) => parts.join('/') };
    if (name === 'fs') return { readFileSync: () => wasm };
    throw new Error(`iced-x86 glue requires unknown module ${name}`);
  };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('module', 'exports', 'require', '__dirname', 'WebAssembly', glue)(module, module.exports, req, '.', fakeWasm);
  if (imports === null) throw new Error('iced-x86 glue did not instantiate its wasm module');
  const instance = await WebAssembly.instantiate(compiled, imports);
  Object.assign(lateExports, instance.exports);
  const mod = module.exports as unknown as IcedModule;
  setIced(mod);
  return mod;
}

function formatter(syntax: 'intel' | 'att'): IcedNs.Formatter {
  const m = iced as IcedModule;
  let f = formatters[syntax];
  if (f === null) {
    f = new m.Formatter(syntax === 'att' ? m.FormatterSyntax.Gas : m.FormatterSyntax.Nasm);
    f.hexPrefix = '0x'; f.hexSuffix = ''; f.uppercaseHex = false;
    f.smallHexNumbersInDecimal = false; f.spaceAfterOperandSeparator = true;
    f.showBranchSize = false; f.branchLeadingZeros = false;
    formatters[syntax] = f;
  }
  return f;
}

// ------------------------------------------------------------------ disassembly
const hex = (v: number): string => '0x' + (v >>> 0).toString(16);
const bytesHex = (b: Uint8Array, at: number, n: number): string => {
  let s = '';
  for (let k = 0; k < n; k++) s += b[at + k].toString(16).padStart(2, '0');
  return s;
};

/**
 * Disassemble up to `count` instructions of `bytes`, the first at offset `ip`. Stops early at the
 * end of the bytes (an instruction that does not fit is not listed). In 16-bit code offsets wrap at 64 KiB.
 */
export function disassemble(bytes: Uint8Array, ip: number, bits: 16 | 32, count: number, opts: DisasmOptions = {}): DisasmLine[] {
  const out: DisasmLine[] = [];
  const mask = bits === 16 ? 0xffff : 0xffffffff;
  if (iced !== null && opts.ownDecoder !== true) {
    const m = iced;
    const fmt = formatter(opts.syntax ?? 'intel');
    const d = new m.Decoder(bits, bytes, m.DecoderOptions.None);
    const x = new m.Instruction();
    try {
      let pos = 0;
      while (out.length < count && pos < bytes.length) {
        const at = ((ip + pos) & mask) >>> 0;
        d.position = pos;
        d.ip = BigInt(at);
        d.decodeOut(x);
        if (x.code === m.Code.INVALID && d.lastError === m.DecoderError.NoMoreBytes) break;
        const len = Math.max(1, x.length);
        out.push({ ip: at, length: len, bytes: bytesHex(bytes, pos, len), text: x.code === m.Code.INVALID ? '(bad)' : fmt.format(x) });
        pos += len;
      }
    } finally { d.free(); x.free(); }
    return out;
  }
  const i = new Insn();
  let pos = 0;
  while (out.length < count && pos < bytes.length) {
    const at = ((ip + pos) & mask) >>> 0;
    const len = decode(bytes, pos, bytes.length, bits === 32, i);
    if (len === 0) break;
    out.push({ ip: at, length: len, bytes: bytesHex(bytes, pos, len), text: formatInsn(i, at) });
    pos += len;
  }
  return out;
}

/** Reads one byte of guest memory at a linear address, or null if it is not readable (no faults, no side effects). */
export type ByteReader = (linear: number) => number | null;

/** A ByteReader over a CPU's current address space (paging without setting A/D bits). */
export function cpuReader(c: CPU): ByteReader {
  return (lin) => {
    const pa = peekTranslate(c, lin | 0);
    return pa === null ? null : c.mem.read(pa, 1);
  };
}

/**
 * Disassemble around CS:EIP: `before` instructions before it (found by decoding from earlier
 * offsets until the stream lands exactly on EIP), the instruction at EIP (marked `current`) and
 * `after - 1` more. `csBase` + offset gives the linear address (real mode: CS * 16); 16-bit
 * offsets wrap at 64 KiB. Unreadable bytes end the listing.
 */
export function disassembleAt(read: ByteReader, csBase: number, eip: number, bits: 16 | 32,
  opts: DisasmOptions & { before?: number; after?: number } = {}): DisasmLine[] {
  const before = opts.before ?? 0, after = opts.after ?? 8;
  const mask = bits === 16 ? 0xffff : 0xffffffff;
  const back = Math.min(before * 15, 128);
  // Bytes from eip - back, stopping at the first unreadable one after EIP; restart after one before it.
  const buf: number[] = [];
  let start = back;
  for (let k = -back; k < after * 15; k++) {
    const b = read((csBase + ((eip + k) & mask)) | 0);
    if (b === null) {
      if (k < 0) { buf.length = 0; start = -k - 1; continue; }
      break;
    }
    buf.push(b);
  }
  const bytes = Uint8Array.from(buf);
  const lines: DisasmLine[] = [];
  if (before > 0) {
    // The earliest start whose instruction stream reaches EIP exactly gives the most plausible listing.
    for (let s = 0; s < start; s++) {
      const seq = disassemble(bytes.subarray(s, start), (eip - (start - s)) & mask, bits, 1000, opts);
      let n = 0;
      for (const l of seq) n += l.length;
      if (n === start - s && seq.length > 0) { lines.push(...seq.slice(-before)); break; }
    }
  }
  const rest = disassemble(bytes.subarray(start), eip & mask, bits, after, opts);
  if (rest.length > 0) rest[0].current = true;
  lines.push(...rest);
  for (const l of lines) l.linear = (csBase + l.ip) >>> 0;
  return lines;
}

/** Listing text: "  0000:1234  8b4304        mov eax, [ebx+0x4]" with "=>" on the current line. */
export function formatListing(lines: readonly DisasmLine[], cs?: number): string {
  return lines.map((l) => `${l.current ? '=>' : '  '} ${cs !== undefined ? cs.toString(16).padStart(4, '0') + ':' : ''}` +
    `${l.ip.toString(16).padStart(cs !== undefined && l.ip <= 0xffff ? 4 : 8, '0')}  ${l.bytes.padEnd(16)} ${l.text}`).join('\n');
}

// ------------------------------------------------------------------ our own formatter
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const STRING_OPS = new Set(['movs', 'cmps', 'stos', 'lods', 'scas', 'ins', 'outs']);
const SIZE_NAMES: Record<string, string> = { b: 'byte', w: 'word', d: 'dword', q: 'qword' };
/** Instructions with a single memory operand size: no size keyword. */
const ONE_SIZE = new Set(['clflush', 'cmpxchg8b', 'invlpg', 'vmptrld', 'vmptrst', 'vmclear', 'vmxon', 'fxsave', 'fxrstor',
  'ldmxcsr', 'stmxcsr', 'lgdt', 'lidt', 'sgdt', 'sidt', 'bound', 'lea']);
/** Ew operands whose register form is named by operand size (SDM: "r32/m16"). */
const W_AS_V = new Set(['lar', 'lsl', 'sldt', 'str', 'smsw', 'mov']);

function signedHex(v: number): string { return v < 0 ? `-${hex(-v)}` : `+${hex(v)}`; }

function memText(i: Insn): string {
  const names = i.a32 ? REG32_NAMES : REG16_NAMES;
  let s = '';
  if (i.base !== ZERO_REG) s = names[i.base];
  // "*1" on an index without a base tells that SIB form apart from a plain base register (as NASM does).
  if (i.index !== ZERO_REG) s += (s ? '+' : '') + names[i.index] + (i.scale > 0 || s === '' ? `*${1 << i.scale}` : '');
  const disp = i.a32 ? i.disp | 0 : (i.disp << 16) >> 16;
  if (s === '') s = hex(i.a32 ? disp : disp & 0xffff);
  else if (disp !== 0) s += signedHex(disp);
  const seg = i.segOverride >= 0 && i.segOverride !== defaultSeg(i) ? `${SEG_NAMES[i.segOverride]}:` : '';
  return `[${seg}${s}]`;
}

/** The segment the memory operand would use without an override (SDM Vol3A 3.7.4: SS for an EBP/ESP/BP base). */
function defaultSeg(i: Insn): number {
  return i.base === 5 || (i.a32 && i.base === 4) ? SEG.SS : SEG.DS;
}

/**
 * Format an Insn decoded by our decoder, from its opcode-table row, in the same NASM-style Intel
 * syntax as the iced formatter (exactly so for the common integer forms). Fallback for when
 * iced-x86 is not loaded; `ip` is the instruction's own offset (for branch targets).
 */
export function formatInsn(i: Insn, ip: number): string {
  const def = i.def;
  if (def === null || i.exec === op_ud) return '(bad)';
  if (i.exec === op_gp0) return '(bad: over 15 bytes)';
  const osz = i.o32 ? 'd' : 'w';
  let mn = def.mnemonic;
  if (mn.endsWith('cc') && mn !== 'cc') mn = mn.slice(0, -2) + CC[i.cc];
  else if (STRING_OPS.has(mn)) mn += osz;
  else if (mn === 'cbw') mn = i.o32 ? 'cwde' : 'cbw';
  else if (mn === 'cwd') mn = i.o32 ? 'cdq' : 'cwd';
  else if (mn === 'jecxz') mn = i.a32 ? 'jecxz' : 'jcxz';
  else if (mn === 'xlat') mn = 'xlatb';
  if (def.operands[0] === 'Fx') {
    return `${mn} ${hex(i.op)}/${i.mod === 3 ? hex(0xc0 | (i.reg << 3) | i.rm) : `${i.reg} ${memText(i)}`}`;
  }
  let prefix = i.lock ? 'lock ' : '';
  const isString = STRING_OPS.has(def.mnemonic) || /^(movs|cmps|stos|lods|scas|ins|outs)b$/.test(def.mnemonic);
  if (isString && i.rep !== Rep.None) {
    prefix += /^(cmps|scas)/.test(def.mnemonic) ? (i.rep === Rep.RepE ? 'repe ' : 'repne ') : 'rep ';
  }
  const ops: string[] = [];
  // A memory operand needs a size keyword unless a register operand or the instruction fixes it.
  const sized = ONE_SIZE.has(def.mnemonic) || mn.startsWith('set') ||
    (!/^mov[sz]x$/.test(mn) && def.operands.some((o) => /^(G[bwdvz]|Sw|Rd|Cd|Dd|Z[bvd]|AL|eAX)$/.test(o)));
  let immIdx = 0;
  const gpr = (n: number, size: string): string =>
    size === 'b' ? REG8_NAMES[n] : size === 'w' && !W_AS_V.has(mn) ? REG16_NAMES[n]
      : size === 'd' || i.o32 ? REG32_NAMES[n] : REG16_NAMES[n];
  for (const o of def.operands) {
    const k = o[0], size = o.slice(1);
    if (isString && (o === 'AL' || o === 'eAX' || o === 'DX')) continue;
    if (o === 'AL' || o === 'CL' || o === 'DX') ops.push(o.toLowerCase());
    else if (o === 'eAX') ops.push(i.o32 ? 'eax' : 'ax');
    else if (o === '1') ops.push('0x1');
    else if (/^[ECSDFG]S$/.test(o)) ops.push(o.toLowerCase());
    else if (k === 'X' || k === 'Y') continue;
    else if (k === 'Z') ops.push(gpr(i.reg, size));
    else if (k === 'G') ops.push(gpr(i.reg, size));
    else if (k === 'R') ops.push(REG32_NAMES[i.rm]);
    else if (k === 'S') ops.push(SEG_NAMES[i.reg]);
    else if (k === 'C') ops.push(`cr${i.reg}`);
    else if (k === 'D') ops.push(`dr${i.reg}`);
    else if (k === 'E' || k === 'M' || k === 'O') {
      if (k === 'E' && i.mod === 3) { ops.push(gpr(i.rm, size)); continue; }
      const sz = size === 'v' || size === 'z' ? osz : size;
      const kw = k === 'M' && size === 'p' ? (mn === 'call' || mn === 'jmp' ? 'far ' : '')
        : !sized && SIZE_NAMES[sz] !== undefined ? SIZE_NAMES[sz] + ' ' : '';
      ops.push(kw + memText(i));
    } else if (k === 'I') {
      const v = immIdx++ === 0 ? i.imm : i.imm2;
      ops.push(hex(o === 'Ib' ? v & 0xff : o === 'Iw' ? v & 0xffff : i.o32 ? v : v & 0xffff));
    } else if (k === 'J') ops.push(hex((ip + i.len + i.imm) & (i.o32 ? 0xffffffff : 0xffff)));
    else if (k === 'A') ops.push(`${hex(i.imm2)}:${hex(i.imm)}`);
  }
  // XCHG is symmetric; NASM style names the register first.
  if (mn === 'xchg' && def.hasModrm) ops.reverse();
  return prefix + (mn === 'fwait' ? 'wait' : mn) + (ops.length > 0 ? ' ' + ops.join(', ') : '');
}
