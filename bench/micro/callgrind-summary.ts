// `node bench/micro/callgrind-summary.ts CALLGRIND_OUT PERF_MAP REQUESTS [TOP]`: one proxy's
// callgrind dump (bench/micro/proxy-callgrind.sh) per request, split into what moves from run to
// run and what does not. V8's optimising compilers still run during the measured window (under
// valgrind a tier-up takes many requests), and a major GC lands in some windows and not others:
// those two swing a run's total by ±8 %. The rest ("steady": JavaScript, V8's builtins, Node's
// and libc's C++) repeats within about 0.5 % for the same build, so builds are compared on it.
// JIT code is named through V8's --perf-basic-prof map (/tmp/perf-PID.map). With TOP, the TOP
// costliest functions by self cost, per request.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const [file, mapFile, requestsArg, topArg] = process.argv.slice(2);
if (file === undefined || mapFile === undefined || requestsArg === undefined) {
  process.stderr.write('usage: callgrind-summary.ts CALLGRIND_OUT PERF_MAP REQUESTS [TOP]\n');
  process.exit(2);
}
const requests = Number(requestsArg);

interface Symbol_ {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}
const symbols: Symbol_[] = [];
for (const line of readFileSync(mapFile, 'latin1').split('\n')) {
  const [start, size, ...rest] = line.split(' ');
  if (start === undefined || size === undefined || rest.length === 0) continue;
  const s = Number.parseInt(start, 16);
  symbols.push({ start: s, end: s + Number.parseInt(size, 16), name: rest.join(' ') });
}
symbols.sort((a, b) => a.start - b.start);

function jsName(address: number): string | undefined {
  let lo = 0;
  let hi = symbols.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (symbols[mid]!.start <= address) lo = mid + 1;
    else hi = mid - 1;
  }
  const s = symbols[hi];
  return s !== undefined && address < s.end ? s.name : undefined;
}

// V8's collector and compilers, by C++ namespace and class; everything else counts as steady.
const GC = /v8::internal::(\w*Marking|\w*Scaveng|Sweeper|\w*Visitor|Heap::|Heap[A-Z]|\w*Evacuat|\w*Compact|MemoryAllocator|MemoryChunk|RememberedSet|SlotSet|TypedSlot|\w*Worklist|BodyDescriptor|\w*IterateObjectCache|HeapObject::SizeFromMap|RelocIterator|Minor|GCTracer|\w*Page|PagedSpace|NewSpace|SemiSpace|LargeObjectSpace|Mark|\w*Weak|\w*Remembered|\w*Sweep|\w*FreeList|GlobalHandles|TracedHandles|JSFunction::NeedsResetDueToFlushedBytecode)|heap::base::|cppgc::/;
const COMPILER = /v8::internal::(compiler::|maglev::|turboshaft::|Zone|\w*Compil|\w*Deoptimiz|\w*SourcePosition|\w*Assembler|baseline::|\w*Bytecode|wasm::|AccountingAllocator)|Turboshaft|std::__1::|_int_malloc|_int_free|malloc|^free|memset|cfree/;

const annotated = execFileSync('callgrind_annotate', ['--threshold=100', '--inclusive=no', file], { encoding: 'latin1', maxBuffer: 1 << 28 });
const byName = new Map<string, number>();
const byKind = { js: 0, builtin: 0, native: 0, compiler: 0, gc: 0 };
for (const line of annotated.split('\n')) {
  const m = /^\s*([\d,]+) \([ \d.]+%\)\s+(.*)$/.exec(line);
  if (m === null || m[2]!.includes('PROGRAM TOTALS')) continue;
  const ir = Number(m[1]!.replaceAll(',', ''));
  let name = m[2]!;
  const jit = /^\?\?\?:0x([0-9a-f]+) \[\?\?\?\]/.exec(name);
  if (jit !== null) name = `JS ${jsName(Number.parseInt(jit[1]!, 16)) ?? `unnamed JIT code 0x${jit[1]}`}`;
  else name = name.replace(/ \[.*\]$/, '').replace('???:', '');
  byName.set(name, (byName.get(name) ?? 0) + ir);
  const kind = GC.test(name) ? 'gc' : COMPILER.test(name) ? 'compiler' : name.startsWith('JS ') ? 'js' : name.startsWith('Builtins_') ? 'builtin' : 'native';
  byKind[kind] += ir;
}
const per = (ir: number): string => Math.round(ir / requests).toLocaleString('en-US');
const total = Object.values(byKind).reduce((a, b) => a + b, 0);
const steady = byKind.js + byKind.builtin + byKind.native;
process.stdout.write(
  `steady ${per(steady)} instructions per request (JavaScript ${per(byKind.js)}, builtins ${per(byKind.builtin)}, native ${per(byKind.native)}); ` +
    `total ${per(total)} with compiler ${per(byKind.compiler)} and GC ${per(byKind.gc)}\n`,
);
const top = Number(topArg ?? 0);
if (top > 0) {
  for (const [name, ir] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${per(ir).padStart(8)}  ${name.slice(0, 140)}\n`);
}
