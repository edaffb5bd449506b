import { ALL_OFF, ALL_ON, NOOP_PLUGIN, meshContender, rawContender, rawSameWireContender, type Contender } from './contenders.js';

/** One contender by name, for the single-contender tools (profile, allocations). */
export async function contenderNamed(which: string, target: string): Promise<Contender> {
  switch (which) {
    case 'raw':
      return rawContender(target);
    case 'wire':
      return rawSameWireContender(target);
    case 'off':
      return meshContender('off', target, ALL_OFF, false);
    case 'all':
      return meshContender('all', target, ALL_ON, true);
    case 'plugin':
      return meshContender('plugin', target, { plugins: [NOOP_PLUGIN] }, true);
    default:
      throw new Error(`unknown contender '${which}': raw, wire, off, all or plugin`);
  }
}
