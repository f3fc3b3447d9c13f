// Disassembler (debug/disasm.ts): golden listings. The expected text of each instruction is the
// nasm source line it was assembled from (written by hand in the disassembler's NASM-style Intel
// syntax); nasm's listing (-l) gives each line's offset and bytes independently of both decoders.
// AT&T text is written by hand (GNU as conventions). Also: loading iced-x86 without Node APIs,
// disassembling around CS:EIP through a memory callback (real mode, 16-bit wrap, unmapped bytes),
// and the fallback formatter built on our own decoder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  disassemble, disassembleAt, formatListing, icedLoaded, loadIced, loadIcedFromSources, setIced, cpuReader, type IcedModule,
} from '../debug/disasm.js';
import { makeCpu, poke, setupReal } from './harness/cpu.js';
import { SEG } from '../machine/cpu/arch.js';

/** Instructions in canonical text; a trailing "; iced" marks lines the fallback formatter does not spell the same. */
const SRC32 = `
mov eax, [ebx+0x4]
add dword [esi+ecx*4-0x8], 0x10
jmp 0x1000
call 0x2000
lock cmpxchg8b [edi]
rep movsd
push 0xffffff80
mov al, [fs:0x1234]
jmp 0x8:0x1000
fld1 ; iced
fstp qword [ebp-0x10] ; iced
mov cr0, eax
in al, dx
out 0x80, al
ud2
int 0x80
lgdt [eax]
movzx eax, byte [esi]
imul ecx, edx, 0x64
shl dword [eax], cl
sete al
cmovne eax, ecx
xchg ecx, [edx]
bswap ebx
enter 0x10, 0x1
vmcall
vmread ecx, eax
mov [0x1234], eax
mov eax, [ecx*4+0x10]
repne scasb
cpuid
hlt
`;

const SRC16 = `
mov ax, [bp-0x2]
mov [bx+si+0x10], al
add word [0x1234], 0x5
int 0x10
jmp 0x0:0x7c00
call 0x7c00
rep stosw
lodsb
mov es, ax
push cs
retf
in al, 0x60
out dx, al
lea si, [bx+di+0x4]
les di, [bp+0x6]
mov eax, cr0
mov ax, 0x1234
mov eax, [ebx+0x4]
loop 0x7c00
jcxz 0x7c00
mov word [es:di], 0xffff
iret
`;

interface Golden { text: string; icedOnly: boolean; offset: number; bytes: string }

