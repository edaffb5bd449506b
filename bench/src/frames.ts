/** A node of a V8 .cpuprofile. */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

/** A V8 .cpuprofile: its nodes, and its samples (node ids) with the µs between them. */
export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, the library, Node itself, or V8's own work. */
export function ownerOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : 'native';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.includes('/libs/mesh-client/')) return '@datapunk/mesh-client';
  if (url.includes('/bench/')) return 'bench driver';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[1] ?? url.slice(5)}`;
  return url;
}

/** A frame as the reports name it: function, file (from its package or libs/bench) and line. */
export function frameLabel(node: ProfileNode): string {
  const f = node.callFrame;
  const file = f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(libs|bench)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${file}:${String(f.lineNumber + 1)}`;
}
