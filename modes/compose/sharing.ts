// What sessions of one set of compose files cannot share, refused before a container starts (exit 2,
// naming the key): a network with a fixed subnet that a network of the engine already has (compose
// would fail inside `up` with "Pool overlaps"), and an external volume that a running service of
// another session mounts (two databases on one data directory), unless sess.yaml says it is shared.
import { containersMounting, networkSubnets, type ComposeModel, type Engine } from '../../adapters/compose.js';
import { ConfigError } from '../../common/errors.js';
import { LABEL_REPO, LABEL_SESSION } from './labels.js';

interface ModelNetwork {
  name?: string;
  external?: boolean;
  ipam?: { config?: { subnet?: string }[] };
}

interface ModelMount {
  type?: string;
  source?: string;
  read_only?: boolean;
}

export async function refuseWhatSessionsCannotShare(
  engine: Engine,
  model: ComposeModel,
  project: string,
  files: string,
  sharedVolumes: string[],
): Promise<void> {
  const problems = [
    ...(await subnetClashes(engine, model, project)),
    ...(await sharedExternalVolumes(engine, model, project, sharedVolumes)),
  ];
  if (problems.length) throw new ConfigError(files, problems);
}

async function subnetClashes(engine: Engine, model: ComposeModel, project: string): Promise<{ path: string; message: string }[]> {
  const fixed = Object.entries(model.networks ?? {})
    .map(([key, n]) => [key, (n ?? {}) as ModelNetwork] as const)
    .filter(([, n]) => !n.external && n.ipam?.config?.some((c) => c.subnet));
  if (fixed.length === 0) return [];
  const others = (await networkSubnets(engine)).filter((n) => n.labels['com.docker.compose.project'] !== project);
  const out: { path: string; message: string }[] = [];
  for (const [key, network] of fixed) {
    for (const subnet of network.ipam!.config!.map((c) => c.subnet).filter((s): s is string => !!s)) {
      const clash = others.find((o) => o.subnets.some((s) => subnetsOverlap(s, subnet)));
      if (!clash) continue;
      const owner = clash.labels['com.docker.compose.project'];
      out.push({
        path: `networks.${key}.ipam`,
        message: `the fixed subnet ${subnet} overlaps network ${clash.name}${owner ? ` (compose project ${owner})` : ''}: two sessions cannot have one subnet; remove the fixed subnet from the compose file, or take the other session down first`,
      });
    }
  }
  return out;
}

async function sharedExternalVolumes(
  engine: Engine,
  model: ComposeModel,
  project: string,
  sharedVolumes: string[],
): Promise<{ path: string; message: string }[]> {
  const out: { path: string; message: string }[] = [];
  for (const [key, volume] of Object.entries(model.volumes ?? {})) {
    if (!volume?.external) continue;
    const name = volume.name ?? key;
    if (sharedVolumes.includes(key) || sharedVolumes.includes(name)) continue;
    const writers = Object.entries(model.services).filter(([, s]) =>
      ((s.volumes ?? []) as ModelMount[]).some((m) => m.type === 'volume' && m.source === key && !m.read_only),
    );
    if (writers.length === 0) continue;
    const other = (await containersMounting(engine, name)).find((c) => c.labels[LABEL_SESSION] && c.project !== project);
    if (!other) continue;
    out.push({
      path: `volumes.${key}`,
      message: `the external volume ${name} is mounted by ${other.service} of the running session ${other.labels[LABEL_SESSION]}${other.labels[LABEL_REPO] ? ` (repository ${other.labels[LABEL_REPO]})` : ''}, and ${writers.map(([s]) => s).join(', ')} would write to it too: two sessions on one data directory break it; take that session down, or list it in sess.yaml's compose.shared_volumes if it is meant to be shared`,
    });
  }
  return out;
}

/** Whether two IPv4 CIDRs share an address (IPv6 ones: when they are written the same). */
export function subnetsOverlap(a: string, b: string): boolean {
  const pa = parseCidr(a);
  const pb = parseCidr(b);
  if (!pa || !pb) return a === b;
  const bits = Math.min(pa.bits, pb.bits);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (pa.address & mask) >>> 0 === (pb.address & mask) >>> 0;
}

function parseCidr(cidr: string): { address: number; bits: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits > 32) return undefined;
  return { address: octets.reduce((acc, o) => ((acc << 8) | o) >>> 0, 0), bits };
}
