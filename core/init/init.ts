// `sess init`: look at the checkout, write a commented sess.yaml that validates. It reads files and
// asks compose for its merged model (`config`), nothing more: no install, no container, no service.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findRepo } from '../../adapters/git.js';
import { writeFileAtomic } from '../../adapters/fs.js';
import { ConfigError, UsageError, WorkError, indent } from '../../common/errors.js';
import { dict } from '../../common/records.js';
import { parseConfig } from '../../config/load.js';
import type { Mode } from '../../config/schema.js';
import { CONFIG_FILE } from '../up/prepare.js';
import { draftConfig } from './draft.js';
import type { HostCandidate } from './findings.js';
import { renderDraft } from './render.js';
import { scanCompose } from './scanCompose.js';
import { packageManagerOf, scanFolder, scanHost } from './scanHost.js';

export interface InitOptions {
  cwd: string;
  mode?: Mode;
  /** return the text, write nothing */
  print?: boolean;
  /** replace an existing sess.yaml */
  force?: boolean;
}

export interface InitResult {
  file: string;
  written: boolean;
  mode: Mode;
  text: string;
  /** sess.yaml as data, as written */
  config: Record<string, unknown>;
  summary: string[];
  warnings: string[];
}

export async function initConfig(options: InitOptions): Promise<InitResult> {
  const { worktreeRoot: root } = await findRepo(options.cwd);
  const file = join(root, CONFIG_FILE);
  if (!options.print && !options.force && existsSync(file)) {
    throw new UsageError(`${file} already exists; sess init leaves it alone`, {
      hint: 'sess init --print shows what it would write; --force replaces the file',
    });
  }
  const compose = await scanCompose(root);
  const host = scanHost(root);
  const pm = packageManagerOf(root);
  const buildContexts = dict<{ candidates: HostCandidate[]; from?: string }>();
  for (const svc of compose?.services ?? []) {
    if (svc.build && !Object.hasOwn(buildContexts, svc.build)) buildContexts[svc.build] = scanFolder(root, svc.build, pm);
  }
  const draft = draftConfig({ ...(options.mode ? { mode: options.mode } : {}), ...(compose ? { compose } : {}), host, buildContexts });
  const text = renderDraft(draft);
  try {
    parseConfig(text, file);
  } catch (error) {
    // what init writes must validate: a file that does not is our bug, and it is not written
    if (!(error instanceof ConfigError)) throw error;
    throw new WorkError(
      `sess init made a sess.yaml that does not validate (a bug in sess init; nothing was written):\n` +
        error.problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n') +
        `\n${indent(text, '  | ')}`,
      { cause: error },
    );
  }
  if (!options.print) writeFileAtomic(file, text, 0o644);
  return { file, written: !options.print, mode: draft.mode, text, config: draft.config, summary: draft.summary, warnings: draft.warnings };
}
