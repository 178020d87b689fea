// A container session through `sess mcp`: up (compose services behind leased ports, progress on
// the way), then rm with volumes leaves nothing in the engine.
import { describe, expect, it } from 'vitest';
import { leasesOf, worktrees, type TestRepo } from '../helpers/sess.js';
import { dockerRepo, expectNothingInDocker, projectOf, volumesOf } from '../helpers/docker.js';
import { closeServersAfterEach, doc, serve } from '../helpers/mcp.js';

closeServersAfterEach();

describe('sess mcp, container session', () => {
  let repo: TestRepo;
  dockerRepo('compose-fixed', 'all', (r) => (repo = r));

  it('up of a container session, then rm with volumes: nothing left', async () => {
    const s = await serve(repo);
    const progress: string[] = [];
    const view = doc(await s.call('up', { branch: 'feat-mcp' }, { progress }));
    expect(view).toMatchObject({ name: 'feat-mcp', mode: 'container', status: 'up' });
    expect(view.services.map((x: any) => [x.name, x.runtime, x.state])).toEqual([
      ['kv', 'compose', 'running'],
      ['web', 'compose', 'running'],
    ]);
    expect(progress.some((p) => p.includes('compose'))).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${view.ports.web}/`)).text()).toBe('web of feat-mcp, kv at kv:6379\n');
    const project = projectOf(repo, 'feat-mcp');
    expect(volumesOf(project)).toEqual([`${project}_data`]);
    // the same document as the CLI's
    expect(doc(await s.call('status', { session: 'feat-mcp' }))).toEqual(await repo.json(['status', 'feat-mcp']));

    const rm = doc(await s.call('rm', { session: 'feat-mcp', volumes: true }));
    expect(rm.removed).toContain(`worktree ${view.worktree}`);
    expectNothingInDocker(repo, 'feat-mcp', expect);
    expect(worktrees(repo)).toEqual([]);
    expect(leasesOf(repo, 'feat-mcp')).toEqual({});
  });
});