/** Assemble `src` with nasm and pair each source line with its offset and bytes from the listing. */
function assemble(src: string, bits: 16 | 32, org: number): { bin: Uint8Array; lines: Golden[] } {
  const dir = mkdtempSync(join(tmpdir(), 'tsvisor-disasm-'));
  try {
    const srcLines = src.trim().split('\n');
    writeFileSync(join(dir, 'a.asm'), `bits ${bits}\norg ${org}\n${srcLines.join('\n')}\n`);
    execFileSync('nasm', ['-f', 'bin', '-o', join(dir, 'a.bin'), '-l', join(dir, 'a.lst'), join(dir, 'a.asm')]);
    const bin = new Uint8Array(readFileSync(join(dir, 'a.bin')));
    const byLine = new Map<number, { offset: number; bytes: string }>();
    for (const l of readFileSync(join(dir, 'a.lst'), 'utf8').split('\n')) {
      const m = l.match(/^\s*(\d+) ([0-9A-F]{8}) ([0-9A-F()]+)-?/);
      if (m === null) continue;
      // Relative branches are listed with their target in parentheses: only their length is used.
      const n = +m[1], bytes = m[3].includes('(') ? m[3].replace(/\(([0-9A-F]+)\)/, (_, t: string) => 'xx'.repeat(t.length / 2)) : m[3];
      const prev = byLine.get(n);
      if (prev !== undefined) prev.bytes += bytes; else byLine.set(n, { offset: parseInt(m[2], 16), bytes });
    }
    const lines = srcLines.map((s, k) => {
      const info = byLine.get(k + 3);
      if (info === undefined) throw new Error(`no listing for line ${s}`);
      const [text, comment] = s.split(';');
      const hex = [...bin.subarray(info.offset, info.offset + info.bytes.length / 2)].map((b) => b.toString(16).padStart(2, '0')).join('');
      assert.match(hex, new RegExp(`^${info.bytes.toLowerCase().replace(/x/g, '.')}$`), `listing vs binary for ${s}`);
      return { text: text.trim(), icedOnly: comment !== undefined && comment.trim() === 'iced', offset: info.offset, bytes: hex };
    });
    return { bin, lines };
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

const iced = await loadIced();

for (const [bits, src, org] of [[32, SRC32, 0x1000], [16, SRC16, 0x7c00]] as const) {
  test(`disassemble ${bits}-bit (iced-x86, Intel syntax): nasm source lines round-trip`, () => {
    assert.ok(icedLoaded(), 'iced-x86 must load in Node');
    const { bin, lines } = assemble(src, bits, org);
    const out = disassemble(bin, org, bits, 1000);
    assert.equal(out.length, lines.length);
    out.forEach((l, k) => {
      const g = lines[k];
      assert.deepEqual([l.ip, l.bytes, l.length, l.text], [org + g.offset, g.bytes, g.bytes.length / 2, g.text], `line ${k + 1}: ${g.text}`);
    });
  });

  test(`formatInsn ${bits}-bit (our decoder, fallback): same text for the integer forms`, () => {
    const { bin, lines } = assemble(src, bits, org);
    const out = disassemble(bin, org, bits, 1000, { ownDecoder: true });
    assert.equal(out.length, lines.length);
    out.forEach((l, k) => {
      const g = lines[k];
      assert.deepEqual([l.ip, l.bytes], [org + g.offset, g.bytes], `line ${k + 1}: ${g.text}`);
      if (!g.icedOnly) assert.equal(l.text, g.text, `line ${k + 1}`);
    });
  });
}

test('disassemble: AT&T syntax on request (hand-written GNU as text)', () => {
  const { bin } = assemble(`
mov eax, [ebx+0x4]
add dword [esi+ecx*4-0x8], 0x10
lock cmpxchg8b [edi]
mov al, [fs:0x1234]
jmp 0x8:0x1000
push 0xffffff80
int 0x80
`, 32, 0x1000);
  assert.deepEqual(disassemble(bin, 0x1000, 32, 100, { syntax: 'att' }).map((l) => l.text), [
    'mov 0x4(%ebx), %eax',
    'addl $0x10, -0x8(%esi,%ecx,4)',
    'lock cmpxchg8b (%edi)',
    'mov %fs:0x1234, %al',
    'ljmp $0x8, $0x1000',
    'push $0xffffff80',
    'int $0x80',
  ]);
});

test('disassemble: invalid encodings, truncated input, count limit, 16-bit IP wrap', () => {
  const b = Uint8Array.from([0x0f, 0xff, 0xc0, 0x90, 0xf0, 0x90, 0x90, 0xb8, 0x34]);
  const out = disassemble(b, 0xfffe, 16, 100);
  // ud0 ax, ax; nop; lock nop (invalid); nop; then mov ax, imm16 is cut off by the end of the bytes.
  assert.deepEqual(out.map((l) => [l.ip, l.length, l.text]), [[0xfffe, 3, 'ud0 ax, ax'], [0x0001, 1, 'nop'], [0x0002, 2, '(bad)'], [0x0004, 1, 'nop']]);
  assert.equal(disassemble(b, 0, 16, 2).length, 2);
  const own = disassemble(b, 0xfffe, 16, 100, { ownDecoder: true });
  assert.deepEqual(own.map((l) => [l.ip, l.length, l.text]), [[0xfffe, 3, 'ud0 ax, ax'], [0x0001, 1, 'nop'], [0x0002, 2, '(bad)'], [0x0004, 1, 'nop']]);
});

test('disassembleAt: real mode CS:IP through a memory callback, before/after, current mark, unmapped bytes', () => {
  // CS = 0x1000 (base 0x10000). Code at IP 0x0100; memory above linear 0x10120 is unmapped.
  const { bin } = assemble(`
mov ax, 0x1234
add ax, bx
push ax
int 0x10
hlt
`, 16, 0x100);
  const mem = new Map<number, number>();
  bin.forEach((v, k) => mem.set(0x10100 + k, v));
  for (let a = 0x10080; a < 0x10100; a++) mem.set(a, 0x90); // NOPs before the code
  const read = (lin: number): number | null => (lin < 0x10120 ? mem.get(lin) ?? 0 : null);
  // IP at "push ax" (offset 5): two instructions before, three from it on.
  const lines = disassembleAt(read, 0x10000, 0x105, 16, { before: 2, after: 3 });
  assert.deepEqual(lines.map((l) => [l.ip, l.linear, l.text, l.current === true]), [
    [0x100, 0x10100, 'mov ax, 0x1234', false],
    [0x103, 0x10103, 'add ax, bx', false],
    [0x105, 0x10105, 'push ax', true],
    [0x106, 0x10106, 'int 0x10', false],
    [0x108, 0x10108, 'hlt', false],
  ]);
  assert.match(formatListing(lines, 0x1000), /^=> 1000:0105  50 {15}push ax$/m);
  // Unreadable bytes stop the listing without faulting.
  const cut = disassembleAt((lin) => (lin < 0x10107 ? mem.get(lin) ?? 0 : null), 0x10000, 0x105, 16, { after: 5 });
  assert.deepEqual(cut.map((l) => l.text), ['push ax']);
});

test('disassembleAt with cpuReader on a CPU in real mode', () => {
  const b = makeCpu();
  setupReal(b.cpu, 0x2000, 0x10);
  poke(b, 0x20010, [0xb8, 0x34, 0x12, 0xcd, 0x10, 0xf4]); // mov ax, 0x1234; int 0x10; hlt
  const c = b.cpu;
  const lines = disassembleAt(cpuReader(c), c.segBase[SEG.CS], c.eip, c.cs32 ? 32 : 16, { after: 3 });
  assert.deepEqual(lines.map((l) => l.text), ['mov ax, 0x1234', 'int 0x10', 'hlt']);
  assert.equal(lines[0].linear, 0x20010);
});

test('iced-x86 loads from its package files without Node APIs (browser path)', async () => {
  assert.ok(iced !== null);
  const dir = dirname(createRequire(import.meta.url).resolve('iced-x86'));
  const glue = readFileSync(join(dir, 'iced_x86.js'), 'utf8');
  const wasm = new Uint8Array(readFileSync(join(dir, 'iced_x86_bg.wasm')));
  setIced(null);
  try {
    const mod: IcedModule = await loadIcedFromSources(glue, wasm);
    assert.notEqual(mod, iced, 'a second, independent instance');
    assert.deepEqual(disassemble(Uint8Array.from([0x8b, 0x43, 0x04, 0x0f, 0x01, 0xc1]), 0, 32, 5).map((l) => l.text), ['mov eax, [ebx+0x4]', 'vmcall']);
  } finally { setIced(iced); }
  // The module itself imports nothing from Node.
  const js = readFileSync(fileURLToPath(new URL('../debug/disasm.js', import.meta.url)), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  assert.doesNotMatch(js, /from ['"](node:|fs|path|util|module|child_process)/);
  assert.doesNotMatch(js, /\brequire\(/);
});
