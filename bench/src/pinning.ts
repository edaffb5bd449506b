import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/**
 * Client and server on different cores: the client (this process) on core 0 as the launcher
 * started it, the server on core 1. Undefined when the machine has one core or no `taskset`.
 */
export function pinning(): { client: number; server: number } | undefined {
  // Every core of the machine, not this process's share: the launcher already pinned this process to one.
  if (cpus().length < 2) return undefined;
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { client: 0, server: 1 };
}

/** The cores this process may run on (taskset -p), for the report. */
export function ownAffinity(): string {
  try {
    return execFileSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' })
      .trim()
      .replace(/^.*: /, '');
  } catch {
    return 'any';
  }
}
