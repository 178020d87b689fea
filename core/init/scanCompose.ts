// The compose side of `sess init`: which files compose would read at the root of the checkout, and
// what services their merged model has. Compose itself merges them (`config --format json`, as `up`
// does); only when no compose is installed, or compose refuses the files, do we read the YAML
// ourselves (composeYaml.ts), and the header of the generated file says so.
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { composeModel, detectCompose, type ComposeModel, type ComposeService } from '../../adapters/compose.js';
import { SubprocessError, messageOf } from '../../common/errors.js';
import { sessHome } from '../state/repo.js';
import { readComposeYaml } from './composeYaml.js';
import type { ComposeFindings, ComposeServiceFinding } from './findings.js';
import { urlInHealthcheck } from './guess.js';

// compose's own discovery, in its order of preference: the first base file, then the first
// override file (whatever the base is called), as `docker compose` does without -f
const BASE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'];
const OVERRIDE_FILES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'];

/** The compose files of the checkout, or undefined when there are none. Never starts a container. */
export async function scanCompose(root: string): Promise<ComposeFindings | undefined> {
  const bases = BASE_FILES.filter((f) => existsSync(join(root, f)));
  if (bases.length === 0) return undefined;
  const override = OVERRIDE_FILES.find((f) => existsSync(join(root, f)));
  const files = override ? [bases[0]!, override] : [bases[0]!];
  const notes = bases.slice(1).map((f) => `${f} is not used: compose reads ${bases[0]} when both are there`);

  let model: ComposeModel;
  let readWith: string;
  let approximate = false;
  try {
    const cli = await detectCompose(sessHome());
    readWith = `${cli.command.join(' ')} ${cli.version}`;
    try {
      model = await composeModel({ cli, name: 'sess-init', files: files.map((f) => join(root, f)), projectDir: root, env: process.env });
    } catch (error) {
      // a file compose refuses (a variable it requires, say) fails `sess up` too, with compose's
      // words; a draft to start from is still worth more than no file
      readWith = `sess's own reading of the YAML (${readWith} refused them: ${reasonOf(error)})`;
      model = readComposeYaml(root, files);
      approximate = true;
    }
  } catch (error) {
    // detectCompose says which composes it found and which version it needs
    readWith = `sess's own reading of the YAML (${/^no compose found/.test(messageOf(error)) ? 'no compose is installed' : reasonOf(error)})`;
    model = readComposeYaml(root, files);
    approximate = true;
  }
  return { files, readWith, approximate, services: servicesOf(model, root), notes };
}

function servicesOf(model: ComposeModel, root: string): ComposeServiceFinding[] {
  // by name, as compose's own output has them, whichever way the model was read
  const names = Object.keys(model.services ?? {}).sort();
  return names.map((name) => {
    const svc = model.services[name]!;
    const tcp = new Set<number>();
    const otherPorts: string[] = [];
    for (const port of svc.ports ?? []) {
      const protocol = port.protocol ?? 'tcp';
      if (protocol === 'tcp') tcp.add(Number(port.target));
      else otherPorts.push(`${port.target}/${protocol}`);
    }
    return {
      name,
      ...(typeof svc.image === 'string' ? { image: svc.image } : {}),
      ...(svc.build !== undefined && svc.build !== null ? { build: buildContext(svc.build, root) } : {}),
      ports: [...tcp].filter((p) => Number.isInteger(p) && p > 0 && p < 65536),
      otherPorts,
      dependsOn: Object.entries(svc.depends_on ?? {}).map(([dep, how]) => ({
        name: dep,
        ...(how?.condition ? { condition: how.condition } : {}),
      })),
      profiles: svc.profiles ?? [],
      ...healthUrlOf(svc),
    };
  });
}

/** The build context as a folder of the checkout ('.' for the root), or null when it is elsewhere. */
function buildContext(build: unknown, root: string): string | null {
  const context = typeof build === 'string' ? build : (build as { context?: unknown }).context;
  if (typeof context !== 'string' || /^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@')) return null;
  // compose gives it absolute; our own reading relative to the root
  const rel = relative(root, isAbsolute(context) ? context : join(root, context)) || '.';
  return rel.startsWith('..') || isAbsolute(rel) ? null : rel.split(sep).join('/');
}

function healthUrlOf(svc: ComposeService): { healthUrl?: string } {
  if (!svc.healthcheck || svc.healthcheck.disable) return {};
  const url = urlInHealthcheck(svc.healthcheck.test);
  return url ? { healthUrl: url } : {};
}

/** One line that says why: compose's last line of stderr, or the first line of our message. */
function reasonOf(error: unknown): string {
  const text = error instanceof SubprocessError && error.stderrTail.trim() ? error.stderrTail.trim().split('\n').pop()! : messageOf(error);
  return text.split('\n')[0]!.trim();
}
