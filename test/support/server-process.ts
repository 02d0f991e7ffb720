import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/*
 * Runs a Carnet server (or another TypeScript entry point) as a child process listening on
 * 127.0.0.1, for tests and benchmarks that need the real process: real sockets, a real crash.
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** The last few kilobytes the process wrote, for failure messages. */
  output(): string;
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<string>;
  /** SIGTERM, then SIGKILL if it has not ended within graceMs. */
  stop(graceMs?: number): Promise<string>;
  /** SIGKILL at once: a crash. */
  kill(): Promise<string>;
}

export interface StartOptions {
  /** The entry point, relative to the repository root (default src/server.ts). */
  entry?: string;
  env: Record<string, string>;
  port?: number;
  /** A path answering 200 once the server is up (default /healthz). */
  readyPath?: string;
  readyTimeoutMs?: number;
  nodeArgs?: string[];
  /** Load the entry with tsx (default); false for compiled JavaScript such as dist/server.js. */
  tsx?: boolean;
}

const OUTPUT_KEPT = 16 * 1024;

/** Starts the entry point with tsx and resolves once readyPath answers 200 (or rejects, with its output). */
export async function startServer(opts: StartOptions): Promise<ServerProcess> {
  const port = opts.port ?? (await freePort());
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...(opts.tsx === false ? [] : ['--import', 'tsx']), opts.entry ?? 'src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...opts.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let ended: string | null = null;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = signal ?? `exit ${code}`;
      resolve(ended);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const kill = async () => {
    if (ended === null) child.kill('SIGKILL');
    return exited;
  };
  const stop = async (graceMs = 5000) => {
    if (ended !== null) return exited;
    child.kill('SIGTERM');
    const timer = setTimeout(() => ended === null && child.kill('SIGKILL'), graceMs);
    const how = await exited;
    clearTimeout(timer);
    return how;
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  const readyPath = opts.readyPath ?? '/healthz';
  for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
    if (ended !== null) throw new Error(`server ended (${ended}) before it was ready:\n${out}`);
    try {
      const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) {
        return { child, pid: child.pid!, port, url, output: () => out, exited, stop, kill };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await kill();
  throw new Error(`server not ready after ${opts.readyTimeoutMs ?? 30_000} ms:\n${out}`);
}

/** Reads a process's memory figures from /proc (Linux): resident now and its high-water mark, in kB. */
export function memoryOf(pid: number): { rssKb: number; hwmKb: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
  } catch {
    return null;
  }
}
