#!/usr/bin/env node
// Runs the CLI compiled to dist/ by `npm run build` (`prepare` runs it at `npm ci`). Without a
// build, or when a file under src/ changed after it, the CLI runs from src/ through tsx: a
// stale build never runs, and a checkout being edited always runs what it holds.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function builtAt() {
  try {
    return statSync(path.join(root, 'dist', '.built')).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Whether anything under `dir` is newer than `t`: a file, or a folder (a rename, a deletion). */
function changedSince(dir, t) {
  if (statSync(dir).mtimeMs > t) return true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory() ? changedSince(file, t) : statSync(file).mtimeMs > t) return true;
  }
  return false;
}

const built = builtAt();
if (built !== undefined && !changedSince(path.join(root, 'src'), built)) {
  await import('../dist/cli/main.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
