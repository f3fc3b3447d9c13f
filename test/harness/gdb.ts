// Driving Debian's gdb against `tsvisor run --gdb` (test/gdb.test.ts): guest symbols from nasm's map
// file turned into an ELF32 symbol file gdb can load (System V ABI / ELF spec: header, section
// headers, .symtab/.strtab), a tsvisor child process with its gdb port, and gdb in batch mode.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../..', import.meta.url).pathname;

export interface GuestSyms { elf: string; bin: string; syms: Map<string, number> }

/** Assemble guests/NAME.asm again with a symbol map (same bytes as build-guests), and write an ELF symbol file. */
export function guestSymbols(name: string): GuestSyms {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-gdb-'));
  const map = join(dir, `${name}.map`), bin = join(dir, `${name}.bin`), elf = join(dir, `${name}.sym.elf`);
  const r = spawnSync('nasm', ['-f', 'bin', '-I', join(root, 'guests/lib') + '/', '--before', `[map symbols ${map}]`, '-o', bin, join(root, 'guests', `${name}.asm`)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nasm failed: ${r.stderr}`);
  const syms = parseNasmMap(readFileSync(map, 'utf8'));
  const image = new Uint8Array(readFileSync(bin));
  writeFileSync(elf, symbolElf(syms, image, 0x100000));
  return { elf, bin, syms };
}

/** Symbols of a nasm map file ("Value Name" for constants, "Real Virtual Name" for labels). */
export function parseNasmMap(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9A-F]+)\s+(?:([0-9A-F]+)\s+)?([A-Za-z_.$?@][\w.$?@]*)\s*$/.exec(line);
    if (m) out.set(m[3], parseInt(m[2] ?? m[1], 16));
  }
  return out;
}

/** An ELF32 i386 file with one PROGBITS .text (the flat image at `base`) and the symbols (in .text if inside it, else absolute). */
export function symbolElf(syms: Map<string, number>, image: Uint8Array, base: number): Uint8Array {
  const strtab: number[] = [0];
  const shstr = '\0.text\0.symtab\0.strtab\0.shstrtab\0';
  const symEntries: number[][] = [[0, 0, 0, 0, 0, 0]];
  for (const [name, value] of syms) {
    const off = strtab.length;
    for (const ch of name) strtab.push(ch.charCodeAt(0));
    strtab.push(0);
    const inText = value >= base && value < base + image.length;
    // st_name, st_value, st_size, st_info (STB_GLOBAL << 4 | STT_NOTYPE), st_other, st_shndx (1 = .text, 0xfff1 = SHN_ABS)
    symEntries.push([off, value >>> 0, 0, 0x10, 0, inText ? 1 : 0xfff1]);
  }
  const ehsize = 52, shentsize = 40;
  const textOff = ehsize;
  const symOff = (textOff + image.length + 3) & ~3;
  const strOff = symOff + symEntries.length * 16;
  const shstrOff = strOff + strtab.length;
  const shOff = (shstrOff + shstr.length + 3) & ~3;
  const total = shOff + 5 * shentsize;
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1], 0); // ELFCLASS32, ELFDATA2LSB, EV_CURRENT
  dv.setUint16(16, 2, true); dv.setUint16(18, 3, true); dv.setUint32(20, 1, true); // ET_EXEC, EM_386
  dv.setUint32(24, base, true); dv.setUint32(32, shOff, true);
  dv.setUint16(40, ehsize, true); dv.setUint16(46, shentsize, true); dv.setUint16(48, 5, true); dv.setUint16(50, 4, true);
  b.set(image, textOff);
  symEntries.forEach((e, k) => {
    const o = symOff + 16 * k;
    dv.setUint32(o, e[0], true); dv.setUint32(o + 4, e[1], true); dv.setUint32(o + 8, e[2], true);
    b[o + 12] = e[3]; b[o + 13] = e[4]; dv.setUint16(o + 14, e[5], true);
  });
  b.set(strtab, strOff);
  for (let k = 0; k < shstr.length; k++) b[shstrOff + k] = shstr.charCodeAt(k);
  // name, type, flags, addr, offset, size, link, info, addralign, entsize
  const sh = (k: number, f: number[]): void => f.forEach((v, j) => dv.setUint32(shOff + k * shentsize + 4 * j, v, true));
  sh(1, [1, 1, 6, base, textOff, image.length, 0, 0, 16, 0]);            // .text: PROGBITS, ALLOC|EXECINSTR
  sh(2, [7, 2, 0, 0, symOff, symEntries.length * 16, 3, 1, 4, 16]);        // .symtab: link .strtab, first global 1
  sh(3, [15, 3, 0, 0, strOff, strtab.length, 0, 0, 1, 0]);                 // .strtab
  sh(4, [23, 3, 0, 0, shstrOff, shstr.length, 0, 0, 1, 0]);                // .shstrtab
  return b;
}

export interface Tsvisor {
  port: number;
  proc: ChildProcess;
  stderr(): string;
  /** Resolves with the exit status once the process ends. */
  exit: Promise<number>;
  /** Wait until stderr matches. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

/** Start `tsvisor run ARGS --gdb 0` and wait for its port. */
export async function startTsvisor(args: string[]): Promise<Tsvisor> {
  const proc = spawn(process.execPath, [join(root, 'bin', 'tsvisor.mjs'), 'run', ...args, '--gdb', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const waiters: (() => void)[] = [];
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); for (const w of waiters.splice(0)) w(); });
  proc.stdout!.resume();
  const exit = new Promise<number>((res) => proc.on('exit', (code) => { for (const w of waiters.splice(0)) w(); res(code ?? -1); }));
  let exited = false;
  void exit.then(() => { exited = true; });
  const waitFor = async (re: RegExp, ms = 20000): Promise<RegExpMatchArray> => {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(err);
      if (m) return m;
      if (exited || Date.now() - t0 > ms) throw new Error(`tsvisor: no ${re} on stderr:\n${err}`);
      await new Promise<void>((res) => { waiters.push(res); setTimeout(res, 200); });
    }
  };
  const m = await waitFor(/127\.0\.0\.1:(\d+)/);
  return { port: Number(m[1]), proc, stderr: () => err, exit, waitFor };
}

/** Run gdb in batch mode: optional symbol file, `target remote`, then the commands. */
export function runGdb(port: number, commands: string[], opts: { symbols?: string; timeoutMs?: number } = {}): { out: string; status: number | null } {
  const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set confirm off', '-ex', 'set width 0'];
  if (opts.symbols) args.push('-ex', `symbol-file ${opts.symbols}`);
  args.push('-ex', `target remote :${port}`);
  for (const c of commands) args.push('-ex', c);
  const r = spawnSync('gdb', args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60000 });
  if (r.error) throw r.error;
  return { out: `${r.stdout}${r.stderr}`, status: r.status };
}

/** Like runGdb, but gdb gets SIGINT (the terminal's Ctrl-C) after `afterMs`: it then sends the interrupt byte to the stub. */
export async function runGdbInterrupted(port: number, commands: string[], afterMs: number, opts: { symbols?: string } = {}): Promise<string> {
  const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', 'set confirm off'];
  if (opts.symbols) args.push('-ex', `symbol-file ${opts.symbols}`);
  args.push('-ex', `target remote :${port}`);
  for (const c of commands) args.push('-ex', c);
  const g = spawn('gdb', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  g.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  g.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const t1 = setTimeout(() => g.kill('SIGINT'), afterMs);
  const t2 = setTimeout(() => g.kill('SIGKILL'), 60000);
  await new Promise((res) => g.on('exit', res));
  clearTimeout(t1); clearTimeout(t2);
  return out;
}

/** Values printed with `printf "NAME=%x\n", expr` in gdb output. */
export function printed(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    const x = /^([A-Za-z_][\w.]*)=([0-9a-f]+)$/.exec(line.trim());
    if (x) m.set(x[1], parseInt(x[2], 16));
  }
  return m;
}
