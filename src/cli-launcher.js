#!/usr/bin/env node
/*
 * What `npx carnet …` runs in a checkout (package.json "bin"). With tsx installed (a dev
 * dependency, there after `npm ci`) it runs src/cli.ts directly, so the CLI works before any build
 * and never runs a stale dist/. Without it (an install without dev dependencies) it runs the
 * compiled dist/cli.js, as the Docker image's `carnet` command does.
 */
import { existsSync } from 'node:fs';

const source = new URL('./cli.ts', import.meta.url);
let entry = new URL('../dist/cli.js', import.meta.url);
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    entry = source;
  } catch {
    // No tsx: the compiled CLI below.
  }
}
await import(entry.href);
